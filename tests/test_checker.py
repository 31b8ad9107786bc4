"""Every diagnostic code fires on a minimal program, at the expected place,
and the real programs in the shared corpus check without errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openprose import codes
from openprose.analysis import analyze
from openprose.diagnostics import LineIndex, Severity

from .tshelpers import CORPUS

A = 'agent a:\n  model: sonnet\n  prompt: "p"\n'
P = 'agent keeper:\n  model: sonnet\n  persist: true\n'

# code -> (program, line, column) with 1-based line and character column.
CASES: dict[str, tuple[str, int, int]] = {
    "E001": ('session "never closed\nsession "b"\n', 1, 9),
    "E002": ('session "bad \\q escape"\n', 1, 14),
    "E003": ("session\n", 1, 1),
    "E004": ('agent a:\n  model: sonnet\nsession "a" "b"\n', 3, 9),
    "E005": ("let x =\n", 1, 7),
    "E006": (A + A, 4, 7),
    "E007": ("session: ghost\n", 1, 10),
    "E008": ('agent a:\n  model: gpt\n', 2, 10),
    "E009": ('agent a:\n  model: sonnet\n  model: opus\n', 3, 3),
    "E010": ('use "@a/b"\nuse "@a/b"\n', 2, 5),
    "E011": ('use ""\n', 1, 5),
    "E012": ('use "not a path"\n', 1, 5),
    "E013": ('agent a:\n  skills: "web"\n', 2, 11),
    "E014": ('import "web" from "npm:web"\nagent a:\n  skills: [web]\n', 3, 12),
    "E015": ('agent a:\n  permissions: deny\n', 2, 3),
    "E016": ('agent a:\n  permissions:\n    read: [1]\n', 3, 12),
    "E017": (A + 'resume: a\n  prompt: "go on"\n', 4, 9),
    "E019": ('let x = session "a"\nlet x = session "b"\n', 2, 5),
    "E020": ('input : "no name"\nsession "a"\n', 1, 1),
    "E021": ('input x: "one"\ninput x: "two"\n', 2, 7),
    "E022": ('block b(y):\n  input x: "inside"\n', 2, 9),
    "E023": ('output = session "x"\n', 1, 8),
    "E024": ('output r = session "a"\noutput r = session "b"\n', 2, 8),
    "E025": ('let r = research(topic: "x")\n', 1, 9),
    "E026": ('use "./lib.prose" as lib\nlet r = lib()\n', 2, 9),
    "E027": ('use "./lib.prose" as lib\nlet r = lib(topic: "x", depht: 2)\n', 2, 25),
    "E028": ('use "./lib.prose" as lib\nlet r = lib(topic: "x")\nsession "s"\n  context: r.sumary\n', 4, 14),
    "W001": ('session ""\n', 1, 9),
    "W002": ('session "   "\n', 1, 9),
    "W003": ('session "' + "x" * 10_001 + '"\n', 1, 9),
    "W004": ('session: a\n  prompt: ""\n' + A, 2, 11),
    "W005": ('agent a:\n  modle: sonnet\n', 2, 3),
    "W006": ('import "web" from "ftp-thing"\n', 1, 19),
    "W007": ('agent a:\n  skills: ["web"]\n', 2, 12),
    "W008": ('agent a:\n  permissions:\n    reed: ["*"]\n', 3, 5),
    "W009": ('agent a:\n  permissions:\n    bash: sometimes\n', 3, 11),
    "W010": ('agent a:\n  skills: []\n', 2, 11),
    # parallel rules (our own codes)
    "P001": ('parallel (frist):\n  session "a"\n', 1, 11),
    "P002": ('parallel (on-fail: contine):\n  session "a"\n', 1, 20),
    "P003": ('parallel (first, any):\n  session "a"\n', 1, 18),
    "P004": ('parallel (first, count: 2):\n  session "a"\n  session "b"\n', 1, 18),
    "P005": ('parallel (any, count: 0):\n  session "a"\n', 1, 23),
    "P006": ('parallel (any, count: 3):\n  session "a"\n  session "b"\n', 1, 23),
    "P007": ('parallel:\nsession "after"\n', 1, 1),
    "P008": ('parallel (on-fial: continue):\n  session "a"\n', 1, 11),
    "P009": ('parallel (on-fail:):\n  session "a"\n', 1, 11),
    "P010": ('parallel:\n  a = session "A"\n  a = session "B"\n', 3, 3),
    # other rules of our own
    "E101": ('session "a"\n  context: missing\n', 2, 12),
    "E102": ("do nothing-here\n", 1, 4),
    "E103": ('const c = session "a"\nc = session "b"\n', 2, 1),
    "E104": ('else:\n  session "a"\n', 1, 1),
    "E105": ('try:\n  session "a"\n', 1, 1),
    "E106": ('repeat 0:\n  session "a"\n', 1, 8),
    "E107": ('loop (max: 0):\n  session "a"\n', 1, 12),
    "E108": ('if ** **:\n  session "a"\n', 1, 4),
    "E109": ('choice **which**:\n  session "a"\n', 1, 8),
    "E110": ('session "a"\n  retry: 0\n', 2, 10),
    "E111": ('session "a"\n  backoff: quadratic\n', 2, 12),
    "E112": (A + 'let a = session "x"\n', 4, 5),
    "E113": ('block b:\n  session "x"\nblock b:\n  session "y"\n', 3, 7),
    "E114": ('let r = [1] | mapp:\n  session "x"\n', 1, 15),
    "E115": ('session "a"\n  context: ["literal"]\n', 2, 13),
    "E116": ('agent a:\n  persist: forever\n', 2, 12),
    "E117": ('use "./missing-program.prose" as gone\n', 1, 5),
    "E118": ('session "a"\n\tcontext: x\nlet x = 1\n', 2, 1),
    "E120": ('agent a:\n  max_tokens: lots\n', 2, 15),
    "E121": ('session "a"\n  effort: extreme\n', 2, 11),
    "W101": ('loop:\n  session "a"\n', 1, 1),
    "W102": ('loop until **ok**:\n  session "a"\n', 1, 12),
    "W103": ('let item = session "a"\nfor item in [1]:\n  session "b"\n', 2, 5),
    "W104": ('block b(x):\n  session "{x}"\ndo b(1, 2)\n', 3, 1),
    "W105": ('choice **which**:\n  option "A":\n    session "x"\n  option "A":\n    session "y"\n', 4, 10),
    "W106": ('if **ready**:\nsession "x"\n', 1, 1),
    "W107": ('throw ""\n', 1, 7),
    "W108": ('session "a"\n  retry: 11\n', 2, 10),
    "W109": ('agent a:\n  retry: 2\n', 2, 3),
    "W110": ('input topic: ""\n', 1, 7),
    "W111": ('use "@alice/research"\n', 1, 5),
    "W112": ('let n = 0\nrepeat 2:\n  let n = n + 1\n', 3, 7),
    "W113": ('session "Hello {nobody}"\n', 1, 17),
    "W114": ('import "helper" from "./no-such-skill"\nagent a:\n  skills: ["helper"]\n', 1, 22),
    "W115": ('session "a"\n"stray text"\n', 2, 1),
}

LIB = 'input topic: "t"\ninput depth: "d"\noutput summary = session "s {topic} {depth}"\n'


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_fires_at_expected_place(code: str, tmp_path: Path) -> None:
    program, line, column = CASES[code]
    (tmp_path / "lib.prose").write_text(LIB.replace('input depth: "d"\n', "") if code == "E026" else LIB)
    path = tmp_path / "main.prose"
    path.write_text(program)
    source = program.encode()
    analysis = analyze(source, path)
    index = LineIndex(source)
    hits = [
        (d.span.start_row + 1, index.char_col(d.span.start_row, d.span.start_col) + 1)
        for d in analysis.diagnostics
        if d.code == code
    ]
    assert (line, column) in hits, (code, hits, [(d.code, d.message) for d in analysis.diagnostics])
    expected = codes.TABLE[code].severity
    assert expected is (Severity.WARNING if code[0] == "W" or code == "P006" else Severity.ERROR)
    assert {d.severity for d in analysis.diagnostics if d.code == code} == {expected}


def test_every_documented_code_has_a_case() -> None:
    """Every code in the table (which generates the docs page) that a check can report fires in CASES."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "diagnostics.md").read_text()
    documented = set(re.findall(r'<a id="[a-z0-9]+"></a>([A-Z0-9]+) \|', page))
    assert documented == set(codes.TABLE)
    runtime_only = {code.id for code in codes.TABLE.values() if code.phase is codes.Phase.RUN}
    assert runtime_only == {"E018", "W011", "RUN", "W116", "EMPTY", "TRUNCATED", "PRICES"}
    assert documented - runtime_only == set(CASES)


