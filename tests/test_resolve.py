"""Direct tests of `openprose.resolve`: scopes, definitions, references and the
position queries the language server answers definition, references,
highlights and rename from (`Resolution.symbol_at`, `Symbol.references`,
`Symbol.other_definitions`, `Scope.lookup` / `visible`).

Everything goes through `openprose.analysis.analyze`, the entry point the CLI
and the server use, so the tests hold however the resolver walks the model.
Diagnostics that come from resolution (E101 use-before-bind, W103 shadowing,
E019 duplicates, ...) are checked on the analysis.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openprose.analysis import Analysis, analyze
from openprose.diagnostics import Diagnostic, Severity
from openprose.resolve import Reference, Role, Symbol, SymbolKind, iter_scopes, program_alias

A = 'agent a:\n  model: sonnet\n  prompt: "p"\n'


def run(text: str, path: Path | None = None) -> Analysis:
    return analyze(text.encode(), path)


def offset(text: str, needle: str, nth: int = 0) -> int:
    """Byte offset of the nth occurrence of ``needle`` (the programs here are ASCII)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return at


def symbol(a: Analysis, text: str, needle: str, nth: int = 0) -> Symbol:
    found = a.resolution.symbol_at(offset(text, needle, nth))
    assert found is not None, f"no symbol at {needle!r} #{nth}"
    return found[0]


def refs(sym: Symbol) -> list[tuple[int, int]]:
    """1-based (line, column) of each reference."""
    return sorted((r.span.start_row + 1, r.span.start_col + 1) for r in sym.references)


def where(sym: Symbol) -> tuple[int, int]:
    return sym.span.start_row + 1, sym.span.start_col + 1


def diags(a: Analysis, code: str) -> list[Diagnostic]:
    return [d for d in a.diagnostics if d.code == code]


def line_col(d: Diagnostic) -> tuple[int, int]:
    return d.span.start_row + 1, d.span.start_col + 1


def refs_named(a: Analysis, name: str) -> list[Reference]:
    return [r for r in a.resolution.references if r.name == name]


# ------------------------------------------------------------ program level


def test_program_level_bindings_and_their_kinds() -> None:
    text = 'input topic: "t"\nlet x = session "a"\nconst c = 1\noutput result = session "{x} {c} {topic}"\n'
    a = run(text)
    res = a.resolution
    root = res.root
    assert root.kind == "program" and set(root.variables) == {"topic", "x", "c", "result"}
    kinds = {name: sym.kind for name, sym in root.variables.items()}
    assert kinds == {
        "topic": SymbolKind.INPUT,
        "x": SymbolKind.VARIABLE,
        "c": SymbolKind.CONST,
        "result": SymbolKind.OUTPUT,
    }
    x = root.variables["x"]
    assert where(x) == (2, 5) and x.scope is root
    assert refs(x) == [(4, 27)]
    assert all(r.in_string and r.role is Role.VARIABLE for r in x.references)
    assert refs(root.variables["topic"]) == [(4, 35)]
    assert not a.has_errors, a.diagnostics


def test_reference_and_definition_spans_cover_the_name() -> None:
    text = 'let draft = session "a"\nsession "b"\n  context: draft\n'
    a = run(text)
    sym = a.resolution.root.variables["draft"]
    assert text[sym.span.start_byte : sym.span.end_byte] == "draft"
    (ref,) = sym.references
    assert text[ref.span.start_byte : ref.span.end_byte] == "draft"
    assert ref.in_context and not ref.in_string and not ref.write and ref.symbol is sym


def test_assignment_to_an_existing_name_is_a_write_reference() -> None:
    text = 'let n = 0\nn = 1\nsession "{n}"\n'
    a = run(text)
    n = a.resolution.root.variables["n"]
    writes = [r for r in n.references if r.write]
    reads = [r for r in n.references if not r.write]
    assert [(r.span.start_row + 1, r.span.start_col + 1) for r in writes] == [(2, 1)]
    assert len(reads) == 1 and reads[0].in_string
    assert not a.has_errors


