"""The tools one session may use, with its permission gate, events and limits around each call.

The file tools are the SDK's reference implementations (`anthropic.lib.tools.
agent_toolset`: confined to the workspace and any directory a permission pattern
names, symlink-aware). `bash` uses the SDK's `BashSession`, started in a process
group of its own so that ending the session (normally, on a timeout, or when a
`first` race or Ctrl-C cancels it) kills the shell *and every process it started*;
the SDK's own bash tool kills only the shell. The toolbox owns that lifecycle:
`async with Toolbox(...)` guarantees the group is gone when the session is.

Every call — from the Anthropic tool loop or a scripted tool call — goes through
`Toolbox.call`, so the gate, the `tool.start`/`tool.end` events, the per-call
timeout and the output cap are the same whichever backend drives it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from ..redact import Redactor
from .limits import ToolLimits
from .permissions import Denial, Gate
from ..events import EventType, ToolStatus

__all__ = ["SERVER_TOOLS", "ToolLimits", "ToolOutcome", "Toolbox", "scrubbed_environment"]

#: Server-side tools the API runs itself (web access); the request names them, the model calls them.
SERVER_TOOLS = {
    "web_search": {"type": "web_search_20260209", "name": "web_search"},
    "web_fetch": {"type": "web_fetch_20260209", "name": "web_fetch"},
}


@dataclass(frozen=True)
class ToolOutcome:
    content: Any  # str, or the SDK's content blocks (an image read)
    is_error: bool = False
    status: ToolStatus = ToolStatus.OK
    rule: str | None = None  # for denied: the permission rule that refused the call


def scrubbed_environment() -> dict[str, str]:
    """The environment tool processes get: this process's, without the API credentials.

    Drops every `ANTHROPIC_*` variable and any other variable holding the same value
    (an alias such as `MY_KEY=$ANTHROPIC_API_KEY`).
    """
    hidden = {v for k, v in os.environ.items() if k.startswith("ANTHROPIC_") and v}
    return {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_") and v not in hidden}


def _summary(tool: str, args: dict[str, Any], redact: Callable[[str], str]) -> str:
    """A short argument for events and the state log, redacted before it is cut (a cut could split a secret)."""
    if tool in ("read", "write", "edit"):
        text = str(args.get("file_path", ""))
    elif tool in ("glob", "grep"):
        text = str(args.get("pattern", ""))
        if args.get("path"):
            text += f" in {args['path']}"
    elif tool == "bash":
        text = "(restart)" if args.get("restart") else str(args.get("command", ""))
    elif tool == "web_search":
        text = str(args.get("query", ""))
    elif tool == "web_fetch":
        text = str(args.get("url", ""))
    else:
        text = ", ".join(f"{k}={v}" for k, v in args.items())
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= 80 else flat[:79] + "…"


def clip(text: str, limit: int) -> str:
    """Keep the head and tail of long output, with a note the model can act on."""
    if len(text) <= limit:
        return text
    head = text[: limit // 2]
    tail = text[-(limit // 2) :]
    cut = len(text) - len(head) - len(tail)
    return (f"{head}\n[… {cut} characters omitted: the output was longer than {limit} characters; "
            f"narrow it (head, tail, grep, a line range) to see the rest …]\n{tail}")


class _GroupBash:
    """The SDK's persistent `BashSession`, in its own process group so its children die with it."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self._workdir = workdir
        self._env = env
        self._session: Any = None
        self.pgid: int | None = None

    async def exec(self, command: str, timeout: float) -> tuple[str, int, bool]:
        """Run one command; returns (output, exit code, whether the shell had to be restarted)."""
        from anthropic.lib.tools.agent_toolset import BashSession

        restarted = False
        if self._session is not None and self._session.closed:
            await self.close()
            restarted = True
        if self._session is None:
            self._session = await self._start(BashSession)
        result = await self._session.exec(command, timeout=timeout)
        if result.exit_code == -1:  # no exit status: did the command end the shell? give it a moment to be reaped
            with trio.move_on_after(0.5):
                await self._session._proc.wait()
        return result.output, result.exit_code, restarted

    @property
    def exited(self) -> bool:
        return self._session is not None and self._session.closed

    async def _start(self, bash_session: Any) -> Any:
        import anyio

        proc = await anyio.open_process(
            ["/bin/bash", "--noprofile", "--norc"],
            cwd=self._workdir,
            env={**self._env, "PS1": "", "PS2": "", "TERM": "dumb"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = proc.pid
        session = bash_session(proc)
        group = self

        original_close = session.close

        async def close() -> None:  # the SDK closes on timeout and on cancel: take the whole group with it
            group.kill_group()
            await original_close()

        session.close = close
        return session

    def kill_group(self) -> None:
        if self.pgid is not None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    async def close(self) -> None:
        session, self._session = self._session, None
        self.kill_group()
        if session is not None:
            with trio.CancelScope(shield=True):
                await session.close()
        self.pgid = None


class Toolbox:
    """One session's tools. Use as `async with`; `call` runs a tool call through gate, limits and events."""

    def __init__(
        self,
        gate: Gate,
        *,
        limits: ToolLimits,
        emit: Callable[..., None],
        session: str,
        path: tuple[str, ...] = (),
        redactor: Redactor | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.gate = gate
        self.limits = limits
        self._emit = emit
        self.session = session
        self.path = path
        self._redact = (redactor or Redactor(())).text  # the run's one redactor: secrets and their encodings
        self._log = log
        #: A state-log write that failed during a call; the session fails with it once the backend returns.
        self.log_failure: Exception | None = None
        self._env = scrubbed_environment()
        self._bash = _GroupBash(gate.workspace, self._env)
        self._sdk: dict[str, Any] | None = None
        self._web_checked: bool | None = None
        self.names = gate.offered_tools()
        self.calls = 0

    async def __aenter__(self) -> Toolbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._bash.close()

    # -- what the model is offered -------------------------------------------------------
    def function_tools(self) -> list[Any]:
        """SDK async function tools for the Messages tool runner, each routed through `call`."""
        from anthropic.lib.tools import ToolError, beta_async_tool

        tools = []
        for name in self.names:
            inner = self._inner(name)

            def make(tool_name: str) -> Any:
                async def run(**kwargs: Any) -> Any:
                    outcome = await self.call(tool_name, kwargs)
                    if outcome.is_error:
                        raise ToolError(outcome.content)
                    return outcome.content

                return run

            tools.append(
                beta_async_tool(name=name, description=inner.description, input_schema=inner.input_schema)(make(name))
            )
        return tools

    async def server_tools(self) -> list[dict[str, Any]]:
        """The API's web tools, when `network` allows them (asked once per session under `prompt`)."""
        if self._web_checked is None:
            policy = self.gate.permissions.network
            denial = await self.gate.check_network("web search and web fetch for this session")
            self._web_checked = denial is None
            if denial is not None and policy == "prompt":  # a refusal the person made is worth showing
                self._record("web", "web access", ToolStatus.DENIED, 0.0, denial.message, denial.rule, emit_start=True)
        return [dict(spec) for spec in SERVER_TOOLS.values()] if self._web_checked else []

    @property
    def offers_anything(self) -> bool:
        return bool(self.names) or self.gate.permissions.network != "deny"

    # -- running a call ------------------------------------------------------------------------
    async def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        """Run one tool call. Never raises for a tool failure (the model sees an error result); cancellation propagates.

        The reported duration is the tool's own time: a permission question's wait is not part of it.
        """
        self.calls += 1
        summary = _summary(name, args if isinstance(args, dict) else {}, self._redact)
        self._emit(EventType.TOOL_START, session=self.session, tool=name, summary=summary, path=self.path, agent=self.gate.agent)
        started: float | None = None
        try:
            outcome = await self._refusal(name, args)
            if outcome is None:
                started = trio.current_time()
                outcome = await self._run(name, args)
        except trio.Cancelled:
            self._record(name, summary, ToolStatus.CANCELLED, _since(started), None, None)
            raise
        except Exception as exc:  # noqa: BLE001 - a tool's own bug must reach the model as an error, not end the run
            outcome = ToolOutcome(f"{name} failed: {type(exc).__name__}: {_one_line(str(exc))}", True, ToolStatus.ERROR)
        content = outcome.content
        if isinstance(content, str):
            content = clip(self._redact(content), self.limits.max_output)
            outcome = ToolOutcome(content, outcome.is_error, outcome.status, outcome.rule)
        error = content if outcome.is_error and isinstance(content, str) else None
        self._record(name, summary, outcome.status, _since(started), error, outcome.rule)
        return outcome

    def record_server_call(self, name: str, args: dict[str, Any], ok: bool, error: str | None = None) -> None:
        """A server-side tool call seen in the model's reply (the API ran it): events and the state log."""
        summary = _summary(name, args, self._redact)
        self._emit(EventType.TOOL_START, session=self.session, tool=name, summary=summary, path=self.path, agent=self.gate.agent)
        self._record(name, summary, ToolStatus.OK if ok else ToolStatus.ERROR, 0.0, error, None)

    def _record(self, name: str, summary: str, status: ToolStatus, duration: float, error: str | None, rule: str | None,
                *, emit_start: bool = False) -> None:
        if emit_start:
            self._emit(EventType.TOOL_START, session=self.session, tool=name, summary=summary, path=self.path,
                       agent=self.gate.agent)
        short_error = None if error is None else " ".join(error.split())[:300]
        self._emit(EventType.TOOL_END, session=self.session, tool=name, summary=summary, path=self.path, agent=self.gate.agent,
                   status=status, duration=round(duration, 4), error=short_error, rule=rule)
        if self._log is not None and self.log_failure is None:
            tail = f" ({rule})" if rule else ""
            try:
                self._log(f"tool {name} {status}{tail}: {summary}")
            except Exception as exc:  # noqa: BLE001 - raising here would reach the SDK runner, not the program
                self.log_failure = exc

    async def _refusal(self, name: str, args: Any) -> ToolOutcome | None:
        """Why this call does not run (not offered, malformed, not permitted), or None when it may."""
        if name not in self.names:
            if name in SERVER_TOOLS:
                return _refused(Denial("server tool", f"{name} runs on the API server, not in the workspace"))
            offered = ", ".join(self.names) or "none"
            return ToolOutcome(f"no tool named '{name}' is available to this session (available: {offered})", True, ToolStatus.ERROR)
        if not isinstance(args, dict):
            return ToolOutcome(f"{name}: the input must be an object", True, ToolStatus.ERROR)
        denial = await self._check(name, args)
        return _refused(denial) if denial is not None else None

    async def _run(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        timeout = self.limits.call_timeout
        if name == "bash":
            return await self._run_bash(args, timeout)
        from anthropic.lib.tools import ToolError

        inner = self._inner(name)
        try:
            with trio.move_on_after(timeout) as scope:
                result = await inner.call(args)
        except ToolError as exc:
            return ToolOutcome(_error_text(exc), True, ToolStatus.ERROR)
        except (ValueError, TypeError) as exc:
            detail = exc.__cause__ or exc
            return ToolOutcome(f"{name}: invalid input: {_one_line(str(detail))}", True, ToolStatus.ERROR)
        except OSError as exc:
            return ToolOutcome(f"{name}: {exc.strerror or exc}", True, ToolStatus.ERROR)
        if scope.cancelled_caught:
            return ToolOutcome(f"{name}: timed out after {timeout:g}s", True, ToolStatus.ERROR)
        if name in ("glob", "grep") and isinstance(result, str):
            result = self._filter_listing(name, result)
        return ToolOutcome(result)

    async def _check(self, name: str, args: dict[str, Any]) -> Denial | None:
        gate = self.gate
        if name in ("read", "write", "edit"):
            target = args.get("file_path")
            if not isinstance(target, str) or not target:
                return None  # the tool itself reports the missing argument
            return await gate.check_path(name, "read" if name == "read" else "write", target, shown=self._redact(target))
        if name in ("glob", "grep"):
            where = args.get("path") or "."
            if not isinstance(where, str):
                return None
            if gate.permissions.read.patterns is None:
                return await gate.check_path(name, "read", where, shown=self._redact(f"{args.get('pattern', '')} in {where}"))
            return gate.search_root_allowed(where)  # results are filtered by the patterns afterwards
        if name == "bash":
            command = args.get("command")
            if args.get("restart") and not command:
                return None
            if not isinstance(command, str) or not command.strip():
                return None
            return await gate.check_bash(command, shown=self._redact(command))
        return None

    async def _run_bash(self, args: dict[str, Any], timeout: float) -> ToolOutcome:
        if args.get("restart"):
            await self._bash.close()
            if not args.get("command"):
                return ToolOutcome("bash session restarted")
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolOutcome("bash: command is required", True, ToolStatus.ERROR)
        asked = args.get("timeout_ms")
        if isinstance(asked, (int, float)) and asked > 0:
            timeout = min(timeout, asked / 1000)
        try:
            output, code, restarted = await self._bash.exec(command, timeout)
        except TimeoutError:
            return ToolOutcome(f"bash: the command timed out after {timeout:g}s and was killed (the shell was restarted)",
                               True, ToolStatus.ERROR)
        except (RuntimeError, OSError) as exc:
            await self._bash.close()
            return ToolOutcome(f"bash: {_one_line(str(exc))}", True, ToolStatus.ERROR)
        if restarted:
            output = "[the shell was restarted after a previous timeout: working directory and variables were reset]\n" + output
        if self._bash.exited:
            await self._bash.close()
            return ToolOutcome(f"{output}\n[the command ended the shell itself (for example with `exit`); the next "
                               "command starts a new shell]".lstrip("\n"), True, ToolStatus.ERROR)
        if code != 0:
            return ToolOutcome(f"{output}\n[exit code {code}]".lstrip("\n"), True, ToolStatus.ERROR)
        return ToolOutcome(output)

    def _inner(self, name: str) -> Any:
        if self._sdk is None:
            from anthropic.lib.tools.agent_toolset import (
                AgentToolContext,
                beta_edit_tool,
                beta_glob_tool,
                beta_grep_tool,
                beta_read_tool,
                beta_write_tool,
            )

            ctx = AgentToolContext(
                workdir=str(self.gate.workspace),
                allowed_roots=self.gate.extra_roots(),
                read_only_roots=list(self.gate.protected),
                env=self._env,
            )
            self._sdk = {
                "read": beta_read_tool(ctx),
                "write": beta_write_tool(ctx),
                "edit": beta_edit_tool(ctx),
                "glob": beta_glob_tool(ctx),
                "grep": beta_grep_tool(ctx),
            }
            from anthropic.lib.tools.agent_toolset import beta_bash_tool

            self._sdk["bash"] = beta_bash_tool(ctx)  # only its definition (schema, description) is used
        return self._sdk[name]

    def _filter_listing(self, name: str, text: str) -> str:
        """Drop results the read permissions do not cover, and show paths relative to the workspace."""
        if text in ("no matches",):
            return text
        workspace = str(self.gate.workspace)
        kept: list[str] = []
        hidden = 0
        for line in text.split("\n"):
            path_text = line
            if name == "grep":
                m = re.match(r"(.+?):\d+:", line)
                if m is None:
                    kept.append(line)
                    continue
                path_text = m.group(1)
            if path_text.startswith("["):  # the tool's own truncation note
                kept.append(line)
                continue
            decision = self.gate.path_allowed("read", Path(os.path.realpath(path_text)))
            if decision is not None and decision != "ask":
                hidden += 1
                continue
            if line.startswith(workspace + "/"):
                line = line[len(workspace) + 1 :]
            kept.append(line)
        if hidden:
            kept.append(f"[{hidden} result(s) hidden: not covered by permissions {self.gate.permissions.read.describe('read')}]")
        return "\n".join(kept) if kept else "no matches"


def _since(started: float | None) -> float:
    return 0.0 if started is None else trio.current_time() - started


def _refused(denial: Denial) -> ToolOutcome:
    return ToolOutcome(f"permission denied: {denial.message}", True, ToolStatus.DENIED, denial.rule)


def _error_text(exc: Exception) -> str:
    content = exc.args[0] if exc.args else str(exc)
    return content if isinstance(content, str) else str(content)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]
