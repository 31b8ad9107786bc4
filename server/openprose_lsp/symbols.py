"""Document outline and folding ranges."""

from __future__ import annotations

import weakref
from bisect import bisect_right

import tree_sitter as ts
from lsprotocol import types as lsp

from openprose import model as m
from openprose.analysis import Analysis
from openprose.diagnostics import Span
from openprose.resolve import Symbol, SymbolKind
from openprose.syntax import walk

from .positions import Text

_KINDS: dict[SymbolKind, lsp.SymbolKind] = {
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

#: The LSP kind and the detail text of each outlined symbol kind.
_KIND_DETAILS = {kind: (lsp_kind, kind.value) for kind, lsp_kind in _KINDS.items()}


def document_symbols(analysis: Analysis, text: Text) -> list[lsp.DocumentSymbol]:
    """Agents, blocks, imports and bindings; a block's own names nest under it."""
    return SymbolCache().symbols(analysis, text)


def outline(analysis: Analysis, text: Text) -> list[lsp.DocumentSymbol]:
    """The outline computed from the whole resolution at once.

    The reference for `SymbolCache` (which must give exactly this), and its
    answer when a document cannot be cut into independent statements.
    """
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
    key = _owner_key(sym)
    return by_block.get(key) if key is not None else None


def _owner_key(sym: Symbol) -> int | None:
    """Start byte of the block definition a symbol nests under, if any."""
    if sym.kind is SymbolKind.PARAMETER and isinstance(sym.decl, m.BlockDef):
        return sym.decl.span.start_byte
    scope = sym.scope
    while scope is not None and scope.kind == "body":
        scope = scope.parent
    if scope is not None and scope.kind == "block":
        return scope.span.start_byte
    return None


def _full_span(sym: Symbol) -> Span:
    """What the outline entry covers: the whole declaration when it holds the name."""
    decl_span = getattr(sym.decl, "span", None)
    if sym.kind is SymbolKind.PARAMETER or decl_span is None or not _covers(decl_span, sym.span):
        return sym.span
    return decl_span


def _outline(sym: Symbol, kind: lsp.SymbolKind, text: Text) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=sym.name,
        kind=kind,
        detail=sym.kind.value,
        range=text.range(_full_span(sym)),
        selection_range=text.range(sym.span),
    )


def _covers(outer: Span, inner: Span) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


#: One outline entry of a statement, all offsets relative to the statement's first byte:
#: (name, kind, detail, range start, range end, name start, name end, owner block, own block).
_Entry = tuple[str, lsp.SymbolKind, str, int, int, int, int, "int | None", "int | None"]
#: An entry converted to rows counted from the statement's first line and client columns:
#: (name, kind, detail, range (row, col, row, col), name range, children).
_Shape = tuple[str, lsp.SymbolKind, str, tuple[int, int, int, int], tuple[int, int, int, int], tuple["_Shape", ...]]


class _SymbolUnit:
    """The outline of one top-level statement, kept relative to its first line.

    ``built`` holds the LSP objects for the row the statement last started on,
    so a statement that did not move is answered with the very same objects;
    they are never modified once built.
    """

    __slots__ = ("shapes", "row", "built", "first", "last")

    def __init__(self, shapes: tuple[_Shape, ...]) -> None:
        self.shapes = shapes
        self.row = -1
        self.built: list[lsp.DocumentSymbol] = []
        #: (line, character) where the first and the last top-level entry start, at `row`.
        self.first = self.last = (-1, -1)

    def at(self, row: int) -> list[lsp.DocumentSymbol]:
        if row != self.row:
            self.built = [_materialize(shape, row) for shape in self.shapes]
            self.row = row
            first, last = self.shapes[0][3], self.shapes[-1][3]
            self.first, self.last = (row + first[0], first[1]), (row + last[0], last[1])
        return self.built