def test_first_assignment_binds_a_fresh_name() -> None:
    text = 'parallel:\n  a = session "A"\n  b = session "B"\nsession "s"\n  context: [a, b]\n'
    a = run(text)
    root = a.resolution.root
    assert root.variables["a"].kind is SymbolKind.VARIABLE and where(root.variables["a"]) == (2, 3)
    assert refs(root.variables["b"]) == [(5, 16)]
    assert not a.has_errors


def test_const_cannot_be_assigned() -> None:
    a = run('const c = session "a"\nc = session "b"\n')
    (d,) = diags(a, "E103")
    assert line_col(d) == (2, 1)
    ref = a.resolution.reference_at(offset('const c = session "a"\nc = session "b"\n', "c =", 1))
    assert ref is not None and ref.write and ref.symbol is not None and ref.symbol.kind is SymbolKind.CONST


# --------------------------------------------------------------- blocks


def test_block_parameters_are_local_to_the_block() -> None:
    text = 'block review(draft):\n  session "Review {draft}"\ndo review("x")\nsession "{draft}"\n'
    a = run(text)
    res = a.resolution
    (block_scope,) = [s for s in iter_scopes(res.root) if s.kind == "block"]
    param = block_scope.variables["draft"]
    assert param.kind is SymbolKind.PARAMETER and where(param) == (1, 14) and param.scope is block_scope
    assert refs(param) == [(2, 20)]
    assert "draft" not in res.root.variables
    outside = [r for r in refs_named(a, "draft") if r.span.start_row == 3]
    assert len(outside) == 1 and outside[0].symbol is None
    (w,) = diags(a, "W113")
    assert line_col(w) == (4, 11)


def test_let_inside_a_block_is_local_to_it() -> None:
    text = 'block b():\n  let inner = session "x"\n  session "{inner}"\ndo b()\nsession "s"\n  context: inner\n'
    a = run(text)
    res = a.resolution
    (block_scope,) = [s for s in iter_scopes(res.root) if s.kind == "block"]
    inner = block_scope.variables["inner"]
    assert inner.scope is block_scope and refs(inner) == [(3, 13)]
    assert "inner" not in res.root.variables
    (err,) = diags(a, "E101")
    assert line_col(err) == (6, 12) and "not defined" in err.message


def test_assignment_inside_a_block_binds_at_program_level() -> None:
    text = 'block b():\n  r = session "x"\ndo b()\nsession "s"\n  context: r\n'
    a = run(text)
    r = a.resolution.root.variables["r"]
    assert r.scope is a.resolution.root and where(r) == (2, 3)
    assert refs(r) == [(5, 12)]
    assert not diags(a, "E101")


def test_blocks_and_agents_are_hoisted() -> None:
    text = 'do later()\nsession: writer\n  prompt: "x"\nblock later():\n  session "l"\nagent writer:\n  model: sonnet\n'
    a = run(text)
    res = a.resolution
    block = res.blocks["later"]
    agent = res.agents["writer"]
    assert block.kind is SymbolKind.BLOCK and where(block) == (4, 7) and refs(block) == [(1, 4)]
    assert agent.kind is SymbolKind.AGENT and where(agent) == (6, 7) and refs(agent) == [(2, 10)]
    assert [r.role for r in block.references] == [Role.BLOCK]
    assert [r.role for r in agent.references] == [Role.AGENT]
    assert not diags(a, "E102") and not diags(a, "E007")


# ---------------------------------------------------------------- loops


