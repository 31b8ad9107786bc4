"""The run's event plumbing: the `RunEvent` a caller sees, and the one `emit` every event passes through.

The event schema itself (which types exist, which fields each carries) is
defined apart from the interpreter; this module only builds events, redacts them
and hands them to the caller's sink, so a broken listener never breaks a run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import trio

from ..diagnostics import Span
from ..redact import Redactor

__all__ = ["EventSink", "InputAsker", "RunEvent", "Status", "make_emit", "usage_json"]


class Status(StrEnum):
    """How a run, a session or a branch ended (StrEnum: compares equal to the plain words)."""

    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RunEvent:
    type: str  # run.start | session.start | session.end | tool.start | tool.end | branch.start | branch.end | run.end | warning | input
    #            | condition | choice (an AI decision: `answer` and its one-line `reason`)
    t: float
    prompt: str | None = None
    binding: str | None = None
    status: str | None = None  # ok | failed | cancelled
    error: str | None = None
    path: tuple[str, ...] = ()
    span: Span | None = None
    outputs: dict[str, str] | None = None
    run_dir: str | None = None
    usage: dict[str, Any] | None = None
    agent: str | None = None
    model: str | None = None
    code: str | None = None
    #: Identifies one session execution; its tool events carry the same id.
    session: str | None = None
    tool: str | None = None  # tool events: read | write | edit | glob | grep | bash | web_search | web_fetch
    summary: str | None = None  # tool events: the path, command or query, shortened
    duration: float | None = None  # tool.end: seconds the tool itself took
    rule: str | None = None  # tool.end with status "denied": the permission rule that refused it
    answer: str | None = None  # condition: "yes"/"no"; choice: the chosen option's label
    reason: str | None = None  # condition/choice: the judge's one-line reason
    #: Running totals of the whole run so far (tokens, calls, cost) after this event; see docs/accounting.md.
    totals: dict[str, Any] | None = None
    truncated: bool | None = None  # session.end: the output was cut off at max_tokens

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "t": round(self.t, 4),
            "prompt": self.prompt,
            "binding": self.binding,
            "status": self.status,
            "error": self.error,
        }
        if self.path:
            out["path"] = list(self.path)
        if self.span is not None:
            out["line"] = self.span.start_row + 1
            out["column"] = self.span.start_col + 1
        for key in ("outputs", "run_dir", "usage", "agent", "model", "code", "session", "tool", "summary", "duration", "rule",
                    "answer", "reason", "totals", "truncated"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


EventSink = Callable[[RunEvent], None]
InputAsker = Callable[[str, str], Awaitable[str]]
#: `emit(type, **fields)`: what the interpreter (and the toolbox) call for every event.
Emit = Callable[..., None]


def make_emit(on_event: EventSink | None, start: float, redactor: Redactor) -> Emit:
    """The run's `emit`: times each event from `start`, redacts it and hands it to `on_event`."""

    def emit(kind: str, **fields: Any) -> None:
        if on_event is None:
            return
        # The one point every event passes through: secrets go, at any depth, in any common encoding.
        event = RunEvent(kind, trio.current_time() - start, **redactor.value(fields))
        try:
            on_event(event)
        except Exception:  # a broken listener must not break the run
            pass

    return emit


def usage_json(usage: Any) -> dict[str, int]:
    """A backend's token usage as the events and the ledger carry it."""
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }
