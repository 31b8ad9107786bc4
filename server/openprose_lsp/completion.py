"""Completion from the line being typed plus the program's names.

A half-typed line rarely parses into the node the user means, so the context
(inside `parallel (`, after `model:`, in a `{` of a string…) is read from the
text before the cursor; the names offered (agents, blocks, variables in
scope) come from the runtime's resolution of the current text.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lsprotocol import types as lsp

from openprose.analysis import Analysis
from openprose.checker import (
    AGENT_PROPERTIES,
    BACKOFFS,
    MODELS,
    MODIFIER_KEYS,
    PERMISSION_TYPES,
    PERMISSION_VALUES,
    PIPE_OPERATORS,
    POLICIES,
    SESSION_PROPERTIES,
    STRATEGIES,
)
from openprose.resolve import Symbol, SymbolKind

from . import docs
from .hover import describe_symbol
from .positions import Text, decode

_WORD = re.compile(r"[A-Za-z0-9_-]*$")
_PARALLEL = re.compile(r"\bparallel\s*\(([^()]*)$")
_LOOP = re.compile(r"\bloop\b[^()]*\(([^()]*)$")
_INTERPOLATION = re.compile(r"\{[A-Za-z0-9_-]*$")
_MODEL = re.compile(r'\bmodel\s*:\s*("?)[A-Za-z0-9_.-]*$')
_BACKOFF = re.compile(r"\bbackoff\s*:\s*[A-Za-z-]*$")
_PERSIST = re.compile(r"\bpersist\s*:\s*[A-Za-z-]*$")
_PERMISSION_VALUE = re.compile(r"^\s*(?:read|write|execute|bash|network)\s*:\s*[A-Za-z-]*$")
_AGENT_REF = re.compile(r"(?:\b(?:session|resume)\s*:|\bsession\s+[A-Za-z_][\w-]*\s*:)\s*[\w-]*$")
_CONTEXT = re.compile(r"\bcontext\s*:\s*[\[{]?\s*(?:[\w.-]+\s*,\s*)*[\w-]*$")
_DO = re.compile(r"\bdo\s+[\w-]*$")
_PIPE = re.compile(r"\|\s*[\w-]*$")
_VALUE_START = re.compile(r"^\s*(?:(?:let|const|output)\s+)?[A-Za-z_][\w-]*\s*=\s*[\w-]*$")
_LINE_START = re.compile(r"^\s*[\w-]*$")
_OWNER_AGENT = re.compile(r"^\s*agent\b")
_OWNER_SESSION = re.compile(r"\b(?:session|resume)\b")
_OWNER_PERMISSIONS = re.compile(r"^\s*permissions\s*:\s*$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?')


@dataclass(frozen=True)
class Cursor:
    """The line around the cursor and the word being typed."""

    prefix: str  # line text before the cursor
    suffix: str  # line text after the cursor
    word: str  # identifier characters just before the cursor
    range: lsp.Range  # what a completion replaces: the word

    @property
    def after_quote(self) -> bool:
        return self.prefix[: len(self.prefix) - len(self.word)].endswith('"')


#: At most this many names (variables, agents, blocks) are offered at once. A
#: 50,000-line program has thousands of variables in scope; building (and
#: sending) an item for each would cost hundreds of milliseconds per request.
#: When more match what is typed, the nearest definitions are offered and the
#: list is marked incomplete, so the client asks again as the user types.
NAME_LIMIT = 100


@dataclass
class _Names:
    """How names are offered in this request, and whether some were left out."""

    offset: int
    #: The document's URI when the client fetches documentation with
    #: `completionItem/resolve`: names then carry only what `resolve_item` needs.
    lazy_uri: str | None = None
    truncated: bool = False


def complete(
    analysis: Analysis, text: Text, offset: int, *, snippets: bool = True, trigger: str | None = None,
    lazy_uri: str | None = None,
) -> lsp.CompletionList:
    """Completion at a byte offset; with ``lazy_uri`` the names' documentation waits for `resolve_item`."""
    cursor = _cursor(text, offset)
    names = _Names(offset, lazy_uri)
    items = _items(analysis, text, offset, cursor, snippets, names)
    if items is None:
        items = [] if trigger in (" ", '"', ",", ":") else _statement_items(cursor, snippets)
    return lsp.CompletionList(is_incomplete=names.truncated, items=items)


