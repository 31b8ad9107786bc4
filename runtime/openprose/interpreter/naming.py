"""Names and one-line words for what a run records: state.md markers, branch names, labels."""

from __future__ import annotations

import re
from typing import Any

from .. import model as m
from ..text import shorten

__all__ = ["bound_name", "branch_name", "letter", "quote", "short_number", "state_reason", "state_slug", "state_word"]


def letter(index: int) -> str:
    """The branch letter of a statement id: a, b, …, z, aa, ab, …"""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def bound_name(stmt: Any) -> str | None:
    """The one name a statement binds, if it binds exactly one."""
    if isinstance(stmt, m.Assign):
        return stmt.name.name
    if isinstance(stmt, m.Let) and not stmt.destructure and stmt.names:
        return stmt.names[0].name
    if isinstance(stmt, m.Output) and stmt.name is not None:
        return stmt.name.name
    if isinstance(stmt, m.Input):
        return stmt.name.name
    return None


def branch_name(stmt: Any, index: int) -> str:
    return bound_name(stmt) or f"branch {index + 1}"


def quote(text: str, limit: int = 50) -> str:
    return '"' + shorten(text, limit) + '"'


def state_word(text: str) -> str:
    """One-line, space-free text for a state.md marker."""
    word = "_".join(text.split())
    return word[:80] or "-"


def state_reason(reason: str) -> str:
    """A decision's reason for its state.md line: one line, never ending in the done mark."""
    flat = shorten(reason.replace("✓", ""), 200)
    return " · " + flat if flat else ""


def short_number(text: str) -> str:
    """A number as written, cut short when it runs to hundreds of digits."""
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"


def state_slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "program"
