"""Hover: what a keyword, property or value means, where a name is defined, and what a diagnostic's code means."""

from __future__ import annotations

import itertools
import weakref
from bisect import bisect_right
from collections.abc import Iterable, Mapping

from lsprotocol import types as lsp

from openprose import model as m
from openprose import codes
from openprose.analysis import Analysis
from openprose.diagnostics import Diagnostic
from openprose.backends.config import BackendConfig, resolve_model
from openprose.resolve import Symbol, SymbolKind

from . import docs
from .positions import Text
from .syntax_context import Role, classify, node_at

_PROMPT_PREVIEW = 160


def hover(analysis: Analysis, text: Text, offset: int, aliases: Mapping[str, str] | None = None,
          extra: Iterable[Diagnostic] = ()) -> lsp.Hover | None:
    """What the word at `offset` means, followed by the code of each diagnostic there (with `extra`, a run's)."""
    found = _word_hover(analysis, text, offset, aliases)
    here = [*_DIAGNOSTICS.at(analysis, offset), *(d for d in extra if d.span.contains_byte(offset))]
    notes = code_notes(here)
    if notes is None:
        return found
    if found is None:
        return _hover(notes, text.range(here[0].span))
    assert isinstance(found.contents, lsp.MarkupContent)
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                                value=f"{found.contents.value}\n\n---\n\n{notes}"),
                     range=found.range)


class _DiagnosticsAt:
    """The diagnostics of the newest analysis by position, so a hover does not scan them all.

    Built once per analysis (a document with thousands of warnings would
    otherwise cost a pass over all of them for every hover). Entries are sorted
    by start with the furthest end reached so far, so a lookup walks back from
    the offset only while an earlier diagnostic can still reach it.
    """

    def __init__(self) -> None:
        self._of: weakref.ref[Analysis] | None = None
        self._starts: list[int] = []
        self._entries: list[tuple[int, int, int, Diagnostic]] = []
        self._reach: list[int] = []

    def at(self, analysis: Analysis, offset: int) -> list[Diagnostic]:
        """The analysis's diagnostics whose span holds the offset, in the analysis's order."""
        if self._of is None or self._of() is not analysis:
            entries = sorted(((d.span.start_byte, d.span.end_byte, i, d) for i, d in enumerate(analysis.diagnostics)),
                             key=lambda e: (e[0], e[2]))
            self._entries, self._starts = entries, [e[0] for e in entries]
            self._reach = list(itertools.accumulate((e[1] for e in entries), max))
            self._of = weakref.ref(analysis)  # a superseded analysis is not kept alive
        hits = []
        j = bisect_right(self._starts, offset) - 1
        while j >= 0 and self._reach[j] >= offset:
            start, end, index, diag = self._entries[j]
            if start <= offset < end or start == end == offset:
                hits.append((index, diag))
            j -= 1
        return [diag for _, diag in sorted(hits, key=lambda hit: hit[0])]


_DIAGNOSTICS = _DiagnosticsAt()


def code_notes(diagnostics: Iterable[Diagnostic]) -> str | None:
    """One explanation per code among `diagnostics`, in their order (None when no code is known)."""
    shown: dict[str, str] = {}
    for diag in diagnostics:
        code = codes.lookup(diag.code)
        if code is not None and code.id not in shown:
            shown[code.id] = docs.code_doc(code)
    return "\n\n---\n\n".join(shown.values()) if shown else None


def _word_hover(analysis: Analysis, text: Text, offset: int, aliases: Mapping[str, str] | None) -> lsp.Hover | None:
    node = node_at(analysis.tree, offset)
    if node is None:
        return None
    role = classify(node)
    body = _role_doc(role, aliases) if role is not None else None
    if body is not None and role is not None:
        section = docs.guide_section(role.kind, role.word, role.key)
        if section is not None:
            body = f"{body}\n\n{docs.guide_link(section)}"
    target = role.node if role is not None else node
    if body is None:
        found = analysis.resolution.symbol_at(offset)
        if found is None and offset > 0:
            found = analysis.resolution.symbol_at(offset - 1)
        if found is None:
            return None
        symbol, span = found
        body = describe_symbol(symbol, text)
        return _hover(body, text.range(span))
    return _hover(body, text.range_of_offsets(target.start_byte, target.end_byte))