def test_loop_and_index_variables_live_in_the_loop_body() -> None:
    text = 'let xs = ["a"]\nfor x, i in xs:\n  session "{x} {i}"\nsession "{x}"\n'
    a = run(text)
    res = a.resolution
    body_scopes = [s for s in iter_scopes(res.root) if s.kind == "body"]
    (loop_scope,) = [s for s in body_scopes if "x" in s.variables]
    x, i = loop_scope.variables["x"], loop_scope.variables["i"]
    assert x.kind is SymbolKind.LOOP and i.kind is SymbolKind.INDEX
    assert where(x) == (2, 5) and where(i) == (2, 8)
    assert refs(x) == [(3, 13)] and refs(i) == [(3, 17)]
    assert "x" not in res.root.variables
    # After the loop the name is unknown again.
    after = [r for r in refs_named(a, "x") if r.span.start_row == 3]
    assert after[0].symbol is None
    assert [line_col(d) for d in diags(a, "W113")] == [(4, 11)]
    assert refs(res.root.variables["xs"]) == [(2, 13)]


def test_repeat_and_loop_indexes() -> None:
    text = 'repeat 2 as k:\n  session "{k}"\nloop until **done** (max: 2) as n:\n  session "{n}"\n'
    a = run(text)
    k = symbol(a, text, "k:")
    n = symbol(a, text, "n:")
    assert k.kind is SymbolKind.INDEX and refs(k) == [(2, 13)]
    assert n.kind is SymbolKind.INDEX and refs(n) == [(4, 13)]
    assert k.scope.kind == "body" and n.scope.kind == "body" and k.scope is not n.scope


def test_let_inside_a_loop_body_binds_in_the_flat_namespace() -> None:
    text = 'for x in [1]:\n  let seen = session "{x}"\nsession "s"\n  context: seen\n'
    a = run(text)
    seen = a.resolution.root.variables["seen"]
    assert seen.scope is a.resolution.root and refs(seen) == [(4, 12)]


def test_catch_name_is_local_to_the_catch() -> None:
    text = 'try:\n  session "t"\ncatch as err:\n  session "{err}"\nsession "{err}"\n'
    a = run(text)
    err = symbol(a, text, "err")
    assert err.kind is SymbolKind.ERROR and where(err) == (3, 10) and err.scope.kind == "body"
    assert refs(err) == [(4, 13)]
    assert "err" not in a.resolution.root.variables
    assert [line_col(d) for d in diags(a, "W113")] == [(5, 11)]


def test_pipeline_item_is_implicit_and_reduce_names_are_accumulators() -> None:
    text = 'let xs = ["a"]\nlet r = xs | map:\n  session "{item}"\n| reduce(acc, x):\n  session "{acc} {x}"\n'
    a = run(text)
    res = a.resolution
    items = [s for s in res.symbols if s.name == "item"]
    (item,) = items
    assert item.kind is SymbolKind.ITEM and item.implicit
    assert text[item.span.start_byte : item.span.end_byte] == "map"  # it has no written name
    assert refs(item) == [(3, 13)]
    acc = symbol(a, text, "acc")
    x = symbol(a, text, "x)")
    assert acc.kind is SymbolKind.ACCUMULATOR and x.kind is SymbolKind.ACCUMULATOR
    assert refs(acc) == [(5, 13)] and refs(x) == [(5, 19)]
    # An implicit name has no definition to point at: the operator is not a name.
    assert res.symbol_at(offset(text, "map") + 1) is None
    assert not a.has_errors


# ----------------------------------------------------------- shadowing


def test_loop_variable_shadowing_an_outer_variable_warns_and_wins_inside() -> None:
    text = 'let item = session "a"\nfor item in [1]:\n  session "{item}"\nsession "{item}"\n'
    a = run(text)
    (w,) = diags(a, "W103")
    assert line_col(w) == (2, 5) and w.severity is Severity.WARNING
    assert w.related and w.related[0].span == a.resolution.root.variables["item"].span
    outer = a.resolution.root.variables["item"]
    inner = symbol(a, text, "item", 1)
    assert inner is not outer and inner.kind is SymbolKind.LOOP
    assert refs(inner) == [(3, 13)]
    assert refs(outer) == [(4, 11)]


