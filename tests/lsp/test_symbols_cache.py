"""Document symbols reuse each top-level statement's outline, and still equal a fresh document's.

The outline of a statement depends on more than its text: whether a
definition is a symbol at all (a repeated agent, block or binding is not),
and whether a name assigned inside a block is the block's or the program's,
depend on the rest of the program. The edits below rename definitions (at the
definition and at uses), add and remove whole definitions, and move
statements (lines inserted and removed above them); after each one the
server's symbols must equal those of a document opened on the same text.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient

from openprose_lsp.documents import Document
from openprose_lsp.positions import encode
from openprose_lsp.symbols import outline

from .conftest import diagnostics_for
from .edits import (FRAGMENTS, settled, LIB_NAME, LIB_PROGRAM, Edit, apply, definition_edit, make_edit,
                    top_level_starts, with_definitions)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from generate import generate_program  # noqa: E402

DIR = Path("/tmp/openprose-lsp-symbols")
_CONVERTER = default_converter()
stdio = pytest.mark.asyncio(loop_scope="module")


def _json(symbols: Any) -> Any:
    return _CONVERTER.unstructure(symbols)


def _edit(rng: random.Random, text: str) -> Edit:
    """A definition edit, a moved block of statements, or a random fragment."""
    roll = rng.random()
    if roll < 0.5:
        found = definition_edit(rng, text)
        if found is not None:
            return found
    if roll < 0.7:
        at = rng.choice(top_level_starts(text))
        return Edit(at, at, rng.choice(["\n", "\n\n", "# note\n"])) if rng.random() < 0.6 else Edit(
            at, min(len(text), text.find("\n", at) + 1 or len(text)), "")
    return make_edit(text, rng.random(), rng.randint(0, 12), rng.choice(FRAGMENTS))


def _program(large: bool) -> str:
    """A generated program (large: above the fresh-parse size) or a corpus one, with every kind of definition."""
    base = generate_program(3000 if large else 400, seed=4)
    head = 'input topic: "t"\nagent agent-1:\n  model: opus\n\n'
    return with_definitions(head + base)


#: Edits above `block polish` that change its outline without touching its text (the block
#: keeps other entries, so a cache keyed by text alone would show the old ones):
#: (text inserted before the block, or None; what replaces the first `let result`, or None).
_ELSEWHERE = {
    # a binding above: `result = …` inside the block now updates it instead of binding its own
    "binding above": ('let result = session "earlier"\n', None),
    # that binding renamed away: the block's assignment binds `result` again
    "binding renamed": ('let result = session "earlier"\n', "outcome"),
    # a repeated block above: the original is no longer the block symbol, its names move to the top
    "block repeated": ('block polish(x):\n  session "{x}"\n', None),
}


@pytest.mark.parametrize("case", sorted(_ELSEWHERE))
def test_symbols_follow_changes_made_elsewhere(case: str) -> None:
    """A statement whose text did not change still gets a new outline when its resolution did."""
    above, rename = _ELSEWHERE[case]
    text = _program(large=False)
    block = text.index("block polish")
    if rename is not None:
        text = text[:block] + above + text[block:]
    doc = Document("file:///tmp/openprose-lsp-symbols/elsewhere.prose", 1, encode(text))
    before = _json(doc.symbols.symbols(doc.analyze(lambda path: b""), doc.text))
    if rename is None:
        edit = Edit(block, block, above)
    else:
        at = text.index("let result") + len("let ")
        edit = Edit(at, at + len("result"), rename)
    text, change = apply(text, edit)
    doc.apply(change)
    analysis = doc.analyze(lambda path: b"")
    after = _json(doc.symbols.symbols(analysis, doc.text))
    assert after != before
    assert after == _json(outline(analysis, doc.text))
    fresh = Document("file:///tmp/openprose-lsp-symbols/fresh.prose", 1, encode(text))
    assert after == _json(fresh.symbols.symbols(fresh.analyze(lambda path: b""), fresh.text))


@pytest.mark.parametrize("seed", [1, 2])
def test_cached_symbols_equal_the_whole_resolution_outline(seed: int) -> None:
    """In-process, many edits: the cache must give exactly what the uncached outline of the same
    analysis gives, reuse statements, and end equal to a fresh document's symbols."""
    rng = random.Random(seed)
    text = _program(large=False)
    doc = Document("file:///tmp/openprose-lsp-symbols/cached.prose", 1, encode(text))
    reused = 0
    for _ in range(30):
        analysis = doc.analyze(lambda path: b"")
        before = dict(doc.symbols._units)  # noqa: SLF001 - checking that reuse happens
        assert _json(doc.symbols.symbols(analysis, doc.text)) == _json(outline(analysis, doc.text))
        reused += sum(1 for key, unit in doc.symbols._units.items() if before.get(key) is unit)  # noqa: SLF001
        text, change = apply(text, _edit(rng, text))
        doc.apply(change)
    assert reused > 0
    analysis = doc.analyze(lambda path: b"")
    fresh = Document("file:///tmp/openprose-lsp-symbols/fresh.prose", 1, encode(text))
    assert _json(doc.symbols.symbols(analysis, doc.text)) == _json(fresh.symbols.symbols(fresh.analyze(lambda path: b""), fresh.text))


@pytest.fixture(scope="module", autouse=True)
def _lib() -> None:
    DIR.mkdir(parents=True, exist_ok=True)
    (DIR / LIB_NAME).write_text(LIB_PROGRAM, encoding="utf-8")


async def _symbols(client: LanguageClient, uri: str) -> Any:
    return _json(await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=uri))))


async def _fresh_symbols(client: LanguageClient, text: str, name: str) -> Any:
    uri = (DIR / name).as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=1, text=text)))
    await diagnostics_for(client, uri, 1)
    found = await _symbols(client, uri)
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    return found


async def _settled_symbols(client: LanguageClient, uri: str, expected: Any) -> Any:
    """The edited document's symbols, given a moment to match: a large document's incremental tree
    is checked against a fresh parse once edits pause (and replaced if they differ)."""
    return await settled(lambda: _symbols(client, uri), expected)


@stdio
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
async def test_symbols_after_edits_equal_a_freshly_opened_document(client: LanguageClient, large: bool) -> None:
    rng = random.Random(424242 + large)
    name = "large" if large else "small"
    uri = (DIR / f"edited-{name}.prose").as_uri()
    text = _program(large)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=1, text=text)))
    await diagnostics_for(client, uri, 1)
    assert await _symbols(client, uri) == await _fresh_symbols(client, text, f"fresh-{name}.prose")
    for version in range(2, 32 if large else 82):
        text, change = apply(text, _edit(rng, text))
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]))
        await diagnostics_for(client, uri, version)
        if large and version % 2:
            continue  # every other version: the next edit lands on symbols computed from this one or not at all
        expected = await _fresh_symbols(client, text, f"fresh-{name}.prose")
        assert await _settled_symbols(client, uri, expected) == expected, version
