"""Direct tests of `openprose.model`: the typed program built from the
Tree-sitter tree (fields, spans, lexical diagnostics) and `ModelCache`, which
reuses statements an edit did not touch.

Programs are parsed with `openprose.syntax.parse` and built with
`build_program` / `ModelCache.build`, the way `analysis.analyze` does.
Positions are checked as 1-based (line, column) plus the text a span covers.
"""

from __future__ import annotations

import pytest
import tree_sitter as ts

from openprose import model as m
from openprose import syntax
from openprose.diagnostics import Severity, Span


def build(text: str) -> m.Program:
    source = text.encode()
    return m.build_program(syntax.parse(source), source)


def only(text: str) -> m.Stmt:
    program = build(text)
    assert len(program.body) == 1, program.body
    return program.body[0]


def expr_of(text: str) -> m.Expr:
    """The value of `let v = <text>`."""
    stmt = only(f"let v = {text}\n")
    assert isinstance(stmt, m.Let)
    return stmt.value


def at(span: Span) -> tuple[int, int]:
    return span.start_row + 1, span.start_col + 1


def covers(program: m.Program, span: Span) -> str:
    return program.source[span.start_byte : span.end_byte].decode()


def codes(program: m.Program) -> list[str]:
    return [d.code for d in program.lexical]


# ------------------------------------------------------------- program


def test_program_keeps_source_and_skips_comments() -> None:
    text = '# a comment\nsession "a"\n\n# another\nsession "b"\n'
    program = build(text)
    assert program.source == text.encode()
    assert [type(s) for s in program.body] == [m.ExprStmt, m.ExprStmt]
    assert program.span.start_byte == 0 and program.span.end_byte == len(text)
    assert program.lexical == ()


def test_empty_program() -> None:
    program = build("")
    assert program.body == () and program.lexical == ()


# ------------------------------------------------------- imports, inputs


def test_use_with_and_without_alias() -> None:
    program = build('use "@a/web" as web\nuse "./lib.prose"\n')
    first, second = program.body
    assert isinstance(first, m.Use) and isinstance(second, m.Use)
    assert first.path.text == "@a/web"
    assert first.alias is not None and first.alias.name == "web" and at(first.alias.span) == (1, 17)
    assert covers(program, first.path.span) == '"@a/web"'
    assert second.path.text == "./lib.prose" and second.alias is None


def test_import() -> None:
    stmt = only('import "web-search" from "npm:web"\n')
    assert isinstance(stmt, m.Import)
    assert stmt.name.text == "web-search" and stmt.source.text == "npm:web"
    assert at(stmt.name.span) == (1, 8) and at(stmt.source.span) == (1, 26)


def test_input_with_string_and_condition_descriptions() -> None:
    program = build('input topic: "the topic"\ninput depth: **how deep**\n')
    topic, depth = program.body
    assert isinstance(topic, m.Input) and isinstance(depth, m.Input)
    assert topic.name.name == "topic" and at(topic.name.span) == (1, 7)
    assert isinstance(topic.description, m.Str) and topic.description.text == "the topic"
    assert isinstance(depth.description, m.Condition) and depth.description.text == "how deep"
    assert at(depth.name.span) == (2, 7)


# ---------------------------------------------------------- bindings


def test_let_const_assign() -> None:
    program = build("let a = 1\nconst b = 2\nc = 3\n")
    a, b, c = program.body
    assert isinstance(a, m.Let) and a.kind == "let" and not a.destructure
    assert [n.name for n in a.names] == ["a"] and at(a.names[0].span) == (1, 5)
    assert isinstance(b, m.Let) and b.kind == "const" and at(b.names[0].span) == (2, 7)
    assert isinstance(c, m.Assign) and c.name.name == "c" and at(c.name.span) == (3, 1)
    assert isinstance(c.value, m.Number) and c.value.text == "3"


def test_destructuring_let() -> None:
    stmt = only("let { summary, score } = research(topic: t)\n")
    assert isinstance(stmt, m.Let) and stmt.destructure
    assert [n.name for n in stmt.names] == ["summary", "score"]
    assert [at(n.span) for n in stmt.names] == [(1, 7), (1, 16)]


def test_let_without_value_is_missing_at_the_equals_sign() -> None:
    stmt = only("let x =\n")
    assert isinstance(stmt, m.Let)
    assert isinstance(stmt.value, m.Unknown) and stmt.value.type == "missing"
    assert at(stmt.value.span) == (1, 7)


