"""Definition, references, rename, highlights, symbols, folding, tokens, formatting, fixes."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from .conftest import diagnostics_for, edit, new_uri, open_doc, position_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROGRAM = """agent critic:
  model: opus
  prompt: "Be blunt."

block polish(draft):
  let better = session "Polish {draft}"
  output result = better

let draft = session "Write about {topic}"
input topic: "what to write about"

parallel:
  review = session: critic
    prompt: "Review {draft}"
    context: draft
  ideas = session "More ideas for {draft}"

session "Final"
  context: [draft, review, ideas]

do polish(draft)
items = ["a", "b"] | map:
  session "Handle {item}"
"""


def _doc(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


def _apply(text: str, edits: list[lsp.TextEdit]) -> str:
    lines = text.split("\n")

    def offset(pos: lsp.Position) -> int:
        return sum(len(line) + 1 for line in lines[: pos.line]) + pos.character

    for e in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


@pytest_asyncio.fixture(loop_scope="module")
async def program(client: LanguageClient, tmp_path: Path) -> str:
    uri = new_uri(tmp_path, "nav.prose")
    await open_doc(client, uri, PROGRAM)
    return uri


async def test_definition_of_agent_variable_and_block(client: LanguageClient, program: str) -> None:
    cases = [
        (position_of(PROGRAM, "session: critic", delta=10), position_of(PROGRAM, "critic")),
        (position_of(PROGRAM, "{draft}", delta=2, occurrence=1), position_of(PROGRAM, "let draft", delta=4)),
        (position_of(PROGRAM, "do polish", delta=4), position_of(PROGRAM, "polish")),
        (position_of(PROGRAM, "{topic}", delta=2), position_of(PROGRAM, "input topic", delta=6)),
    ]
    for at, target in cases:
        result = await client.text_document_definition_async(lsp.DefinitionParams(text_document=_doc(program), position=at))
        assert isinstance(result, list) and len(result) == 1
        assert result[0].uri == program
        assert result[0].range.start == target


async def test_references_include_interpolations_and_context(client: LanguageClient, program: str) -> None:
    at = position_of(PROGRAM, "let draft", delta=5)
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(text_document=_doc(program), position=at, context=lsp.ReferenceContext(include_declaration=True))
    )
    assert refs is not None
    lines = sorted(r.range.start.line for r in refs)
    # definition, "Review {draft}", context: draft, "More ideas for {draft}", context list, do polish(draft)
    assert lines == [8, 13, 14, 15, 18, 20]
    without = await client.text_document_references_async(
        lsp.ReferenceParams(text_document=_doc(program), position=at, context=lsp.ReferenceContext(include_declaration=False))
    )
    assert without is not None and len(without) == len(refs) - 1


async def test_rename_everywhere(client: LanguageClient, program: str) -> None:
    at = position_of(PROGRAM, "{draft}", delta=3, occurrence=1)
    prepared = await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=_doc(program), position=at))
    assert isinstance(prepared, lsp.PrepareRenamePlaceholder) and prepared.placeholder == "draft"
    result = await client.text_document_rename_async(
        lsp.RenameParams(text_document=_doc(program), position=at, new_name="essay")
    )
    assert result is not None and result.changes is not None
    renamed = _apply(PROGRAM, list(result.changes[program]))
    assert "let essay = session" in renamed
    assert 'prompt: "Review {essay}"' in renamed and "context: essay" in renamed
    assert "context: [essay, review, ideas]" in renamed and "do polish(essay)" in renamed
    assert "block polish(draft):" in renamed and "Polish {draft}" in renamed  # the parameter is another name


async def test_rename_refusals(client: LanguageClient, program: str) -> None:
    keyword = position_of(PROGRAM, "parallel", delta=2)
    with pytest.raises(JsonRpcException, match="keyword"):
        await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=_doc(program), position=keyword))
    item = position_of(PROGRAM, "{item}", delta=2)
    with pytest.raises(JsonRpcException, match="implicit"):
        await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(text_document=_doc(program), position=item))
    draft = position_of(PROGRAM, "let draft", delta=5)
    with pytest.raises(JsonRpcException, match="keyword"):
        await client.text_document_rename_async(lsp.RenameParams(text_document=_doc(program), position=draft, new_name="session"))
    with pytest.raises(JsonRpcException, match="already defined"):
        await client.text_document_rename_async(lsp.RenameParams(text_document=_doc(program), position=draft, new_name="review"))
    with pytest.raises(JsonRpcException, match="not a valid name"):
        await client.text_document_rename_async(lsp.RenameParams(text_document=_doc(program), position=draft, new_name="two words"))


async def test_highlight_reads_and_writes(client: LanguageClient, program: str) -> None:
    at = position_of(PROGRAM, "review =", delta=1)
    result = await client.text_document_document_highlight_async(
        lsp.DocumentHighlightParams(text_document=_doc(program), position=at)
    )
    assert result is not None
    kinds = [(h.range.start.line, h.kind) for h in result]
    assert kinds == [(12, lsp.DocumentHighlightKind.Write), (18, lsp.DocumentHighlightKind.Read)]


async def test_document_symbols_are_hierarchical(client: LanguageClient, program: str) -> None:
    result = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=_doc(program)))
    assert result is not None
    top = {s.name: s for s in result}  # type: ignore[union-attr]
    assert {"critic", "polish", "draft", "topic", "review", "ideas", "items"} <= set(top)
    assert top["critic"].kind == lsp.SymbolKind.Class
    assert top["topic"].kind == lsp.SymbolKind.Field
    polish = top["polish"]
    assert polish.kind == lsp.SymbolKind.Function
    assert {c.name for c in polish.children or []} == {"draft", "better", "result"}
    assert "better" not in top
    for sym in result:
        assert _within(sym.selection_range, sym.range)  # type: ignore[union-attr]


def _within(inner: lsp.Range, outer: lsp.Range) -> bool:
    def key(p: lsp.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(outer.start) <= key(inner.start) and key(inner.end) <= key(outer.end)


async def test_folding_ranges(client: LanguageClient, program: str) -> None:
    result = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=_doc(program)))
    assert result is not None
    spans = {(r.start_line, r.end_line) for r in result}
    assert (0, 2) in spans  # agent properties under the header
    assert (4, 6) in spans  # block body
    assert (11, 15) in spans  # parallel body
    assert (12, 14) in spans  # session properties


async def test_semantic_tokens(client: LanguageClient, program: str) -> None:
    legend = await _legend(client)
    result = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=_doc(program)))
    assert result is not None
    tokens = _decode(result.data, legend)
    lines = PROGRAM.split("\n")

    def kind_of(line: int, word: str) -> str:
        col = lines[line].index(word)
        return next(t for (ln, c, _n, t, _m) in tokens if ln == line and c == col)

    assert kind_of(0, "agent") == "keyword"
    assert kind_of(0, "critic") == "class"
    assert kind_of(1, "model") == "property"
    assert kind_of(1, "opus") == "enumMember"
    assert kind_of(4, "polish") == "function"
    assert kind_of(4, "draft") == "parameter"
    assert kind_of(9, "topic") == "variable"
    assert kind_of(12, "critic") == "class"
    assert kind_of(17, '"Final"') == "string"
    mods = next(m for (ln, c, _n, _t, m) in tokens if ln == 9 and c == lines[9].index("topic"))
    assert {"declaration", "readonly"} <= set(mods)
    # deltas are never negative and tokens never overlap
    assert all(n > 0 for (_l, _c, n, _t, _m) in tokens)


async def _legend(client: LanguageClient) -> lsp.SemanticTokensLegend:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    provider = caps.semantic_tokens_provider
    return provider.legend


def _decode(data: list[int], legend: lsp.SemanticTokensLegend) -> list[tuple[int, int, int, str, list[str]]]:
    out = []
    line = col = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        names = [m for bit, m in enumerate(legend.token_modifiers) if mods & (1 << bit)]
        out.append((line, col, length, legend.token_types[kind], names))
    return out


async def test_formatting(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    messy = 'agent  a :\n    model:   opus\nsession   "x"\n'
    await open_doc(client, uri, messy)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=_doc(uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert edits and len(edits) == 1
    from openprose.fmt import format_source

    assert _apply(messy, list(edits)) == format_source(messy)


async def test_formatting_refuses_broken_program(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    await open_doc(client, uri, 'session "never closed\n')
    before = len(client.messages)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=_doc(uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert not edits
    from .conftest import until

    await until(lambda: len(client.messages) > before, what="a message")
    assert "cannot format" in client.messages[-1].message and "line 1" in client.messages[-1].message


FIXABLE = """agent writer:
  model: opuss
  prompt: "x"

