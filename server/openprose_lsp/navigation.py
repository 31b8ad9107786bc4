"""Definition, references, highlights and rename, all from the runtime's resolution."""

from __future__ import annotations

import re
from pathlib import Path

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from openprose import model as m
from openprose.analysis import Analysis
from openprose.checker import is_local_program_path
from openprose.diagnostics import Span
from openprose.resolve import Symbol

from .docs import KEYWORD_DOCS
from .positions import Text
from .syntax_context import node_at

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$")
#: Words the grammar treats as keywords; a name cannot be one of them.
RESERVED = frozenset(KEYWORD_DOCS)


class RenameError(Exception):
    """A rename the server refuses, with a message fit for the user."""


def symbol_at(analysis: Analysis, offset: int) -> tuple[Symbol, Span] | None:
    found = analysis.resolution.symbol_at(offset)
    if found is None and offset > 0:
        found = analysis.resolution.symbol_at(offset - 1)
    return found


def definition(analysis: Analysis, text: Text, uri: str, offset: int) -> list[lsp.Location]:
    found = symbol_at(analysis, offset)
    if found is None:
        return []
    symbol, _ = found
    if symbol.implicit:
        return []
    target = _program_file(symbol, analysis)
    if target is not None:
        return [lsp.Location(uri=target, range=lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)))]
    return [lsp.Location(uri=uri, range=text.range(symbol.span))]


def _program_file(symbol: Symbol, analysis: Analysis) -> str | None:
    """A `use`d local program: its definition is the file itself."""
    decl = symbol.decl
    if not isinstance(decl, m.Use) or not is_local_program_path(decl.path.text) or analysis.path is None:
        return None
    target = (analysis.path.parent / decl.path.text).resolve()
    if not Path(target).is_file():
        return None
    return from_fs_path(str(target))


def occurrences(symbol: Symbol) -> list[tuple[Span, bool]]:
    """Every written occurrence of a symbol, with whether it binds (writes) the name."""
    out: list[tuple[Span, bool]] = []
    if not symbol.implicit:
        out.append((symbol.span, True))
    out.extend((span, True) for span in symbol.other_definitions)
    out.extend((ref.span, ref.write) for ref in symbol.references)
    seen: set[tuple[int, int]] = set()
    unique = []
    for span, write in sorted(out, key=lambda item: item[0].start_byte):
        key = (span.start_byte, span.end_byte)
        if key not in seen:
            seen.add(key)
            unique.append((span, write))
    return unique


def references(analysis: Analysis, text: Text, uri: str, offset: int, include_declaration: bool) -> list[lsp.Location]:
    found = symbol_at(analysis, offset)
    if found is None:
        return []
    symbol, _ = found
    definitions = {(symbol.span.start_byte, symbol.span.end_byte)} | {
        (s.start_byte, s.end_byte) for s in symbol.other_definitions
    }
    out = []
    for span, _write in occurrences(symbol):
        if not include_declaration and (span.start_byte, span.end_byte) in definitions:
            continue
        out.append(lsp.Location(uri=uri, range=text.range(span)))
    return out


def highlights(analysis: Analysis, text: Text, offset: int) -> list[lsp.DocumentHighlight]:
    found = symbol_at(analysis, offset)
    if found is None:
        return []
    symbol, _ = found
    return [
        lsp.DocumentHighlight(
            range=text.range(span),
            kind=lsp.DocumentHighlightKind.Write if write else lsp.DocumentHighlightKind.Read,
        )
        for span, write in occurrences(symbol)
    ]


def prepare_rename(analysis: Analysis, text: Text, offset: int) -> lsp.PrepareRenamePlaceholder:
    symbol, span = _renamable(analysis, offset)
    return lsp.PrepareRenamePlaceholder(range=text.range(span), placeholder=symbol.name)


def rename(analysis: Analysis, text: Text, uri: str, offset: int, new_name: str) -> lsp.WorkspaceEdit:
    symbol, _ = _renamable(analysis, offset)
    if not _IDENTIFIER.match(new_name):
        raise RenameError(f"'{new_name}' is not a valid name: use letters, digits, '_' and inner '-'")
    if new_name in RESERVED:
        raise RenameError(f"'{new_name}' is a keyword and cannot be used as a name")
    if new_name != symbol.name and _taken(analysis, symbol, new_name):
        raise RenameError(f"'{new_name}' is already defined here; renaming would merge two names")
    edits = [_rename_edit(symbol, span, new_name, text) for span, _ in occurrences(symbol)]
    return lsp.WorkspaceEdit(changes={uri: edits})


def _rename_edit(symbol: Symbol, span: Span, new_name: str, text: Text) -> lsp.TextEdit:
    """The edit for one occurrence; a `use` without `as` is named by its path, so it gains an alias."""
    decl = symbol.decl
    if isinstance(decl, m.Use) and decl.alias is None and span == decl.path.span:
        end = Span(span.end_byte, span.end_byte, span.end_row, span.end_col, span.end_row, span.end_col)
        return lsp.TextEdit(range=text.range(end), new_text=f" as {new_name}")
    return lsp.TextEdit(range=text.range(span), new_text=new_name)


def _renamable(analysis: Analysis, offset: int) -> tuple[Symbol, Span]:
    found = symbol_at(analysis, offset)
    if found is None:
        node = node_at(analysis.tree, offset)
        word = (node.text or b"").decode("utf-8", "replace") if node is not None else ""
        if node is not None and not node.is_named and word in RESERVED:
            raise RenameError(f"'{word}' is a keyword, not a name; only names can be renamed")
        raise RenameError("there is no name to rename here")
    symbol, span = found
    if symbol.implicit:
        raise RenameError(f"'{symbol.name}' is the implicit element of map/filter/pmap and cannot be renamed")
    return symbol, span


def _taken(analysis: Analysis, symbol: Symbol, name: str) -> bool:
    res = analysis.resolution
    if symbol.scope.lookup(name) is not None:
        return True
    if any(name in scope_names for scope_names in _inner_names(symbol)):
        return True
    return name in res.agents or name in res.blocks or name in res.programs


def _inner_names(symbol: Symbol) -> list[set[str]]:
    """Names visible where the symbol is used (a loop variable could be shadowed there)."""
    return [set(ref.scope.visible()) for ref in symbol.references]
