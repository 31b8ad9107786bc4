"""Sessions on the real Anthropic Messages API, via the official SDK, under trio.

The SDK's async client is built on httpx2/httpcore2 and anyio; it detects trio
through sniffio and uses httpcore2's trio network backend, so ``AsyncAnthropic``
runs natively inside ``trio.run`` and is cancelled by trio cancel scopes like any
other trio code. Two SDK behaviours are adjusted here:

* The SDK's own retries are switched off (``max_retries=0``) and replaced by a loop
  whose delays come from ``BackendConfig`` (so tests need not wait) and which also
  retries failures in the middle of a stream (an ``overloaded_error`` event, or the
  connection dropping), which the SDK's retries do not cover.
* On its first request the SDK looks up platform details in a worker thread. We fill
  that cache up front so the runtime never starts threads.

Three limits keep a bad network from stalling a run (all in ``BackendConfig``):
``read_timeout`` (no bytes at all, via the client's ``httpx.Timeout``),
``idle_timeout`` (no stream event; pings are skipped by the SDK, so a stream that
only pings trips it) and ``call_deadline`` (all attempts of one call together). A
response the SDK cannot make sense of (bad JSON in an event, an event for a block
that does not exist, an HTML or empty 200) becomes a ``BackendError`` too, so
``retry:`` and ``try`` see it instead of a traceback.

How a request is laid out (see ``render_user_message``): the agent prompt is the
``system`` prompt; context bindings become ``<context name="...">`` sections and
resumed memory a ``<memory>`` section, ahead of the task, inside one user message.
XML-style tags are what Anthropic's prompting guidance recommends for separating
material, and the name attribute lets the prompt refer to bindings by name.

Decisions (conditions and choices) are forced tool calls (``decide`` / ``choose``)
with a one-line reason, retried once with a correction when the reply is not a
valid call (see ``decide``). Thinking is set explicitly per kind of call
(``config.session_budget`` / ``decision_budget``). A long agent prompt and long
shared context are marked for the prompt cache (``system_param``, ``user_content``).
Every result and error carries the usage of all its calls, cache tokens included.

Secrets: the key is given to the SDK client and kept nowhere else. Error messages
are composed here from the status, error type and server message, with the key (and
any bearer token) scrubbed, and are raised outside the ``except`` block so the SDK
exception, which carries the HTTP request, is not chained to them.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from typing import Any

import anthropic
import httpx2
import trio

from ..agents.tools import Toolbox
from ..redact import Redactor
from ..text import shorten
from .anthropic_agent import run_tool_loop
from .base import BackendError, ContextItem, Decision, DecisionRequest, SessionRequest, SessionResult, Usage, usage_of
from .config import BackendConfig, decision_budget, resolve_model, session_budget

__all__ = ["AnthropicBackend", "render_user_message", "system_param", "user_content"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
_RETRYABLE_TYPES = frozenset({"rate_limit_error", "overloaded_error", "api_error"})
#: Below about 1024 tokens the API does not cache a prefix, so marking shorter text only adds noise.
CACHE_MIN_CHARS = 4096
_CACHE = {"type": "ephemeral"}

_JUDGE_SYSTEM = (
    "You evaluate one condition for a program that coordinates AI work sessions. "
    "Weigh the context you are given. When the evidence is unclear, say NO. "
    "Answer YES or NO by calling the `decide` tool: answer true for YES, false for NO, "
    "and a one-sentence reason."
)
_CHOOSE_SYSTEM = (
    "You pick one option for a program that coordinates AI work sessions, "
    "judging the options against the stated criteria and the context you are given. "
    "Answer by calling the `choose` tool with the number of the chosen option and a one-sentence reason."
)
_REASON = {"type": "string", "description": "One sentence: why, citing the context."}


def _decide_tool() -> dict[str, Any]:
    return {
        "name": "decide",
        "description": "Record whether the condition holds, and why.",
        "input_schema": {
            "type": "object",
            "properties": {"answer": {"type": "boolean", "description": "true = YES, false = NO"}, "reason": _REASON},
            "required": ["answer", "reason"],
            "additionalProperties": False,
        },
    }


def _choose_tool(count: int) -> dict[str, Any]:
    return {
        "name": "choose",
        "description": "Record the chosen option's number, and why.",
        "input_schema": {
            "type": "object",
            "properties": {
                "option": {"type": "integer", "enum": list(range(1, count + 1)), "description": "the option's number"},
                "reason": _REASON,
            },
            "required": ["option", "reason"],
            "additionalProperties": False,
        },
    }


def _section(item: ContextItem) -> str:
    """One binding as a labelled section; a shortened or by-reference value says where the rest is."""
    if item.ref is None:
        return f'<context name="{item.name}">\n{item.text}\n</context>'
    if not item.text:
        return f'<context name="{item.name}" file="{item.ref}" />'
    note = f"\n[shortened; the whole value is in {item.ref}]" if item.truncated else ""
    return f'<context name="{item.name}" file="{item.ref}">\n{item.text}{note}\n</context>'


def _sections(context: tuple[ContextItem, ...], memory: str | None = None) -> list[str]:
    parts = [_section(item) for item in context]
    if any(item.ref is not None and not item.text for item in context):
        parts.append("Values listed only with a file are stored in those files (paths relative to the project).")
    if memory is not None:
        parts.append(f"<memory>\n{memory}\n</memory>")
    return parts


def render_user_message(request: SessionRequest) -> str:
    """The user turn for a session: labelled context and memory, then the task.

    A bare prompt is sent unchanged, so simple sessions look exactly as written.
    """
    parts = _sections(request.context, request.memory)
    if not parts:
        return request.prompt
    return "\n\n".join([*parts, f"<task>\n{request.prompt}\n</task>"])


def user_content(shared: list[str], rest: list[str]) -> str | list[dict[str, Any]]:
    """The user message: one string, or, when the shared material (context, memory) is long
    enough to be worth caching, a cached block for it followed by the rest."""
    if not shared:
        return "\n\n".join(rest)
    head = "\n\n".join(shared)
    if len(head) < CACHE_MIN_CHARS:
        return "\n\n".join([head, *rest])
    return [{"type": "text", "text": head, "cache_control": _CACHE}, {"type": "text", "text": "\n\n".join(rest)}]


def system_param(system: str | None) -> str | list[dict[str, Any]] | None:
    """The system prompt, marked for the prompt cache when it is long enough to be cached:
    every session of an agent starts with the same agent prompt."""
    if not system:
        return None
    if len(system) < CACHE_MIN_CHARS:
        return system
    return [{"type": "text", "text": system, "cache_control": _CACHE}]


class _Scrubber:
    """Removes the API key (in its common encodings too) and any bearer token from text meant for users."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._redactor = Redactor([secret])  # the encodings (only for keys of 8 characters or more)

    def __call__(self, text: str) -> str:
        if self._secret:
            text = self._redactor.text(text.replace(self._secret, "[redacted]"))
        return re.sub(r"(?i)(bearer\s+)[^\s'\",}]+", r"\1[redacted]", text)

    def __repr__(self) -> str:
        return "_Scrubber(<secret>)"


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait, from retry-after-ms or retry-after."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