class SymbolCache:
    """Document symbols of one document, reusing the outline of unchanged top-level statements.

    A statement's outline is not a function of its text alone: whether a
    definition in it is a symbol at all (or a repeat of an earlier one, which
    gets none), what kind it is, and whether an assignment inside a block binds
    a new program-level name all depend on the rest of the program. Each
    statement's entries are therefore read from the current resolution (cheap
    tuples), and the key is those entries, relative to the statement, plus its
    text (for rows and columns, with the bytes before it on its first line).
    Only a statement whose key is new is converted again; one that merely moved
    is re-rowed from its relative shape.
    """

    def __init__(self) -> None:
        self._units: dict[tuple[bytes, bytes, tuple[_Entry, ...]], _SymbolUnit] = {}
        self._last: tuple[weakref.ref[Analysis], list[lsp.DocumentSymbol]] | None = None

    def symbols(self, analysis: Analysis, text: Text) -> list[lsp.DocumentSymbol]:
        if self._last is not None and self._last[0]() is analysis:
            return list(self._last[1])
        result = self._compute(analysis, text)
        self._last = (weakref.ref(analysis), result)
        return list(result)

    def _compute(self, analysis: Analysis, text: Text) -> list[lsp.DocumentSymbol]:
        nodes = analysis.tree.root_node.children
        starts = [node.start_byte for node in nodes]
        ends = [node.end_byte for node in nodes]
        entries: dict[int, list[_Entry]] = {}
        kinds = _KIND_DETAILS
        block_kind, parameter_kind = SymbolKind.BLOCK, SymbolKind.PARAMETER
        for sym in analysis.resolution.symbols:
            found = kinds.get(sym.kind)
            if found is None or sym.implicit:
                continue
            span = sym.span
            s0, s1 = span.start_byte, span.end_byte
            index = bisect_right(starts, s0) - 1
            if index < 0:
                return outline(analysis, text)
            base, end = starts[index], ends[index]
            f0, f1 = s0, s1
            decl_span = getattr(sym.decl, "span", None)
            if decl_span is not None and sym.kind is not parameter_kind:
                d0, d1 = decl_span.start_byte, decl_span.end_byte
                if d0 <= s0 and s1 <= d1:
                    f0, f1 = d0, d1
            owner = _owner_key(sym)
            own = decl_span.start_byte if sym.kind is block_kind and isinstance(sym.decl, m.BlockDef) else None
            if not (base <= f0 and f1 <= end and base <= s0 and s1 <= end
                    and (owner is None or base <= owner <= end) and (own is None or base <= own <= end)):
                return outline(analysis, text)  # not confined to one statement: no per-statement answer
            entry = (sym.name, found[0], found[1], f0 - base, f1 - base, s0 - base, s1 - base,
                     None if owner is None else owner - base, None if own is None else own - base)
            bucket = entries.get(index)
            if bucket is None:
                entries[index] = [entry]
            else:
                bucket.append(entry)
        source = text.source
        old = self._units
        fresh: dict[tuple[bytes, bytes, tuple[_Entry, ...]], _SymbolUnit] = {}
        out: list[lsp.DocumentSymbol] = []
        last_start: tuple[int, int] = (-1, -1)
        for index in sorted(entries):
            node = nodes[index]
            begin = starts[index]
            row, col = node.start_point
            key = (source[begin - col : begin], source[begin : ends[index]], tuple(entries[index]))
            unit = fresh.get(key) or old.get(key)
            if unit is None:
                unit = _SymbolUnit(_shapes(key[2], begin, row, text))
            fresh[key] = unit
            built = unit.at(row)
            if unit.first <= last_start:
                return outline(analysis, text)  # a tie across statements: only the global sort orders it
            last_start = unit.last
            out.extend(built)
        self._units = fresh
        return out


