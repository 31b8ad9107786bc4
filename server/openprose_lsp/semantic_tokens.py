"""Semantic tokens: the tree's leaves, with names coloured by what they resolve to."""

from __future__ import annotations

import itertools
import weakref
from itertools import repeat
from operator import sub
from array import array
from bisect import bisect_left
from dataclasses import dataclass

import tree_sitter as ts
from lsprotocol import types as lsp

from openprose.analysis import Analysis
from openprose.resolve import SymbolKind
from openprose.syntax import walk

from .positions import Text
from .text_diff import minimal_edit
from .syntax_context import classify, field_of

TOKEN_TYPES = [
    lsp.SemanticTokenTypes.Namespace,
    lsp.SemanticTokenTypes.Class,
    lsp.SemanticTokenTypes.Function,
    lsp.SemanticTokenTypes.Parameter,
    lsp.SemanticTokenTypes.Variable,
    lsp.SemanticTokenTypes.Property,
    lsp.SemanticTokenTypes.EnumMember,
    lsp.SemanticTokenTypes.Keyword,
    lsp.SemanticTokenTypes.String,
    lsp.SemanticTokenTypes.Number,
    lsp.SemanticTokenTypes.Comment,
    lsp.SemanticTokenTypes.Operator,
    lsp.SemanticTokenTypes.Regexp,
]
TOKEN_MODIFIERS = [
    lsp.SemanticTokenModifiers.Declaration,
    lsp.SemanticTokenModifiers.Readonly,
    lsp.SemanticTokenModifiers.DefaultLibrary,
]
LEGEND = lsp.SemanticTokensLegend(
    token_types=[t.value for t in TOKEN_TYPES], token_modifiers=[m.value for m in TOKEN_MODIFIERS]
)

_TYPE = {t.value: i for i, t in enumerate(TOKEN_TYPES)}
_DECLARATION, _READONLY, _LIBRARY = 1, 2, 4

_SYMBOL_TYPES = {
    SymbolKind.AGENT: "class",
    SymbolKind.BLOCK: "function",
    SymbolKind.PROGRAM: "namespace",
    SymbolKind.SKILL: "namespace",
    SymbolKind.PARAMETER: "parameter",
}
_READONLY_KINDS = frozenset({SymbolKind.CONST, SymbolKind.INPUT})

# Unresolved names still get a colour from where they stand.
_BY_PARENT = {
    ("session", "agent"): "class",
    ("resume", "agent"): "class",
    ("do_expression", "block"): "function",
    ("call", "function"): "namespace",
    ("member_expression", "property"): "property",
    ("interpolation_member", "property"): "property",
    ("pair", "key"): "property",
    ("keyword_argument", "name"): "parameter",
    ("use_statement", "alias"): "namespace",
}

_ROLE_TYPES = {
    "property": ("property", 0),
    "permission": ("property", 0),
    "modifier": ("property", 0),
    "strategy": ("enumMember", _LIBRARY),
    "policy": ("enumMember", _LIBRARY),
    "value": ("enumMember", _LIBRARY),
    "pipe": ("function", _LIBRARY),
    "keyword": ("keyword", 0),
}