def test_output_with_and_without_name() -> None:
    program = build("output result = r.summary\n")
    (out,) = program.body
    assert isinstance(out, m.Output) and out.name is not None
    assert out.name.name == "result" and at(out.name.span) == (1, 8)
    assert isinstance(out.value, m.Member) and out.value.property == "summary"
    nameless = only('output = session "x"\n')
    assert isinstance(nameless, m.Output) and nameless.name is None
    assert isinstance(nameless.value, m.Session)


# ------------------------------------------------------------- agents


AGENT = '''agent writer:
  model: sonnet
  skills:
    - web
    - "other"
  permissions:
    read: ["*.md"]
  prompt: """triple
text"""
'''


def test_agent_properties() -> None:
    program = build(AGENT)
    (agent,) = program.body
    assert isinstance(agent, m.AgentDef)
    assert agent.name.name == "writer" and at(agent.name.span) == (1, 7)
    assert [p.key for p in agent.properties] == ["model", "skills", "permissions", "prompt"]
    model = agent.property("model")
    assert model is not None and m.word(model.value) == "sonnet" and isinstance(model.value, m.Name)
    assert at(model.key_span) == (2, 3) and covers(program, model.key_span) == "model"
    assert agent.property("missing") is None


def test_bullet_list_under_skills_reads_words_as_names() -> None:
    (agent,) = build(AGENT).body
    assert isinstance(agent, m.AgentDef)
    skills = agent.property("skills")
    assert skills is not None and isinstance(skills.value, m.Array)
    assert skills.value.bullets
    # Under `skills:` a bare word is the skill's name (a string), as in YAML.
    assert [type(i) for i in skills.value.items] == [m.Str, m.Str]
    assert [m.word(i) for i in skills.value.items] == ["web", "other"]


def test_bullet_list_elsewhere_keeps_names_as_names() -> None:
    stmt = only('session "a"\n  context:\n    - a\n    - "b"\n')
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Session)
    context = stmt.expr.property("context")
    assert context is not None and isinstance(context.value, m.Array) and context.value.bullets
    first, second = context.value.items
    assert isinstance(first, m.Name) and first.name == "a"
    assert isinstance(second, m.Str) and second.text == "b"


def test_bracketed_array_is_not_bullets() -> None:
    stmt = only('agent a:\n  skills: [web, "x"]\n')
    assert isinstance(stmt, m.AgentDef)
    skills = stmt.property("skills")
    assert skills is not None and isinstance(skills.value, m.Array)
    assert not skills.value.bullets
    assert isinstance(skills.value.items[0], m.Name)


def test_nested_property_block() -> None:
    (agent,) = build(AGENT).body
    assert isinstance(agent, m.AgentDef)
    perms = agent.property("permissions")
    assert perms is not None and perms.has_block and perms.value is None
    (read,) = perms.children
    assert read.key == "read" and at(read.key_span) == (7, 5)
    assert isinstance(read.value, m.Array) and [m.word(i) for i in read.value.items] == ["*.md"]


def test_triple_quoted_prompt() -> None:
    (agent,) = build(AGENT).body
    assert isinstance(agent, m.AgentDef)
    prompt = agent.property("prompt")
    assert prompt is not None and isinstance(prompt.value, m.Str)
    assert prompt.value.triple and prompt.value.terminated
    assert prompt.value.text == "triple\ntext"


def test_property_with_value_and_deeper_line_is_an_indentation_error() -> None:
    program = build('agent a:\n  model: sonnet\n    prompt: "x"\n')
    (agent,) = program.body
    assert isinstance(agent, m.AgentDef)
    # The deeper line is kept, as a sibling, and reported on its own line.
    assert [p.key for p in agent.properties] == ["model", "prompt"]
    assert codes(program) == ["E005"]
    assert at(program.lexical[0].span) == (3, 1)
    assert "'model' has a value" in program.lexical[0].message


def test_word_alone_in_property_block_is_reported() -> None:
    program = build("agent a:\n  model: sonnet\n  persist\n")
    assert "E004" in codes(program)
    diag = next(d for d in program.lexical if d.code == "E004")
    assert at(diag.span) == (3, 3) and "persist" in diag.message


# ------------------------------------------------------------ sessions