@pytest.mark.parametrize("spelling", ["bare", "quoted"])
def test_parallel_rules_in_both_spellings(spelling: str) -> None:
    q = (lambda w: f'"{w}"') if spelling == "quoted" else (lambda w: w)
    programs = {
        "P001": f"parallel ({q('frist')}):\n  session \"a\"\n",
        "P002": f"parallel (on-fail: {q('contine')}):\n  session \"a\"\n",
        "P003": f"parallel ({q('first')}, {q('any')}):\n  session \"a\"\n",
        "P004": f"parallel ({q('all')}, count: 1):\n  session \"a\"\n",
        "P006": f"parallel ({q('any')}, count: 2):\n  session \"a\"\n",
    }
    for code, program in programs.items():
        analysis = analyze(program.encode())
        assert [d.code for d in analysis.diagnostics] == [code], (spelling, program, analysis.diagnostics)
    for valid in (
        f"parallel ({q('first')}):\n  session \"a\"\n",
        f"parallel ({q('any')}, count: 2, on-fail: {q('ignore')}):\n  session \"a\"\n  session \"b\"\n",
        f"parallel ({q('regardless')}):\n  session \"only one\"\n",
        f"parallel (on-fail: {q('fail-fast')}):\n  session \"a\"\n",
    ):
        assert analyze(valid.encode()).diagnostics == [], valid


