"""The run's event plumbing: the one `emit` every event passes through.

The events themselves (`RunEvent`: which kinds exist, which fields each carries,
their statuses) are the run-event schema in `openprose.events`; this module only
builds them, redacts them and hands them to the caller's sink, so a broken
listener never breaks a run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..events import EventSink, EventType, RunEvent, RunStatus
from ..redact import Redactor

__all__ = ["Emit", "EventSink", "InputAsker", "RunEvent", "RunStatus", "make_emit", "usage_json"]


InputAsker = Callable[[str, str], Awaitable[str]]
#: `emit(type, **fields)`: what the interpreter (and the toolbox) call for every event.
Emit = Callable[..., None]


def make_emit(on_event: EventSink | None, start: float, redactor: Redactor) -> Emit:
    """The run's `emit`: times each event from `start`, redacts it and hands it to `on_event`."""

    def emit(kind: EventType, **fields: Any) -> None:
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
