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

How a request is laid out (see ``render_user_message``): the agent prompt is the
``system`` prompt; context bindings become ``<context name="...">`` sections and
resumed memory a ``<memory>`` section, ahead of the task, inside one user message.
XML-style tags are what Anthropic's prompting guidance recommends for separating
material, and the name attribute lets the prompt refer to bindings by name.

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
from .anthropic_agent import run_tool_loop
from .base import BackendError, ContextItem, SessionRequest, SessionResult, Usage
from .config import BackendConfig, resolve_model

__all__ = ["AnthropicBackend", "render_user_message"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
_RETRYABLE_TYPES = frozenset({"rate_limit_error", "overloaded_error", "api_error"})
_JUDGE_MAX_TOKENS = 16

_JUDGE_SYSTEM = (
    "You evaluate one condition for a program that coordinates AI work sessions. "
    "Weigh the context you are given. When the evidence is unclear, say NO. "
    "Reply with a single word: YES or NO."
)
_CHOOSE_SYSTEM = (
    "You pick one option for a program that coordinates AI work sessions, "
    "judging the options against the stated criteria and the context you are given. "
    "Reply with the number of the chosen option and nothing else."
)


def _sections(context: tuple[ContextItem, ...], memory: str | None = None) -> list[str]:
    parts = [f'<context name="{item.name}">\n{item.text}\n</context>' for item in context]
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


class _Scrubber:
    """Removes the API key (and any bearer token) from text meant for users."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __call__(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "[redacted]")
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
            timeout=anthropic.Timeout(self._config.request_timeout, connect=min(30.0, self._config.request_timeout)),
        )
        _prime_platform_cache(self._client)
        # Inside a tool loop the SDK's own retries cover each request; this copy shares the connection pool.
        self._loop_client = self._client.with_options(max_retries=max(0, self._config.max_attempts - 1))

    def __repr__(self) -> str:
        return f"AnthropicBackend(base_url={self._base_url!r})"

    # -- the Backend protocol ---------------------------------------------------------
    async def run_session(self, request: SessionRequest, toolbox: Toolbox | None = None) -> SessionResult:
        model = resolve_model(request.model, self._config)
        if toolbox is None or not toolbox.offers_anything:
            return await self._complete(
                model=model, system=request.system, user=render_user_message(request), max_tokens=self._config.max_tokens
            )
        # In a tool loop the SDK's own retries cover each request (429, 5xx, connection
        # errors, honouring retry-after); a failure mid-stream fails the session, which the
        # program's `retry:` and `try` then see.
        return await run_tool_loop(
            self._loop_client,
            model=model,
            system=request.system,
            user=render_user_message(request),
            max_tokens=self._config.max_tokens,
            toolbox=toolbox,
            describe=lambda exc: self._describe_failure(exc, model),
        )

    async def judge(self, condition: str, context: tuple[ContextItem, ...]) -> bool:
        user = "\n\n".join(
            [*_sections(context), f"<condition>\n{condition}\n</condition>", "Does the condition hold? Answer YES or NO."]
        )
        result = await self._complete(
            model=self._judge_model(), system=_JUDGE_SYSTEM, user=user, max_tokens=_JUDGE_MAX_TOKENS
        )
        match = re.match(r"[\s*\"'`]*(yes|no|true|false)\b", result.text, re.IGNORECASE)
        if match is None:
            raise BackendError(
                f"could not read a YES/NO answer for condition **{_short(condition)}**; "
                f"the model replied {_short(self._scrub(result.text))!r}"
            )
        return match.group(1).lower() in ("yes", "true")

    async def choose(self, criteria: str, options: tuple[str, ...], context: tuple[ContextItem, ...]) -> int:
        if not options:
            raise BackendError(f"choice **{_short(criteria)}** has no options to choose from")
        listing = "\n".join(f"{i}. {label}" for i, label in enumerate(options, 1))
        user = "\n\n".join(
            [
                *_sections(context),
                f"<criteria>\n{criteria}\n</criteria>",
                f"<options>\n{listing}\n</options>",
                "Which option fits the criteria best? Answer with its number only.",
            ]
        )
        result = await self._complete(
            model=self._judge_model(), system=_CHOOSE_SYSTEM, user=user, max_tokens=_JUDGE_MAX_TOKENS
        )
        return _parse_choice(result.text, options, criteria, self._scrub)

    async def aclose(self) -> None:
        await self._client.close()

    # -- internals -----------------------------------------------------------------------
    def _judge_model(self) -> str:
        return resolve_model(self._config.judge_model or self._config.default_model, self._config)

    async def _complete(self, *, model: str, system: str | None, user: str, max_tokens: int) -> SessionResult:
        attempts = max(1, self._config.max_attempts)
        attempt = 0
        while True:
            attempt += 1
            failure: str | None = None
            delay = 0.0
            try:
                return await self._stream_once(model=model, system=system, user=user, max_tokens=max_tokens)
            except anthropic.APIStatusError as exc:
                retryable = exc.status_code == 429 or exc.status_code >= 500 or exc.type in _RETRYABLE_TYPES
                if not retryable or attempt >= attempts:
                    failure = self._describe_failure(exc, model, attempt)
                else:
                    delay = self._delay(attempt, exc.response.headers)
            except (anthropic.APIConnectionError, httpx2.TransportError) as exc:
                # The SDK wraps transport errors while connecting, but one that happens
                # while reading the stream (e.g. the connection drops) arrives as httpx2's own.
                if attempt >= attempts:
                    failure = self._describe_failure(exc, model, attempt)
                else:
                    delay = self._delay(attempt, None)
            except anthropic.AnthropicError as exc:
                failure = self._describe_failure(exc, model, attempt)
            if failure is not None:
                # Raised outside the handler so the SDK exception (which holds the HTTP
                # request and its auth header) is not even attached as __context__.
                raise BackendError(failure)
            await trio.sleep(delay)

    def _describe_failure(self, exc: Exception, model: str, attempt: int = 1) -> str | None:
        """The user-facing message for an SDK or transport failure (None: not one of ours to describe)."""
        if isinstance(exc, anthropic.APIStatusError):
            return self._describe_status(exc, model, attempt)
        if isinstance(exc, (anthropic.APIConnectionError, httpx2.TransportError)):
            if isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
                what = "timed out"
            elif isinstance(exc, anthropic.APIConnectionError):
                what = "could not connect"
            else:
                what = "lost its connection"
            return f"Anthropic API request {what} ({self._base_url}) after {attempt} attempt(s)"
        if isinstance(exc, anthropic.AnthropicError):
            return self._scrub(f"Anthropic SDK error: {type(exc).__name__}: {exc}")
        return None

    async def _stream_once(self, *, model: str, system: str | None, user: str, max_tokens: int) -> SessionResult:
        kwargs: dict[str, Any] = {}
        if system:
            kwargs["system"] = system
        async with self._client.messages.stream(
            model=model,
            max_tokens=max_tokens,
            messages=[{"role": "user", "content": user}],
            **kwargs,
        ) as stream:
            message = await stream.get_final_message()
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = Usage(
            input_tokens=int(message.usage.input_tokens or 0),
            output_tokens=int(message.usage.output_tokens or 0),
        )
        return SessionResult(text=text, usage=usage, model=message.model or model)

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


def _parse_choice(text: str, options: tuple[str, ...], criteria: str, scrub: _Scrubber) -> int:
    m = re.match(r"[\s*\"'`]*(?:option\s*)?#?(\d+)\b", text, re.IGNORECASE)
    if m is not None and 1 <= int(m.group(1)) <= len(options):
        return int(m.group(1)) - 1
    reply = text.strip().strip("*\"'`.").strip().casefold()
    for i, label in enumerate(options):
        if reply == label.casefold():
            return i
    raise BackendError(
        f"could not read an option number (1-{len(options)}) for choice **{_short(criteria)}**; "
        f"the model replied {_short(scrub(text))!r}"
    )


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _prime_platform_cache(client: anthropic.AsyncAnthropic) -> None:
    # The SDK computes this lazily via a worker thread; computing it here (it is cheap
    # on the platforms we run on) keeps all runtime work on the trio thread.
    if getattr(client, "_platform", "unset") is None:
        try:
            from anthropic._base_client import get_platform

            client._platform = get_platform()
        except Exception:  # a private hook; if it moves, the SDK's own lookup still works
            pass
