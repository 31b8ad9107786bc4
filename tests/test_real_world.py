"""Constructs found in real programs written by other people.

Each one parses as its author meant and checks clean; each mistake that
used to be misdiagnosed now gets one diagnostic, on its own line, at an
exact line and column. The interpreter runs the new statements (`assert`,
`is` comparisons, modifiers after `parallel for`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from openprose.analysis import analyze
from openprose.diagnostics import LineIndex, Severity
from openprose.fmt import format_source
from openprose.syntax import parse

from .test_interpreter import run, scripted
from .tshelpers import problem_nodes

# ---------------------------------------------------------- clean programs

CLEAN: dict[str, str] = {
    "triple-quoted text": (
        'input api: "base URL"\n'
        'let body = session """\n'
        "Post this JSON:\n"
        "{\n"
        '  "name": "demo",\n'
        '  "tags": ["a", "b"\n'
        "}\n"
        "curl -s -X POST {api}/v1/items \\\n"
        '  -H "Accept: application/json" \\"quoted\\" \\\\n\n'
        "Don't stop at 'single quotes'.\n"
        "```sh\n"
        'echo "done" {not closed\n'
        "```\n"
        '"""\n'
    ),
    "comparisons": (
        'input mode: "what to do"\n'
        'let count = 2\n'
        'if mode is "fetch":\n  session "Fetch"\n'
        'elif mode is not "skip" and **the user wants more**:\n  session "More"\n'
        'elif mode == "a" or mode != "b":\n  session "Either"\n'
        'elif not (count >= 3):\n  session "Few"\n'
    ),
    "parallel for modifiers": (
        'let items = ["a", "b"]\n'
        'parallel for x in items (first):\n  session "Try {x}"\n'
        'parallel for y in items (on-fail: continue):\n  session "Try {y}"\n'
        'parallel for z in items (any, count: 1):\n  session "Try {z}"\n'
    ),
    "arrow alone on a line": (
        'let notes = session "Notes"\n'
        'let chain = session "First"\n  context: notes\n->\nsession "Second"\n  context: notes\n'
    ),
    "values below keys": (
        'use "@anthropic/web-search"\n'
        "agent writer:\n  model:\n    opus\n  skills:\n    - web-search\n"
        'session: writer\n  retry:\n    3\n  backoff:\n    exponential\n'
    ),
    "bare prompt": 'agent researcher:\n  model: sonnet\nlet s = session: researcher\n  """\n  Dig in.\n  """\n',
    "assert": 'let mode = "a"\nassert mode != "":\n  "The mode must not be empty"\nassert **the mode makes sense**: "odd mode"\n',
    "skills from use": 'use "@anthropic/web-search"\nuse "@anthropic/summarize" as summarizer\nagent a:\n  skills: ["web-search", "summarizer"]\n',
}


@pytest.mark.parametrize("name", list(CLEAN))
def test_real_construct_parses_and_checks_clean(name: str) -> None:
    source = CLEAN[name].encode()
    tree = parse(source)
    assert not problem_nodes(tree.root_node), [(n.type, n.start_point) for n in problem_nodes(tree.root_node)]
    analysis = analyze(source)
    errors = [(d.code, d.span.start_row + 1, d.message) for d in analysis.diagnostics if d.severity is Severity.ERROR]
    assert errors == []
    # W111/W114 are about fetching registry programs and skill files, not about the syntax.
    unexpected = [d for d in analysis.diagnostics if d.code not in ("W111", "W114")]
    assert unexpected == [], [(d.code, d.message) for d in unexpected]


@pytest.mark.parametrize("name", list(CLEAN))
def test_real_construct_formats_stably(name: str) -> None:
    once = format_source(CLEAN[name])
    assert format_source(once) == once


def test_cli_checks_every_construct_clean(tmp_path: Path) -> None:
    for name, text in CLEAN.items():
        (tmp_path / f"{name.replace(' ', '-')}.prose").write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "prose_cli", "check", "--format", "json", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {r["code"] for r in json.loads(done.stdout)} <= {"W111", "W114"}


# ------------------------------------------------ one diagnostic, exact place

