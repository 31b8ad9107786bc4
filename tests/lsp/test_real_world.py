"""The constructs of real programs, and their mistakes, over real stdio.

The server must publish exactly what `prose check` finds: nothing for the
constructs real programs use, one diagnostic on the mistake's own line for
each mistake, with the quick fixes the checker computed. The outline and
folding still work in a file that has a mistake in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from ..test_real_world import CLEAN, MISTAKES
from .conftest import as_json, diagnostics_for, edit, expected_diagnostics, new_uri, open_doc

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _doc(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


@pytest.mark.parametrize("name", list(CLEAN))
async def test_real_construct_publishes_no_diagnostics(client: LanguageClient, tmp_path: Path, name: str) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, CLEAN[name])
    # W111/W114 are about fetching registry programs and skill files, not about the syntax.
    assert [d.code for d in diags if d.code not in ("W111", "W114")] == []


@pytest.mark.parametrize("name", list(MISTAKES))
async def test_mistake_publishes_one_diagnostic_on_its_line(client: LanguageClient, tmp_path: Path, name: str) -> None:
    program, expected = MISTAKES[name]
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, program)
    assert as_json(diags) == as_json(expected_diagnostics(program, uri))
    # LSP positions are 0-based; the CLI's are 1-based (all ASCII here, so columns agree).
    assert [(d.code, d.range.start.line + 1, d.range.start.character + 1) for d in diags] == expected


def _apply(text: str, edits: list[lsp.TextEdit]) -> str:
    lines = text.split("\n")

    def offset(pos: lsp.Position) -> int:
        return sum(len(line) + 1 for line in lines[: pos.line]) + pos.character

    for change in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(change.range.start)] + change.new_text + text[offset(change.range.end) :]
    return text


@pytest.mark.parametrize(
    ("program", "code", "fixed"),
    [
        ('agent a:\n  model: sonnet\n   prompt: "x"\n', "E005", 'agent a:\n  model: sonnet\n  prompt: "x"\n'),
        ('let x = "a"\nsession "s"\n\tcontext: x\n', "E118", 'let x = "a"\nsession "s"\n  context: x\n'),
        ('let topic = "t"\nsession "Research" context: topic\n', "E004",
         'let topic = "t"\nsession "Research"\n  context: topic\n'),
        ('if **the plan is ready**\n  session "Go"\n', "E005", 'if **the plan is ready**:\n  session "Go"\n'),
    ],
    ids=["indentation", "tab", "inline property", "missing colon"],
)
async def test_quick_fix_repairs_the_mistake(client: LanguageClient, tmp_path: Path, program: str, code: str,
                                              fixed: str) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, program)
    (target,) = [d for d in diags if d.code == code]
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(text_document=_doc(uri), range=target.range, context=lsp.CodeActionContext(diagnostics=[target]))
    )
    fixes = [a for a in actions or [] if isinstance(a, lsp.CodeAction) and a.kind == lsp.CodeActionKind.QuickFix]
    assert fixes, actions
    assert fixes[0].edit is not None and fixes[0].edit.changes is not None
    repaired = _apply(program, list(fixes[0].edit.changes[uri]))
    assert repaired == fixed
    edit(client, uri, 2, (0, 0), (len(program.split("\n")), 0), repaired)
    assert await diagnostics_for(client, uri, 2) == []


MIXED = """use "@anthropic/web-search"
agent researcher:
  model:
    opus
  skills:
    - web-search

let notes = session: researcher
  \"\"\"
  Take notes.
  \"\"\"
   let stray = session "over-indented"

if notes is not "":
  session "Use {notes}"
"""


async def test_outline_and_folding_survive_a_mistake(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    diags = await open_doc(client, uri, MIXED)
    assert [(d.code, d.range.start.line, d.message) for d in diags if d.code not in ("W111", "W114")] == [
        ("E005", 11, "indented 3 spaces, expected 0")
    ]
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=_doc(uri)))
    names = {s.name for s in symbols or []}
    assert {"researcher", "notes", "stray"} <= names
    folds = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=_doc(uri)))
    starts = {f.start_line for f in folds or []}
    assert {1, 7, 13} <= starts
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=_doc(uri), position=lsp.Position(14, 17))
    )
    assert hover is not None and "notes" in str(hover.contents)
