"""Diagnostics as plain values.

Every consumer (CLI, interpreter, language server) receives the same
objects, so a mistake is described once. Positions are kept as byte offsets
plus (row, byte-column) points, exactly as Tree-sitter reports them; the
CLI and the server convert columns to characters / UTF-16 units at the edge,
where the source text is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open byte range with its 0-based (row, byte column) endpoints."""

    start_byte: int
    end_byte: int
    start_row: int
    start_col: int
    end_row: int
    end_col: int

    @classmethod
    def of(cls, node: object) -> "Span":
        """Span of a Tree-sitter node (duck-typed so this module needs no parser)."""
        start = node.start_point  # type: ignore[attr-defined]
        end = node.end_point  # type: ignore[attr-defined]
        return cls(
            node.start_byte,  # type: ignore[attr-defined]
            node.end_byte,  # type: ignore[attr-defined]
            start[0],
            start[1],
            end[0],
            end[1],
        )

    def contains_byte(self, offset: int) -> bool:
        return self.start_byte <= offset < self.end_byte or (
            self.start_byte == self.end_byte == offset
        )


@dataclass(frozen=True, slots=True)
class TextEdit:
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A machine-applicable suggestion; editors show it as a quick fix."""

    title: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True, slots=True)
class Related:
    message: str
    span: Span


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = field(default=())
    fixes: tuple[Fix, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def char_column(source: bytes, span_row_start_byte: int, byte_col: int) -> int:
    """0-based character column of a byte column on a line starting at the given offset."""
    prefix = source[span_row_start_byte : span_row_start_byte + byte_col]
    return len(prefix.decode("utf-8", errors="replace"))


class LineIndex:
    """Maps rows to line-start byte offsets so columns can be re-expressed cheaply."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        starts = [0]
        find = source.find
        pos = find(b"\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find(b"\n", pos + 1)
        self.line_starts = starts

    def line_start(self, row: int) -> int:
        if row < len(self.line_starts):
            return self.line_starts[row]
        return len(self.source)

    def char_col(self, row: int, byte_col: int) -> int:
        return char_column(self.source, self.line_start(row), byte_col)

    def utf16_col(self, row: int, byte_col: int) -> int:
        start = self.line_start(row)
        prefix = self.source[start : start + byte_col].decode("utf-8", errors="replace")
        return len(prefix.encode("utf-16-le")) // 2

    def line_text(self, row: int) -> str:
        start = self.line_start(row)
        end = self.source.find(b"\n", start)
        if end == -1:
            end = len(self.source)
        return self.source[start:end].decode("utf-8", errors="replace").rstrip("\r")
