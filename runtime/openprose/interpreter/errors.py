"""How a run fails: a catchable program error, the end of a block, or a program that cannot start."""

from __future__ import annotations

import trio

from ..diagnostics import Diagnostic, Span
from ..values import Value

__all__ = ["ProgramNotRunnable", "ProseError", "Return", "is_cancellation"]


class ProseError(Exception):
    """A failure the program can catch: a failed session, a `throw`, a bad value."""

    def __init__(self, message: str, span: Span | None = None, value: Value = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.value = value


class Return(Exception):
    """`output` inside a block ends that invocation with a value."""

    def __init__(self, value: Value) -> None:
        self.value = value


class ProgramNotRunnable(Exception):
    """Raised before anything runs: the program does not check, or an input is missing."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics or []


def is_cancellation(exc: BaseException) -> bool:
    """`trio.Cancelled`, or an exception group made only of them (from a nursery)."""
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(trio.Cancelled)
        return rest is None
    return False
