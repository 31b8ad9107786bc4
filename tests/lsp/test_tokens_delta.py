"""Semantic tokens `full/delta` and `range` over stdio, against `full` after random edits.

A delta applied to the previous result must give exactly what a full request
returns for the same version, and a range request must give the tokens of
the full result that start inside the range. Both a small document (parsed
afresh on every change) and a large one (reparsed incrementally, its
unchanged statements' tokens reused) are edited.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient

from openprose_lsp.documents import Document
from openprose_lsp.positions import encode
from openprose_lsp.semantic_tokens import semantic_tokens
from openprose_lsp.symbols import document_symbols, folding_ranges

from .conftest import diagnostics_for
from .edits import FRAGMENTS, Edit, apply, base_programs, make_edit
from .test_full_sync import large_program

DIR = Path("/tmp/openprose-lsp-tokens")
_CONVERTER = default_converter()
stdio = pytest.mark.asyncio(loop_scope="module")


def _absolute(data: list[int]) -> list[tuple[int, ...]]:
    out, row, col = [], 0, 0
    for i in range(0, len(data), 5):
        if data[i]:
            row, col = row + data[i], data[i + 1]
        else:
            col += data[i + 1]
        out.append((row, col, *data[i + 2 : i + 5]))
    return out


def _relative(tokens: list[tuple[int, ...]]) -> list[int]:
    out: list[int] = []
    prev_row = prev_col = 0
    for row, col, *rest in tokens:
        out += [row - prev_row, col - prev_col if row == prev_row else col, *rest]
        prev_row, prev_col = row, col
    return out


def _slice(data: list[int], window: lsp.Range) -> list[int]:
    low, high = (window.start.line, window.start.character), (window.end.line, window.end.character)
    return _relative([t for t in _absolute(data) if low <= (t[0], t[1]) < high])


def _apply_delta(data: list[int], delta: lsp.SemanticTokensDelta) -> list[int]:
    out = list(data)
    for edit in sorted(delta.edits, key=lambda e: e.start, reverse=True):
        out[edit.start : edit.start + edit.delete_count] = list(edit.data or [])
    return out


def _minimal(old: list[int], new: list[int], delta: lsp.SemanticTokensDelta) -> bool:
    """One edit, covering exactly what differs between whole tokens (five numbers each)."""
    (edit,) = delta.edits
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    prefix, suffix = prefix - prefix % 5, suffix - suffix % 5
    return edit.start == prefix and edit.delete_count == len(old) - suffix - prefix


@stdio
async def test_capabilities_advertise_delta_and_range(client: LanguageClient) -> None:
    provider = client.init_result.capabilities.semantic_tokens_provider  # type: ignore[attr-defined]
    assert provider.full.delta is True
    assert provider.range is True


@stdio
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
async def test_delta_and_range_match_full_after_edits(client: LanguageClient, large: bool) -> None:
    rng = random.Random(77 + large)
    uri = (DIR / f"tokens-{'large' if large else 'small'}.prose").as_uri()
    text = large_program() if large else base_programs()[2 % len(base_programs())]
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=1, text=text)))
    await diagnostics_for(client, uri, 1)
    ident = lsp.TextDocumentIdentifier(uri=uri)
    previous = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=ident))
    assert previous.result_id and previous.data
    deltas_with_edits = 0
    for version in range(2, 32 if large else 62):
        edit = make_edit(text, rng.random(), rng.randint(0, 25), rng.choice(FRAGMENTS))
        text, change = apply(text, edit)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]))
        await diagnostics_for(client, uri, version)
        delta = await client.text_document_semantic_tokens_full_delta_async(
            lsp.SemanticTokensDeltaParams(text_document=ident, previous_result_id=previous.result_id))
        assert isinstance(delta, lsp.SemanticTokensDelta), "the previous result was known: a delta is expected"
        assert delta.result_id and delta.result_id != previous.result_id
        patched = _apply_delta(list(previous.data), delta)
        deltas_with_edits += bool(delta.edits)
        assert delta.edits == [] or _minimal(list(previous.data), patched, delta)
        full = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=ident))
        assert patched == list(full.data), version
        rows = text.count("\n") + 1
        top = rng.randrange(rows)
        window = lsp.Range(start=lsp.Position(top, rng.randrange(4)), end=lsp.Position(min(rows, top + rng.randrange(1, 80)), rng.randrange(10)))
        ranged = await client.text_document_semantic_tokens_range_async(
            lsp.SemanticTokensRangeParams(text_document=ident, range=window))
        assert list(ranged.data) == _slice(list(full.data), window), (version, window)
        previous = full
    assert deltas_with_edits > 0
    # an unknown previous result is answered with the full tokens
    stale = await client.text_document_semantic_tokens_full_delta_async(
        lsp.SemanticTokensDeltaParams(text_document=ident, previous_result_id="no-such-result"))
    assert isinstance(stale, lsp.SemanticTokens) and list(stale.data) == list(previous.data)


def test_cached_tokens_and_folds_equal_a_fresh_document() -> None:
    """After many edits the per-statement caches give what a document opened on the final text gives."""
    rng = random.Random(5)
    text = large_program()
    doc = Document("file:///tmp/cached.prose", 1, encode(text))
    reused = 0
    previous: dict = {}
    for _ in range(25):
        analysis = doc.analyze(lambda path: b"")
        doc.tokens.full(analysis, doc.text)
        doc.folds.ranges(analysis, doc.text)
        units = doc.tokens._units  # noqa: SLF001 - checking that reuse happens
        reused += sum(1 for key, unit in units.items() if previous.get(key) is unit)
        previous = dict(units)
        edit = make_edit(text, rng.random(), rng.randint(0, 10), rng.choice(FRAGMENTS[:19]))
        text, change = apply(text, edit)
        doc.apply(change)
    analysis = doc.analyze(lambda path: b"")
    cached = doc.tokens.full(analysis, doc.text).data
    folds = [(f.start_line, f.end_line, f.kind) for f in doc.folds.ranges(analysis, doc.text)]
    assert reused > 0  # unchanged statements kept their tokens across some edits (errors force fresh parses)
    fresh_doc = Document("file:///tmp/cached.prose", 1, encode(text))
    fresh = fresh_doc.analyze(lambda path: b"")
    if [str(c) for c in fresh.tree.root_node.children] != [str(c) for c in analysis.tree.root_node.children]:
        pytest.skip("the incremental tree differs from a fresh parse here (the server re-verifies it)")
    assert cached == semantic_tokens(fresh, fresh_doc.text).data
    assert folds == [(f.start_line, f.end_line, f.kind) for f in folding_ranges(fresh, fresh_doc.text)]


def test_statements_moved_by_an_edit_keep_their_cache_and_get_their_new_rows() -> None:
    """Lines added and removed above valid statements: their cached tokens, folds and symbols are
    reused (same key, new row) and must equal those of a document opened on the new text."""
    text = _generated(3500)
    doc = Document("file:///tmp/moved.prose", 1, encode(text))
    moved = 0
    for at_fraction, inserted, removed in ((0.0, "\n", 0), (0.5, "# a note\n\n", 0), (0.25, "", 1), (0.0, "\n\n\n", 0)):
        analysis = doc.analyze(lambda path: b"")
        doc.tokens.full(analysis, doc.text)
        doc.folds.ranges(analysis, doc.text)
        doc.symbols.symbols(analysis, doc.text)
        rows = {id(unit): unit.row for cache in (doc.folds, doc.symbols) for unit in cache._units.values()}  # noqa: SLF001
        at = text.rfind("\n", 0, int(at_fraction * len(text))) + 1
        end = at
        if removed:
            at = text.index("\n\n", at) + 1  # a blank line
            end = at + 1
        text, change = apply(text, Edit(at, end, inserted))
        doc.apply(change)
        analysis = doc.analyze(lambda path: b"")
        assert not doc.exact  # the incremental tree: unchanged statements keep their subtrees
        tokens = doc.tokens.full(analysis, doc.text).data
        folds = [(f.start_line, f.end_line, f.kind) for f in doc.folds.ranges(analysis, doc.text)]
        symbols = _CONVERTER.unstructure(doc.symbols.symbols(analysis, doc.text))
        moved += sum(1 for cache in (doc.folds, doc.symbols) for unit in cache._units.values()  # noqa: SLF001
                     if id(unit) in rows and rows[id(unit)] != unit.row)
        fresh_doc = Document("file:///tmp/moved.prose", 1, encode(text))
        fresh = fresh_doc.analyze(lambda path: b"")
        assert tokens == semantic_tokens(fresh, fresh_doc.text).data
        assert folds == [(f.start_line, f.end_line, f.kind) for f in folding_ranges(fresh, fresh_doc.text)]
        assert symbols == _CONVERTER.unstructure(document_symbols(fresh, fresh_doc.text))
    assert moved > 0


def _generated(lines: int) -> str:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from generate import generate_program

    return generate_program(lines, seed=9)