class AnthropicBackend:
    name = "anthropic"
    #: Sessions are tool-use loops over the toolbox the interpreter hands in.
    acts = True

    def __init__(self, *, api_key: str, config: BackendConfig | None = None, base_url: str | None = None) -> None:
        if not api_key:
            raise ValueError("the anthropic backend needs an API key (set ANTHROPIC_API_KEY)")
        self._config = config or BackendConfig()
        self._scrub = _Scrubber(api_key)
        self._base_url = base_url or self._config.base_url or DEFAULT_BASE_URL
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=_client_timeout(self._config),
        )
        _prime_platform_cache(self._client)
        # Inside a tool loop the SDK's own retries cover each request; this copy shares the connection pool.
        self._loop_client = self._client.with_options(max_retries=max(0, self._config.max_attempts - 1))

    def __repr__(self) -> str:
        return f"AnthropicBackend(base_url={self._base_url!r})"

    # -- the Backend protocol ---------------------------------------------------------
    async def run_session(self, request: SessionRequest, toolbox: Toolbox | None = None) -> SessionResult:
        thinking, max_tokens = session_budget(request.effort or self._config.effort,
                                              request.max_tokens or self._config.max_tokens)
        shared = _sections(request.context, request.memory)
        user = user_content(shared, [f"<task>\n{request.prompt}\n</task>"] if shared else [request.prompt])
        model = resolve_model(request.model, self._config)
        if toolbox is not None and toolbox.offers_anything:
            # Inside a tool loop the SDK's own retries cover each request (429, 5xx, connection
            # errors, honouring retry-after); a failure mid-stream fails the session, which the
            # program's `retry:` and `try` then see.
            return await run_tool_loop(
                self._loop_client,
                model=model,
                system=request.system,
                user=user,
                max_tokens=max_tokens,
                thinking=thinking,
                toolbox=toolbox,
                describe=lambda exc: self._describe_failure(exc, model),
                drain=lambda stream: _drain(stream, self._config.idle_timeout),
            )
        message = await self._complete(
            model=model,
            max_tokens=max_tokens,
            messages=[{"role": "user", "content": user}],
            system=system_param(request.system),
            thinking=thinking,
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        return SessionResult(text=text, usage=usage_of(message), model=message.model or model,
                             stop_reason=message.stop_reason)

    async def judge(self, condition: str, context: tuple[ContextItem, ...]) -> bool:
        return bool((await self.decide(DecisionRequest("condition", condition, (), context))).value)

    async def choose(self, criteria: str, options: tuple[str, ...], context: tuple[ContextItem, ...]) -> int:
        return int((await self.decide(DecisionRequest("choice", criteria, options, context))).value)

    async def decide(self, request: DecisionRequest) -> Decision:
        """A condition or choice as a forced tool call, retried once with a correction.

        The model must call `decide` (or `choose`) with a valid answer and a reason. A
        reply that starts with a plain YES/NO (or option number) is accepted too, as
        it is unambiguous. Anything else — prose, an empty reply, a malformed or
        cut-off call — is sent back once with a message saying what was wrong; a
        second bad reply is a BackendError that counts both calls.
        """
        if request.kind == "choice" and not request.options:
            raise BackendError(f"choice **{shorten(request.question)}** has no options to choose from")
        model = self._judge_model()
        thinking, max_tokens = decision_budget()
        if request.kind == "condition":
            system, tool = _JUDGE_SYSTEM, _decide_tool()
            body = [f"<condition>\n{request.question}\n</condition>", "Does the condition hold? Answer YES or NO."]
        else:
            system, tool = _CHOOSE_SYSTEM, _choose_tool(len(request.options))
            listing = "\n".join(f"{i}. {label}" for i, label in enumerate(request.options, 1))
            body = [
                f"<criteria>\n{request.question}\n</criteria>",
                f"<options>\n{listing}\n</options>",
                "Which option fits the criteria best? Answer with its number only.",
            ]
        shared = _sections(request.context)
        usage, calls, problem = Usage(), 0, ""
        for attempt in (1, 2):
            rest = body if attempt == 1 else [*body, _correction(problem, tool["name"])]
            try:
                message = await self._complete(
                    model=model,
                    max_tokens=max_tokens,
                    messages=[{"role": "user", "content": user_content(shared, rest)}],
                    system=system,
                    thinking=thinking,
                    tools=[tool],
                    tool_choice={"type": "tool", "name": tool["name"]},
                )
            except BackendError as exc:
                raise BackendError(str(exc), usage=usage, calls=calls, model=model) from None
            usage, calls = usage + usage_of(message), calls + 1
            used = message.model or model
            answer = _read_decision(message, request)
            if isinstance(answer, Decision):
                return Decision(answer.value, answer.reason, usage, used, calls)
            problem = answer
        what = (f"a YES/NO answer for condition **{shorten(request.question)}**" if request.kind == "condition"
                else f"an option number (1-{len(request.options)}) for choice **{shorten(request.question)}**")
        raise BackendError(f"could not read {what} after {calls} attempts: {self._scrub(problem)}",
                           usage=usage, calls=calls, model=model)

    async def aclose(self) -> None:
        await self._client.close()

    # -- internals -----------------------------------------------------------------------
    def _judge_model(self) -> str:
        return resolve_model(self._config.judge_model or self._config.default_model, self._config)

    async def _complete(self, **params: Any) -> Any:
        """One Messages API request, streamed, with transport retries, within the per-call deadline."""
        deadline = self._config.call_deadline
        with trio.move_on_after(deadline) as scope:
            return await self._attempts(**params)
        assert scope.cancelled_caught
        raise BackendError(f"Anthropic API call did not finish within {deadline:g} s ({self._base_url})")

    async def _attempts(self, **params: Any) -> Any:
        model = params["model"]
        attempts = max(1, self._config.max_attempts)
        attempt = 0
        while True:
            attempt += 1
            failure: str | None = None
            delay = 0.0
            try:
                return await self._stream_once(params)
            except anthropic.APIStatusError as exc:
                retryable = exc.status_code == 429 or exc.status_code >= 500 or exc.type in _RETRYABLE_TYPES
                if not retryable or attempt >= attempts:
                    failure = self._describe_failure(exc, model, attempt)
                else:
                    delay = self._delay(attempt, exc.response.headers)
            except (anthropic.APIConnectionError, httpx2.TransportError, _Stalled) as exc:
                # The SDK wraps transport errors while connecting, but one that happens
                # while reading the stream (e.g. the connection drops) arrives as httpx2's own.
                if attempt >= attempts:
                    failure = self._describe_failure(exc, model, attempt)
                else:
                    delay = self._delay(attempt, None)
            except anthropic.AnthropicError as exc:
                failure = self._describe_failure(exc, model, attempt)
            except _MALFORMED as exc:
                failure = self._scrub(_describe_malformed(exc, self._base_url))
            if failure is not None:
                # Raised outside the handler so the SDK exception (which holds the HTTP
                # request and its auth header) is not even attached as __context__.
                raise BackendError(failure)
            await trio.sleep(delay)

    def _describe_failure(self, exc: Exception, model: str, attempt: int = 1) -> str | None:
        """The user-facing message for an SDK or transport failure (None: not one of ours to describe)."""
        if isinstance(exc, anthropic.APIStatusError):
            return self._describe_status(exc, model, attempt)
        if isinstance(exc, (anthropic.APIConnectionError, httpx2.TransportError, _Stalled)):
            if isinstance(exc, _Stalled):
                what = f"stalled (no stream event for {exc.seconds:g} s)"
            elif isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
                what = "timed out"
            elif isinstance(exc, anthropic.APIConnectionError):
                what = "could not connect"
            else:
                what = "lost its connection"
            return f"Anthropic API request {what} ({self._base_url}) after {attempt} attempt(s)"
        if isinstance(exc, anthropic.AnthropicError):
            return self._scrub(f"Anthropic SDK error: {type(exc).__name__}: {exc}")
        if isinstance(exc, _MALFORMED):
            return self._scrub(_describe_malformed(exc, self._base_url))
        return None

    async def _stream_once(self, params: dict[str, Any]) -> Any:
        kwargs = {k: v for k, v in params.items() if v is not None}
        async with self._client.messages.stream(**kwargs) as stream:
            await _drain(stream, self._config.idle_timeout)
            return await stream.get_final_message()

    def _delay(self, attempt: int, headers: Any) -> float:
        cfg = self._config
        asked = _retry_after(headers)
        if asked is not None:
            return min(asked, cfg.retry_after_cap)
        base = min(cfg.retry_initial_delay * 2 ** (attempt - 1), cfg.retry_max_delay)
        return base * (1 - cfg.retry_jitter * random.random())

    def _describe_status(self, exc: anthropic.APIStatusError, model: str, attempt: int) -> str:
        status = exc.status_code
        kind = exc.type or "error"
        detail = exc.api_message or ""
        head = "Anthropic API error during streaming" if status == 200 else f"Anthropic API error {status}"
        msg = f"{head} ({kind})"
        if detail:
            msg += f": {detail}"
        if status in (401, 403):
            msg += " — check that ANTHROPIC_API_KEY is valid for this endpoint"
        elif status == 404:
            msg += f" — is the model id {model!r} right?"
        if attempt > 1:
            msg += f" (gave up after {attempt} attempts)"
        return self._scrub(msg)


class _Stalled(Exception):
    """No stream event arrived within the idle timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no stream event for {seconds:g} s")
        self.seconds = seconds


#: What the SDK raises on a response it cannot interpret: invalid JSON in an SSE event
#: (ValueError), an event for a content block that does not exist (IndexError/KeyError),
#: fields of the wrong type (TypeError/AttributeError, pydantic's ValidationError is a
#: ValueError), or a 200 that is not a stream at all, so no message ever started (RuntimeError/AssertionError).
_MALFORMED: tuple[type[BaseException], ...] = (
    ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError, AssertionError,
)


def _describe_malformed(exc: BaseException, base_url: str) -> str:
    detail = " ".join(str(exc).split())[:160]
    if isinstance(exc, (AssertionError, RuntimeError)):
        # The SDK's stream accumulator found no message_start: the 200 was not an event stream.
        what = "a reply that is not a message stream (an HTML page, an empty body or a proxy's answer?)"
    else:
        what = f"a malformed reply ({type(exc).__name__}{': ' + detail if detail else ''})"
    return f"Anthropic API sent {what} ({base_url})"


def _client_timeout(config: BackendConfig) -> httpx2.Timeout:
    """The SDK client's timeouts: reads bounded by read_timeout, the rest by request_timeout."""
    total = config.request_timeout
    return httpx2.Timeout(total, connect=min(30.0, total), read=config.read_timeout)


async def _drain(stream: Any, idle: float) -> None:
    """Consume a message stream, failing when no event arrives for ``idle`` seconds.

    The SDK drops keep-alive pings before they reach us, so each wait here is for a
    real event; a stream that only pings, or stops mid-reply, raises `_Stalled`.
    """
    events = stream.__aiter__()
    while True:
        with trio.move_on_after(idle) as scope:
            try:
                await events.__anext__()
            except StopAsyncIteration:
                return
        if scope.cancelled_caught:
            raise _Stalled(idle)


def _correction(problem: str, tool: str) -> str:
    return (f"<correction>\nYour previous reply could not be used: {problem}. "
            f"Reply only by calling the `{tool}` tool, with every field filled in.\n</correction>")


def _read_decision(message: Any, request: DecisionRequest) -> Decision | str:
    """The decision in a reply, or a description of what is wrong with the reply."""
    truncated = message.stop_reason == "max_tokens"
    calls = [block for block in message.content if block.type == "tool_use"]
    text = "".join(block.text for block in message.content if block.type == "text").strip()
    for block in calls:
        data = block.input if isinstance(block.input, dict) else {}
        reason = data.get("reason")
        reason = " ".join(reason.split()) if isinstance(reason, str) else ""
        if request.kind == "condition":
            answer = data.get("answer")
            if isinstance(answer, str) and answer.strip().lower() in ("true", "false", "yes", "no"):
                answer = answer.strip().lower() in ("true", "yes")
            if isinstance(answer, bool):
                return Decision(answer, reason)
            return f"the `decide` call had answer={answer!r}, not true or false"
        option = data.get("option")
        if isinstance(option, str) and option.strip().isdigit():
            option = int(option.strip())
        if isinstance(option, int) and not isinstance(option, bool) and 1 <= option <= len(request.options):
            return Decision(option - 1, reason)
        return f"the `choose` call had option={option!r}, not a number from 1 to {len(request.options)}"
    if truncated:
        return "the reply was cut off at max_tokens before the answer"
    if not text:
        return "the reply was empty"
    if request.kind == "condition":
        match = re.match(r"[\s*\"'`]*(yes|no|true|false)\b[\s*\"'`.,:;-]*(.*)", text, re.IGNORECASE | re.DOTALL)
        if match is not None:
            return Decision(match.group(1).lower() in ("yes", "true"), _first_line(match.group(2)))
        return f"the model replied in prose instead of YES/NO: {shorten(text)!r}"
    index = _parse_choice(text, request.options)
    if index is not None:
        return Decision(index, "")
    return f"the model replied {shorten(text)!r} instead of an option number"


def _parse_choice(text: str, options: tuple[str, ...]) -> int | None:
    m = re.match(r"[\s*\"'`]*(?:option\s*)?#?(\d+)\b", text, re.IGNORECASE)
    if m is not None and 1 <= int(m.group(1)) <= len(options):
        return int(m.group(1)) - 1
    reply = text.strip().strip("*\"'`.").strip().casefold()
    for i, label in enumerate(options):
        if reply == label.casefold():
            return i
    return None


def _first_line(text: str) -> str:
    return shorten(text.strip().split("\n", 1)[0], 200) if text.strip() else ""


def _prime_platform_cache(client: anthropic.AsyncAnthropic) -> None:
    # The SDK computes this lazily via a worker thread; computing it here (it is cheap
    # on the platforms we run on) keeps all runtime work on the trio thread.
    if getattr(client, "_platform", "unset") is None:
        try:
            from anthropic._base_client import get_platform

            client._platform = get_platform()
        except Exception:  # a private hook; if it moves, the SDK's own lookup still works
            pass
