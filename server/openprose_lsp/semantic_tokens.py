"""Semantic tokens: the tree's leaves, with names coloured by what they resolve to."""

from __future__ import annotations

from lsprotocol import types as lsp

from openprose.analysis import Analysis
from openprose.resolve import SymbolKind
from openprose.syntax import walk

from .positions import Text
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
    names = _name_index(analysis)
    tokens: list[tuple[int, int, int, int, int]] = []  # start byte, end byte, row, type, modifiers
    for node in walk(analysis.tree.root_node):
        if node.child_count and node.type not in ("string_content", "condition_text"):
            continue
        kind = _token(node, names)
        if kind is None or node.start_byte == node.end_byte:
            continue
        token_type, modifiers = kind
        tokens.append((node.start_byte, node.end_byte, node.start_point[0], _TYPE[token_type], modifiers))
    return lsp.SemanticTokens(data=_encode(tokens, text))


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


def _encode(tokens: list[tuple[int, int, int, int, int]], text: Text) -> list[int]:
    """LSP's relative encoding, one token per line (clients need not support multi-line tokens)."""
    data: list[int] = []
    prev_row = prev_col = 0
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
            data += [delta_row, delta_col, length, token_type, modifiers]
            prev_row, prev_col = piece_row, col
    return data


def _split_lines(text: Text, start: int, end: int, row: int) -> list[tuple[int, int, int]]:
    """(row, start byte column, end byte column) for each line a token covers."""
    out = []
    source = text.source
    line_start = text.index.line_start(row)
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
