"""Hover and completion over real stdio."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from openprose.checker import MODELS, POLICIES, STRATEGIES

from .conftest import new_uri, open_doc, position_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROGRAM = """agent researcher:
  model: haiku
  prompt: "You research things carefully."
  persist: project

block review(topic, depth):
  session "Review {topic} at {depth}"

let notes = session: researcher
  prompt: "Collect notes"
  retry: 2
  backoff: exponential

parallel (first, on-fail: continue):
  a = session "Fast {notes}"
  b = session "Slow"

parallel ("any", count: 2, on-fail: "fail-fast"):
  c = session "One"
  d = session "Two"
  e = session "Three"

parallel (regardless, on-fail: ignore):
  f = session "Maybe"

parallel (all):
  g = session "All"

output result = session "Summarise"
  context: [a, b, notes]
"""


async def _hover(client: LanguageClient, uri: str, position: lsp.Position) -> str | None:
    result = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=position)
    )
    if result is None:
        return None
    assert isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


@pytest.fixture(scope="module")
def program_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return (tmp_path_factory.mktemp("hover") / "program.prose").as_uri()


async def test_hover_every_strategy(client: LanguageClient, program_uri: str) -> None:
    await open_doc(client, program_uri, PROGRAM)
    expected = {
        "all": ["every branch", "list of branch values"],
        "first": ["first branch to settle", "success *or* failure", "cancelled", "fails under `fail-fast`"],
        "any": ["first success", "count: N", "cancelled", "too few branches", "list"],
        "regardless": ["every branch", "failures never fail the block"],
    }
    assert set(expected) == set(STRATEGIES)
    locations = {"all": "(all)", "first": "(first", "any": '"any"', "regardless": "(regardless"}
    for name, needle in locations.items():
        text = await _hover(client, program_uri, position_of(PROGRAM, needle, delta=2))
        assert text is not None, name
        for phrase in expected[name]:
            assert phrase in text, (name, phrase)


async def test_hover_every_policy_and_count(client: LanguageClient, program_uri: str) -> None:
    await open_doc(client, program_uri, PROGRAM)
    expected = {
        "fail-fast": ["first failure cancels", "fails the block"],
        "continue": ["runs to its end", "block succeeds", "error record"],
        "ignore": ["dropped", "produced nothing"],
    }
    assert set(expected) == set(POLICIES)
    needles = {"fail-fast": '"fail-fast"', "continue": "continue)", "ignore": "ignore)"}
    for name, needle in needles.items():
        text = await _hover(client, program_uri, position_of(PROGRAM, needle, delta=2))
        assert text is not None, name
        for phrase in expected[name]:
            assert phrase in text, (name, phrase)
    count = await _hover(client, program_uri, position_of(PROGRAM, "count:", delta=1))
    assert count is not None and "first N" in count
    on_fail = await _hover(client, program_uri, position_of(PROGRAM, "on-fail", delta=1))
    assert on_fail is not None and "fail-fast" in on_fail and "ignore" in on_fail


async def test_hover_keywords_properties_models(client: LanguageClient, program_uri: str) -> None:
    await open_doc(client, program_uri, PROGRAM)
    cases = {
        ("parallel", 0): "same time",
        ("agent", 0): "persona",
        ("prompt:", 0): "system prompt",
        ("retry", 0): "more times",
        ("backoff", 0): "between retries",
        ("exponential", 0): "twice as long",
        ("persist", 0): "memory",
        ("project", 0): "across runs",
        ("output", 0): "results",
        ("context", 0): "bindings a session gets to see",
        ("haiku", 0): "fastest",
    }
    for (needle, occurrence), phrase in cases.items():
        text = await _hover(client, program_uri, position_of(PROGRAM, needle, delta=1, occurrence=occurrence))
        assert text is not None and phrase in text, (needle, text)
    model = await _hover(client, program_uri, position_of(PROGRAM, "haiku", delta=1))
    assert model is not None and "claude-haiku" in model


async def test_hover_references_show_definitions(client: LanguageClient, program_uri: str) -> None:
    await open_doc(client, program_uri, PROGRAM)
    agent = await _hover(client, program_uri, position_of(PROGRAM, "session: researcher", delta=10))
    assert agent is not None
    assert "**agent** `researcher`" in agent and "line 1" in agent and "haiku" in agent and "research things" in agent
    param = await _hover(client, program_uri, position_of(PROGRAM, "{topic}", delta=2))
    assert param is not None and "parameter" in param and "review" in param
    block = await _hover(client, program_uri, position_of(PROGRAM, "review(", delta=1))
    assert block is not None and "review(topic, depth)" in block
    variable = await _hover(client, program_uri, position_of(PROGRAM, "[a, b, notes]", delta=8))
    assert variable is not None and "`notes`" in variable and "line 9" in variable


async def test_hover_nothing_in_plain_prose(client: LanguageClient, program_uri: str) -> None:
    await open_doc(client, program_uri, PROGRAM)
    assert await _hover(client, program_uri, position_of(PROGRAM, "carefully", delta=3)) is None


async def _complete(client: LanguageClient, uri: str, text: str, position: lsp.Position) -> list[lsp.CompletionItem]:
    await open_doc(client, uri, text)
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert isinstance(result, lsp.CompletionList)
    items = []
    for item in result.items:
        if item.documentation is None:
            # This client (VS Code's capabilities) resolves documentation lazily: only names
            # come without it, and completionItem/resolve must supply it.
            assert item.data is not None, item.label
            item = await client.completion_item_resolve_async(item)
        assert item.documentation is not None, item.label
        items.append(item)
    return items


def _inserted(item: lsp.CompletionItem) -> str:
    assert isinstance(item.text_edit, lsp.TextEdit)
    return item.text_edit.new_text


async def test_complete_inside_parallel_bare(client: LanguageClient, tmp_path: Path) -> None:
    text = 'parallel (\n  a = session "x"\n'
    items = await _complete(client, new_uri(tmp_path), text, lsp.Position(0, 10))
    labels = {item.label for item in items}
    assert set(STRATEGIES) <= labels and {"on-fail:", "count:"} <= labels
    first = next(i for i in items if i.label == "first")
    assert _inserted(first) == "first"
    assert "first branch to settle" in first.documentation.value  # type: ignore[union-attr]


async def test_complete_after_typed_quote(client: LanguageClient, tmp_path: Path) -> None:
    text = 'parallel ("fi\n  a = session "x"\n'
    items = await _complete(client, new_uri(tmp_path), text, lsp.Position(0, 13))
    first = next(i for i in items if i.label == "first")
    assert _inserted(first) == 'first"'
    assert first.text_edit.range == lsp.Range(start=lsp.Position(0, 11), end=lsp.Position(0, 13))  # type: ignore[union-attr]
    assert "on-fail:" not in {i.label for i in items}


async def test_complete_quoted_when_other_modifiers_are(client: LanguageClient, tmp_path: Path) -> None:
    text = 'parallel (on-fail: "continue", \n  a = session "x"\n'
    items = await _complete(client, new_uri(tmp_path), text, lsp.Position(0, 31))
    any_item = next(i for i in items if i.label == "any")
    assert _inserted(any_item) == '"any"'
    assert "on-fail:" not in {i.label for i in items}  # already given
    assert "count:" in {i.label for i in items}


async def test_complete_policies_both_spellings(client: LanguageClient, tmp_path: Path) -> None:
    bare = await _complete(client, new_uri(tmp_path), "parallel (on-fail: \n", lsp.Position(0, 19))
    assert [i.label for i in bare] == list(POLICIES)
    assert [_inserted(i) for i in bare] == list(POLICIES)
    assert "first failure cancels" in bare[0].documentation.value  # type: ignore[union-attr]
    quoted = await _complete(client, new_uri(tmp_path), 'parallel (first, on-fail: "co\n', lsp.Position(0, 29))
    assert [_inserted(i) for i in quoted] == [f'{p}"' for p in POLICIES]
    closed = await _complete(client, new_uri(tmp_path), 'parallel (on-fail: "co"):\n', lsp.Position(0, 22))
    assert [_inserted(i) for i in closed] == list(POLICIES)


async def test_complete_models_agents_context(client: LanguageClient, tmp_path: Path) -> None:
    base = 'agent scout:\n  model: \n  prompt: "x"\n\nlet found = session "a"\nsession: \n'
    models = await _complete(client, new_uri(tmp_path), base, lsp.Position(1, 9))
    assert [i.label for i in models] == list(MODELS)
    agents = await _complete(client, new_uri(tmp_path), base, lsp.Position(5, 9))
    assert [i.label for i in agents] == ["scout"]
    text = 'let found = session "a"\nconst limit = 3\nsession "Use {fo"\n  context: [\n'
    ctx = await _complete(client, new_uri(tmp_path), text, lsp.Position(3, 12))
    assert {"found", "limit"} <= {i.label for i in ctx}
    interp = await _complete(client, new_uri(tmp_path), text, lsp.Position(2, 16))
    assert {"found", "limit"} <= {i.label for i in interp}
    assert "line 1" in next(i for i in interp if i.label == "found").documentation.value  # type: ignore[union-attr]


async def test_complete_properties_and_values(client: LanguageClient, tmp_path: Path) -> None:
    text = 'agent a:\n  mo\n\nsession "x"\n  re\n  backoff: \n  persist: \n'
    agent_props = await _complete(client, new_uri(tmp_path), text, lsp.Position(1, 4))
    assert {"model", "prompt", "persist", "permissions"} <= {i.label for i in agent_props}
    session_props = await _complete(client, new_uri(tmp_path), text, lsp.Position(4, 4))
    labels = {i.label for i in session_props}
    assert {"retry", "context", "model"} <= labels and "persist" not in labels
    backoff = await _complete(client, new_uri(tmp_path), text, lsp.Position(5, 11))
    assert [i.label for i in backoff] == ["none", "linear", "exponential"]
    persist = await _complete(client, new_uri(tmp_path), text, lsp.Position(6, 11))
    assert [i.label for i in persist] == ["true", "project", "user"]


async def test_complete_statements_at_line_start(client: LanguageClient, tmp_path: Path) -> None:
    items = await _complete(client, new_uri(tmp_path), 'session "a"\npar\n', lsp.Position(1, 3))
    parallel = next(i for i in items if i.label == "parallel")
    assert parallel.insert_text_format == lsp.InsertTextFormat.Snippet
    assert _inserted(parallel).startswith("parallel:")
    assert {"agent", "let", "if", "try", "loop"} <= {i.label for i in items}


async def test_hover_links_the_guide_section(client: LanguageClient, program_uri: str) -> None:
    import re
    from urllib.parse import unquote, urlparse

    await open_doc(client, program_uri, PROGRAM)
    guide = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in guide.read_text(encoding="utf-8").splitlines() if line.startswith("## ")
    }
    cases = {
        ("parallel", 0): "§3 Parallel blocks",
        ("first", 0): "§3 Parallel blocks",
        ("agent", 0): "§2 Agents and models",
        ("haiku", 0): "§2 Agents and models",
        ("retry", 0): "§5 Error handling",
        ("exponential", 0): "§5 Error handling",
        ("block", 0): "§6 Blocks and imports",
        ("context", 0): "§1 A first program",
        ("output", 0): "§1 A first program",
    }
    for (needle, occurrence), section in cases.items():
        text = await _hover(client, program_uri, position_of(PROGRAM, needle, delta=1, occurrence=occurrence))
        assert text is not None, needle
        m = re.search(r"More: \[guide (§\d+ [^\]]+)\]\(([^)]+)\)", text)
        assert m and m.group(1) == section, (needle, text)
        url = urlparse(m.group(2))
        assert url.fragment in headings, (needle, url.fragment)
        assert url.scheme == "file" and Path(unquote(url.path)) == guide


PERMISSIONS_PROGRAM = """agent fixer:
  model: sonnet
  prompt: "You fix tests."
  permissions:
    read: ["src/**"]
    bash: prompt
    network: deny

