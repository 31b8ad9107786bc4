"""The contract between the interpreter and whatever runs AI sessions.

Kept deliberately tiny: the interpreter only ever needs "run this session",
"is this condition true", "which of these options" and "clean up", so every
backend (offline simulation, scripted tests, the real API) can be swapped freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Backend", "BackendError", "ContextItem", "SessionRequest", "SessionResult", "Usage"]


@dataclass(frozen=True)
class ContextItem:
    name: str  # binding name used as the section label
    text: str  # the value rendered as text


@dataclass(frozen=True)
class SessionRequest:
    prompt: str  # the task prompt after interpolation
    system: str | None = None  # agent prompt (the system prompt)
    model: str | None = None  # alias ('sonnet'/'opus'/'haiku') or a full model id
    context: tuple[ContextItem, ...] = ()
    agent: str | None = None  # agent name, if any
    memory: str | None = None  # persistent agent memory to continue from (resume:)
    binding: str | None = None  # the variable the result will be bound to, if any


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class SessionResult:
    text: str
    usage: Usage = Usage()
    model: str | None = None  # the resolved model id actually used


class BackendError(Exception):
    """A session could not be completed, after the backend's own transport retries.

    The message is shown to users as is, so it must explain the failure and must
    never contain credentials.
    """


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
