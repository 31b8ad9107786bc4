"""Random incremental edits: the server stays up, answers everything, and never drifts.

After every edit the diagnostics the server publishes must equal those of a
fresh, non-incremental `analyze()` of the same text: that is what proves the
incremental path (byte/UTF-16 conversion, `Tree.edit`, reparse against the
old tree, model reuse) loses nothing. The bulk runs in-process through the
real handler functions; a smaller seeded sample goes over stdio, where the
same edits are also sent in full-sync form (the whole text each time), which
the server turns back into one minimal splice.

Documents over the server's fresh-parse threshold take the incremental tree,
so the model cache is
reused there: the large-document tests below edit a generated program holding
every kind of definition (agents, blocks and their parameters, lets, consts,
local and registry `use` aliases, imports) — renaming definitions at the
definition or at a use, adding and removing whole definitions, mixed with the
random edits — and compare with an analysis that reuses nothing (in-process: of
the same tree; over stdio: of the text, and a freshly opened copy's definition
and references answers).
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient

from openprose.analysis import analyze
from openprose_lsp import server as srv
from openprose_lsp.diagnostics import convert_all
from openprose_lsp.documents import EXACT_PARSE_BELOW

from .conftest import as_json, diagnostics_for, expected_diagnostics
from .edits import (FRAGMENTS, settled, LIB_NAME, LIB_PROGRAM, Edit, apply, base_programs, definition_edit, make_edit, occurrences,
                    position, with_definitions)
from .test_full_sync import large_program

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from generate import generate_program  # noqa: E402

BASES = base_programs()
_CONVERTER = default_converter()
FUZZ_DIR = Path("/tmp/openprose-lsp-fuzz")
URI = (FUZZ_DIR / "fuzz.prose").as_uri()

fragments = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6))
edit_specs = st.tuples(st.floats(min_value=0, max_value=1), st.integers(min_value=0, max_value=40), fragments)


class InProcess:
    """The real handlers on a fresh server object, with the transport replaced by lists."""

    def __init__(self) -> None:
        self.ls = srv.ProseServer()
        self.published: list[lsp.PublishDiagnosticsParams] = []
        self.errors: list[str] = []
        self.ls.text_document_publish_diagnostics = self.published.append  # type: ignore[method-assign]
        self.ls.window_log_message = lambda p: self.errors.append(p.message)  # type: ignore[method-assign]
        self.ls.window_show_message = lambda p: None  # type: ignore[method-assign]
        self.ls.schedule = lambda doc, edited=False: self.ls.publish(doc)  # type: ignore[method-assign]

    def open(self, text: str) -> None:
        item = lsp.TextDocumentItem(uri=URI, language_id="prose", version=1, text=text)
        srv.did_open(self.ls, lsp.DidOpenTextDocumentParams(text_document=item))

    def change(self, version: int, change: lsp.TextDocumentContentChangePartial) -> None:
        ident = lsp.VersionedTextDocumentIdentifier(uri=URI, version=version)
        srv.did_change(self.ls, lsp.DidChangeTextDocumentParams(text_document=ident, content_changes=[change]))

    def requests(self, at: lsp.Position, heavy: bool) -> None:
        """Every request must answer (the guard would log an error if a handler raised)."""
        doc = lsp.TextDocumentIdentifier(uri=URI)
        srv.on_hover(self.ls, lsp.HoverParams(text_document=doc, position=at))
        srv.on_completion(self.ls, lsp.CompletionParams(text_document=doc, position=at))
        srv.on_definition(self.ls, lsp.DefinitionParams(text_document=doc, position=at))
        srv.on_highlight(self.ls, lsp.DocumentHighlightParams(text_document=doc, position=at))
        srv.on_references(
            self.ls, lsp.ReferenceParams(text_document=doc, position=at, context=lsp.ReferenceContext(include_declaration=True))
        )
        srv.on_code_action(
            self.ls,
            lsp.CodeActionParams(
                text_document=doc, range=lsp.Range(start=at, end=at), context=lsp.CodeActionContext(diagnostics=[])
            ),
        )
        if heavy:
            srv.on_document_symbol(self.ls, lsp.DocumentSymbolParams(text_document=doc))
            srv.on_folding_range(self.ls, lsp.FoldingRangeParams(text_document=doc))
            srv.on_semantic_tokens(self.ls, lsp.SemanticTokensParams(text_document=doc))
            srv.on_formatting(
                self.ls,
                lsp.DocumentFormattingParams(text_document=doc, options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)),
            )
            try:
                srv.on_prepare_rename(self.ls, lsp.PrepareRenameParams(text_document=doc, position=at))
            except Exception as exc:  # a refusal is an answer, sent as an LSP error
                assert "rename" in str(exc) or "name" in str(exc), exc


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(base=st.integers(min_value=0, max_value=len(BASES) - 1), specs=st.lists(edit_specs, min_size=5, max_size=25))
def test_in_process_edits_match_full_analysis(base: int, specs: list[tuple[float, int, str]]) -> None:
    harness = InProcess()
    text = BASES[base]
    harness.open(text)
    path = FUZZ_DIR / "fuzz.prose"
    for version, (fraction, length, fragment) in enumerate(specs, start=2):
        edit = make_edit(text, fraction, length, fragment)
        text, change = apply(text, edit)
        harness.change(version, change)
        published = harness.published[-1]
        assert published.version == version
        assert as_json(published.diagnostics) == as_json(expected_diagnostics(text, URI, path)), text
        harness.requests(position(text, min(edit.start, len(text))), heavy=version % 5 == 0)
        assert harness.errors == []


pytestmark_stdio = pytest.mark.asyncio(loop_scope="module")


@pytestmark_stdio
async def test_stdio_sample_of_edits(client: LanguageClient) -> None:
    rng = random.Random(20261125)
    uri = (FUZZ_DIR / "stdio-fuzz.prose").as_uri()
    text = BASES[0]
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=1, text=text))
    )
    await diagnostics_for(client, uri, 1)
    errors_before = _errors(client)
    for version in range(2, 202):
        fragment = rng.choice(FRAGMENTS) if rng.random() < 0.8 else "".join(chr(rng.randint(32, 0x2FF)) for _ in range(3))
        edit = make_edit(text, rng.random(), rng.randint(0, 30), fragment)
        text, change = apply(text, edit)
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]
            )
        )
        got = await diagnostics_for(client, uri, version)
        assert as_json(got) == as_json(expected_diagnostics(text, uri, FUZZ_DIR / "stdio-fuzz.prose"))
        if version % 10 == 0:
            at = position(text, edit.start)
            ident = lsp.TextDocumentIdentifier(uri=uri)
            await client.text_document_hover_async(lsp.HoverParams(text_document=ident, position=at))
            await client.text_document_completion_async(lsp.CompletionParams(text_document=ident, position=at))
            await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=ident))
    assert _errors(client) == errors_before


def _errors(client: LanguageClient) -> list[Any]:
    return [m.message for m in client.log_messages if m.type == lsp.MessageType.Error]


async def _settled(client: LanguageClient, uri: str, version: int, expected: list[Any]) -> list[Any]:
    """The newest diagnostics of a version, given a moment to match.

    A large document is reparsed incrementally and, once edits pause, checked
    against a fresh parse (which republishes the version if the trees differ),
    so the last word for a version may come a little after the first.
    """
    await diagnostics_for(client, uri, version)

    async def latest() -> list[Any]:
        return as_json(client.published[uri][-1].diagnostics)  # type: ignore[attr-defined,no-any-return]

    return await settled(latest, expected, pause=0.02)  # type: ignore[no-any-return]


@pytestmark_stdio
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
async def test_stdio_full_sync_matches_incremental_and_fresh(client: LanguageClient, large: bool) -> None:
    """The same random edits, sent as ranges to one document and as whole texts to another."""
    rng = random.Random(20261201 + large)
    name = "large" if large else "small"
    paths = {kind: FUZZ_DIR / f"sync-{kind}-{name}.prose" for kind in ("incremental", "full", "fresh")}
    uris = {kind: path.as_uri() for kind, path in paths.items()}
    text = large_program() if large else BASES[1 % len(BASES)]
    for kind in ("incremental", "full"):
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uris[kind], language_id="prose", version=1, text=text)))
        await diagnostics_for(client, uris[kind], 1)
    errors_before = _errors(client)
    for version in range(2, 22 if large else 122):
        fragment = rng.choice(FRAGMENTS) if rng.random() < 0.8 else "".join(chr(rng.randint(32, 0x2FF)) for _ in range(3))
        edit = make_edit(text, rng.random(), rng.randint(0, 30), fragment)
        text, change = apply(text, edit)
        for kind, content in (("incremental", change), ("full", lsp.TextDocumentContentChangeWholeDocument(text=text))):
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uris[kind], version=version),
                content_changes=[content]))
        for kind in ("incremental", "full"):
            expected = as_json(expected_diagnostics(text, uris[kind], paths[kind]))
            assert await _settled(client, uris[kind], version, expected) == expected, (kind, version)
    # a fresh open of the final text says the same as the two edited documents
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uris["fresh"], language_id="prose", version=1, text=text)))
    fresh = as_json(await diagnostics_for(client, uris["fresh"], 1))
    assert fresh == as_json(expected_diagnostics(text, uris["fresh"], paths["fresh"]))
    assert _errors(client) == errors_before


# ------------------------------------------------------------------ large documents (incremental tree)

LARGE = with_definitions(generate_program(4000, seed=11))
assert len(LARGE.encode()) > EXACT_PARSE_BELOW


@pytest.fixture(scope="module", autouse=True)
def _used_program() -> None:
    """The local program the large document `use`s, beside it (so its contract is checked)."""
    FUZZ_DIR.mkdir(parents=True, exist_ok=True)
    (FUZZ_DIR / LIB_NAME).write_text(LIB_PROGRAM, encoding="utf-8")

_DEFINED = re.compile(r"^(?:agent|let|const|block|input) ([A-Za-z_][A-Za-z0-9_-]*)", re.M)
#: Statements that change what others refer to, or break the syntax, or change levels.
LARGE_FRAGMENTS = (
    *FRAGMENTS,
    "agent agent-2:\n  model: opus\n  persist: true\n",
    "agent extra:\n  prompt: \"x\"\n",
    "resume: agent-1\n  prompt: \"again\"\n",
    "let v6 = 1\n",
    "let topic = \"t\"\n",
    "session: agent-9\n",
)


def large_edit(rng: random.Random, text: str) -> Edit:
    """A rename of a definition (any kind, at the definition or a use), a whole definition added or
    removed, a removed or indented line, or a fragment."""
    if rng.random() < 0.35:
        found = definition_edit(rng, text)
        if found is not None:
            return found
    roll = rng.random()
    names = _DEFINED.findall(text)
    if roll < 0.3 and names:
        name = rng.choice(names)
        at = rng.choice([mt.start() for mt in re.finditer(re.escape(name), text)])
        return Edit(at, at + len(name), rng.choice([name + "x", name[:-1] or "z", "agent-0", "v6", "topic"]))
    if roll < 0.45:
        starts = [0, *(i + 1 for i, ch in enumerate(text) if ch == "\n")]
        start = rng.choice(starts)
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        return Edit(start, end, "") if rng.random() < 0.5 else Edit(start, start, rng.choice(["  ", "    ", " "]))
    start = rng.randint(0, len(text))
    if rng.random() < 0.6:
        start = text.rfind("\n", 0, start) + 1
    return make_edit(text, start / max(1, len(text)), rng.randint(0, 8) if rng.random() < 0.3 else 0,
                     rng.choice(LARGE_FRAGMENTS))


def _answers(harness: InProcess, text: str, offsets: list[int]) -> list[Any]:
    doc = lsp.TextDocumentIdentifier(uri=URI)
    out = []
    for index in offsets:
        at = position(text, index)
        out.append(srv.on_definition(harness.ls, lsp.DefinitionParams(text_document=doc, position=at)))
        out.append(srv.on_references(harness.ls, lsp.ReferenceParams(
            text_document=doc, position=at, context=lsp.ReferenceContext(include_declaration=True))))
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), count=st.integers(min_value=4, max_value=12))
def test_in_process_edits_of_a_large_document_match_an_analysis_that_reuses_nothing(seed: int, count: int) -> None:
    rng = random.Random(seed)
    harness = InProcess()
    text = LARGE
    harness.open(text)
    path = FUZZ_DIR / "fuzz.prose"
    for version in range(2, 2 + count):
        edit = large_edit(rng, text)
        text, change = apply(text, edit)
        harness.change(version, change)
        published = harness.published[-1]
        assert published.version == version
        doc = harness.ls.documents.get(URI)
        assert doc is not None and doc.analysis is not None
        kept = doc.analysis
        fresh = analyze(doc.source, path, tree=doc.tree)  # the same tree; no model or check reused
        assert as_json(published.diagnostics) == as_json(convert_all(fresh.diagnostics, doc.text, URI)), (seed, version)
        offsets = [rng.randint(0, len(text)) for _ in range(4)]
        incremental = _answers(harness, text, offsets)
        doc.analysis = fresh
        assert _answers(harness, text, offsets) == incremental, (seed, version)
        doc.analysis = kept
        assert harness.errors == []


@pytestmark_stdio
async def test_stdio_edits_of_a_large_document(client: LanguageClient) -> None:
    """Over stdio: renames and added or removed definitions on a document on the incremental path.

    Seeded, so the same edits every run: the expected diagnostics are those
    of a fresh parse and analysis of the text, and definition and references
    at a few offsets (names, mostly) must be those of a copy opened afresh.
    """
    rng = random.Random(20261201)
    uri = (FUZZ_DIR / "stdio-large.prose").as_uri()
    text = LARGE
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=1, text=text))
    )
    await diagnostics_for(client, uri, 1)
    errors_before = _errors(client)
    for version in range(2, 62):
        edit = large_edit(rng, text)
        text, change = apply(text, edit)
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]
            )
        )
        expected = as_json(expected_diagnostics(text, uri, FUZZ_DIR / "stdio-large.prose"))
        assert await _settled(client, uri, version, expected) == expected, version
        offsets = _probe_offsets(rng, text, edit)
        fresh = await _fresh_navigation(client, text, offsets, uri)
        assert await _settled_navigation(client, uri, text, offsets, fresh) == fresh, (version, offsets)
    assert _errors(client) == errors_before


def _probe_offsets(rng: random.Random, text: str, edit: Edit) -> list[int]:
    """Where to ask for definition and references: on names (the edited one, if it is a name), and anywhere."""
    names = sorted(set(_DEFINED.findall(text)) | {"lib", "web", "summarizer", "polish", "draft", "result"})
    out = [min(edit.start, len(text)), rng.randint(0, len(text))]
    for name in rng.sample(names, 3):
        found = occurrences(text, name)
        if found:
            out.append(rng.choice(found) + rng.randint(0, len(name)))
    return out


async def _navigation(client: LanguageClient, uri: str, text: str, offsets: list[int]) -> list[Any]:
    """Definition and references (with the declaration) at each offset, the document's own URI written as "SELF"."""
    ident = lsp.TextDocumentIdentifier(uri=uri)
    out: list[Any] = []
    for index in offsets:
        at = position(text, index)
        found = await client.text_document_definition_async(lsp.DefinitionParams(text_document=ident, position=at))
        refs = await client.text_document_references_async(lsp.ReferenceParams(
            text_document=ident, position=at, context=lsp.ReferenceContext(include_declaration=True)))
        out.append(_own_uri(_CONVERTER.unstructure(found), uri))
        out.append(_own_uri(_CONVERTER.unstructure(refs), uri))
    return out


def _own_uri(value: Any, uri: str) -> Any:
    """A JSON value with the document's own URI written as "SELF" (so two documents' answers compare)."""
    if isinstance(value, dict):
        return {key: _own_uri(item, uri) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_own_uri(item, uri) for item in value]
    return "SELF" if value == uri else value


async def _fresh_navigation(client: LanguageClient, text: str, offsets: list[int], edited: str) -> list[Any]:
    """The answers of a copy opened on the text (beside the edited document, so `use` finds the same files)."""
    uri = edited.replace("stdio-large.prose", "stdio-large-fresh.prose")
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=1, text=text)))
    await diagnostics_for(client, uri, 1)
    answers = await _navigation(client, uri, text, offsets)
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    return answers


async def _settled_navigation(client: LanguageClient, uri: str, text: str, offsets: list[int],
                              expected: list[Any]) -> list[Any]:
    """The edited document's answers, given the moment `_settled` gives its diagnostics: until edits
    pause, its incremental tree may differ from a fresh parse (then it is replaced)."""
    deadline = asyncio.get_running_loop().time() + 3.0
    while True:
        got = await _navigation(client, uri, text, offsets)
        if got == expected or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.05)