def _hover(body: str, rng: lsp.Range) -> lsp.Hover:
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=body), range=rng)


def _role_doc(role: Role, aliases: Mapping[str, str] | None) -> str | None:
    word = role.word
    if role.kind == "keyword":
        return docs.KEYWORD_DOCS.get(word)
    if role.kind == "property":
        return docs.PROPERTY_DOCS.get(word)
    if role.kind == "permission":
        return docs.PERMISSION_DOCS.get(word)
    if role.kind == "strategy":
        return docs.STRATEGY_DOCS.get(word)
    if role.kind == "policy":
        return docs.POLICY_DOCS.get(word)
    if role.kind == "modifier":
        return docs.MODIFIER_DOCS.get(word)
    if role.kind == "pipe":
        return docs.PIPE_DOCS.get(word)
    if role.kind == "value":
        if role.key == "model":
            return _model_doc(word, aliases)
        if role.key == "backoff":
            return docs.BACKOFF_DOCS.get(word)
        if role.key == "persist":
            return docs.PERSIST_DOCS.get(word)
        if role.key in ("permission", "bash", "network", "read", "write", "execute"):
            return docs.PERMISSION_DOCS.get(word)
        if role.key in docs.MODIFIER_DOCS:
            return docs.MODIFIER_DOCS[role.key]
    return None


def _model_doc(word: str, aliases: Mapping[str, str] | None) -> str | None:
    base = docs.MODEL_DOCS.get(word)
    config = BackendConfig(model_aliases={**BackendConfig().model_aliases, **(aliases or {})})
    resolved = resolve_model(word, config)
    if base is None:
        return f"**`{word}`**: a full model id, sent as written." if word.startswith("claude-") else None
    return f"{base}\n\nRuns as `{resolved}` with the current model aliases."


def describe_symbol(symbol: Symbol, text: Text) -> str:
    """Markdown for a name: its kind, where it is defined, and what it holds."""
    if symbol.implicit:
        return docs.ITEM_DOC
    line = symbol.span.start_row + 1
    head = f"**{symbol.kind.value}** `{symbol.name}`, defined on line {line}"
    decl = symbol.decl
    details: list[str] = []
    if isinstance(decl, m.AgentDef):
        model = decl.property("model")
        prompt = decl.property("prompt")
        persist = decl.property("persist")
        details.append(f"model: `{_value_text(model.value) if model and model.value else 'sonnet (default)'}`")
        if persist is not None and persist.value is not None:
            details.append(f"persist: `{_value_text(persist.value)}`")
        if prompt is not None and isinstance(prompt.value, m.Str):
            details.append("prompt: " + _quote(prompt.value.text))
    elif isinstance(decl, m.BlockDef):
        params = ", ".join(p.name for p in decl.parameters)
        head = f"**block** `{symbol.name}({params})`, defined on line {line}"
        details.append(f"{len(decl.body)} statement{'s' if len(decl.body) != 1 else ''}")
        if symbol.kind is SymbolKind.PARAMETER:
            head = f"**parameter** `{symbol.name}` of block `{decl.name.name}`, line {line}"
            details = []
    elif isinstance(decl, m.Input):
        if isinstance(decl.description, m.Str):
            details.append(_quote(decl.description.text))
    elif isinstance(decl, m.Use):
        details.append(f'imported from `"{decl.path.text}"`')
    else:
        statement = text.line_bytes(symbol.span.start_row).decode("utf-8", errors="replace").strip()
        if statement:
            details.append(f"```openprose\n{statement}\n```")
    refs = len(symbol.references)
    details.append(f"{refs} reference{'s' if refs != 1 else ''}")
    return "\n\n".join([head, *details])


def _value_text(value: object) -> str:
    if isinstance(value, m.Name):
        return value.name
    if isinstance(value, m.Str):
        return value.text
    if isinstance(value, m.Literal):
        return {True: "true", False: "false", None: "null"}[value.value]
    if isinstance(value, m.Number):
        return value.text
    return "…"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _PROMPT_PREVIEW:
        flat = flat[: _PROMPT_PREVIEW - 1] + "…"
    return f"> {flat}" if flat else "> (empty)"