def test_parameter_shadowing_an_outer_variable_warns() -> None:
    text = 'let draft = session "a"\nblock b(draft):\n  session "{draft}"\n'
    a = run(text)
    (w,) = diags(a, "W103")
    assert line_col(w) == (2, 9) and "parameter 'draft'" in w.message
    param = symbol(a, text, "draft", 1)
    assert param.kind is SymbolKind.PARAMETER and refs(param) == [(3, 13)]


def test_pipeline_item_shadows_an_outer_item_inside_the_stage_only() -> None:
    # The spec's own example: inside `map:` `item` is the element, outside the variable.
    text = 'let item = "outer"\nlet items = ["a"]\nlet rs = items | map:\n  session "p"\n    context: item\nsession "u"\n  context: item\n'
    a = run(text)
    outer = a.resolution.root.variables["item"]
    (implicit,) = [s for s in a.resolution.symbols if s.implicit]
    assert refs(implicit) == [(5, 14)]
    assert refs(outer) == [(7, 12)]


def test_same_name_twice_in_one_loop_header_is_e019() -> None:
    a = run('for x, x in [1]:\n  session "a"\n')
    (d,) = diags(a, "E019")
    assert line_col(d) == (1, 8) and "declared twice" in d.message


# ---------------------------------------------------- duplicate bindings


def test_let_twice_at_one_level_is_e019_with_the_first_as_related() -> None:
    text = 'let x = session "a"\nlet x = session "b"\n'
    a = run(text)
    (d,) = diags(a, "E019")
    assert line_col(d) == (2, 5)
    x = a.resolution.root.variables["x"]
    assert d.related[0].span == x.span and where(x) == (1, 5)
    assert [(s.start_row + 1, s.start_col + 1) for s in x.other_definitions] == [(2, 5)]


def test_let_in_exclusive_branches_is_one_binding() -> None:
    text = 'if **a**:\n  let r = session "1"\nelse:\n  let r = session "2"\nsession "{r}"\n'
    a = run(text)
    assert not diags(a, "E019") and not diags(a, "W112")
    r = a.resolution.root.variables["r"]
    assert where(r) == (2, 7) and [(s.start_row + 1, s.start_col + 1) for s in r.other_definitions] == [(4, 7)]
    assert refs(r) == [(5, 11)]
    # Either definition finds the same symbol.
    assert symbol(a, text, "r =", 1) is r


def test_nested_let_of_an_existing_variable_warns_w112() -> None:
    a = run('let n = 0\nrepeat 2:\n  let n = n + 1\n')
    (w,) = diags(a, "W112")
    assert line_col(w) == (3, 7)
    assert not diags(a, "E019")


def test_output_in_several_places_is_one_output() -> None:
    text = 'if **a**:\n  output r = session "1"\nelse:\n  output r = session "2"\n'
    a = run(text)
    r = a.resolution.root.variables["r"]
    assert r.kind is SymbolKind.OUTPUT and len(r.other_definitions) == 1
    assert not a.has_errors


def test_output_of_an_existing_binding_publishes_it() -> None:
    text = 'let r = session "a"\noutput r = r\n'
    a = run(text)
    r = a.resolution.root.variables["r"]
    assert r.kind is SymbolKind.VARIABLE
    assert [(s.start_row + 1, s.start_col + 1) for s in r.other_definitions] == [(2, 8)]
    assert not diags(a, "E019")


def test_duplicate_agents_and_blocks() -> None:
    a = run(A + A + 'block b():\n  session "x"\nblock b():\n  session "y"\n')
    (e006,) = diags(a, "E006")
    (e113,) = diags(a, "E113")
    assert line_col(e006) == (4, 7) and line_col(e113) == (9, 7)
    assert len(a.resolution.agents["a"].other_definitions) == 1
    assert len(a.resolution.blocks["b"].other_definitions) == 1


def test_variable_named_like_an_agent_is_e112() -> None:
    a = run(A + 'let a = session "x"\n')
    (d,) = diags(a, "E112")
    assert line_col(d) == (4, 5)


