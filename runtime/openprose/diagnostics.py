"""Diagnostics as plain values.

Every consumer (CLI, interpreter, language server) receives the same
objects, so a mistake is described once. Positions are kept as byte offsets
plus (row, byte-column) points, exactly as Tree-sitter reports them; the
CLI and the server convert columns to characters / UTF-16 units at the edge,
where the source text is at hand.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import accumulate


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


class Shift:
    """A byte shift shared by a block of anchors: moving the whole block is one addition."""

    __slots__ = ("value",)

    def __init__(self, value: int = 0) -> None:
        self.value = value


#: The shift of the anchors no `AnchorRow` moves (a fresh build's, and those a cache let go): never changed.
_FIXED = Shift()


class Anchor:
    """Where a top-level statement starts in the current text.

    Spans built for the model are stored relative to their statement's
    anchor and resolve rows and columns lazily through the anchor's line
    index. When an edit moves an unchanged statement, the model cache only
    moves the anchor: no span has to be rebuilt. The anchor's own offset is
    in turn relative to a `Shift` it shares with its neighbours in the
    cache's `AnchorRow`, so an edit moves the statements after it by moving
    a few hundred shifts, not one anchor per statement.
    """

    __slots__ = ("_rel", "_shift", "lines")

    def __init__(self, byte: int, lines: "LineIndex") -> None:
        self._rel = byte
        self._shift = _FIXED
        self.lines = lines

    @property
    def byte(self) -> int:
        return self._rel + self._shift.value

    @byte.setter
    def byte(self, value: int) -> None:
        self._rel = value - self._shift.value


class AnchorRow:
    """The anchors of a model cache's statements, in text order, moved by blocks.

    Built like `EditableLineIndex`: the anchors sit in blocks of about
    `BLOCK`, each block sharing one `Shift`, so moving the anchors after an
    edit costs the ones left in the edit's block plus one addition per later
    block, and replacing a few anchors touches only their block. An anchor
    that changes blocks is re-expressed against its new block's shift (its
    byte stays); one that leaves the row gets the fixed shift, so it keeps
    the byte it had, as a moved-out statement's spans always did.
    """

    BLOCK = 128

    def __init__(self) -> None:
        self.load([])

    def load(self, anchors: list[Anchor]) -> None:
        """Hold ``anchors`` (each where its byte is now), in new blocks: those held before stay where they are."""
        self._blocks: list[list[Anchor]] = []
        self._shifts: list[Shift] = []
        self._starts: list[int] = []  # index of each block's first anchor
        size = self.BLOCK
        for i in range(0, len(anchors), size):
            self._add(len(self._blocks), anchors[i : i + size], i)
        self._count = len(anchors)

    def _add(self, b: int, block: list[Anchor], start: int) -> None:
        shift = Shift()
        for a in block:
            a._rel += a._shift.value
            a._shift = shift
        self._blocks.insert(b, block)
        self._shifts.insert(b, shift)
        self._starts.insert(b, start)

    def __len__(self) -> int:
        return self._count

    def move(self, lo: int, hi: int, delta: int) -> None:
        """Move anchors [lo, hi) by ``delta`` bytes."""
        hi = min(hi, self._count)
        if not delta or lo >= hi:
            return
        starts, blocks = self._starts, self._blocks
        ba = bisect_right(starts, lo) - 1
        bb = bisect_right(starts, hi - 1) - 1
        if ba == bb:
            for a in blocks[ba][lo - starts[ba] : hi - starts[ba]]:
                a._rel += delta
            return
        if lo > starts[ba]:
            for a in blocks[ba][lo - starts[ba] :]:
                a._rel += delta
            ba += 1
        if hi - starts[bb] < len(blocks[bb]):
            for a in blocks[bb][: hi - starts[bb]]:
                a._rel += delta
            bb -= 1
        for shift in self._shifts[ba : bb + 1]:
            shift.value += delta

    def replace(self, i: int, j: int, anchors: list[Anchor]) -> None:
        """Anchors [i, j) give way to ``anchors`` (each where its byte is now)."""
        starts, blocks, shifts = self._starts, self._blocks, self._shifts
        if not blocks:
            self.load(anchors)
            return
        ba = bisect_right(starts, i) - 1
        bb = bisect_right(starts, j - 1) - 1 if j > i else ba
        shift = shifts[ba]
        value = shift.value
        merged = blocks[ba]
        for b in range(ba + 1, bb + 1):  # the run crosses blocks: the first one takes the others' anchors
            other = shifts[b].value - value
            for a in blocks[b]:
                a._rel += other
                a._shift = shift
            merged += blocks[b]
        del blocks[ba + 1 : bb + 1], shifts[ba + 1 : bb + 1], starts[ba + 1 : bb + 1]
        lo, hi = i - starts[ba], j - starts[ba]
        for a in merged[lo:hi]:
            a._rel += value
            a._shift = _FIXED
        for a in anchors:
            a._rel += a._shift.value - value
            a._shift = shift
        merged[lo:hi] = anchors
        grown = len(anchors) - (j - i)
        if grown:
            starts[ba + 1 :] = [s + grown for s in starts[ba + 1 :]]
        self._count += grown
        size = self.BLOCK
        if not merged:
            del blocks[ba], shifts[ba], starts[ba]
        elif len(merged) > 2 * size:
            first = starts[ba]
            for k in range(size, len(merged), size):
                self._add(ba + k // size, merged[k : k + size], first + k)
            del merged[size:]
        if len(blocks) > 8 + 2 * (self._count // size):
            self.load([a for block in blocks for a in block])  # many small blocks after deletions: rebalance


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
        anchor = self._anchor  # `anchor.byte`, inlined: spans are read far more often than built
        return self._start if anchor is None else self._start + anchor._rel + anchor._shift.value

    @property
    def end_byte(self) -> int:
        anchor = self._anchor
        return self._end if anchor is None else self._end + anchor._rel + anchor._shift.value

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


def line_starts(source: bytes) -> list[int]:
    """Byte offset of every line's start (rows as Tree-sitter counts them: after each b"\\n").

    Built by C-level iteration (split, map, accumulate): about twice as fast as
    a `find` loop, which matters because the server indexes every version.
    """
    starts = list(accumulate(map((1).__add__, map(len, source.split(b"\n"))), initial=0))
    starts.pop()  # the offset one past the end of the last line
    return starts


class LineIndex:
    """Maps rows to line-start byte offsets so columns can be re-expressed cheaply."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.line_starts = line_starts(source)

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


