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

from lsprotocol import types as lsp

from openprose.diagnostics import LineIndex, Span

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


class Text:
    """A document's bytes with a line index, answering position questions."""

    __slots__ = ("source", "index", "encoding")

    def __init__(self, source: bytes, encoding: str = UTF16) -> None:
        self.source = source
        self.index = LineIndex(source)
        self.encoding = encoding

    @property
    def line_count(self) -> int:
        return len(self.index.line_starts)

    def line_bytes(self, row: int) -> bytes:
        """The bytes of a line without its line break."""
        if row >= len(self.index.line_starts):
            return b""
        start = self.index.line_starts[row]
        end = self.source.find(b"\n", start)
        if end == -1:
            end = len(self.source)
        return self.source[start:end]

    def offset_at(self, line: int, character: int) -> int:
        """Byte offset of an LSP position, clamped to the line and the document."""
        if line < 0:
            return 0
        if line >= len(self.index.line_starts):
            return len(self.source)
        start = self.index.line_starts[line]
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
        start = self.index.line_start(row)
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
        return self.index.position(max(0, min(offset, len(self.source))))

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(
            start=self.position(span.start_row, span.start_col),
            end=self.position(span.end_row, span.end_col),
        )

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