# ------------------------------------------------------- use before bind


def test_use_before_bind_is_e101_naming_the_binding_line() -> None:
    text = 'session "s"\n  context: later\nlet later = session "x"\n'
    a = run(text)
    (d,) = diags(a, "E101")
    assert line_col(d) == (2, 12) and "before it is bound on line 3" in d.message
    ref = a.resolution.reference_at(offset(text, "later"))
    assert ref is not None and ref.symbol is a.resolution.root.variables["later"]  # still linked


def test_use_before_bind_inside_text_is_a_warning() -> None:
    a = run('session "{later}"\nlet later = session "x"\n')
    assert not diags(a, "E101")
    (w,) = diags(a, "W113")
    assert line_col(w) == (1, 11) and "only later, on line 2" in w.message


def test_use_before_bind_inside_a_block_is_fine() -> None:
    a = run('block b():\n  session "s"\n    context: later\nlet later = session "x"\ndo b()\n')
    assert not diags(a, "E101")


def test_use_before_bind_in_a_loop_that_binds_it_is_fine() -> None:
    a = run('repeat 2:\n  if **again**:\n    session "s"\n      context: prev\n  prev = session "x"\n')
    assert not diags(a, "E101")


# ---------------------------------------------------------- unresolved


def test_unknown_variable_is_e101_with_a_suggestion() -> None:
    text = 'let research = session "a"\nsession "b"\n  context: reserch\n'
    a = run(text)
    (d,) = diags(a, "E101")
    assert line_col(d) == (3, 12) and "'reserch' is not defined" in d.message and "research" in d.message
    assert d.fixes and d.fixes[0].edits[0].new_text == "research"
    ref = a.resolution.reference_at(offset(text, "reserch"))
    assert ref is not None and ref.symbol is None and ref.role is Role.VARIABLE
    assert a.resolution.symbol_at(offset(text, "reserch")) is None


def test_unknown_name_in_text_is_a_warning() -> None:
    a = run('session "Hello {nobody}"\n')
    (w,) = diags(a, "W113")
    assert line_col(w) == (1, 17) and w.severity is Severity.WARNING
    assert not a.has_errors


def test_unknown_agent_block_and_program() -> None:
    a = run('session: ghost\ndo nothing-here\nlet r = research(topic: "x")\n')
    assert [line_col(d) for d in diags(a, "E007")] == [(1, 10)]
    assert [line_col(d) for d in diags(a, "E102")] == [(2, 4)]
    assert [line_col(d) for d in diags(a, "E025")] == [(3, 9)]
    roles = {r.name: (r.role, r.symbol) for r in a.resolution.references}
    assert roles["ghost"] == (Role.AGENT, None)
    assert roles["nothing-here"] == (Role.BLOCK, None)
    assert roles["research"] == (Role.PROGRAM, None)


def test_calling_a_block_like_a_program_hints_at_do() -> None:
    a = run('block b():\n  session "x"\nlet r = b()\n')
    (d,) = diags(a, "E025")
    assert "do b(" in d.message


def test_context_naming_an_agent_passes_its_memory() -> None:
    text = 'agent captain:\n  model: sonnet\n  persist: true\nsession "s"\n  context: captain\n'
    a = run(text)
    captain = a.resolution.agents["captain"]
    assert refs(captain) == [(5, 12)]
    assert not diags(a, "E101")


def test_keyword_property_values_are_not_references() -> None:
    a = run('agent w:\n  model: opus\n  persist: project\n  prompt: "p"\n')
    assert [r.name for r in a.resolution.references] == []
    assert not diags(a, "E101")


# ------------------------------------------------------- use and import