_STRINGY = frozenset({'"', '"""', "string_content", "**", "***", "condition_text"})
_OPERATORS = frozenset({"=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "->", "|"})


def semantic_tokens(analysis: Analysis, text: Text) -> lsp.SemanticTokens:
    """All tokens of the document, computed without a cache (see `TokenCache` for the server's path)."""
    return lsp.SemanticTokens(data=TokenCache().data(analysis, text))


#: (subtree id, bytes before it on its first line, its bytes, offsets of its names, their kinds).
_Key = tuple[int, bytes, bytes, tuple[int, ...], tuple[tuple[str, int], ...]]


@dataclass(frozen=True)
class _Unit:
    """The encoded tokens of one top-level node, independent of where the node sits.

    ``data`` is LSP's relative encoding with the first token's line counted from
    the node's first line; ``first`` and ``last`` are (line offset, column) of
    the first and last token, to stitch units together.
    """

    data: list[int]
    first: tuple[int, int]
    last: tuple[int, int]


class TokenCache:
    """Semantic tokens of one document, reusing the tokens of unchanged top-level nodes.

    A top-level node's tokens depend on its subtree, on what the names in it
    resolve to, and (for its first line's columns) on the bytes before it on that
    line. The subtree is identified as the model cache does it: Tree-sitter keeps
    an unchanged subtree (and its id) across an incremental reparse, and the same
    text is not enough on its own, since error recovery and the indentation
    scanner can parse equal bytes differently in another context. The tokens are
    stored relative to the node's first line, so an edit above a statement only
    shifts it. The newest result is kept by id for `full/delta`.
    """

    def __init__(self) -> None:
        self._units: dict[_Key, _Unit] = {}
        self._result: tuple[str, list[int]] | None = None
        self._ids = itertools.count(1)
        #: (analysis, data, [(first row, first column, last row, data start, data end)]) of the newest computation.
        self._last: tuple[weakref.ref[Analysis], list[int], list[tuple[int, int, int, int, int]]] | None = None

    def data(self, analysis: Analysis, text: Text) -> list[int]:
        if self._last is not None and self._last[0]() is analysis:
            return self._last[1]
        names = _name_index(analysis)
        starts = sorted(names)
        kinds = [names[at] for at in starts]
        source = text.source
        fresh: dict[_Key, _Unit] = {}
        data: list[int] = []
        spans: list[tuple[int, int, int, int, int]] = []
        prev_row = prev_col = 0
        for node in analysis.tree.root_node.children:
            begin, finish = node.start_byte, node.end_byte
            row = node.start_point[0]
            line_start = begin - node.start_point[1]
            lo, hi = bisect_left(starts, begin), bisect_left(starts, finish)
            key = (node.id, source[line_start:begin], source[begin:finish],
                   tuple(map(sub, starts[lo:hi], repeat(begin, hi - lo))), tuple(kinds[lo:hi]))
            unit = fresh.get(key) or self._units.get(key)
            if unit is None:
                unit = _encode_unit(node, names, text)
            fresh[key] = unit
            if not unit.data:
                continue
            first_row, first_col = row + unit.first[0], unit.first[1]
            at = len(data)
            data.extend(unit.data)
            data[at] = first_row - prev_row
            if first_row == prev_row:
                data[at + 1] = first_col - prev_col
            prev_row, prev_col = row + unit.last[0], unit.last[1]
            spans.append((first_row, first_col, prev_row, at, len(data)))
        self._units = fresh
        self._last = (weakref.ref(analysis), data, spans)  # a superseded analysis is not kept alive
        return data

    def full(self, analysis: Analysis, text: Text) -> lsp.SemanticTokens:
        data = self.data(analysis, text)
        result_id = str(next(self._ids))
        self._result = (result_id, data)
        return lsp.SemanticTokens(data=data, result_id=result_id)

    def delta(self, analysis: Analysis, text: Text, previous: str) -> lsp.SemanticTokens | lsp.SemanticTokensDelta:
        """The edit from the result ``previous`` to now; the full tokens when that result is gone."""
        old = self._result
        if old is None or old[0] != previous:
            return self.full(analysis, text)
        new = self.full(analysis, text)
        assert new.result_id is not None
        splice = minimal_edit(_packed(old[1]), _packed(new.data), unit=5 * _ITEM)
        edits = []
        if splice is not None:
            start, stop = splice.start // _ITEM, splice.new_end // _ITEM
            edits.append(lsp.SemanticTokensEdit(start=start, delete_count=splice.old_end // _ITEM - start,
                                                data=new.data[start:stop]))
        return lsp.SemanticTokensDelta(edits=edits, result_id=new.result_id)

    def range(self, analysis: Analysis, text: Text, window: lsp.Range) -> lsp.SemanticTokens:
        """The tokens that start inside the range, encoded as a document of their own.

        Only the top-level nodes whose lines meet the range are decoded.
        """
        self.data(analysis, text)
        assert self._last is not None
        _, data, spans = self._last
        low, high = (window.start.line, window.start.character), (window.end.line, window.end.character)
        out: list[int] = []
        prev_row = prev_col = 0
        for first_row, first_col, last_row, begin, end in spans:
            if last_row < low[0] or first_row > high[0]:
                continue
            row, col = first_row, first_col
            for i in range(begin, end, 5):
                if i > begin:
                    if data[i]:
                        row, col = row + data[i], data[i + 1]
                    else:
                        col += data[i + 1]
                if low <= (row, col) < high:
                    out += [row - prev_row, col - prev_col if row == prev_row else col, *data[i + 2 : i + 5]]
                    prev_row, prev_col = row, col
        return lsp.SemanticTokens(data=out)


def _packed(data: list[int]) -> bytes:
    return array("I", data).tobytes()


_ITEM = array("I").itemsize


def _encode_unit(node: ts.Node, names: dict[int, tuple[str, int]], text: Text) -> _Unit:
    tokens: list[tuple[int, int, int, int, int]] = []  # start byte, end byte, row, type, modifiers
    for leaf in walk(node):
        if leaf.child_count and leaf.type not in ("string_content", "condition_text"):
            continue
        kind = _token(leaf, names)
        if kind is None or leaf.start_byte == leaf.end_byte:
            continue
        token_type, modifiers = kind
        tokens.append((leaf.start_byte, leaf.end_byte, leaf.start_point[0], _TYPE[token_type], modifiers))
    return _encode(tokens, text, node.start_point[0])


def _name_index(analysis: Analysis) -> dict[int, tuple[str, int]]:
    """Token type of every resolved name, by its start byte."""
    out: dict[int, tuple[str, int]] = {}
    for sym in analysis.resolution.symbols:
        token_type = _SYMBOL_TYPES.get(sym.kind, "variable")
        modifiers = _READONLY if sym.kind in _READONLY_KINDS else 0
        if not sym.implicit:
            out[sym.span.start_byte] = (token_type, modifiers | _DECLARATION)
        for span in sym.other_definitions:
            out[span.start_byte] = (token_type, modifiers | _DECLARATION)
        for ref in sym.references:
            out.setdefault(ref.span.start_byte, (token_type, modifiers))
    return out


def _token(node, names: dict[int, tuple[str, int]]) -> tuple[str, int] | None:  # type: ignore[no-untyped-def]
    kind = node.type
    if kind == "comment":
        return "comment", 0
    if kind == "escape_sequence":
        return "regexp", 0
    if kind in _STRINGY:
        role = classify(node) if kind in ('"', "string_content") else None
        if role is not None and (role.kind in ("strategy", "policy") or role.key == "model"):
            return "enumMember", _LIBRARY
        return "string", 0
    if kind == "number":
        return "number", 0
    if kind in _OPERATORS:
        return "operator", 0
    if kind == "identifier":
        role = classify(node)
        if role is not None:
            return _ROLE_TYPES.get(role.kind)
        named = names.get(node.start_byte)
        if named is not None:
            return named
        parent = node.parent
        if parent is not None:
            by_parent = _BY_PARENT.get((parent.type, field_of(node) or ""))
            if by_parent is not None:
                return by_parent, 0
        return "variable", 0
    if kind in ("true", "false", "null") or (not node.is_named and kind.replace(" ", "").isalpha()):  # `is not` too
        return "keyword", 0
    return None


def _encode(tokens: list[tuple[int, int, int, int, int]], text: Text, base_row: int) -> _Unit:
    """LSP's relative encoding, one token per line (clients need not support multi-line tokens),
    counting lines from ``base_row``."""
    data: list[int] = []
    prev_row, prev_col = base_row, 0
    first = (0, 0)
    tokens.sort()
    for start, end, row, token_type, modifiers in tokens:
        pieces = _split_lines(text, start, end, row)
        for piece_row, start_col, end_col in pieces:
            col = text.column(piece_row, start_col)
            length = text.column(piece_row, end_col) - col
            if length <= 0:
                continue
            delta_row = piece_row - prev_row
            delta_col = col - prev_col if delta_row == 0 else col
            if delta_row == 0 and delta_col < 0:
                continue  # overlapping token; keep the first
            if not data:
                first = (piece_row - base_row, col)
            data += [delta_row, delta_col, length, token_type, modifiers]
            prev_row, prev_col = piece_row, col
    return _Unit(data, first, (prev_row - base_row, prev_col))


def _split_lines(text: Text, start: int, end: int, row: int) -> list[tuple[int, int, int]]:
    """(row, start byte column, end byte column) for each line a token covers."""
    out = []
    source = text.source
    line_start = text.line_start(row)
    while start < end:
        newline = source.find(b"\n", start, end)
        stop = end if newline == -1 else newline
        piece_end = stop - 1 if stop > start and source[stop - 1 : stop] == b"\r" else stop
        if piece_end > start:
            out.append((row, start - line_start, piece_end - line_start))
        if newline == -1:
            break
        start = newline + 1
        row += 1
        line_start = start
    return out