def resolve_item(item: lsp.CompletionItem, analysis: Analysis, text: Text) -> lsp.CompletionItem:
    """Fill in the documentation of a name offered without it (see `complete`'s ``lazy_uri``).

    The name is looked up again in the current analysis, where it was visible
    at the completion's offset; an item that no longer names anything is
    returned as it came.
    """
    data = item.data
    if item.documentation is not None or not isinstance(data, dict):
        return item
    kind, name, offset = data.get("kind"), data.get("name"), data.get("offset")
    if not isinstance(kind, str) or not isinstance(name, str) or not isinstance(offset, int):
        return item
    res = analysis.resolution
    if kind == SymbolKind.AGENT.value:
        found = res.agents.get(name)
    elif kind == SymbolKind.BLOCK.value:
        found = res.blocks.get(name)
    else:
        found = res.scope_at(max(0, offset)).lookup(name)
    if found is None or found.kind.value != kind:
        return item
    item.documentation = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=describe_symbol(found, text))
    return item


def _cursor(text: Text, offset: int) -> Cursor:
    row, col = text.point(offset)
    line = text.line_bytes(row)
    prefix = decode(line[:col])
    suffix = decode(line[col:]).rstrip("\r")
    word = _WORD.search(prefix)
    typed = word.group(0) if word else ""
    start = offset - len(typed.encode())
    return Cursor(prefix, suffix, typed, text.range_of_offsets(start, offset))


def _items(analysis: Analysis, text: Text, offset: int, cursor: Cursor, snippets: bool,
           names: _Names) -> list[lsp.CompletionItem] | None:
    prefix = cursor.prefix
    parallel = _PARALLEL.search(prefix)
    if parallel:
        return _parallel_items(parallel.group(1), cursor)
    loop = _LOOP.search(prefix)
    if loop:
        return [_item("max: ", lsp.CompletionItemKind.Property, docs.MODIFIER_DOCS["max"], cursor, label="max:")]
    if _MODEL.search(prefix):
        return [_value(name, docs.MODEL_DOCS[name], cursor, lsp.CompletionItemKind.EnumMember) for name in MODELS]
    if _in_string(prefix) or _in_multiline_text(analysis, text, offset):
        if _INTERPOLATION.search(prefix):
            return _variables(analysis, text, offset, cursor, names)
        return []
    if _BACKOFF.search(prefix):
        return [_value(name, docs.BACKOFF_DOCS[name], cursor, lsp.CompletionItemKind.EnumMember) for name in BACKOFFS]
    if _PERSIST.search(prefix):
        return [_value(name, doc, cursor, lsp.CompletionItemKind.EnumMember) for name, doc in docs.PERSIST_DOCS.items()]
    if _PERMISSION_VALUE.search(prefix):
        return [
            _value(name, docs.PERMISSION_DOCS[name], cursor, lsp.CompletionItemKind.EnumMember)
            for name in PERMISSION_VALUES
        ]
    if _AGENT_REF.search(prefix):
        return _offer(_placed(analysis.resolution.agents.values()), text, cursor, names,
                      lambda sym: lsp.CompletionItemKind.Class)
    if _CONTEXT.search(prefix):
        return _variables(analysis, text, offset, cursor, names)
    if _DO.search(prefix):
        return _offer(_placed(analysis.resolution.blocks.values()), text, cursor, names,
                      lambda sym: lsp.CompletionItemKind.Function)
    if _PIPE.search(prefix):
        return [_value(name, docs.PIPE_DOCS[name], cursor, lsp.CompletionItemKind.Function) for name in PIPE_OPERATORS]
    if _VALUE_START.search(prefix):
        starters = ["session", "resume", "parallel", "do"]
        items = [_item(word, lsp.CompletionItemKind.Keyword, docs.KEYWORD_DOCS[word], cursor) for word in starters]
        return items + _variables(analysis, text, offset, cursor, names)
    if _LINE_START.search(prefix):
        owner = _owner_line(text, text.point(offset)[0], len(prefix) - len(prefix.lstrip()))
        if owner is not None:
            if _OWNER_PERMISSIONS.search(owner):
                return _properties(PERMISSION_TYPES, docs.PERMISSION_DOCS, cursor)
            if _OWNER_AGENT.search(owner):
                return _properties(AGENT_PROPERTIES, docs.PROPERTY_DOCS, cursor)
            if _OWNER_SESSION.search(_STRING.sub('""', owner)):
                return _properties(SESSION_PROPERTIES, docs.PROPERTY_DOCS, cursor)
        return None
    return []