def test_use_aliases(tmp_path: Path) -> None:
    (tmp_path / "lib.prose").write_text('input topic: "t"\noutput summary = session "s {topic}"\n')
    text = ('use "@alice/research"\nuse "@bob/writer" as w\nuse "./lib.prose"\n'
            'let x = research(q: 1)\nlet y = w()\nlet z = lib(topic: "a")\n')
    a = run(text, tmp_path / "main.prose")
    res = a.resolution
    assert set(res.programs) == {"research", "w", "lib"}
    assert all(s.kind is SymbolKind.PROGRAM for s in res.programs.values())
    assert where(res.programs["w"]) == (2, 22)
    assert text[res.programs["research"].span.start_byte : res.programs["research"].span.end_byte] == '"@alice/research"'
    assert refs(res.programs["research"]) == [(4, 9)]
    assert refs(res.programs["w"]) == [(5, 9)]
    assert refs(res.programs["lib"]) == [(6, 9)]
    # A registry `use` also makes a skill of that name; a local program does not.
    assert {"research", "w"} <= set(res.skills) and "lib" not in res.skills
    assert not diags(a, "E025")


def test_duplicate_program_alias_is_e010() -> None:
    a = run('use "@a/x"\nuse "@b/x"\n')
    (d,) = [d for d in diags(a, "E010") if "already imported as" in d.message]
    assert line_col(d) == (2, 5)


def test_imported_skill_is_referenced_from_skills() -> None:
    text = 'import "web" from "npm:web"\nagent a:\n  model: sonnet\n  skills: ["web"]\n'
    a = run(text)
    web = a.resolution.skills["web"]
    assert web.kind is SymbolKind.SKILL and where(web) == (1, 8)
    assert refs(web) == [(4, 12)] and web.references[0].role is Role.SKILL
    assert not diags(a, "W007")


@pytest.mark.parametrize(
    ("path", "alias"),
    [
        ("@alice/research", "research"),
        ("./lib/helper.prose", "helper"),
        ("../other.prose", "other"),
        ("@alice/research/", "research"),
        ("web-search", "web-search"),
        ("@solo", "solo"),
    ],
)
def test_program_alias(path: str, alias: str) -> None:
    assert program_alias(path) == alias


# ------------------------------------------------------ position queries


def test_symbol_at_a_definition_and_a_reference_give_the_same_symbol() -> None:
    text = 'let draft = session "a"\nsession "b"\n  context: draft\n'
    a = run(text)
    res = a.resolution
    at_def = res.symbol_at(offset(text, "draft"))
    at_ref = res.symbol_at(offset(text, "draft", 1))
    assert at_def is not None and at_ref is not None
    assert at_def[0] is at_ref[0]
    assert text[at_def[1].start_byte : at_def[1].end_byte] == "draft"
    # The span returned is the name at the cursor (used by prepareRename).
    assert at_ref[1].start_byte == offset(text, "draft", 1)
    # The end of a name still counts (a cursor just after it).
    end = res.symbol_at(offset(text, "draft", 1) + len("draft"))
    assert end is not None and end[0] is at_def[0]


def test_symbol_at_nothing() -> None:
    text = 'let draft = session "a"\n'
    res = run(text).resolution
    assert res.symbol_at(offset(text, "session") + 2) is None
    assert res.reference_at(offset(text, "draft")) is None  # a definition is not a reference


def test_reference_at() -> None:
    text = 'let draft = session "a"\nsession "{draft}"\n'
    res = run(text).resolution
    ref = res.reference_at(offset(text, "draft", 1) + 2)
    assert ref is not None and ref.name == "draft" and ref.in_string
    assert ref.symbol is res.root.variables["draft"]


def test_occurrences_for_rename_include_every_definition_and_reference() -> None:
    # What the server's rename edits: the symbol's span, other definitions, references.
    text = 'if **a**:\n  let r = session "1"\nelse:\n  let r = session "2"\nsession "{r}"\n  context: r\n'
    a = run(text)
    sym = symbol(a, text, "r}")
    spans = [sym.span, *sym.other_definitions, *(r.span for r in sym.references)]
    assert sorted(s.start_byte for s in spans) == [
        offset(text, "r =", 0), offset(text, "r =", 1), offset(text, "{r}") + 1, offset(text, "context: r") + 9,
    ]
    assert all(text[s.start_byte : s.end_byte] == "r" for s in spans)