def _shapes(entries: tuple[_Entry, ...], base: int, base_row: int, text: Text) -> tuple[_Shape, ...]:
    """Nest and order one statement's entries as `outline` does, in rows relative to ``base_row``."""

    def rel(start: int, end: int) -> tuple[int, int, int, int]:
        start_row, start_col = text.point(base + start)
        end_row, end_col = text.point(base + end)
        return (start_row - base_row, text.column(start_row, start_col),
                end_row - base_row, text.column(end_row, end_col))

    nodes: list[list] = []
    by_block: dict[int, list] = {}
    for name, kind, detail, f0, f1, s0, s1, _, own in entries:
        node = [name, kind, detail, rel(f0, f1), rel(s0, s1), []]
        nodes.append(node)
        if own is not None:
            by_block[own] = node
    top = []
    for entry, node in zip(entries, nodes):
        parent = by_block.get(entry[7]) if entry[7] is not None else None
        if parent is not None and parent is not node:
            parent[5].append(node)
        else:
            top.append(node)
    top.sort(key=lambda n: (n[3][0], n[3][1]))

    def freeze(node: list) -> _Shape:
        return (node[0], node[1], node[2], node[3], node[4], tuple(freeze(c) for c in node[5]))

    return tuple(freeze(node) for node in top)


def _materialize(shape: _Shape, row: int) -> lsp.DocumentSymbol:
    name, kind, detail, full, selection, children = shape
    return lsp.DocumentSymbol(
        name=name,
        kind=kind,
        detail=detail,
        range=_range(full, row),
        selection_range=_range(selection, row),
        children=[_materialize(child, row) for child in children] or None,
    )


def _range(rel: tuple[int, int, int, int], row: int) -> lsp.Range:
    return lsp.Range(start=lsp.Position(line=row + rel[0], character=rel[1]),
                     end=lsp.Position(line=row + rel[2], character=rel[3]))


_FOLDED = frozenset({"block", "property_block", "string", "condition", "array", "object"})


def folding_ranges(analysis: Analysis, text: Text) -> list[lsp.FoldingRange]:
    """Indented bodies fold under their header line; long strings, lists and comment runs fold too."""
    return FoldCache().ranges(analysis, text)


class FoldCache:
    """Folding ranges of one document, reusing those of unchanged top-level nodes.

    A top-level node's folds depend only on its subtree (and, for the row
    numbers, on where it starts): they are kept relative to its first line,
    keyed by the subtree's id and text as in the token cache, so an edit
    elsewhere only shifts them, and a node that did not move answers with the
    same (never modified) objects as before.
    """

    def __init__(self) -> None:
        self._units: dict[tuple[int, bytes, bytes], _FoldUnit] = {}

    def ranges(self, analysis: Analysis, text: Text) -> list[lsp.FoldingRange]:
        out: list[lsp.FoldingRange] = []
        seen: set[int] = set()
        comment_rows: list[int] = []
        source = text.source
        old = self._units
        fresh: dict[tuple[int, bytes, bytes], _FoldUnit] = {}
        root = analysis.tree.root_node
        for node in root.children:
            base, column = node.start_point
            begin = node.start_byte
            key = (node.id, source[begin - column : begin], source[begin : node.end_byte])
            unit = fresh.get(key) or old.get(key)
            if unit is None:
                unit = _FoldUnit(*_unit_folds(node, text, root))
                if node.type not in ("block", "property_block"):  # else its header is the root's row
                    fresh[key] = unit
            else:
                fresh[key] = unit
            for fold in unit.at(base):
                if fold.start_line not in seen:
                    seen.add(fold.start_line)
                    out.append(fold)
            if unit.comments:
                comment_rows.extend(base + row for row in unit.comments)
        self._units = fresh
        out.extend(_comment_runs(comment_rows))
        return out


class _FoldUnit:
    """One top-level node's folds (rows from its first line) and comment rows, with the
    `FoldingRange` objects for the row it last started on."""

    __slots__ = ("folds", "comments", "row", "built")

    def __init__(self, folds: list[tuple[int, int]], comments: list[int]) -> None:
        self.folds = folds
        self.comments = comments
        self.row = -1
        self.built: list[lsp.FoldingRange] = []

    def at(self, row: int) -> list[lsp.FoldingRange]:
        if row != self.row:
            self.built = [lsp.FoldingRange(start_line=row + start, end_line=row + end, kind=lsp.FoldingRangeKind.Region)
                          for start, end in self.folds]
            self.row = row
        return self.built


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