def _in_string(prefix: str) -> bool:
    """Inside a string or a `**condition**` that started on this line."""
    in_string = False
    in_condition = False
    index = 0
    while index < len(prefix):
        ch = prefix[index]
        if in_string and ch == "\\":
            index += 2
            continue
        if ch == '"' and not in_condition:
            in_string = not in_string
        elif prefix.startswith("**", index) and not in_string:
            in_condition = not in_condition
            index += 3 if prefix.startswith("***", index) else 2
            continue
        elif ch == "#" and not in_string and not in_condition:
            return False
        index += 1
    return in_string or in_condition


def _in_multiline_text(analysis: Analysis, text: Text, offset: int) -> bool:
    """Inside a `\"\"\"` string or `***` condition opened on an earlier line."""
    row = text.point(offset)[0]
    node = analysis.tree.root_node.descendant_for_byte_range(max(0, offset - 1), max(0, offset - 1))
    while node is not None:
        if node.type in ("string", "condition"):
            return node.start_point[0] < row
        node = node.parent
    return False


def _owner_line(text: Text, row: int, indent: int) -> str | None:
    """The nearest line above with less indentation: what this line belongs to."""
    if indent == 0:
        return None
    for above in range(row - 1, -1, -1):
        line = decode(text.line_bytes(above)).rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) < indent:
            return line
    return None


def _parallel_items(inside: str, cursor: Cursor) -> list[lsp.CompletionItem]:
    segments = inside.split(",")
    current = segments[-1]
    others = segments[:-1]
    quoted_elsewhere = any('"' in seg for seg in others)
    policy = re.search(r'on-fail\s*:\s*"?[\w-]*$', current)
    if policy:
        return [_choice(name, docs.POLICY_DOCS[name], cursor, quoted_elsewhere) for name in POLICIES]
    if re.search(r"count\s*:", current):
        return []
    given_keys = {seg.split(":")[0].strip() for seg in others if ":" in seg}
    has_strategy = any(":" not in seg and seg.strip() for seg in others)
    items: list[lsp.CompletionItem] = []
    if not has_strategy:
        items += [_choice(name, docs.STRATEGY_DOCS[name], cursor, quoted_elsewhere) for name in STRATEGIES]
    if not cursor.after_quote:
        for key in MODIFIER_KEYS:
            if key not in given_keys:
                items.append(_item(f"{key}: ", lsp.CompletionItemKind.Property, docs.MODIFIER_DOCS[key], cursor, label=f"{key}:"))
    return items


def _choice(name: str, doc: str, cursor: Cursor, quoted_elsewhere: bool) -> lsp.CompletionItem:
    """A strategy or policy, spelled the way the user is already writing them."""
    if cursor.after_quote:
        closing = "" if cursor.suffix.startswith('"') else '"'
        return _item(name + closing, lsp.CompletionItemKind.EnumMember, doc, cursor, label=name)
    if quoted_elsewhere:
        return _item(f'"{name}"', lsp.CompletionItemKind.EnumMember, doc, cursor, label=name)
    return _item(name, lsp.CompletionItemKind.EnumMember, doc, cursor)


def _value(name: str, doc: str, cursor: Cursor, kind: lsp.CompletionItemKind) -> lsp.CompletionItem:
    if cursor.after_quote:
        closing = "" if cursor.suffix.startswith('"') else '"'
        return _item(name + closing, kind, doc, cursor, label=name)
    return _item(name, kind, doc, cursor)


def _properties(names: Iterable[str], table: dict[str, str], cursor: Cursor) -> list[lsp.CompletionItem]:
    return [
        _item(f"{name}: ", lsp.CompletionItemKind.Property, table[name], cursor, label=name)
        for name in names
    ]