def test_session_with_prompt() -> None:
    program = build('let x = session "Hello"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.Let) and isinstance(stmt.value, m.Session)
    s = stmt.value
    assert s.kind == "session" and s.agent is None and s.name is None and s.properties == ()
    assert s.prompt is not None and s.prompt.text == "Hello"
    assert covers(program, s.keyword_span) == "session" and at(s.keyword_span) == (1, 9)


def test_session_with_agent_and_bare_prompt_line() -> None:
    program = build('session: writer\n  "bare prompt"\n  context: { topic, n: 1 }\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Session)
    s = stmt.expr
    assert s.prompt is None
    assert s.agent is not None and s.agent.name == "writer" and at(s.agent.span) == (1, 10)
    bare, context = s.properties
    assert bare.key == "prompt" and bare.bare
    assert isinstance(bare.value, m.Str) and bare.value.text == "bare prompt"
    assert context.key == "context" and not context.bare
    assert isinstance(context.value, m.Object)
    shorthand, pair = context.value.entries
    assert shorthand.shorthand and shorthand.key == "topic" and isinstance(shorthand.value, m.Name)
    assert not pair.shorthand and pair.key == "n" and isinstance(pair.value, m.Number)
    assert at(pair.key_span) == (3, 21)


def test_named_session() -> None:
    stmt = only("s1 = session named: writer\n")
    assert isinstance(stmt, m.Assign) and isinstance(stmt.value, m.Session)
    s = stmt.value
    assert s.name is not None and s.name.name == "named" and at(s.name.span) == (1, 14)
    assert s.agent is not None and s.agent.name == "writer" and at(s.agent.span) == (1, 21)


def test_resume_is_a_session_of_kind_resume() -> None:
    program = build('resume: writer\n  prompt: "again"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Session)
    s = stmt.expr
    assert s.kind == "resume"
    assert covers(program, s.keyword_span) == "resume"
    assert s.agent is not None and s.agent.name == "writer"
    prompt = s.property("prompt")
    assert prompt is not None and not prompt.bare and m.word(prompt.value) == "again"


def test_inline_property_is_read_and_reported_with_a_fix() -> None:
    program = build('session "a" context: x\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Session)
    context = stmt.expr.property("context")
    assert context is not None and isinstance(context.value, m.Name) and context.value.name == "x"
    (diag,) = program.lexical
    assert diag.code == "E004" and at(diag.span) == (1, 13)
    (fix,) = diag.fixes
    (edit,) = fix.edits
    assert edit.new_text == "\n  " and at(edit.span) == (1, 12)


# ------------------------------------------------------------- strings


def test_string_parts_interpolations_and_escapes() -> None:
    program = build('let x = "Hi {a.b.c}, \\"q\\"\\t{n}\\\\ \\{lit\\}"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.Let) and isinstance(stmt.value, m.Str)
    s = stmt.value
    first, interp, middle, second, last = s.parts
    assert first == "Hi "
    assert isinstance(interp, m.Interp) and interp.name == "a" and interp.path == ("b", "c")
    assert covers(program, interp.span) == "{a.b.c}" and covers(program, interp.name_span) == "a"
    assert at(interp.name_span) == (1, 14)
    assert middle == ', "q"\t'
    assert isinstance(second, m.Interp) and second.name == "n" and second.path == ()
    assert last == "\\ {lit}"  # escaped braces are text, not an interpolation
    assert s.text == 'Hi {a.b.c}, "q"\t{n}\\ {lit}'
    assert [i.name for i in s.interpolations] == ["a", "n"]
    assert not s.triple and s.terminated
    assert program.lexical == ()


def test_plain_string_has_one_part_and_empty_string_none() -> None:
    assert isinstance(v := expr_of('"plain"'), m.Str) and v.parts == ("plain",)
    assert isinstance(e := expr_of('""'), m.Str) and e.parts == () and e.text == ""


def test_newline_escape_is_decoded() -> None:
    s = expr_of('"a\\nb"')
    assert isinstance(s, m.Str) and s.text == "a\nb"


def test_unclosed_brace_is_text() -> None:
    s = expr_of('"{not-closed"')
    assert isinstance(s, m.Str) and s.interpolations == () and s.text == "{not-closed"


def test_unknown_escape_is_e002_at_the_escape() -> None:
    program = build('session "bad \\q escape"\n')
    (diag,) = program.lexical
    assert diag.code == "E002" and diag.severity is Severity.ERROR
    assert at(diag.span) == (1, 14) and covers(program, diag.span) == "\\q"
    (stmt,) = program.body
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Session)
    assert stmt.expr.prompt is not None and stmt.expr.prompt.text == "bad \\q escape"  # kept as written


def test_unterminated_string_is_e001_on_its_first_line() -> None:
    program = build('session "never closed\nsession "b"\n')
    (diag,) = program.lexical
    assert diag.code == "E001" and at(diag.span) == (1, 9)
    assert covers(program, diag.span) == '"never closed'
    first, second = program.body
    assert isinstance(first, m.ExprStmt) and isinstance(first.expr, m.Session)
    assert first.expr.prompt is not None and not first.expr.prompt.terminated
    assert first.expr.prompt.text == "never closed"
    assert isinstance(second, m.ExprStmt)  # the next line is still a statement


def test_unterminated_triple_string_reports_only_its_opening_line() -> None:
    program = build('session """open\nmore\n')
    (diag,) = program.lexical
    assert diag.code == "E001" and '"""' in diag.message
    assert at(diag.span) == (1, 9) and covers(program, diag.span) == '"""open'
    assert diag.span.end_row == diag.span.start_row


def test_string_ending_in_an_escaped_quote_is_unterminated() -> None:
    program = build('let x = "ends \\"\n')
    assert codes(program) == ["E001"]


# ------------------------------------------------------------ literals


@pytest.mark.parametrize(("text", "value", "integer"), [("3", 3.0, True), ("3.5", 3.5, False), ("0", 0.0, True)])
def test_number(text: str, value: float, integer: bool) -> None:
    n = expr_of(text)
    assert isinstance(n, m.Number) and n.text == text and n.value == value and n.is_integer is integer


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("null", None)])
def test_literal(text: str, value: object) -> None:
    lit = expr_of(text)
    assert isinstance(lit, m.Literal) and lit.value is value


def test_array_object_member_call() -> None:
    arr = expr_of('[1, "a", true, null]')
    assert isinstance(arr, m.Array) and not arr.bullets
    assert [type(i) for i in arr.items] == [m.Number, m.Str, m.Literal, m.Literal]
    obj = expr_of('{"quoted key": 1, plain: x}')
    assert isinstance(obj, m.Object) and [e.key for e in obj.entries] == ["quoted key", "plain"]
    mem = expr_of("r.summary")
    assert isinstance(mem, m.Member) and isinstance(mem.object, m.Name) and mem.property == "summary"
    call = expr_of('research(topic: "x", 2)')
    assert isinstance(call, m.Call) and call.function.name == "research"
    named, positional = call.arguments
    assert named.name == "topic" and named.name_span is not None and at(named.name_span) == (1, 18)
    assert positional.name is None and positional.name_span is None
    assert isinstance(positional.value, m.Number)


def test_parenthesized_is_its_inner_expression() -> None:
    inner = expr_of("(1)")
    assert isinstance(inner, m.Number) and inner.text == "1"


def test_binary_unary_and_operator_spacing() -> None:
    b = expr_of("a is   not b")
    assert isinstance(b, m.Binary) and b.operator == "is not"
    assert isinstance(b.left, m.Name) and isinstance(b.right, m.Name)
    u = expr_of("not done")
    assert isinstance(u, m.Unary) and u.operator == "not" and isinstance(u.operand, m.Name)
    cmp = expr_of("x.y == 2")
    assert isinstance(cmp, m.Binary) and cmp.operator == "==" and isinstance(cmp.left, m.Member)


def test_conditions_single_and_triple_with_references() -> None:
    c = expr_of("**done with {topic}**")
    assert isinstance(c, m.Condition) and not c.triple and c.text == "done with {topic}"
    (ref,) = c.references
    assert ref.name == "topic" and at(ref.name_span) == (1, 22)
    assert at(ref.span) == (1, 21)  # the braces
    stmt = only('if ***long\ncond***:\n  session "a"\n')
    assert isinstance(stmt, m.If)
    cond = stmt.branches[0].condition
    assert isinstance(cond, m.Condition) and cond.triple and cond.text == "long\ncond"


def test_sequence_is_flattened() -> None:
    seq = expr_of('session "a" -> session "b" -> session "c"')
    assert isinstance(seq, m.Sequence)
    prompts = [item.prompt.text for item in seq.items if isinstance(item, m.Session) and item.prompt]
    assert prompts == ["a", "b", "c"]


# ------------------------------------------------------ control flow


def test_parallel_modifier_kinds() -> None:
    program = build('parallel ("any", count: 2, on-fail: continue, k: -1):\n  a = session "A"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Parallel)
    par = stmt.expr
    assert covers(program, par.keyword_span) == "parallel"
    assert par.modifiers_span is not None and covers(program, par.modifiers_span).startswith("(")
    positional, count, on_fail, negative = par.modifiers
    assert (positional.key, positional.value, positional.value_kind, positional.quoted) == (None, "any", "string", True)
    assert positional.key_span is None and covers(program, positional.value_span) == '"any"'  # type: ignore[arg-type]
    assert (count.key, count.value, count.value_kind, count.quoted) == ("count", "2", "number", False)
    assert count.key_span is not None and at(count.key_span) == (1, 18)
    assert (on_fail.key, on_fail.value, on_fail.value_kind) == ("on-fail", "continue", "identifier")
    assert (negative.value, negative.value_kind) == ("-1", "expression")
    (body,) = par.body
    assert isinstance(body, m.Assign) and body.name.name == "a"
    assert not par.unclosed and program.lexical == ()


def test_parallel_without_modifiers() -> None:
    stmt = only('parallel:\n  session "a"\n  session "b"\n')
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Parallel)
    assert stmt.expr.modifiers == () and stmt.expr.modifiers_span is None and len(stmt.expr.body) == 2


def test_unclosed_parallel_modifiers_are_e005() -> None:
    program = build('parallel (first\n  session "a"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Parallel)
    assert stmt.expr.unclosed
    assert [m_.value for m_ in stmt.expr.modifiers] == ["first"]
    (diag,) = program.lexical
    assert diag.code == "E005" and at(diag.span) == (1, 10) and "unclosed '('" in diag.message


def test_for_and_parallel_for() -> None:
    program = build('for item, i in [1, 2]:\n  session "{item}"\nparallel for q in xs (first):\n  session "q"\n')
    loop, par = program.body
    assert isinstance(loop, m.ExprStmt) and isinstance(loop.expr, m.ForLoop)
    f = loop.expr
    assert not f.parallel and f.item.name == "item" and at(f.item.span) == (1, 5)
    assert f.index is not None and f.index.name == "i" and at(f.index.span) == (1, 11)
    assert isinstance(f.collection, m.Array) and len(f.body) == 1 and f.modifiers == ()
    assert isinstance(par, m.ExprStmt) and isinstance(par.expr, m.ForLoop)
    p = par.expr
    assert p.parallel and p.item.name == "q" and p.index is None
    assert isinstance(p.collection, m.Name) and p.collection.name == "xs"
    assert [mod.value for mod in p.modifiers] == ["first"] and p.modifiers_span is not None


def test_repeat_with_and_without_index() -> None:
    program = build('repeat 3 as k:\n  session "r"\nrepeat 2:\n  session "s"\n')
    first, second = program.body
    assert isinstance(first, m.ExprStmt) and isinstance(first.expr, m.Repeat)
    assert isinstance(first.expr.count, m.Number) and first.expr.count.text == "3"
    assert first.expr.index is not None and at(first.expr.index.span) == (1, 13)
    assert isinstance(second, m.ExprStmt) and isinstance(second.expr, m.Repeat) and second.expr.index is None


def test_loop_kinds() -> None:
    program = build(
        'loop until **done** (max: 5) as n:\n  session "a"\n'
        'loop while **more**:\n  session "b"\n'
        'loop:\n  session "c"\n'
    )
    until, while_, bare = (s.expr for s in program.body if isinstance(s, m.ExprStmt))
    assert isinstance(until, m.Loop) and until.kind == "until"
    assert until.condition is not None and until.condition.text == "done"
    assert [(mod.key, mod.value) for mod in until.modifiers] == [("max", "5")]
    assert until.index is not None and until.index.name == "n"
    assert covers(program, until.keyword_span) == "loop"
    assert isinstance(while_, m.Loop) and while_.kind == "while" and while_.modifiers == ()
    assert isinstance(bare, m.Loop) and bare.kind is None and bare.condition is None and bare.index is None


def test_pipeline_stages() -> None:
    program = build(
        'let r = xs | map:\n  session "{item}"\n| filter:\n  session "keep?"\n| reduce(acc, x):\n  session "{acc}{x}"\n'
    )
    (stmt,) = program.body
    assert isinstance(stmt, m.Let) and isinstance(stmt.value, m.Pipeline)
    pipe = stmt.value
    assert isinstance(pipe.input, m.Name) and pipe.input.name == "xs"
    assert [s.operator for s in pipe.stages] == ["map", "filter", "reduce"]
    assert covers(program, pipe.stages[0].operator_span) == "map" and at(pipe.stages[0].operator_span) == (1, 14)
    assert pipe.stages[0].parameters is None
    params = pipe.stages[2].parameters
    assert params is not None and [p.name for p in params] == ["acc", "x"] and at(params[1].span) == (5, 15)
    assert all(len(s.body) == 1 for s in pipe.stages)


def test_if_elif_else() -> None:
    program = build('if **ok**:\n  session "1"\nelif x:\n  session "2"\nelse:\n  session "3"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.If)
    first, second = stmt.branches
    assert isinstance(first.condition, m.Condition) and covers(program, first.keyword_span) == "if"
    assert isinstance(second.condition, m.Name) and covers(program, second.keyword_span) == "elif"
    assert at(second.keyword_span) == (3, 1)
    assert stmt.else_branch is not None and stmt.else_branch.condition is None
    assert covers(program, stmt.else_branch.keyword_span) == "else" and len(stmt.else_branch.body) == 1


def test_try_catch_finally_throw() -> None:
    program = build('try:\n  session "t"\ncatch as err:\n  throw "bad {err}"\nfinally:\n  throw\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.Try)
    assert covers(program, stmt.keyword_span) == "try" and len(stmt.body) == 1
    assert stmt.catch is not None and covers(program, stmt.catch.keyword_span) == "catch"
    assert stmt.catch_name is not None and stmt.catch_name.name == "err" and at(stmt.catch_name.span) == (3, 10)
    (throw,) = stmt.catch.body
    assert isinstance(throw, m.Throw) and throw.message is not None and throw.message.text == "bad {err}"
    assert stmt.finally_ is not None
    (bare,) = stmt.finally_.body
    assert isinstance(bare, m.Throw) and bare.message is None


def test_try_without_catch_name() -> None:
    stmt = only('try:\n  session "t"\ncatch:\n  session "c"\n')
    assert isinstance(stmt, m.Try) and stmt.catch is not None and stmt.catch_name is None and stmt.finally_ is None


def test_assert() -> None:
    program = build('assert ready: "not ready"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.Assert) and covers(program, stmt.keyword_span) == "assert"
    assert isinstance(stmt.condition, m.Name) and stmt.condition.name == "ready"
    assert stmt.message is not None and stmt.message.text == "not ready"


def test_choice_options_and_stray_statements() -> None:
    program = build('choice **pick**:\n  option "one":\n    session "o1"\n  session "stray"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.Choice)
    assert stmt.criteria.text == "pick"
    (option,) = stmt.options
    assert option.label.text == "one" and len(option.body) == 1
    (stray,) = stmt.stray
    assert isinstance(stray, m.ExprStmt) and at(stray.span) == (4, 3)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ('else:\n  session "a"\n', "else"),
        ('elif **c**:\n  session "a"\n', "elif"),
        ('catch:\n  session "a"\n', "catch"),
        ('finally:\n  session "a"\n', "finally"),
        ('option "x":\n  session "a"\n', "option"),
    ],
)
def test_orphan_clauses(text: str, keyword: str) -> None:
    program = build(text)
    (stmt,) = program.body
    assert isinstance(stmt, m.Orphan) and stmt.keyword == keyword
    assert covers(program, stmt.keyword_span) == keyword and len(stmt.body) == 1


def test_do_block_and_do_calls() -> None:
    program = build('do:\n  session "d"\ndo blk(1, name: "n")\ndo blk\n')
    block, call, bare = (s.expr for s in program.body if isinstance(s, m.ExprStmt))
    assert isinstance(block, m.DoBlock) and len(block.body) == 1
    assert isinstance(call, m.DoCall) and call.block.name == "blk" and call.has_arguments
    assert at(call.block.span) == (3, 4)
    assert [a.name for a in call.arguments] == [None, "name"]
    assert isinstance(bare, m.DoCall) and not bare.has_arguments and bare.arguments == ()


def test_block_definition() -> None:
    program = build("block review(draft, depth):\n  let z = 1\n")
    (stmt,) = program.body
    assert isinstance(stmt, m.BlockDef) and stmt.name.name == "review" and at(stmt.name.span) == (1, 7)
    assert [p.name for p in stmt.parameters] == ["draft", "depth"]
    assert [at(p.span) for p in stmt.parameters] == [(1, 14), (1, 21)]
    (let,) = stmt.body
    assert isinstance(let, m.Let) and at(let.span) == (2, 3)


# ------------------------------------------------------ lexical E005


@pytest.mark.parametrize(
    ("text", "word", "where"),
    [
        ("agent a\n  model: sonnet\n", "agent", (1, 8)),
        ('if **x**\n  session "a"\n', "if", (1, 9)),
        ('block b(x)\n  session "a"\n', "block", (1, 11)),
    ],
)
def test_missing_colon_is_e005_with_a_fix(text: str, word: str, where: tuple[int, int]) -> None:
    program = build(text)
    (diag,) = program.lexical
    assert diag.code == "E005" and f"'{word}'" in diag.message
    assert at(diag.span) == where and diag.span.start_byte == diag.span.end_byte
    (fix,) = diag.fixes
    (edit,) = fix.edits
    assert edit.new_text == ":" and at(edit.span) == where
    assert len(program.body) == 1  # the body is still read as the body


@pytest.mark.parametrize(
    ("text", "opener", "closer", "opener_at", "insert_at"),
    [
        ("let x = [1, 2\n", "[", "]", (1, 9), (1, 14)),
        ("let r = f(a: 1\n", "(", ")", (1, 10), (1, 15)),
        ("let o = {a: 1\n", "{", "}", (1, 9), (1, 14)),
    ],
)
def test_unclosed_bracket_is_e005_with_a_fix(text: str, opener: str, closer: str,
                                            opener_at: tuple[int, int], insert_at: tuple[int, int]) -> None:
    program = build(text)
    (diag,) = program.lexical
    assert diag.code == "E005" and f"unclosed '{opener}'" in diag.message
    assert at(diag.span) == opener_at and covers(program, diag.span) == opener
    (edit,) = diag.fixes[0].edits
    assert edit.new_text == closer and at(edit.span) == insert_at


def test_inconsistent_indentation_in_a_body_is_e005_on_that_line() -> None:
    program = build('if **x**:\n  session "a"\n   session "b"\n')
    (diag,) = program.lexical
    assert diag.code == "E005" and diag.message.startswith("indented 3 spaces")
    assert at(diag.span) == (3, 1)
    (edit,) = diag.fixes[0].edits
    assert edit.new_text == "  " and covers(program, edit.span) == "   "
    (stmt,) = program.body
    assert isinstance(stmt, m.If) and len(stmt.branches[0].body) == 2  # both lines kept


def test_lexical_diagnostics_of_several_statements_keep_source_order() -> None:
    program = build('session "a \\q"\nlet x = [1\nsession "open\n')
    assert codes(program) == ["E002", "E005", "E001"]
    assert [at(d.span)[0] for d in program.lexical] == [1, 2, 3]


# ----------------------------------------------------------- ModelCache


def _point(source: bytes, offset: int) -> tuple[int, int]:
    return source.count(b"\n", 0, offset), offset - (source.rfind(b"\n", 0, offset) + 1)


def _edit(tree: ts.Tree, source: bytes, start: int, end: int, new: bytes) -> tuple[ts.Tree, bytes]:
    """Apply an edit to the bytes and the old tree, then reparse incrementally (as the server does)."""
    out = source[:start] + new + source[end:]
    new_end = start + len(new)
    tree.edit(
        start_byte=start, old_end_byte=end, new_end_byte=new_end,
        start_point=_point(source, start), old_end_point=_point(source, end), new_end_point=_point(out, new_end),
    )
    return syntax.parse(out, tree), out


THREE = b'let a = session "one"\nlet b = session "two"\nlet c = session "three"\n'


def test_cache_builds_the_same_model_as_build_program() -> None:
    tree = syntax.parse(THREE)
    cached = m.ModelCache().build(tree, THREE)
    plain = m.build_program(tree, THREE)
    assert cached.body == plain.body and cached.lexical == plain.lexical


def test_cache_reuses_untouched_statements_and_rebuilds_the_edited_one() -> None:
    cache = m.ModelCache()
    tree = syntax.parse(THREE)
    before = cache.build(tree, THREE)
    start = THREE.index(b"two")
    tree2, source2 = _edit(tree, THREE, start, start + 3, b"TWO!")
    after = cache.build(tree2, source2)
    assert after.body[0] is before.body[0]
    assert after.body[1] is not before.body[1]
    assert after.body[2] is before.body[2]
    edited = after.body[1]
    assert isinstance(edited, m.Let) and isinstance(edited.value, m.Session)
    assert edited.value.prompt is not None and edited.value.prompt.text == "TWO!"
    # The reused statement after the edit moved by one byte; its spans follow.
    moved = after.body[2]
    assert isinstance(moved, m.Let)
    assert moved.span.start_byte == source2.index(b"let c") and at(moved.names[0].span) == (3, 5)
    assert after.body == m.build_program(tree2, source2).body


def test_cache_keeps_the_statement_before_an_edit_at_the_start_of_a_line() -> None:
    """The scanner reads the first bytes of each top-level line (to place the ends of the hidden
    groups of statements, grammar.js): an edit there after the line's first word must not rebuild
    the statement above it, as an edit of that word itself does (the parser takes it anew)."""
    for start, end, text in ((THREE.index(b"b ="), THREE.index(b"b =") + 1, b"bee"),
                             (THREE.index(b"c ="), THREE.index(b"c ="), b"x"),
                             (THREE.index(b"three"), THREE.index(b"three"), b"3")):
        cache = m.ModelCache()
        tree = syntax.parse(THREE)
        before = cache.build(tree, THREE)
        tree2, source2 = _edit(tree, THREE, start, end, text)
        after = cache.build(tree2, source2)
        edited = 1 if start < THREE.index(b"let c") else 2
        assert [stmt is old for stmt, old in zip(after.body, before.body)] == [i != edited for i in range(3)], text
        assert after.body == m.build_program(syntax.parse(source2), source2).body


def test_cache_moves_reused_statements_to_their_new_lines() -> None:
    cache = m.ModelCache()
    tree = syntax.parse(THREE)
    before = cache.build(tree, THREE)
    tree2, source2 = _edit(tree, THREE, 0, 0, b"let z = 1\n\n")
    after = cache.build(tree2, source2)
    assert len(after.body) == 4
    reused = [i for i, stmt in enumerate(after.body) if any(stmt is old for old in before.body)]
    assert reused, "no statement was reused after an insertion above them"
    fresh = m.build_program(syntax.parse(source2), source2)
    for i in reused:
        stmt = after.body[i]
        assert isinstance(stmt, m.Let)
        assert stmt == fresh.body[i]  # same byte ranges as a fresh build ...
        assert at(stmt.names[0].span) == at(fresh.body[i].names[0].span)  # ... and the same lines
        assert at(stmt.span)[0] == i + 2  # one inserted line and one blank line above
    # As documented, an older program from the same cache sees the moved positions.
    assert before.body[2].span.start_byte == source2.index(b"let c")


def test_cache_moves_a_reused_statements_lexical_diagnostics() -> None:
    source = b'let a = 1\nlet b = 2\nsession "bad \\q"\n'
    cache = m.ModelCache()
    tree = syntax.parse(source)
    before = cache.build(tree, source)
    assert [at(d.span) for d in before.lexical] == [(3, 14)]
    start = source.index(b"1")  # two statements above: the parser keeps the session's subtree
    tree2, source2 = _edit(tree, source, start, start + 1, b"1\nlet c = 3")
    after = cache.build(tree2, source2)
    assert after.body[-1] is before.body[-1]
    (diag,) = after.lexical
    assert diag.code == "E002" and at(diag.span) == (4, 14)
    assert source2[diag.span.start_byte : diag.span.end_byte] == b"\\q"


def test_cache_matches_a_fresh_build_across_unrelated_sources() -> None:
    """Node ids of freed trees can be reused by new ones; the text check keeps reuse correct."""
    sources = [
        THREE,
        b'let a = session "one"\nlet b = session "TWO"\n',
        b'session "bad \\q"\nlet a = session "one"\n',
        THREE,
        b"",
        b'let a = session "one"\n  let b = 2\n',
    ]
    cache = m.ModelCache()
    for source in sources:
        tree = syntax.parse(source)
        cached = cache.build(tree, source)
        fresh = m.build_program(syntax.parse(source), source)
        assert cached.body == fresh.body
        assert [(d.code, d.span, at(d.span)) for d in cached.lexical] == [
            (d.code, d.span, at(d.span)) for d in fresh.lexical
        ]
        assert [at(s.span) for s in cached.body] == [at(s.span) for s in fresh.body]


def test_cache_forgets_deleted_statements() -> None:
    cache = m.ModelCache()
    tree = syntax.parse(THREE)
    cache.build(tree, THREE)
    start = THREE.index(b"let b")
    end = THREE.index(b"let c")
    tree2, source2 = _edit(tree, THREE, start, end, b"")
    after = cache.build(tree2, source2)
    assert [s.names[0].name for s in after.body if isinstance(s, m.Let)] == ["a", "c"]


def test_unterminated_string_span_stops_before_a_crlf() -> None:
    program = build('session "open\r\nsession "b"\r\n')
    (diag,) = program.lexical
    assert diag.code == "E001" and covers(program, diag.span) == '"open'


def test_columns_are_byte_columns() -> None:
    # Spans keep Tree-sitter's byte columns; the CLI and server convert at the edge.
    program = build('let x = "é {n}"\n')
    (stmt,) = program.body
    assert isinstance(stmt, m.Let) and isinstance(stmt.value, m.Str)
    (interp,) = stmt.value.interpolations
    assert at(interp.name_span) == (1, 14)  # 'é' is two bytes


def test_cache_does_not_reuse_a_statement_whose_text_changed_under_the_same_node_id() -> None:
    """A freed tree's node ids come back in the next parse (the server drops its tree on a full
    replace); a statement is reused only when its text is also the same."""
    old = b'let a = session "one"\nlet b = session "two"\n'
    new = b'let a = session "uno"\nlet b = session "dos"\n'
    for _ in range(5):  # the allocator hands the freed nodes' addresses out again almost every time
        cache = m.ModelCache()
        tree = syntax.parse(old)
        cache.build(tree, old)
        del tree
        tree = syntax.parse(new)
        built = cache.build(tree, new)
        prompts = [s.value.prompt.text for s in built.body
                   if isinstance(s, m.Let) and isinstance(s.value, m.Session) and s.value.prompt]
        assert prompts == ["uno", "dos"]
