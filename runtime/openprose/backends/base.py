"""The contract between the interpreter and whatever runs AI sessions.

Kept deliberately tiny: the interpreter only ever needs "run this session",
"decide this condition or choice" and "clean up", so every backend (offline
simulation, scripted tests, the real API) can be swapped freely.

Every result carries the usage of *all* the API calls that produced it (a decision
that needed a corrective retry cost two calls), and so does a ``BackendError``:
a failed call can still have been billed, and the run's accounting must show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "BackendError",
    "ContextItem",
    "Decision",
    "DecisionRequest",
    "SessionRequest",
    "SessionResult",
    "Usage",
    "decide_with",
    "usage_of",
]


@dataclass(frozen=True)
class ContextItem:
    name: str  # binding name used as the section label
    text: str  # the value rendered as text (possibly shortened; see `ref`)
    #: Where the whole value is stored (a binding file), when `text` is only part of it
    #: or when the value is passed by reference alone (`text` is then empty).
    ref: str | None = None
    truncated: bool = False


@dataclass(frozen=True)
class SessionRequest:
    prompt: str  # the task prompt after interpolation
    system: str | None = None  # agent prompt (the system prompt)
    model: str | None = None  # alias ('sonnet'/'opus'/'haiku') or a full model id
    context: tuple[ContextItem, ...] = ()
    agent: str | None = None  # agent name, if any
    memory: str | None = None  # persistent agent memory to continue from (resume:)
    binding: str | None = None  # the variable the result will be bound to, if any
    #: Output budget for this session (agent/session `max_tokens:`); None = the backend's default.
    max_tokens: int | None = None
    #: Thinking effort for this session (`effort:` or `prose run --effort`); None = the backend's default.
    effort: str | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more API calls, in the Messages API's own categories.

    ``input_tokens`` excludes cached input: tokens read from the prompt cache are
    ``cache_read_tokens`` and tokens written to it ``cache_write_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class SessionResult:
    text: str
    usage: Usage = Usage()
    model: str | None = None  # the resolved model id actually used
    #: Why the model stopped; "max_tokens" means the output was cut off. (Not part of
    #: equality: two results with the same text, usage and model are the same result.)
    stop_reason: str | None = field(default=None, compare=False)
    #: API calls made for this result (a tool-using session makes one per turn).
    calls: int = field(default=1, compare=False)

    @property
    def truncated(self) -> bool:
        return self.stop_reason == "max_tokens"


@dataclass(frozen=True)
class DecisionRequest:
    """A `**condition**` to judge or a `choice` to make, with what the judge may look at."""

    kind: Literal["condition", "choice"]
    question: str  # the condition text or the choice criteria, interpolated
    options: tuple[str, ...] = ()  # choice only: the option labels, in program order
    context: tuple[ContextItem, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The answer to a DecisionRequest: True/False, or the 0-based option index."""

    value: bool | int
    reason: str = ""  # one line saying why, shown in the tree, the events and state.md
    usage: Usage = Usage()
    model: str | None = None
    calls: int = 1


class BackendError(Exception):
    """A session or decision could not be completed, after the backend's own retries.

    The message is shown to users as is, so it must explain the failure and must
    never contain credentials. ``usage``/``calls``/``model`` say what the failed
    attempts cost, so they are counted too.
    """

    def __init__(self, message: str, *, usage: Usage | None = None, calls: int = 0, model: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage or Usage()
        self.calls = calls
        self.model = model


@runtime_checkable
class Backend(Protocol):
    """A backend whose class sets ``acts = True`` is given a ``Toolbox`` per session
    (``run_session(request, toolbox)``) and must run every tool call through it; one
    without it (the simulated backend) is called as ``run_session(request)`` and runs no tools.
    """

    name: str

    async def run_session(self, request: SessionRequest) -> SessionResult: ...

    async def judge(self, condition: str, context: tuple[ContextItem, ...]) -> bool: ...

    async def choose(self, criteria: str, options: tuple[str, ...], context: tuple[ContextItem, ...]) -> int: ...

    async def aclose(self) -> None: ...


def usage_of(message: Any) -> Usage:
    """Usage of one Messages API reply (an SDK ``Message``), cache reads and writes included."""
    u = message.usage
    return Usage(
        input_tokens=int(getattr(u, "input_tokens", 0) or 0),
        output_tokens=int(getattr(u, "output_tokens", 0) or 0),
        cache_read_tokens=int(getattr(u, "cache_read_input_tokens", 0) or 0),
        cache_write_tokens=int(getattr(u, "cache_creation_input_tokens", 0) or 0),
    )


async def decide_with(backend: Backend, request: DecisionRequest) -> Decision:
    """Ask a backend for a decision, with a reason when the backend can give one.

    Backends that implement ``decide`` (all of ours) answer with a reason and usage;
    a backend with only the plain ``judge``/``choose`` methods still works.
    """
    decide = getattr(backend, "decide", None)
    if decide is not None:
        return await decide(request)
    if request.kind == "condition":
        return Decision(bool(await backend.judge(request.question, request.context)), calls=0)
    return Decision(int(await backend.choose(request.question, request.options, request.context)), calls=0)