def test_typo_fix_keeps_spelling() -> None:
    bare = analyze(b'parallel (frist):\n  session "a"\n').diagnostics[0]
    quoted = analyze(b'parallel ("frist"):\n  session "a"\n').diagnostics[0]
    assert bare.fixes[0].edits[0].new_text == "first"
    assert quoted.fixes[0].edits[0].new_text == '"first"'
    assert (quoted.span.start_col, quoted.span.end_col) == (10, 17)


def test_undefined_agent_offers_definition() -> None:
    diag = next(d for d in analyze(b'session "x"\nsession: writer\n').diagnostics if d.code == "E007")
    titles = [f.title for f in diag.fixes]
    assert "Define agent 'writer'" in titles
    edit = diag.fixes[-1].edits[0]
    assert edit.span.start_byte == 0 and edit.new_text.startswith("agent writer:\n")


def test_unknown_model_suggests_closest() -> None:
    diag = analyze(b"agent a:\n  model: sonet\n").diagnostics[0]
    assert diag.fixes[0].edits[0].new_text == "sonnet"


def test_duplicate_carries_related_first_definition() -> None:
    diag = next(d for d in analyze(b'let x = session "a"\nlet x = session "b"\n').diagnostics if d.code == "E019")
    assert diag.related and diag.related[0].span.start_row == 0


def test_let_in_exclusive_branches_is_one_binding() -> None:
    program = b'if **ready**:\n  let p = session "x"\nelse:\n  let p = session "y"\nsession "z"\n  context: p\n'
    assert analyze(program).diagnostics == []


def test_block_lets_are_local_and_results_escape() -> None:
    program = (
        b'block one:\n  let result = session "a"\n  output result\n'
        b'block two:\n  let result = session "b"\n  parallel:\n    docs = session "c"\n  output result\n'
        b'do two\nsession "use"\n  context: docs\n'
    )
    assert analyze(program).diagnostics == []


PROGRAMS = sorted(CORPUS.glob("*.prose"))


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_real_program_checks_without_errors(path: Path) -> None:
    analysis = analyze(path.read_bytes(), path)
    assert analysis.errors == []
