"""Diagnostics over real stdio: versions, incremental edits, close, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from .conftest import as_json, diagnostics_for, edit, expected_diagnostics, new_uri, open_doc

pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPO = """agent writer:
  model: sonnet
  prompt: "You write."

parallel (frist):
  a = session "A"
  b = session "B"
"""


async def test_typo_squiggle_disappears_after_incremental_edit(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    first = await open_doc(client, uri, TYPO, version=1)
    p001 = [d for d in first if d.code == "P001"]
    assert len(p001) == 1
    assert p001[0].range == lsp.Range(start=lsp.Position(4, 10), end=lsp.Position(4, 15))
    assert p001[0].source == "openprose"
    assert p001[0].severity == lsp.DiagnosticSeverity.Error

    # "frist" -> "first": replace the two swapped letters only.
    edit(client, uri, 2, (4, 11), (4, 13), "ir")
    after = await diagnostics_for(client, uri, 2)
    assert [d.code for d in after] == []
    assert client.published[uri][-1].version == 2


async def test_every_published_version_matches_a_full_analysis(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = 'let x = session "a"\n'
    await open_doc(client, uri, text, version=1)
    steps = [
        ((1, 0), (1, 0), "session: ghost\n"),
        ((1, 9), (1, 14), "writer"),
        ((0, 4), (0, 5), "y"),
        ((0, 0), (0, 0), "agent writer:\n  model: opsu\n"),
    ]
    current = text
    for version, (start, end, new) in enumerate(steps, start=2):
        current = _apply(current, start, end, new)
        edit(client, uri, version, start, end, new)
        got = await diagnostics_for(client, uri, version)
        assert as_json(got) == as_json(expected_diagnostics(current, uri, Path(tmp_path / "x.prose")))


def _apply(text: str, start: tuple[int, int], end: tuple[int, int], new: str) -> str:
    lines = text.split("\n")

    def offset(pos: tuple[int, int]) -> int:
        return sum(len(line) + 1 for line in lines[: pos[0]]) + pos[1]

    return text[: offset(start)] + new + text[offset(end) :]


async def test_related_information_and_codes(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, "agent a:\n  model: opus\nagent a:\n  model: haiku\n")
    e006 = next(d for d in diags if d.code == "E006")
    assert e006.related_information
    assert e006.related_information[0].location.range.start.line == 0
    assert e006.related_information[0].location.uri == uri


async def test_close_clears_diagnostics(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, "session: ghost\n")
    assert diags
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))

    from .conftest import until

    await until(lambda: not client.published[uri][-1].diagnostics and len(client.published[uri]) >= 2, what="clear")


async def test_utf16_columns(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    # "🎉" is two UTF-16 units and four UTF-8 bytes.
    diags = await open_doc(client, uri, 'session "🎉 {nobody}"\n')
    w113 = next(d for d in diags if d.code == "W113")
    assert w113.range.start.character == len('session "') + 2 + 2  # after the emoji, the space and the brace


async def test_lone_surrogate_reports_invalid_utf8(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, 'session "bad \ud800 text"\n')
    e005 = [d for d in diags if d.code == "E005" and "UTF-8" in d.message]
    assert e005 and e005[0].range.start == lsp.Position(0, 13)
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(0, 2))
    )
    assert hover is not None and "session" in hover.contents.value


async def test_missing_use_target_is_a_diagnostic(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, 'use "./nowhere.prose" as lib\nsession "x"\n')
    assert any(d.code == "E117" for d in diags)


async def test_use_prefers_the_open_buffer(client: LanguageClient, tmp_path: Path) -> None:
    lib = tmp_path / "lib.prose"
    lib.write_text('input topic: "t"\noutput summary = session "s"\n')
    main_uri = new_uri(tmp_path, "main-uses-lib.prose")
    text = 'use "./lib.prose" as lib\nlet r = lib(topic: "x")\nsession "{r}"\n  context: r.brief\n'
    diags = await open_doc(client, main_uri, text)
    assert any(d.code == "E028" for d in diags)  # disk version has no `brief`
    # Open the library with an unsaved `brief` output: the main program sees it.
    await open_doc(client, lib.as_uri(), 'input topic: "t"\noutput brief = session "s"\n')
    latest = await diagnostics_for(client, main_uri, 1)
    from .conftest import until

    await until(lambda: not any(d.code == "E028" for d in client.published[main_uri][-1].diagnostics), what="E028 gone")
    assert latest is not None


async def test_unknown_uri_and_huge_line(client: LanguageClient, tmp_path: Path) -> None:
    ghost = (tmp_path / "never-opened.prose").as_uri()
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=ghost), position=lsp.Position(0, 0))
    )
    assert hover is None
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=ghost))
    )
    assert symbols == []
    uri = new_uri(tmp_path)
    long_line = 'session "' + "x" * 1_000_000 + '"\n'
    diags = await open_doc(client, uri, long_line + "session: ghost\n")
    assert any(d.code == "E007" and d.range.start.line == 1 for d in diags)
    assert any(d.code == "W003" for d in diags)
