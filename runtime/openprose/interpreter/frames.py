"""Frames: where a run keeps its bindings, one per namespace, body or concurrent iteration."""

from __future__ import annotations

import re
from enum import StrEnum

from ..values import Value

__all__ = ["Frame", "FrameKind", "scope_of", "scope_word"]


class FrameKind(StrEnum):
    PROGRAM = "program"  # the program's top level (also an imported program's)
    BLOCK = "block"  # one invocation of a block: a namespace of its own
    BODY = "body"  # an if/loop/try body: its `let`s belong to the enclosing namespace
    #: One iteration of a `parallel for` or `pmap`: its `let`s are its own, so
    #: concurrent iterations never read each other's values.
    ITERATION = "iteration"


class Frame:
    """Bindings of one namespace (program or block invocation) or one body."""

    __slots__ = ("kind", "parent", "vars", "exec_id", "kinds")

    def __init__(self, kind: FrameKind, parent: "Frame | None", exec_id: int | str | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.vars: dict[str, Value] = {}
        self.kinds: dict[str, str] = {}
        self.exec_id = exec_id

    def find(self, name: str) -> "Frame | None":
        frame: Frame | None = self
        while frame is not None:
            if name in frame.vars:
                return frame
            frame = frame.parent
        return None

    def namespace(self) -> "Frame":
        """The program or block invocation this frame belongs to."""
        frame = self
        while frame.kind in (FrameKind.BODY, FrameKind.ITERATION) and frame.parent is not None:
            frame = frame.parent
        return frame

    def declarations(self) -> "Frame":
        """Where a `let` made here is bound: the nearest iteration, block or program frame."""
        frame = self
        while frame.kind == FrameKind.BODY and frame.parent is not None:
            frame = frame.parent
        return frame

    def root(self) -> "Frame":
        frame = self
        while frame.parent is not None:
            frame = frame.parent
        return frame

    def scope_id(self) -> int | str | None:
        return self.declarations().exec_id


def scope_of(frame: Frame, name: str) -> int | str | None:
    """The binding-file scope of `name` as seen from `frame`."""
    owner = frame.find(name)
    return owner.scope_id() if owner is not None else frame.scope_id()


def scope_word(sid: str) -> str:
    """A statement id as a binding-file scope (letters, digits, dashes)."""
    return "i" + (re.sub(r"[^A-Za-z0-9]+", "-", sid).strip("-") or "0")