class EditableLineIndex(LineIndex):
    """A `LineIndex` that follows edits in time proportional to the edit.

    `model.ModelCache` keeps one per document and every anchor of its model
    refers to it, so after an edit the rows of the statements it did not touch
    are right without visiting them. Line starts are kept in blocks of about
    `BLOCK` lines, each with a shift still to be added to its offsets: an edit
    rewrites the blocks holding the edited lines and adds the byte and line
    deltas to the later blocks' shift, first offset and first row (a few
    hundred additions on a 50,000-line file instead of one per line).
    """

    BLOCK = 256

    def __init__(self, source: bytes) -> None:  # noqa: D107 - no base __init__: line_starts is derived here
        self.load(source)

    def load(self, source: bytes) -> None:
        """Index ``source`` from scratch (what the base class does in its constructor)."""
        self.source = source
        self._set(line_starts(source))

    def _set(self, starts: list[int]) -> None:
        size = self.BLOCK
        self._blocks = [starts[i : i + size] for i in range(0, len(starts), size)]
        self._shifts = [0] * len(self._blocks)
        self._firsts = [block[0] for block in self._blocks]
        self._rows = list(range(0, len(starts), size))
        self._count = len(starts)
        self._flat: list[int] | None = starts

    @property  # type: ignore[override]
    def line_starts(self) -> list[int]:  # type: ignore[override]
        """Every line start, materialised on first use after an edit (O(lines); for tests and rare callers)."""
        if self._flat is None:
            flat: list[int] = []
            for block, shift in zip(self._blocks, self._shifts):
                flat.extend([s + shift for s in block] if shift else block)
            self._flat = flat
        return self._flat

    @property
    def line_count(self) -> int:
        return self._count

    def position(self, offset: int) -> tuple[int, int]:
        b = bisect_right(self._firsts, offset) - 1
        if b < 0:
            b = 0
        block = self._blocks[b]
        rel = offset - self._shifts[b]
        i = bisect_right(block, rel) - 1
        if i < 0:
            i = 0
        return self._rows[b] + i, rel - block[i]

    def line_start(self, row: int) -> int:
        if row >= self._count:
            return len(self.source)
        if row < 0:
            row += self._count
        b = bisect_right(self._rows, row) - 1
        return self._blocks[b][row - self._rows[b]] + self._shifts[b]

    def edit(self, source: bytes, changes: Sequence[tuple[int, int, int, int]]) -> None:
        """Follow the edits that turned the indexed text into ``source``.

        ``changes`` are disjoint, in text order, as (old_start, old_end,
        new_start, new_end): the old bytes [old_start, old_end) became
        ``source[new_start:new_end]`` and nothing outside them changed. They are
        applied from the last one, so each one's old offsets still hold when its
        turn comes.
        """
        find = source.find
        for old_start, old_end, new_start, new_end in reversed(changes):
            base = old_start - new_start + 1
            inserted: list[int] = []
            pos = find(b"\n", new_start, new_end)
            while pos != -1:
                inserted.append(pos + base)
                pos = find(b"\n", pos + 1, new_end)
            self._replace(old_start, old_end, inserted, (new_end - new_start) - (old_end - old_start))
        self.source = source
        self._flat = None
        if len(self._blocks) > 8 + 2 * (self._count // self.BLOCK):
            self._set(self.line_starts)  # many small blocks after deletions: rebalance (rare, O(lines))

    def _replace(self, start: int, end: int, inserted: list[int], delta: int) -> None:
        """Lines starting in (start, end] give way to ``inserted``; later ones move by ``delta`` bytes."""
        first_row = self.position(start)[0]  # its start stays: it is at or before the edit
        last_row = self.position(end)[0]  # rows first_row+1 .. last_row began inside the old text
        rows = self._rows
        ba = bisect_right(rows, first_row) - 1
        bb = bisect_right(rows, last_row) - 1
        merged: list[int] = []
        for b in range(ba, bb + 1):
            shift = self._shifts[b]
            block = self._blocks[b]
            merged.extend([s + shift for s in block] if shift else block)
        base_row = rows[ba]
        tail = merged[last_row - base_row + 1 :]
        middle = merged[: first_row - base_row + 1]
        middle.extend(inserted)
        middle.extend([s + delta for s in tail] if delta else tail)
        size = self.BLOCK
        chunks = [middle[i : i + size] for i in range(0, len(middle), size)] if len(middle) > 2 * size else [middle]
        line_delta = len(middle) - len(merged)
        chunk_rows = list(accumulate((len(c) for c in chunks[:-1]), initial=base_row))
        self._blocks[ba : bb + 1] = chunks
        self._shifts[ba : bb + 1] = [0] * len(chunks)
        self._firsts[ba : bb + 1] = [c[0] for c in chunks]
        rows[ba : bb + 1] = chunk_rows
        after = ba + len(chunks)
        if delta:
            self._shifts[after:] = [s + delta for s in self._shifts[after:]]
            self._firsts[after:] = [s + delta for s in self._firsts[after:]]
        if line_delta:
            rows[after:] = [r + line_delta for r in rows[after:]]
        self._count += line_delta
