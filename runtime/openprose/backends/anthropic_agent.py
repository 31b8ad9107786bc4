"""A session as a Messages API tool-use loop, on the SDK's own async tool runner.

`client.beta.messages.tool_runner(..., stream=True)` sends a turn, streams the
reply, runs the tools it asks for (our `Toolbox` function tools, each behind the
permission gate) and sends their results back, until the model answers without
asking for a tool or the turn cap is reached. Web access is the API's server-side
web search / fetch tools, which the API runs itself; we only record them. The
runner leaves stateful tools open; the interpreter's `async with toolbox` owns the
bash process group and closes it whatever happens, cancellation included.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..agents.tools import Toolbox
from .base import BackendError, SessionResult, Usage

__all__ = ["TOOLS_PREAMBLE", "run_tool_loop"]

# The runner warns (to stderr) when the model names a tool it does not have; the model
# already gets an error result for that call, which is the useful part.
warnings.filterwarnings("ignore", message=r"Tool '.*' not found in tool runner")

TOOLS_PREAMBLE = (
    "You are working in the user's workspace: {workspace}. Your tools act on it for real; relative paths are "
    "relative to it. Look before you conclude: read the files and run the commands your task needs, and never "
    "report work you did not do. A tool result that says permission denied is a rule of this program: do not "
    "try to get around it. When you are done, reply with the result of your task; that reply is what the "
    "program receives."
)


def _system_with_tools(system: str | None, toolbox: Toolbox) -> str:
    preamble = TOOLS_PREAMBLE.format(workspace=toolbox.gate.workspace)
    return f"{system}\n\n{preamble}" if system else preamble


def _record_server_tools(message: Any, toolbox: Toolbox) -> None:
    results = {getattr(b, "tool_use_id", None): b for b in message.content if b.type.endswith("_tool_result")}
    for block in message.content:
        if block.type != "server_tool_use":
            continue
        result = results.get(block.id)
        content = getattr(result, "content", None)
        kind = getattr(content, "type", "") if content is not None and not isinstance(content, list) else ""
        failed = result is None or kind.endswith("error")
        error = getattr(content, "error_code", None) if failed and content is not None else None
        toolbox.record_server_call(block.name, dict(block.input or {}), not failed,
                                   None if not failed else f"{block.name} failed" + (f": {error}" if error else ""))


async def run_tool_loop(
    client: Any,
    *,
    model: str,
    system: str | None,
    user: str,
    max_tokens: int,
    toolbox: Toolbox,
    describe: Callable[[Exception], str | None],
) -> SessionResult:
    """Run one session's tool loop to its final text.

    ``describe`` turns an SDK exception into the user-facing message (None for
    exceptions it does not know, which then propagate).
    """
    tools = [*toolbox.function_tools(), *(await toolbox.server_tools())]
    limit = toolbox.limits.max_turns
    input_tokens = output_tokens = turns = 0
    last: Any = None
    failure: str | None = None
    runner = client.beta.messages.tool_runner(
        model=model,
        max_tokens=max_tokens,
        system=_system_with_tools(system, toolbox),
        messages=[{"role": "user", "content": user}],
        tools=tools,
        stream=True,
        max_iterations=limit,
    )
    try:
        async for stream in runner:
            async for _event in stream:
                pass
            message = await stream.get_final_message()
            turns += 1
            input_tokens += int(message.usage.input_tokens or 0)
            output_tokens += int(message.usage.output_tokens or 0)
            _record_server_tools(message, toolbox)
            last = message
    except Exception as exc:  # noqa: BLE001 - mapped to a BackendError below, outside the handler
        failure = describe(exc)
        if failure is None:
            raise
    finally:
        await runner.close()
    if failure is not None:
        raise BackendError(failure)
    if last is None:
        raise BackendError("the model API returned no reply")
    if last.stop_reason == "tool_use":
        raise BackendError(
            f"the session was stopped after {turns} model turns with tool calls still pending: the per-session limit is "
            f"{limit} (raise it with `prose run --max-tool-turns N`)"
        )
    text = "".join(block.text for block in last.content if block.type == "text")
    return SessionResult(text=text, usage=Usage(input_tokens, output_tokens), model=last.model or model)
