"""Tests of the Tree-sitter queries in tree-sitter-openprose/queries/.

They compile every query with py-tree-sitter and check what the queries say
about small programs: highlight captures, scopes and name resolution from
locals.scm, folds, indentation captures and injections.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import tree_sitter as ts
import tree_sitter_openprose as tsp

REPO = Path(__file__).resolve().parents[1]
QUERY_DIR = REPO / "tree-sitter-openprose" / "queries"
NEOVIM_QUERY_DIR = REPO / "neovim" / "queries" / "openprose"
CORPUS_CANDIDATES = [REPO.parent / "shared" / "corpus", Path("/work/shared/corpus")]

LANG = ts.Language(tsp.language())


def query(name: str) -> ts.Query:
    return ts.Query(LANG, tsp.query_text(name))


def parse(source: str) -> ts.Tree:
    tree = ts.Parser(LANG).parse(source.encode("utf-8"))
    assert not tree.root_node.has_error, f"test program does not parse:\n{source}"
    return tree


def text(node: ts.Node) -> str:
    return node.text.decode("utf-8")


def captures(name: str, source: str) -> list[tuple[str, ts.Node]]:
    """(capture name, node) for every capture, in document order."""
    tree = parse(source)
    found = ts.QueryCursor(query(name)).captures(tree.root_node)
    out = [(cap, node) for cap, nodes in found.items() for node in nodes]
    out.sort(key=lambda item: (item[1].start_byte, -item[1].end_byte))
    return out


def capture_names_for(name: str, source: str, snippet: str, occurrence: int = 0) -> set[str]:
    """Capture names on the ``occurrence``-th node (in document order) whose
    text is exactly ``snippet``."""
    by_range: dict[tuple[int, int], set[str]] = defaultdict(set)
    for cap, node in captures(name, source):
        by_range[(node.start_byte, node.end_byte)].add(cap)
    ranges = set()
    stack = [parse(source).root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.end_byte > node.start_byte and text(node) == snippet:
            ranges.add((node.start_byte, node.end_byte))
    ordered = sorted(ranges)
    assert len(ordered) > occurrence, f"{snippet!r} is the text of {len(ordered)} nodes"
    return by_range.get(ordered[occurrence], set())


# ------------------------------------------------------------- compilation


@pytest.mark.parametrize("name", tsp.QUERY_NAMES)
def test_query_compiles(name):
    q = query(name)
    assert q.pattern_count > 0
    assert q.capture_count > 0


@pytest.mark.parametrize("name", tsp.QUERY_NAMES)
def test_neovim_plugin_links_the_same_queries(name):
    linked = NEOVIM_QUERY_DIR / f"{name}.scm"
    assert linked.is_symlink(), f"{linked} should link to the grammar's query"
    assert linked.resolve() == (QUERY_DIR / f"{name}.scm").resolve()
    assert linked.read_text(encoding="utf-8") == tsp.query_text(name)


# Neovim 0.7 raises "No handler for …" for predicates it does not know, at
# match time, so the queries may only use the ones it has.
NEOVIM_07_PREDICATES = {"eq?", "not-eq?", "match?", "not-match?", "lua-match?", "vim-match?",
                        "contains?", "any-of?", "set!", "offset!"}


@pytest.mark.parametrize("name", tsp.QUERY_NAMES)
def test_queries_use_only_predicates_neovim_07_knows(name):
    import re

    source = tsp.query_text(name)
    code = "\n".join(line.split(";", 1)[0] for line in source.splitlines())
    used = set(re.findall(r"\(#([\w.-]+[?!])", code))
    assert used <= NEOVIM_07_PREDICATES, used - NEOVIM_07_PREDICATES


# -------------------------------------------------------------- highlights

PROGRAM = '''\
# A review workflow
use "acme/research" as research
import "web-search" from "github:acme/skills"
input topic: "What to review"

agent reviewer:
  model: opus
  prompt: "Review {topic} carefully.\\n"

block summarise(doc, depth):
  session "Summarise {doc.title}"

parallel (first, on-fail: "continue", count: 2):
  a = session: reviewer
    prompt: """
