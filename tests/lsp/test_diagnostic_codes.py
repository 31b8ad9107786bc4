"""Over real stdio: each diagnostic links its code's row in the docs, and hovering over it explains the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from openprose import codes

from .conftest import new_uri, open_doc, position_of
from .test_hover_completion import _hover

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCS = "https://github.com/openprose/openprose-tooling/blob/main/docs/diagnostics.md"
PAGE = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"

PROGRAM = 'if ** **:\n  session "a"\nsession: ghost\nlet x = not **  **\n'


async def test_every_diagnostic_links_the_row_of_its_code(client: LanguageClient, tmp_path: Path) -> None:
    diags = await open_doc(client, new_uri(tmp_path), PROGRAM)
    assert sorted(d.code for d in diags) == ["E007", "E108", "E108"]
    anchors = set(re.findall(r'<a id="([a-z0-9]+)"></a>', PAGE.read_text(encoding="utf-8")))
    for diag in diags:
        assert diag.code_description is not None, diag
        assert diag.code_description.href == f"{DOCS}#{str(diag.code).lower()}"
        assert diag.code_description.href.rpartition("#")[2] in anchors


async def test_hover_on_a_diagnostic_explains_its_code(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    await open_doc(client, uri, PROGRAM)
    text = await _hover(client, uri, position_of(PROGRAM, "** **", delta=1))
    assert text is not None
    assert "**E108** (error)" in text and codes.E108.summary in text and codes.E108.example in text
    assert f"({DOCS}#e108)" in text
    # The `not` case reports the same code, and hover explains it there too.
    assert "**E108**" in (await _hover(client, uri, position_of(PROGRAM, "**  **", delta=2)) or "")


async def test_hover_on_a_word_with_a_diagnostic_shows_both(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    source = 'agent a:\n  model: sonnet\n  retry: 2\n'
    assert [d.code for d in await open_doc(client, uri, source)] == ["W109"]
    text = await _hover(client, uri, position_of(source, "retry", delta=1))
    assert text is not None
    word, _, note = text.partition("\n\n---\n\n")
    assert "retry" in word and "W109" not in word
    assert note.startswith("**W109** (warning)") and codes.W109.summary in note


async def test_hover_on_an_undefined_name_explains_its_code(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    await open_doc(client, uri, PROGRAM)
    text = await _hover(client, uri, position_of(PROGRAM, "ghost", delta=1))
    assert text is not None and text.startswith("**E007** (error)") and codes.E007.summary in text


async def test_no_code_no_note(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    source = 'session "all fine"\n'
    assert await open_doc(client, uri, source) == []
    text = await _hover(client, uri, position_of(source, "session", delta=1))
    assert text is not None and "diagnostics reference" not in text
