"""Document outline and folding ranges."""

from __future__ import annotations

import tree_sitter as ts
from lsprotocol import types as lsp

from openprose import model as m
from openprose.analysis import Analysis
from openprose.resolve import Symbol, SymbolKind
from openprose.syntax import walk

from .positions import Text

_KINDS = {
    SymbolKind.AGENT: lsp.SymbolKind.Class,
    SymbolKind.BLOCK: lsp.SymbolKind.Function,
    SymbolKind.PROGRAM: lsp.SymbolKind.Module,
    SymbolKind.SKILL: lsp.SymbolKind.Package,
    SymbolKind.VARIABLE: lsp.SymbolKind.Variable,
    SymbolKind.CONST: lsp.SymbolKind.Constant,
    SymbolKind.INPUT: lsp.SymbolKind.Field,
    SymbolKind.OUTPUT: lsp.SymbolKind.Event,
    SymbolKind.PARAMETER: lsp.SymbolKind.TypeParameter,
}


def document_symbols(analysis: Analysis, text: Text) -> list[lsp.DocumentSymbol]:
    """Agents, blocks, imports and bindings; a block's own names nest under it."""
    res = analysis.resolution
    by_block: dict[int, lsp.DocumentSymbol] = {}
    top: list[lsp.DocumentSymbol] = []
    pending: list[tuple[Symbol, lsp.DocumentSymbol]] = []
    for sym in res.symbols:
        kind = _KINDS.get(sym.kind)
        if kind is None or sym.implicit:
            continue
        outline = _outline(sym, kind, text)
        if isinstance(sym.decl, m.BlockDef) and sym.kind is SymbolKind.BLOCK:
            by_block[sym.decl.span.start_byte] = outline
        pending.append((sym, outline))
    for sym, outline in pending:
        parent = _owner(sym, by_block)
        if parent is not None and parent is not outline:
            parent.children = [*(parent.children or []), outline]
        else:
            top.append(outline)
    top.sort(key=lambda s: (s.range.start.line, s.range.start.character))
    return top


def _owner(sym: Symbol, by_block: dict[int, lsp.DocumentSymbol]) -> lsp.DocumentSymbol | None:
    if sym.kind is SymbolKind.PARAMETER and isinstance(sym.decl, m.BlockDef):
        return by_block.get(sym.decl.span.start_byte)
    scope = sym.scope
    while scope is not None and scope.kind == "body":
        scope = scope.parent
    if scope is not None and scope.kind == "block":
        return by_block.get(scope.span.start_byte)
    return None


def _outline(sym: Symbol, kind: lsp.SymbolKind, text: Text) -> lsp.DocumentSymbol:
    decl_span = getattr(sym.decl, "span", None)
    full = decl_span if decl_span is not None and _covers(decl_span, sym.span) else sym.span
    if sym.kind is SymbolKind.PARAMETER:
        full = sym.span
    return lsp.DocumentSymbol(
        name=sym.name,
        kind=kind,
        detail=sym.kind.value,
        range=text.range(full),
        selection_range=text.range(sym.span),
    )


def _covers(outer, inner) -> bool:  # type: ignore[no-untyped-def]
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


_FOLDED = frozenset({"block", "property_block", "string", "condition", "array", "object"})


def folding_ranges(analysis: Analysis, text: Text) -> list[lsp.FoldingRange]:
    """Indented bodies fold under their header line; long strings, lists and comment runs fold too."""
    return FoldCache().ranges(analysis, text)


class FoldCache:
    """Folding ranges of one document, reusing those of unchanged top-level nodes.

    A top-level node's folds depend only on its subtree (and, for the row
    numbers, on where it starts): they are kept relative to its first line,
    keyed by the subtree's id and text as in the token cache, so an edit
    elsewhere only shifts them.
    """

    def __init__(self) -> None:
        self._units: dict[tuple[int, bytes, bytes], tuple[list[tuple[int, int]], list[int]]] = {}

    def ranges(self, analysis: Analysis, text: Text) -> list[lsp.FoldingRange]:
        out: list[lsp.FoldingRange] = []
        seen: set[int] = set()
        comment_rows: list[int] = []
        source = text.source
        fresh: dict[tuple[int, bytes, bytes], tuple[list[tuple[int, int]], list[int]]] = {}
        root = analysis.tree.root_node
        for node in root.children:
            base = node.start_point[0]
            begin = node.start_byte
            key = (node.id, source[begin - node.start_point[1] : begin], source[begin : node.end_byte])
            unit = fresh.get(key) or self._units.get(key)
            if unit is None:
                unit = _unit_folds(node, text, root)
                if node.type not in ("block", "property_block"):  # else its header is the root's row
                    fresh[key] = unit
            else:
                fresh[key] = unit
            folds, comments = unit
            for start, end in folds:
                if base + start not in seen:
                    seen.add(base + start)
                    out.append(lsp.FoldingRange(start_line=base + start, end_line=base + end,
                                                kind=lsp.FoldingRangeKind.Region))
            comment_rows.extend(base + row for row in comments)
        self._units = fresh
        out.extend(_comment_runs(comment_rows))
        return out


def _unit_folds(unit: ts.Node, text: Text, root: ts.Node) -> tuple[list[tuple[int, int]], list[int]]:
    """(start, end) of each fold and the rows of comments in a top-level node, counted from its first line."""
    base = unit.start_point[0]
    folds: list[tuple[int, int]] = []
    comments: list[int] = []
    for node in walk(unit):
        if node.type == "comment":
            comments.append(node.start_point[0] - base)
            continue
        if node.type not in _FOLDED or node.start_point[0] == node.end_point[0]:
            continue
        start = node.start_point[0]
        if node.type in ("block", "property_block") and node.parent is not None:
            start = node.parent.start_point[0]
        end = _last_content_row(text, node.start_byte, node.end_byte)
        if end > start:
            folds.append((start - base, end - base))
    return folds, comments


def _last_content_row(text: Text, start: int, end: int) -> int:
    """A body's node may end at the next statement's line; fold only its own lines."""
    chunk = text.source[start:end].rstrip()
    return text.point(start + len(chunk))[0]


def _comment_runs(rows: list[int]) -> list[lsp.FoldingRange]:
    out = []
    run_start = last = -2
    for row in [*sorted(rows), -2]:
        if row == last + 1:
            last = row
            continue
        if last > run_start >= 0:
            out.append(lsp.FoldingRange(start_line=run_start, end_line=last, kind=lsp.FoldingRangeKind.Comment))
        run_start = last = row
    return out