def _variables(analysis: Analysis, text: Text, offset: int, cursor: Cursor, names: _Names) -> list[lsp.CompletionItem]:
    visible = []
    for sym in analysis.resolution.scope_at(offset).visible().values():  # unsorted: `_offer` sorts what it keeps
        start = sym.span.start_byte
        if sym.implicit or not offset <= start <= offset + 1:  # not the half-typed name itself
            visible.append((start, sym))
    return _offer(visible, text, cursor, names, _variable_kind)


def _variable_kind(sym: Symbol) -> lsp.CompletionItemKind:
    if sym.kind in (SymbolKind.CONST, SymbolKind.INPUT):
        return lsp.CompletionItemKind.Constant
    return lsp.CompletionItemKind.Variable


def _placed(symbols: Iterable[Symbol]) -> list[tuple[int, Symbol]]:
    """Symbols with where they are defined, as `_offer` takes them."""
    return [(sym.span.start_byte, sym) for sym in symbols]


def _offer(symbols: list[tuple[int, Symbol]], text: Text, cursor: Cursor, names: _Names,
           kind_of: Callable[[Symbol], lsp.CompletionItemKind]) -> list[lsp.CompletionItem]:
    """Items for (definition offset, symbol) pairs of distinct names, in name order, at most `NAME_LIMIT` of them.

    When there are more, only names holding the typed characters in order
    (ignoring case: a superset of what clients show for that word) are kept,
    then those defined nearest the cursor, and the list is marked incomplete so
    the client asks again whenever the word changes (backspace included).
    """
    if len(symbols) > NAME_LIMIT:
        names.truncated = True
        if cursor.word:
            typed = cursor.word.lower()
            symbols = [pair for pair in symbols if _subsequence(typed, pair[1].name.lower())]
        if len(symbols) > NAME_LIMIT:
            at = names.offset
            symbols = heapq.nsmallest(NAME_LIMIT, symbols, key=lambda pair: (abs(pair[0] - at), pair[1].name))
    symbols.sort(key=lambda pair: pair[1].name)  # after the cut: sorting every name of a large program cost the most
    return [_symbol_item(sym, text, cursor, kind_of(sym), names) for _, sym in symbols]


def _subsequence(typed: str, name: str) -> bool:
    rest = iter(name)
    return all(ch in rest for ch in typed)


def _symbol_item(sym: Symbol, text: Text, cursor: Cursor, kind: lsp.CompletionItemKind,
                 names: _Names | None = None) -> lsp.CompletionItem:
    if names is None or names.lazy_uri is None:
        return _item(sym.name, kind, describe_symbol(sym, text), cursor, detail=sym.kind.value)
    item = _item(sym.name, kind, None, cursor, detail=sym.kind.value)
    item.data = {"uri": names.lazy_uri, "offset": names.offset, "kind": sym.kind.value, "name": sym.name}
    return item


def _statement_items(cursor: Cursor, snippets: bool) -> list[lsp.CompletionItem]:
    if not _LINE_START.search(cursor.prefix):
        return []
    items = []
    for label, body, key in docs.STATEMENT_SNIPPETS:
        doc = docs.KEYWORD_DOCS[key]
        if snippets:
            items.append(
                lsp.CompletionItem(
                    label=label,
                    kind=lsp.CompletionItemKind.Snippet,
                    detail=f"{label} statement",
                    documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc),
                    insert_text_format=lsp.InsertTextFormat.Snippet,
                    text_edit=lsp.TextEdit(range=cursor.range, new_text=body),
                    filter_text=label,
                    sort_text=f"1{label}",
                )
            )
        else:
            items.append(_item(label, lsp.CompletionItemKind.Keyword, doc, cursor))
    return items


def _item(
    insert: str,
    kind: lsp.CompletionItemKind,
    doc: str | None,
    cursor: Cursor,
    *,
    label: str | None = None,
    detail: str | None = None,
) -> lsp.CompletionItem:
    name = label or insert
    return lsp.CompletionItem(
        label=name,
        kind=kind,
        detail=detail,
        documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc is not None else None,
        text_edit=lsp.TextEdit(range=cursor.range, new_text=insert),
        filter_text=name.strip('"'),
        sort_text=f"0{name}",
    )
