"""What each model call sees of the work before it (docs/context.md has the rules).

Two pieces, both independent of the interpreter's control flow:

* ``Flow`` — the session outputs recorded so far in one line of execution, newest
  last. Sequential statements (loop iterations, `do` blocks, if/choice bodies)
  share their flow; each parallel branch works on a fork of it, and the branches'
  outputs are appended to the parent in branch order when the block ends, so what
  a session sees never depends on which branch happened to finish first.
* ``bounded`` — fits context items into a character budget: each value is shortened
  to a per-item limit and, once the budget is spent, the remaining values are passed
  by reference only (the path of their binding file), as the spec's
  "context by reference" asks.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .backends.base import ContextItem

__all__ = [
    "DECISION_BUDGET",
    "RECENT_WINDOW",
    "SESSION_BUDGET",
    "Budget",
    "Flow",
    "Output",
    "bounded",
    "current_flow",
    "named_in",
]

#: How many of the latest session outputs a session without `context:` sees.
RECENT_WINDOW = 3


@dataclass(frozen=True)
class Budget:
    total: int  # characters of context values, all items together
    per_item: int  # characters of one value before it is shortened
    references: int = 24  # values listed by file path only, at most


#: Implicit context of a session (explicit `context:` is passed whole).
SESSION_BUDGET = Budget(total=60_000, per_item=20_000)
#: What a condition or choice is judged against: enough to judge, cheap to send.
DECISION_BUDGET = Budget(total=24_000, per_item=6_000)


@dataclass(frozen=True)
class Output:
    """One session's output as recorded in a flow."""

    label: str  # the binding it went to, or a description of the session
    text: str
    ref: str | None  # its binding file, relative to the project directory
    binding: str | None = None


@dataclass
class Flow:
    items: list[Output] = field(default_factory=list)
    _base: int = 0  # items inherited from the parent when this flow was forked

    def add(self, output: Output) -> None:
        self.items.append(output)

    def mark(self) -> int:
        """A position; `since(mark)` gives the outputs recorded after it."""
        return len(self.items)

    def since(self, mark: int) -> list[Output]:
        return self.items[mark:]

    def recent(self, count: int = RECENT_WINDOW) -> list[Output]:
        return self.items[-count:] if count > 0 else []

    def fork(self) -> Flow:
        return Flow(list(self.items), len(self.items))

    def own(self) -> list[Output]:
        """What was recorded in this fork (not inherited)."""
        return self.items[self._base :]


_FLOW: contextvars.ContextVar[Flow | None] = contextvars.ContextVar("openprose_flow", default=None)


def current_flow() -> Flow:
    """The flow of the running task; trio gives each task a copy of its parent's context,
    so a branch that sets its own fork does not disturb its siblings."""
    flow = _FLOW.get()
    if flow is None:
        flow = Flow()
        _FLOW.set(flow)
    return flow


def set_flow(flow: Flow) -> contextvars.Token[Flow | None]:
    return _FLOW.set(flow)


def reset_flow(token: contextvars.Token[Flow | None]) -> None:
    _FLOW.reset(token)


def named_in(text: str, names: Iterable[str]) -> list[str]:
    """Binding names a prompt or condition mentions as whole words ("review the draft")."""
    found = []
    for name in names:
        if len(name) >= 3 and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            found.append(name)
    return found


def bounded(full: list[ContextItem], by_reference: list[ContextItem], budget: Budget) -> tuple[ContextItem, ...]:
    """`full` items with their text (shortened as needed), then `by_reference` items by path only.

    Items that no longer fit the total budget are passed by reference when they
    have a file, and left out otherwise; at most `budget.references` are listed.
    """
    out: list[ContextItem] = []
    left = budget.total
    refs: list[ContextItem] = []
    for item in full:
        limit = min(budget.per_item, left)
        if limit <= 200 and item.text:
            if item.ref is not None:
                refs.append(ContextItem(item.name, "", item.ref))
            continue
        if len(item.text) > limit:
            cut = item.text[:limit].rstrip()
            out.append(ContextItem(item.name, cut + " …", item.ref, truncated=True))
            left -= len(cut)
        else:
            out.append(item)
            left -= len(item.text)
    seen = {item.name for item in out}
    for item in [*refs, *by_reference]:
        if item.ref is None or item.name in seen:
            continue
        if len([i for i in out if not i.text]) >= budget.references:
            break
        seen.add(item.name)
        out.append(ContextItem(item.name, "", item.ref))
    return tuple(out)