def test_scope_at_and_visible_variables() -> None:
    text = ('let top = session "a"\nfor x in [1]:\n  session "{x}"\n'
            'block b(p):\n  let local = session "{p}"\n  session "{local}"\nlet after = 1\n')
    res = run(text).resolution
    loop_body = res.scope_at(offset(text, "{x}"))
    assert loop_body.kind == "body" and "x" in loop_body.variables
    assert loop_body.namespace is res.root
    assert loop_body.lookup("top") is res.root.variables["top"]
    assert loop_body.lookup("nope") is None
    names_in_loop = [s.name for s in res.visible_variables(offset(text, "{x}"))]
    assert names_in_loop == sorted(names_in_loop)
    assert {"x", "top", "after"} <= set(names_in_loop)
    block = res.scope_at(offset(text, "{local}"))
    assert block.kind == "block" and block.namespace is block
    assert {"p", "local", "top"} <= set(block.visible())
    outside = {s.name for s in res.visible_variables(offset(text, "let after"))}
    assert "x" not in outside and "p" not in outside and "local" not in outside
    assert res.scope_at(0) is res.root


def test_every_reference_is_listed_once_on_its_symbol() -> None:
    text = 'let x = session "a"\nsession "{x} {x}"\n  context: x\n'
    a = run(text)
    x = a.resolution.root.variables["x"]
    assert len(x.references) == 3
    linked = [r for r in a.resolution.references if r.symbol is x]
    assert {id(r) for r in linked} == {id(r) for r in x.references}


def test_symbol_at_a_registry_use_path() -> None:
    # The path of a `use` without `as` is where both the program and the skill of that name
    # are defined (they have no written name of their own).
    text = 'use "@alice/research"\n'
    res = run(text).resolution
    found = res.symbol_at(offset(text, "research"))
    assert found is not None
    sym, span = found
    assert sym in (res.programs["research"], res.skills["research"])
    assert text[span.start_byte : span.end_byte] == '"@alice/research"'
    assert res.programs["research"].span == res.skills["research"].span == span


def _rename(text: str, at: int, new_name: str) -> str | None:
    """The source after the server's rename at a byte offset; None when the server refuses."""
    from openprose_lsp import navigation
    from openprose_lsp.positions import Text

    source = text.encode()
    doc = Text(source, "utf-16")
    try:
        edit = navigation.rename(run(text), doc, "file:///main.prose", at, new_name)
    except navigation.RenameError:
        return None
    assert edit.changes is not None
    out = source
    for change in sorted(edit.changes["file:///main.prose"], key=lambda e: doc.offset_at(e.range.start.line, e.range.start.character), reverse=True):
        start = doc.offset_at(change.range.start.line, change.range.start.character)
        end = doc.offset_at(change.range.end.line, change.range.end.character)
        out = out[:start] + change.new_text.encode() + out[end:]
    return out.decode()


def test_rename_of_a_use_alias_renames_the_alias_and_its_calls() -> None:
    text = 'use "@alice/research" as res\nlet x = res(q: 1)\n'
    assert _rename(text, offset(text, "res(") + 1, "r2") == 'use "@alice/research" as r2\nlet x = r2(q: 1)\n'


def test_rename_of_an_implicit_use_alias_keeps_the_program_valid() -> None:
    text = 'use "@alice/research"\nlet x = research(q: 1)\n'
    renamed = _rename(text, offset(text, "research(") + 1, "r2")
    assert renamed == 'use "@alice/research" as r2\nlet x = r2(q: 1)\n'
    after = run(renamed)
    assert not [d for d in after.diagnostics if d.code in ("E004", "E005")], renamed
    assert "r2" in after.resolution.programs, renamed
