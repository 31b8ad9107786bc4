"""Diagnostics as plain values.

Every consumer (CLI, interpreter, language server) receives the same
objects, so a mistake is described once. Positions are kept as byte offsets
plus (row, byte-column) points, exactly as Tree-sitter reports them; the
CLI and the server convert columns to characters / UTF-16 units at the edge,
where the source text is at hand.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


class Anchor:
    """Where a top-level statement starts in the current text.

    Spans built for the model are stored relative to their statement's
    anchor and resolve rows and columns lazily through the anchor's line
    index. When an edit moves an unchanged statement, the model cache only
    moves the anchor: no span has to be rebuilt.
    """

    __slots__ = ("byte", "lines")

    def __init__(self, byte: int, lines: "LineIndex") -> None:
        self.byte = byte
        self.lines = lines


class Span:
    """A half-open byte range with its 0-based (row, byte column) endpoints.

    Immutable from the outside; equal when the byte ranges are equal.
    """

    __slots__ = ("_anchor", "_start", "_end", "_points")

    def __init__(self, start_byte: int, end_byte: int, start_row: int, start_col: int, end_row: int,
                 end_col: int) -> None:
        self._anchor: Anchor | None = None
        self._start = start_byte
        self._end = end_byte
        self._points: tuple[int, int, int, int] | None = (start_row, start_col, end_row, end_col)

    @classmethod
    def anchored(cls, anchor: Anchor, start_byte: int, end_byte: int) -> "Span":
        span = cls.__new__(cls)
        span._anchor = anchor
        span._start = start_byte - anchor.byte
        span._end = end_byte - anchor.byte
        span._points = None
        return span

    @classmethod
    def of(cls, node: object) -> "Span":
        """Span of a Tree-sitter node (duck-typed so this module needs no parser)."""
        start = node.start_point  # type: ignore[attr-defined]
        end = node.end_point  # type: ignore[attr-defined]
        return cls(node.start_byte, node.end_byte, start[0], start[1], end[0], end[1])  # type: ignore[attr-defined]

    @property
    def start_byte(self) -> int:
        return self._start + self._anchor.byte if self._anchor is not None else self._start

    @property
    def end_byte(self) -> int:
        return self._end + self._anchor.byte if self._anchor is not None else self._end

    def _resolve(self) -> tuple[int, int, int, int]:
        if self._points is not None:
            return self._points
        assert self._anchor is not None
        lines = self._anchor.lines
        start_row, start_col = lines.position(self.start_byte)
        end_row, end_col = lines.position(self.end_byte)
        return (start_row, start_col, end_row, end_col)

    @property
    def start_row(self) -> int:
        return self._resolve()[0]

    @property
    def start_col(self) -> int:
        return self._resolve()[1]

    @property
    def end_row(self) -> int:
        return self._resolve()[2]

    @property
    def end_col(self) -> int:
        return self._resolve()[3]

    def frozen(self) -> "Span":
        """An absolute copy that no longer follows its anchor."""
        return Span(self.start_byte, self.end_byte, *self._resolve())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return self.start_byte == other.start_byte and self.end_byte == other.end_byte

    def __hash__(self) -> int:
        return hash((self.start_byte, self.end_byte))

    def __repr__(self) -> str:
        sr, sc, er, ec = self._resolve()
        return f"Span({self.start_byte}-{self.end_byte} {sr + 1}:{sc + 1}-{er + 1}:{ec + 1})"

    def contains_byte(self, offset: int) -> bool:
        start, end = self.start_byte, self.end_byte
        return start <= offset < end or (start == end == offset)


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

    def position(self, offset: int) -> tuple[int, int]:
        """(row, byte column) of a byte offset."""
        row = bisect_right(self.line_starts, offset) - 1
        return row, offset - self.line_starts[row]

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