parallel (frist, on-fail: contine):
  a = session: writr
  b = session: ghost
"""


async def _fix(client: LanguageClient, uri: str, text: str, version: int, code: str, title: str | None = None) -> str:
    diags = await diagnostics_for(client, uri, version)
    target = next(d for d in diags if d.code == code)
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=_doc(uri), range=target.range, context=lsp.CodeActionContext(diagnostics=[target])
        )
    )
    assert actions
    chosen = [a for a in actions if isinstance(a, lsp.CodeAction) and (title is None or a.title == title)]
    assert chosen, [a.title for a in actions]
    action = chosen[0]
    assert action.kind == lsp.CodeActionKind.QuickFix
    assert action.diagnostics and action.diagnostics[0].code == code
    if title is None:
        assert action.is_preferred
    assert action.edit is not None and action.edit.changes is not None
    return _apply(text, list(action.edit.changes[uri]))


async def test_quick_fixes(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = FIXABLE
    await open_doc(client, uri, text)
    version = 1
    steps = [
        ("P001", None, "parallel (first, on-fail: contine):"),
        ("P002", None, "on-fail: continue)"),
        ("E008", None, "model: opus\n"),
        ("E007", None, "session: writer"),
        ("E007", "Define agent 'ghost'", "agent ghost:\n  model: sonnet"),
    ]
    for code, title, expected in steps:
        fixed = await _fix(client, uri, text, version, code, title)
        assert expected in fixed, (code, fixed)
        version += 1
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=fixed)],
            )
        )
        text = fixed
    final = await diagnostics_for(client, uri, version)
    assert [d.code for d in final if d.severity == lsp.DiagnosticSeverity.Error] == []


async def test_code_lenses(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    await open_doc(client, uri, 'session "x"\n')
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=_doc(uri)))
    assert lenses is not None
    commands = [(lens.range.start.line, lens.command.title, lens.command.command, list(lens.command.arguments or [])) for lens in lenses]  # type: ignore[union-attr]
    assert commands == [
        (0, "▶ Run", "openprose.run", [uri]),
        (0, "Run (simulated)", "openprose.run", [uri, {"backend": "simulated"}]),
        (0, "≈ 1 model call", "openprose.estimate", [uri]),
    ]


async def test_estimate_code_lens_counts_loops_at_max_and_marks_unknowns(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = ('loop until **done** (max: 3):\n  session "step"\nlet xs = session "list"\n'
            'parallel for x in xs:\n  session "each"\n')
    await open_doc(client, uri, text)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=_doc(uri)))
    assert lenses is not None
    [lens] = [lens for lens in lenses if lens.command and lens.command.command == "openprose.estimate"]
    assert lens.command.title == "≈ at least 2 model calls (some counts unknown)"
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="openprose.estimate", arguments=[uri]))
    assert result["calls"] == {"min": 2, "max": None}
    assert result["sessions"] == {"min": 1, "max": None} and result["conditions"] == {"min": 1, "max": 3}
    assert result["unknown"] == [{"line": 4, "what": "parallel for over 'xs': number of items unknown"}]
    # A program with errors gets no estimate lens (the run lenses stay).
    edit(client, uri, 2, (0, 0), (0, 0), "parallel (frist):\n  session \"a\"\n")
    await diagnostics_for(client, uri, 2)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=_doc(uri)))
    assert [lens.command.command for lens in lenses or [] if lens.command] == ["openprose.run", "openprose.run"]


async def test_edit_then_navigation_uses_new_text(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = 'let x = session "a"\nsession "{x}"\n'
    await open_doc(client, uri, text)
    edit(client, uri, 2, (0, 0), (0, 0), "\n\n")
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=_doc(uri), position=lsp.Position(3, 10))
    )
    assert result and result[0].range.start == lsp.Position(2, 4)