session: fixer
  prompt: "Fix the failing test"
"""


async def test_hover_on_permissions_shows_defaults_and_types(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "permissions.prose")
    await open_doc(client, uri, PERMISSIONS_PROGRAM)
    block = await _hover(client, uri, position_of(PERMISSIONS_PROGRAM, "permissions:", delta=3))
    assert block is not None
    assert "Without a `permissions:` block" in block
    defaults = {  # the contract's defaults, as the runtime's DEFAULT_PERMISSIONS holds them
        "| `read` | read, glob, grep | `allow` inside the workspace |",
        "| `write` | write, edit | `prompt` inside the workspace |",
        "| `execute` | the programs a bash command starts | any program `bash` may run |",
        "| `bash` | bash | `prompt` |",
        "| `network` | web search, web fetch | `allow` |",
    }
    for row in defaults:
        assert row in block, row
    assert "keeps its default" in block and ".prose/" in block
    read = await _hover(client, uri, position_of(PERMISSIONS_PROGRAM, "read:", delta=1))
    assert read is not None and "glob patterns" in read and "Default: `allow`" in read
    bash = await _hover(client, uri, position_of(PERMISSIONS_PROGRAM, "bash:", delta=1))
    assert bash is not None and "Default: `prompt`" in bash and "no shell tool is offered" in bash
    prompt = await _hover(client, uri, position_of(PERMISSIONS_PROGRAM, "prompt\n", delta=1))
    assert prompt is not None and "Allow / Deny" in prompt and "--yes" in prompt
    deny = await _hover(client, uri, position_of(PERMISSIONS_PROGRAM, "deny\n", delta=1))
    assert deny is not None and "never sees" in deny