# name -> (program, [(code, line, column)]) -- the complete list of diagnostics.
MISTAKES: dict[str, tuple[str, list[tuple[str, int, int]]]] = {
    "over-indented property": ('agent a:\n  model: sonnet\n   prompt: "x"\n', [("E005", 3, 1)]),
    "over-indented statement": ('let x = session "a"\n   session "b"\n', [("E005", 2, 1)]),
    "dedent to no level": ('if **the thing is ready**:\n    session "c"\n  session "d"\n', [("E005", 3, 1)]),
    "tab": ('let x = "a"\nsession "s"\n\tcontext: x\n', [("E118", 3, 1)]),
    "property on the prompt's line": ('let topic = "t"\nsession "Research" context: topic\n', [("E004", 2, 20)]),
    "modifiers after parallel for": ('let items = [1]\nparallel for x in items (on-fail: contine):\n  session "a"\n',
                                     [("P002", 2, 35)]),
    "context before binding": ('session "a"\n  context: notes\nlet notes = session "n"\n', [("E101", 2, 12)]),
    "interpolation before binding": ('session "a {notes}"\nlet notes = session "n"\n', [("W113", 1, 13)]),
    "branches race": ('parallel:\n  a = session "A"\n  b = session "B"\n  a = session "C"\n', [("P010", 4, 3)]),
    "bare string in an agent": ('agent a:\n  model: sonnet\n  "You help"\n', [("E004", 3, 3)]),
    "second prompt": ('session "a"\n  "b"\n', [("E009", 2, 3)]),
    "backslash ends a single-line string": ('session "half \\\nsession "next"\n', [("E001", 1, 9)]),
    "dangling arrow": ('let a = session "one" ->\nlet b = session "two"\n', [("E005", 1, 23)]),
    "space before a call's (": ('let r = research (topic: "x")\n', [("E004", 1, 9)]),
    "header without ':'": ('if **the plan is ready**\n  session "Go"\n', [("E005", 1, 25)]),
    "bracket left open": ('let xs = ["a", "b"\nlet y = session "next {xs}"\n', [("E005", 1, 10)]),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_mistake_gets_one_diagnostic_at_its_place(name: str) -> None:
    program, expected = MISTAKES[name]
    source = program.encode()
    index = LineIndex(source)
    got = [
        (d.code, d.span.start_row + 1, index.char_col(d.span.start_row, d.span.start_col) + 1)
        for d in analyze(source).diagnostics
    ]
    assert got == expected, [(d.code, d.message) for d in analyze(source).diagnostics]


def test_indentation_message_says_what_is_wrong_and_fixes_it() -> None:
    source = b'agent a:\n  model: sonnet\n   prompt: "x"\n'
    (diag,) = analyze(source).diagnostics
    assert diag.message.startswith("indented 3 spaces, expected 2 or 0")
    (fix,) = diag.fixes
    (edit,) = fix.edits
    fixed = source[: edit.span.start_byte] + edit.new_text.encode() + source[edit.span.end_byte :]
    assert fixed == b'agent a:\n  model: sonnet\n  prompt: "x"\n'
    assert analyze(fixed).diagnostics == []


def test_dedent_to_no_level_offers_the_enclosing_levels() -> None:
    (diag,) = analyze(b'if **the thing is ready**:\n    session "c"\n  session "d"\n').diagnostics
    assert diag.message == "indented 2 spaces, expected 4 or 0"


def test_tab_fix_keeps_the_meaning() -> None:
    source = b'let x = "a"\nsession "s"\n\tcontext: x\n'
    (diag,) = analyze(source).diagnostics
    (edit,) = diag.fixes[0].edits
    fixed = source[: edit.span.start_byte] + edit.new_text.encode() + source[edit.span.end_byte :]
    assert b"\t" not in fixed and analyze(fixed).diagnostics == []
    assert format_source(source.decode()) == 'let x = "a"\nsession "s"\n  context: x\n'


def test_inline_property_fix_moves_it_to_its_own_line() -> None:
    source = b'let topic = "t"\nsession "Research" context: topic\n'
    (diag,) = analyze(source).diagnostics
    (edit,) = diag.fixes[0].edits
    fixed = source[: edit.span.start_byte] + edit.new_text.encode() + source[edit.span.end_byte :]
    assert fixed == b'let topic = "t"\nsession "Research"\n  context: topic\n'
    assert analyze(fixed).diagnostics == []


def test_modifier_list_after_collection_is_not_a_call() -> None:
    messages = [d.message for d in analyze(b'let items = [1]\nparallel for x in items (on-fail: continue):\n  session "a"\n').diagnostics]
    assert messages == []


def test_skill_hint_mentions_use() -> None:
    (diag,) = analyze(b'agent a:\n  skills: ["web"]\n').diagnostics
    assert 'use "@handle/web"' in diag.message


# ------------------------------------------------------------------ running


def test_assert_throws_its_message_when_false(tmp_path: Path) -> None:
    program = 'let mode = ""\nassert mode != "":\n  "The mode must not be empty"\nsession "never"\n'
    backend = scripted()
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "failed" and result.error == "The mode must not be empty"
    assert backend.requests == []


def test_assert_that_holds_lets_the_program_continue(tmp_path: Path) -> None:
    program = 'let mode = "fetch"\nassert mode is "fetch": "wrong mode"\nif mode is not "skip":\n  session "Go"\n'
    backend = scripted()
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "ok", result.error
    assert [r.prompt for r in backend.requests] == ["Go"]


def test_assert_failure_is_caught_like_a_throw(tmp_path: Path) -> None:
    program = 'try:\n  assert 1 > 2: "math broke"\ncatch as err:\n  session "Recovered from {err}"\n'
    backend = scripted()
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "ok", result.error
    assert [r.prompt for r in backend.requests] == ["Recovered from math broke"]


def test_parallel_for_first_keeps_one_result(tmp_path: Path) -> None:
    program = 'let items = ["A", "B", "C"]\nlet r = parallel for x in items (first):\n  session "Try {x}"\noutput r = r\n'
    backend = scripted(sessions=[
        {"match": "Try A", "delay": 0.5, "output": "a!"},
        {"match": "Try B", "delay": 0.1, "output": "b!"},
        {"match": "Try C", "delay": 0.9, "output": "c!"},
    ])
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "ok", result.error
    assert "b!" in result.outputs["r"] and "a!" not in result.outputs["r"]


def test_parallel_for_on_fail_continue_keeps_going(tmp_path: Path) -> None:
    program = ('let items = ["A", "B"]\nlet r = parallel for x in items (on-fail: continue):\n  session "Try {x}"\n'
               'session "After"\n')
    backend = scripted(sessions=[{"match": "Try A", "fail": "A broke"}, {"match": "Try B", "output": "b!"}])
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "ok", result.error
    assert "After" in [r.prompt for r in backend.requests]


# -------------------------------------------------------------- CLI profiles


def _prose(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prose_cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, input=stdin)


def test_strict_applies_the_spec_rules(tmp_path: Path) -> None:
    program = tmp_path / "p.prose"
    program.write_text('session "Hello {nobody}"\ninput late: "asked mid-run"\nsession """\nrun \\\n  now\n"""\n')
    lenient = _prose("check", "--format", "json", str(program), cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stdout
    assert [r["code"] for r in json.loads(lenient.stdout)] == ["W113"]
    strict = _prose("check", "--strict", "--format", "json", str(program), cwd=tmp_path)
    assert strict.returncode == 1
    got = [(r["code"], r["line"], r["column"], r["severity"]) for r in json.loads(strict.stdout)]
    assert got == [("E101", 1, 17, "error"), ("E022", 2, 7, "error"), ("E002", 4, 5, "error")]


def test_fmt_on_a_broken_file_reports_the_first_error_with_its_code(tmp_path: Path) -> None:
    program = tmp_path / "broken.prose"
    text = 'agent a:\n  model: sonnet\nlet x = session "a"\n   session "b"\nsession "c" "d"\n'
    program.write_text(text)
    done = _prose("fmt", "--check", str(program), cwd=tmp_path)
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{program}:4:1: error[E005]: indented 3 spaces, expected 0"), done.stderr
    assert program.read_text() == text


def test_cli_reports_indentation_on_the_offending_line(tmp_path: Path) -> None:
    program = tmp_path / "indent.prose"
    program.write_text('agent a:\n  model: sonnet\n   prompt: "x"\nsession "go"\n\tcontext: a\n')
    done = _prose("check", "--no-snippets", str(program), cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{program}:3:1: error[E005]: indented 3 spaces, expected 2 or 0")
    assert lines[1].startswith(f"{program}:5:1: error[E118]: indentation uses a tab")
    assert lines[2] == "2 errors, 0 warnings in 1 file"
    program.write_text('agent a:\n  model: sonnet\n  prompt: "x"\nsession "go"\n\tcontext: a\n')
    assert _prose("fmt", str(program), cwd=tmp_path).returncode == 0  # the tab parses: fmt converts it
    assert program.read_text() == 'agent a:\n  model: sonnet\n  prompt: "x"\nsession "go"\n  context: a\n'
    assert _prose("check", str(program), cwd=tmp_path).returncode == 0


def test_bare_prompt_under_session_agent_is_its_prompt(tmp_path: Path) -> None:
    program = 'agent researcher:\n  model: sonnet\nlet s = session: researcher\n  """\n  Dig into the topic.\n  """\n'
    backend = scripted()
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "ok", result.error
    assert [r.prompt.strip() for r in backend.requests] == ["Dig into the topic."]


def test_values_below_keys_reach_the_session(tmp_path: Path) -> None:
    program = 'session "Go"\n  model:\n    opus\n  retry:\n    2\n'
    backend = scripted()
    result, _ = trio.run(run, tmp_path, program, backend)
    assert result.status == "ok", result.error
    assert backend.requests[0].model is not None and "opus" in backend.requests[0].model