Look at {topic}.
"""
  b = session "Second opinion"

let items = ["x", "y"] | map:
  session "Expand {item}"

let total = items | reduce(acc, item):
  session "Fold"
    context: [acc, item]

for item, i in items:
  session "Loop body"
    context: item

loop until **the review is done** (max: 3) as round:
  resume: reviewer

if **all good** and not false:
  do summarise(a, depth: 3)
elif total == null:
  throw "bad"
else:
  repeat 2 as n:
    session "retry"

try:
  session "risky"
catch as err:
  choice **best next step**:
    option "Ask again":
      session "again"
finally:
  session "a" -> session "b"

output result = session "done"
'''


def hl(snippet: str, occurrence: int = 0) -> set[str]:
    return capture_names_for("highlights", PROGRAM, snippet, occurrence)


def test_keywords():
    assert "keyword" in hl("parallel")
    assert "keyword" in hl("session", 0)
    assert "keyword" in hl("let")
    assert "keyword.import" in hl("use")
    assert "keyword.import" in hl("import")
    assert "keyword.import" in hl("from")
    assert "keyword.function" in hl("block")
    assert "keyword.type" in hl("agent")
    assert "keyword.repeat" in hl("for")
    assert "keyword.repeat" in hl("loop")
    assert "keyword.repeat" in hl("until")
    assert "keyword.repeat" in hl("repeat")
    assert "keyword.conditional" in hl("if")
    assert "keyword.conditional" in hl("elif")
    assert "keyword.conditional" in hl("else")
    assert "keyword.conditional" in hl("choice")
    assert "keyword.conditional" in hl("option")
    assert "keyword.exception" in hl("try")
    assert "keyword.exception" in hl("catch")
    assert "keyword.exception" in hl("finally")
    assert "keyword.exception" in hl("throw")
    assert "keyword.operator" in hl("and")
    assert "keyword.operator" in hl("not")


def test_parallel_modifiers():
    # `first` in `parallel (first, …)` is a modifier keyword, not a variable
    first = hl("first")
    assert "keyword.modifier" in first
    assert "attribute" in hl("on-fail")
    assert "attribute" in hl("max")
    assert "number" in hl("2", 0)


def test_strings_interpolation_and_escapes():
    assert "string" in hl('"Second opinion"')
    assert "punctuation.special" in hl("{topic}")
    assert "variable" in hl("topic", 1)  # inside "Review {topic} carefully"
    assert "punctuation.special" in hl("{doc.title}")
    assert "variable.member" in hl("title")
    assert "string.escape" in hl("\\n")
    assert "string" in hl('"""\nLook at {topic}.\n"""')
    assert "label" in hl("Ask again")
    assert "string.special.path" in hl("acme/research")
    assert "string.special.url" in hl("github:acme/skills")


def test_conditions():
    assert "string.special" in hl("**the review is done**")
    assert "punctuation.special" in hl("**", 0)
    assert "string.special" in hl("**all good**")


def test_names():
    assert "type.definition" in hl("reviewer", 0)
    assert "type" in hl("reviewer", 1)  # session: reviewer
    assert "type" in hl("reviewer", 2)  # resume: reviewer
    assert "function" in hl("summarise", 0)
    assert "function.call" in hl("summarise", 1)
    assert "variable.parameter" in hl("doc", 0)
    assert "variable.parameter" in hl("depth", 1)  # keyword argument
    assert "variable.parameter" in hl("acc", 0)
    assert "function.builtin" in hl("map")
    assert "function.builtin" in hl("reduce")
    assert "property" in hl("model")
    assert "constant.builtin" in hl("opus")
    assert "module" in hl("research")
    assert "variable" in hl("items", 1)


def test_literals_comments_operators():
    assert "comment" in hl("# A review workflow")
    assert "boolean" in hl("false")
    assert "constant.builtin" in hl("null")
    assert {"operator"} & hl("->")
    assert {"operator"} & hl("|", 0)
    assert {"operator"} & hl("==")


def effective(pattern_captures, engine: str):
    """The capture a highlighter shows for one node captured by several
    patterns. Neovim: highest priority, then the last pattern. Tree-sitter
    highlight (Helix, the CLI): the first pattern."""
    if engine == "neovim":
        return max(pattern_captures, key=lambda pc: (pc[2], pc[0]))[1]
    return min(pattern_captures, key=lambda pc: pc[0])[1]


def test_neovim_and_helix_resolve_overlaps_alike():
    """Where several patterns capture the same node, Neovim (last wins, by
    priority) and tree-sitter-highlight (first wins) pick the same capture;
    the catch-all `@variable` never wins over a specific capture."""
    q = query("highlights")
    tree = parse(PROGRAM)
    per_node: dict[tuple[int, int, str], list[tuple[int, str, int]]] = defaultdict(list)
    for pattern, caps in ts.QueryCursor(q).matches(tree.root_node):
        priority = int(q.pattern_settings(pattern).get("priority", 100))
        for cap, nodes in caps.items():
            if cap.startswith("_") or cap == "spell":
                continue
            for node in nodes:
                per_node[(node.start_byte, node.end_byte, node.type)].append((pattern, cap, priority))
    overlaps = {k: v for k, v in per_node.items() if len({c for _, c, _ in v}) > 1}
    assert overlaps, "the program should exercise overlapping patterns"
    for key, pcs in overlaps.items():
        nv, hx = effective(pcs, "neovim"), effective(pcs, "helix")
        snippet = PROGRAM.encode()[key[0]:key[1]].decode()
        assert nv == hx, f"{snippet!r}: Neovim shows @{nv}, Helix @{hx} ({pcs})"
        assert nv != "variable", f"{snippet!r}: the catch-all @variable wins over {pcs}"


def corpus_dir() -> Path | None:
    for candidate in CORPUS_CANDIDATES:
        if candidate.is_dir() and any(candidate.glob("*.prose")):
            return candidate
    return None


def test_every_keyword_and_identifier_in_the_corpus_is_highlighted():
    corpus = corpus_dir()
    if corpus is None:
        pytest.fail(f"the example corpus was not found in any of {CORPUS_CANDIDATES}")
    q = query("highlights")
    checked = 0
    for path in sorted(corpus.glob("*.prose")):
        source = path.read_bytes()
        tree = ts.Parser(LANG).parse(source)
        covered = set()
        for cap, nodes in ts.QueryCursor(q).captures(tree.root_node).items():
            if cap.startswith("_") or cap == "spell":
                continue
            covered.update((n.start_byte, n.end_byte) for n in nodes)
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.has_error or node.is_missing:
                continue
            is_keyword = not node.is_named and node.type.isalpha()
            if is_keyword or node.type in ("identifier", "string", "comment", "number", "condition"):
                checked += 1
                assert (node.start_byte, node.end_byte) in covered, (
                    f"{path.name}:{node.start_point.row + 1}: {node.type} {text(node)!r} has no highlight"
                )
    assert checked > 1000


# ------------------------------------------------------------------ locals

LOCALS_PROGRAM = '''\
let item = session "outer"
let items = ["a", "b"]
for item in items:
  session "inner"
    context: item
block polish(draft):
  session "Polish"
    context: draft
do polish(item)
session "after"
  context: item
'''


def locals_index(source: str):
    """Scopes, definitions and references from locals.scm, and a resolver
    that follows the nvim-treesitter rules (innermost enclosing scope with a
    definition of the name; `definition.*.scope = parent` defines in the
    scope around the one containing the name)."""
    q = query("locals")
    tree = parse(source)
    scopes, definitions, references = [], [], []
    for pattern, caps in ts.QueryCursor(q).matches(tree.root_node):
        settings = q.pattern_settings(pattern)
        for cap, nodes in caps.items():
            for node in nodes:
                if cap == "local.scope":
                    scopes.append(node)
                elif cap.startswith("local.definition"):
                    kind = cap.removeprefix("local.definition").lstrip(".")
                    parent = settings.get(f"definition.{kind}.scope") == "parent"
                    definitions.append((node, kind, parent))
                elif cap == "local.reference":
                    references.append(node)

    def enclosing(node):
        found = [s for s in scopes if s.start_byte <= node.start_byte and node.end_byte <= s.end_byte]
        return sorted(found, key=lambda s: s.end_byte - s.start_byte)

    def scope_of_definition(node, parent):
        chain = enclosing(node)
        return chain[1] if parent and len(chain) > 1 else chain[0]

    def resolve(ref):
        for scope in enclosing(ref):
            for node, kind, parent in definitions:
                if text(node) == text(ref) and scope_of_definition(node, parent) == scope:
                    return node, kind
        return None

    return scopes, definitions, references, resolve


def test_locals_scopes_definitions_references():
    scopes, definitions, references, resolve = locals_index(LOCALS_PROGRAM)
    assert {s.type for s in scopes} >= {"source_file", "for_loop", "block_definition"}
    defined = {(text(n), kind) for n, kind, _ in definitions}
    assert ("item", "var") in defined
    assert ("items", "var") in defined
    assert ("polish", "function") in defined
    assert ("draft", "parameter") in defined
    ref_texts = [text(r) for r in references]
    assert ref_texts.count("item") == 3  # context: item (twice) and do polish(item)
    assert "draft" in ref_texts and "polish" in ref_texts and "items" in ref_texts
    # property keys, pipe operators and modifier keys are not references
    assert "context" not in ref_texts


def test_locals_resolve_loop_variable_and_outer_binding():
    _, _, references, resolve = locals_index(LOCALS_PROGRAM)
    item_refs = [r for r in references if text(r) == "item"]
    inner, call_arg, outer = item_refs
    loop_def, _ = resolve(inner)
    assert loop_def.parent.type == "for_loop"
    for ref in (call_arg, outer):
        definition, _ = resolve(ref)
        assert definition.parent.type == "let_statement", ref.start_point
    draft_ref = next(r for r in references if text(r) == "draft")
    definition, kind = resolve(draft_ref)
    assert kind == "parameter" and definition.parent.type == "parameter_list"
    polish_ref = next(r for r in references if text(r) == "polish")
    definition, kind = resolve(polish_ref)  # defined in the block's parent scope
    assert kind == "function" and definition.parent.type == "block_definition"


# ------------------------------------------------------------------- folds


def fold_ranges(source: str) -> list[tuple[int, int, str]]:
    return [(n.start_point.row, n.end_point.row, n.type) for cap, n in captures("folds", source)
            if cap == "fold" and n.end_point.row > n.start_point.row]


def test_folds_cover_blocks_property_blocks_and_triple_strings():
    folds = fold_ranges(PROGRAM)
    rows = {(start, end) for start, end, _ in folds}
    lines = PROGRAM.splitlines()
    parallel = lines.index('parallel (first, on-fail: "continue", count: 2):')
    second = lines.index('  b = session "Second opinion"')
    assert (parallel, second) in rows, "the parallel block's body folds from its header"
    agent = lines.index("agent reviewer:")
    assert (agent, agent + 2) in rows, "the agent's properties fold"
    triple = lines.index('    prompt: """')
    assert any(start == triple and end == triple + 2 and kind == "string" for start, end, kind in folds)
    choice = lines.index("  choice **best next step**:")
    assert (choice, choice + 2) in rows


