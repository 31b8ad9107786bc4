"""Conversions between LSP positions and the byte offsets the runtime uses.

The runtime speaks bytes and (row, byte column) points, like Tree-sitter;
LSP clients speak (line, column) in the negotiated position encoding, UTF-16
code units unless the client asked otherwise. Every conversion lives here so
the rest of the server never counts characters itself.

Documents arrive as JSON strings, which may hold lone surrogates (editors
can produce them and JSON can carry them); those are kept byte-exact with
the ``surrogatepass`` codec, so one lone surrogate is three bytes here and
one UTF-16 unit for the client, and the runtime reports the bytes as invalid
UTF-8.
"""

from __future__ import annotations

from bisect import bisect_right

from lsprotocol import types as lsp

from openprose.diagnostics import Span

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

_CODEC = "surrogatepass"


def encode(text: str) -> bytes:
    """Client text to document bytes (lone surrogates survive)."""
    return text.encode("utf-8", _CODEC)


def decode(data: bytes) -> str:
    """Document bytes to text; undecodable bytes become one character each."""
    try:
        return data.decode("utf-8", _CODEC)
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def _units(text: str, encoding: str) -> int:
    """Length of text in the client's units."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(_bytes_of(text))
    return len(text) + sum(1 for ch in text if ch > "\uffff")


def _bytes_of(text: str) -> bytes:
    try:
        return text.encode("utf-8", _CODEC)
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


class Lines:
    """Where each line starts, kept current across edits in time proportional to the edit.

    A list of every line start would have to be rebuilt (or shifted) after each
    keystroke, which on a 50,000-line document costs more than the rest of the
    server's own work. The starts are kept in chunks of at most `CHUNK` lines,
    each stored relative to its first line, so an edit rebuilds the chunks it
    touches and shifts the offsets of the later chunks only (one number per
    chunk). Instances are never modified: `edited` returns a new table that
    shares the untouched chunks, so a `Text` of an earlier version stays right.
    """

    CHUNK = 256

    __slots__ = ("_chunks", "_bases", "_rows", "size")

    def __init__(self, chunks: list[tuple[int, ...]], bases: list[int], rows: list[int], size: int) -> None:
        self._chunks = chunks  # line starts relative to the chunk's first line (so each begins with 0)
        self._bases = bases  # byte offset of each chunk's first line
        self._rows = rows  # row of each chunk's first line
        self.size = size  # bytes in the document

    @classmethod
    def of(cls, source: bytes) -> "Lines":
        starts = [0]
        find = source.find
        pos = find(b"\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find(b"\n", pos + 1)
        chunks, bases, rows = _chunked(starts, 0)
        return cls(chunks, bases, rows, len(source))

    @property
    def count(self) -> int:
        return self._rows[-1] + len(self._chunks[-1])

    def line_start(self, row: int) -> int:
        """Byte offset where a row starts; the document's end past the last row."""
        if row >= self.count:
            return self.size
        i = bisect_right(self._rows, row) - 1
        return self._bases[i] + self._chunks[i][row - self._rows[i]]

    def position(self, offset: int) -> tuple[int, int]:
        """(row, byte column) of a byte offset."""
        i = bisect_right(self._bases, offset) - 1
        base = self._bases[i]
        chunk = self._chunks[i]
        j = bisect_right(chunk, offset - base) - 1
        return self._rows[i] + j, offset - base - chunk[j]

    def edited(self, start: int, end: int, inserted: bytes) -> "Lines":
        """The table after replacing bytes ``[start, end)`` with ``inserted``."""
        bases, chunks, rows = self._bases, self._chunks, self._rows
        first = bisect_right(bases, start) - 1
        last = max(first, bisect_right(bases, end) - 1)
        delta = len(inserted) - (end - start)
        kept = [bases[first] + rel for rel in chunks[first]]
        for i in range(first + 1, last + 1):
            kept.extend(bases[i] + rel for rel in chunks[i])
        starts = [at for at in kept if at <= start]
        pos = inserted.find(b"\n")
        while pos != -1:
            starts.append(start + pos + 1)
            pos = inserted.find(b"\n", pos + 1)
        starts.extend(at + delta for at in kept if at > end)
        middle, middle_bases, middle_rows = _chunked(starts, rows[first])
        line_delta = len(starts) - len(kept)
        tail = last + 1
        new_chunks = chunks[:first] + middle + chunks[tail:]
        new_bases = bases[:first] + middle_bases + [at + delta for at in bases[tail:]]
        new_rows = rows[:first] + middle_rows + [row + line_delta for row in rows[tail:]]
        size = self.size + delta
        if len(new_chunks) > 2 * (new_rows[-1] + len(new_chunks[-1])) // self.CHUNK + 8:
            # Many small chunks after many edits: one rebuild keeps lookups and edits cheap.
            flat = [b + rel for b, chunk in zip(new_bases, new_chunks) for rel in chunk]
            new_chunks, new_bases, new_rows = _chunked(flat, 0)
        return Lines(new_chunks, new_bases, new_rows, size)


def _chunked(starts: list[int], first_row: int) -> tuple[list[tuple[int, ...]], list[int], list[int]]:
    """Absolute line starts cut into relative chunks of `Lines.CHUNK`, with each chunk's base and row."""
    size = Lines.CHUNK
    chunks, bases, rows = [], [], []
    for i in range(0, len(starts), size):
        piece = starts[i : i + size]
        base = piece[0]
        chunks.append(tuple(at - base for at in piece))
        bases.append(base)
        rows.append(first_row + i)
    return chunks, bases, rows


class Text:
    """A document's bytes with their line table, answering position questions."""

    __slots__ = ("source", "lines", "encoding")

    def __init__(self, source: bytes, encoding: str = UTF16, lines: Lines | None = None) -> None:
        self.source = source
        self.lines = lines if lines is not None else Lines.of(source)
        self.encoding = encoding

    @property
    def line_count(self) -> int:
        return self.lines.count

    def line_start(self, row: int) -> int:
        """Byte offset where a row starts (the end of the document past the last row)."""
        return self.lines.line_start(row)

    def line_bytes(self, row: int) -> bytes:
        """The bytes of a line without its line break."""
        if row >= self.lines.count:
            return b""
        start = self.lines.line_start(row)
        end = self.source.find(b"\n", start)
        if end == -1:
            end = len(self.source)
        return self.source[start:end]

    def offset_at(self, line: int, character: int) -> int:
        """Byte offset of an LSP position, clamped to the line and the document."""
        if line < 0:
            return 0
        if line >= self.lines.count:
            return len(self.source)
        start = self.lines.line_start(line)
        raw = self.line_bytes(line)
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        character = max(0, character)
        if self.encoding == UTF8 or raw.isascii():
            return start + min(character, len(raw))
        text = decode(raw)
        if self.encoding == UTF32 or all(ch <= "\uffff" for ch in text):
            return start + len(_bytes_of(text[:character]))
        units = 0
        for index, ch in enumerate(text):
            width = 2 if ch > "\uffff" else 1
            if units + width > character:
                return start + len(_bytes_of(text[:index]))
            units += width
        return start + len(raw)

    def column(self, row: int, byte_col: int) -> int:
        """Client column of a (row, byte column) point."""
        if self.encoding == UTF8:
            return byte_col
        start = self.lines.line_start(row)
        prefix = self.source[start : start + byte_col]
        if prefix.isascii():
            return len(prefix)
        return _units(decode(prefix), self.encoding)

    def position(self, row: int, byte_col: int) -> lsp.Position:
        return lsp.Position(line=row, character=self.column(row, byte_col))

    def position_of_offset(self, offset: int) -> lsp.Position:
        row, col = self.point(offset)
        return self.position(row, col)

    def point(self, offset: int) -> tuple[int, int]:
        """(row, byte column) of a byte offset, as Tree-sitter counts them."""
        return self.lines.position(max(0, min(offset, len(self.source))))

    def range(self, span: Span) -> lsp.Range:
        start_row, start_col, end_row, end_col = self.points(span)
        return lsp.Range(start=lsp.Position(line=start_row, character=start_col),
                         end=lsp.Position(line=end_row, character=end_col))

    def points(self, span: Span) -> tuple[int, int, int, int]:
        """(start line, start column, end line, end column) of a span, columns in the client's units."""
        fixed = span.frozen()  # a span that follows its statement's anchor resolves its rows once, not four times
        return (fixed.start_row, self.column(fixed.start_row, fixed.start_col),
                fixed.end_row, self.column(fixed.end_row, fixed.end_col))

    def range_of_offsets(self, start: int, end: int) -> lsp.Range:
        return lsp.Range(start=self.position_of_offset(start), end=self.position_of_offset(end))

    def full_range(self) -> lsp.Range:
        return self.range_of_offsets(0, len(self.source))


def end_point(start: tuple[int, int], inserted: bytes) -> tuple[int, int]:
    """Point after inserting bytes at a point (what `Tree.edit` needs as new_end_point)."""
    newlines = inserted.count(b"\n")
    if newlines == 0:
        return start[0], start[1] + len(inserted)
    return start[0] + newlines, len(inserted) - inserted.rfind(b"\n") - 1


def contains(rng: lsp.Range, pos: lsp.Position) -> bool:
    start, end = rng.start, rng.end
    after_start = (pos.line, pos.character) >= (start.line, start.character)
    before_end = (pos.line, pos.character) <= (end.line, end.character)
    return after_start and before_end


def overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    a0, a1 = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b0, b1 = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a0 <= b1 and b0 <= a1