# ----------------------------------------------------------------- indents


def test_indent_captures():
    caps = captures("indents", PROGRAM)
    begins = {n.type for cap, n in caps if cap == "indent.begin"}
    assert {"parallel_block", "for_loop", "if_statement", "agent_definition", "pipe_stage",
            "try_statement", "choice_block", "option_clause", "loop", "session"} <= begins
    branches = {n.type for cap, n in caps if cap == "indent.branch"}
    assert {"elif_clause", "else_clause", "catch_clause", "finally_clause"} <= branches
    q = query("indents")
    immediate = [i for i in range(q.pattern_count) if q.pattern_settings(i).get("indent.immediate")]
    assert immediate, "headers ending in ':' indent the next line before a body exists"
    auto = {n.type for cap, n in caps if cap == "indent.auto"}
    assert "string" in auto


def test_indent_immediate_after_a_header_without_body():
    source = "parallel (first):\n"
    tree = ts.Parser(LANG).parse(source.encode())
    q = query("indents")
    hits = []
    for pattern, caps in ts.QueryCursor(q).matches(tree.root_node):
        for node in caps.get("indent.begin", []):
            if node.type == "parallel_block":
                hits.append(q.pattern_settings(pattern).get("indent.immediate"))
    assert hits == ["1"]


# -------------------------------------------------------------- injections


def test_markdown_injected_into_triple_quoted_strings_only():
    q = query("injections")
    tree = parse(PROGRAM)
    injected = []
    for pattern, caps in ts.QueryCursor(q).matches(tree.root_node):
        settings = q.pattern_settings(pattern)
        for node in caps.get("injection.content", []):
            injected.append((settings.get("injection.language"), settings.get("language"), node))
    markdown = [node for lang, _, node in injected if lang == "markdown"]
    assert markdown, injected
    assert all(node.type == "string_content" and node.parent.children[0].type == '"""' for node in markdown)
    assert {text(n) for n in markdown} == {"\nLook at ", ".\n"}
    assert all(old == lang for lang, old, _ in injected), "Neovim 0.7 reads `language`"
    comments = [node for lang, _, node in injected if lang == "comment"]
    assert [text(n) for n in comments] == ["# A review workflow"]
