"""Recovery that stays local.

Every program of the shared corpus gets each of a dozen kinds of mistake at
several seeded positions. After each one, every diagnostic that the clean
program does not have must lie on the mistake's own line, and the rest of
the program must keep working in the editor: its outline symbols, its
folding ranges and hover on its definitions are unchanged away from the
mistake. The rate per kind is printed in the "measured" section of the
test output and must be 100% for every kind listed here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import tree_sitter as ts

from openprose.analysis import Analysis, analyze
from openprose.syntax import parse, walk
from openprose_lsp.hover import hover
from openprose_lsp.positions import Text
from openprose_lsp.symbols import document_symbols, folding_ranges

from . import report
from .tshelpers import CORPUS

PROGRAMS = sorted(CORPUS.glob("*.prose"))
POSITIONS = 6  # per program and kind
SEED = 11

_STATEMENTS = frozenset({
    "use_statement", "import_statement", "input_declaration", "output_statement", "agent_definition",
    "block_definition", "let_statement", "const_statement", "assignment", "if_statement", "try_statement",
    "throw_statement", "assert_statement", "choice_block", "expression_statement",
})
_OPENERS = frozenset({
    "agent_definition", "block_definition", "if_statement", "elif_clause", "else_clause", "try_statement",
    "catch_clause", "finally_clause", "choice_block", "option_clause", "parallel_block", "parallel_for",
    "for_loop", "repeat_loop", "loop", "do_expression",
})


@dataclass
class Program:
    lines: list[str]
    starts: dict[int, ts.Node]  # row -> the statement or property that starts that line
    tree: ts.Tree


@dataclass
class Mutation:
    lines: list[str]
    rows: set[int]  # the mistake's rows in the mutated program
    inserted_at: int | None  # a line inserted before this (clean) row shifts the rows below it


def _load(path: Path) -> Program:
    text = path.read_text(encoding="utf-8")
    tree = parse(text.encode())
    lines = text.split("\n")
    starts: dict[int, ts.Node] = {}
    for node in walk(tree.root_node):
        if node.type in _STATEMENTS or node.type == "property":
            row, col = node.start_point
            line = lines[row]
            if col == len(line) - len(line.lstrip(" ")) and row not in starts and line.isascii():
                starts[row] = node
    return Program(lines, starts, tree)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _statement_rows(p: Program) -> list[int]:
    return [r for r, n in p.starts.items() if n.type in _STATEMENTS]


def _property_rows(p: Program) -> list[int]:
    return [r for r, n in p.starts.items() if n.type == "property"]


def _with(p: Program, row: int, text: str) -> list[str]:
    return [*p.lines[:row], text, *p.lines[row + 1 :]]


def _insert(p: Program, row: int, text: str) -> Mutation:
    return Mutation([*p.lines[:row], text, *p.lines[row:]], {row}, row)


def _in_place(p: Program, row: int, text: str) -> Mutation:
    return Mutation(_with(p, row, text), {row}, None)


# Each kind returns the rows it can apply to and how to apply it at one of them.
Kind = tuple[Callable[[Program], list[int]], Callable[[Program, int], Mutation]]


def _not_first_in_body(p: Program) -> list[int]:
    rows = []
    for row in _statement_rows(p):
        prev = p.starts[row].prev_named_sibling
        if prev is not None and prev.type in _STATEMENTS and prev.start_point[1] == p.starts[row].start_point[1]:
            rows.append(row)
    return rows


def _last_in_nested_body(p: Program) -> list[int]:
    rows = []
    for row in _statement_rows(p):
        node = p.starts[row]
        prev = node.prev_named_sibling
        if (node.start_point[1] >= 4 and node.next_named_sibling is None and node.parent is not None
                and node.parent.type == "block" and prev is not None and prev.type in _STATEMENTS):
            # (the only statement of a body may sit at any deeper column: not a mistake)
            rows.append(row)
    return rows


def _later_properties(p: Program) -> list[int]:
    rows = []
    for row in _property_rows(p):
        prev = p.starts[row].prev_named_sibling
        if prev is not None and prev.type == "property" and _indent(p.lines[row]) >= 2:
            rows.append(row)
    return rows


def _one_line_strings(p: Program) -> list[int]:
    rows = []
    for row in p.starts:
        for node in walk(p.starts[row]):
            if node.type == "string" and node.start_point[0] == row == node.end_point[0] and not (node.text or b"").startswith(b'"""'):
                rows.append(row)
                break
    return sorted(set(rows))


def _drop_closing_quote(p: Program, row: int) -> Mutation:
    strings = [n for n in walk(p.starts[row]) if n.type == "string" and n.start_point[0] == row == n.end_point[0]]
    last = strings[-1]
    line = p.lines[row]
    end = last.end_point[1]
    return _in_place(p, row, line[: end - 1] + line[end:])


def _openers(p: Program) -> list[int]:
    rows = []
    for row, node in p.starts.items():
        inner = node.named_children[0] if node.type == "expression_statement" and node.named_children else node
        if (inner.type in _OPENERS or node.type in _OPENERS) and p.lines[row].rstrip().endswith(":"):
            rows.append(row)
    return rows


def _drop_colon(p: Program, row: int) -> Mutation:
    line = p.lines[row].rstrip()
    return _in_place(p, row, line[:-1])


def _one_line_values(p: Program) -> list[int]:
    rows = []
    for row in _property_rows(p):
        node = p.starts[row]
        value = node.child_by_field_name("value")
        if value is not None and node.end_point[0] <= row + 1 and value.end_point[0] == row and node.child_by_field_name("properties") is None:
            rows.append(row)
    return rows


def _drop_value(p: Program, row: int) -> Mutation:
    value = p.starts[row].child_by_field_name("value")
    assert value is not None
    return _in_place(p, row, p.lines[row][: value.start_point[1]].rstrip())


def _bare_sessions(p: Program) -> list[int]:
    rows = []
    for row in _statement_rows(p):
        line = p.lines[row].lstrip()
        node = p.starts[row]
        if line.startswith('session "') and node.end_point[0] == row:
            rows.append(row)
    return rows


def _arrays(p: Program) -> list[int]:
    rows = []
    for row in p.starts:
        for node in walk(p.starts[row]):
            if node.type == "array" and node.start_point[0] == row == node.end_point[0]:
                rows.append(row)
                break
    return sorted(set(rows))


def _drop_bracket(p: Program, row: int) -> Mutation:
    arrays = [n for n in walk(p.starts[row]) if n.type == "array" and n.start_point[0] == row == n.end_point[0]]
    end = arrays[-1].end_point[1]
    line = p.lines[row]
    return _in_place(p, row, line[: end - 1] + line[end:])


def _before_statement_keyword(p: Program) -> list[int]:
    rows = []
    ordered = sorted(_statement_rows(p))
    for row, nxt in zip(ordered, ordered[1:]):
        node = p.starts[row]
        # A half-typed sequence: `->` after a statement that ends with a value.
        if node.type not in ("let_statement", "const_statement", "assignment", "output_statement", "expression_statement"):
            continue
        if node.end_point[0] == row and p.lines[nxt].lstrip().split(" ")[0] in ("let", "const", "output", "agent", "if"):
            if _indent(p.lines[nxt]) == _indent(p.lines[row]):
                rows.append(row)
    return rows


def _indented(p: Program) -> list[int]:
    return [r for r in p.starts if _indent(p.lines[r]) >= 2]


KINDS: dict[str, Kind] = {
    "over-indented line": (_not_first_in_body, lambda p, r: _in_place(p, r, " " + p.lines[r])),
    "stray bare string": (_statement_rows, lambda p, r: _insert(p, r, " " * _indent(p.lines[r]) + '"stray text"')),
    "stray bare word": (lambda p: sorted(p.starts), lambda p, r: _insert(p, r, " " * _indent(p.lines[r]) + "strayword")),
    "unterminated string": (_one_line_strings, _drop_closing_quote),
    "half-typed parallel (": (_statement_rows, lambda p, r: _insert(p, r, " " * _indent(p.lines[r]) + "parallel (")),
    "missing ':'": (_openers, _drop_colon),
    "dedent to no level": (_last_in_nested_body, lambda p, r: _in_place(p, r, p.lines[r][1:])),
    "property dedented to no level": (_later_properties, lambda p, r: _in_place(p, r, p.lines[r][1:])),
    "a tab": (_indented, lambda p, r: _in_place(p, r, "\t" + p.lines[r][2:])),
    "unknown property": (_property_rows, lambda p, r: _insert(p, r, " " * _indent(p.lines[r]) + "colour: blue")),
    "missing value": (_one_line_values, _drop_value),
    "misspelled keyword": (_bare_sessions, lambda p, r: _in_place(p, r, p.lines[r].replace("session", "sesion", 1))),
    "unclosed bracket": (_arrays, _drop_bracket),
    "dangling ->": (_before_statement_keyword, lambda p, r: _in_place(p, r, p.lines[r] + " ->")),
}


# ---------------------------------------------------------------- comparing


def _mapper(mutation: Mutation) -> Callable[[int], int]:
    at = mutation.inserted_at
    return (lambda row: row + 1 if row >= at else row) if at is not None else (lambda row: row)


def _analysis(lines: list[str]) -> tuple[Analysis, Text]:
    source = "\n".join(lines).encode()
    return analyze(source), Text(source)


def _symbols(analysis: Analysis, text: Text) -> set[tuple[str, int, int]]:
    out = set()
    stack = list(document_symbols(analysis, text))
    while stack:
        sym = stack.pop()
        out.add((sym.name, int(sym.kind), sym.selection_range.start.line))
        stack.extend(sym.children or [])
    return out


def _folds(analysis: Analysis, text: Text) -> set[tuple[int, int]]:
    return {(f.start_line, f.end_line) for f in folding_ranges(analysis, text)}


@dataclass
class Outcome:
    local: bool
    detail: str = ""


def _judge(clean: tuple[Analysis, Text], mutation: Mutation) -> Outcome:
    move = _mapper(mutation)
    analysis, text = _analysis(mutation.lines)
    rows = mutation.rows
    before = Counter((d.code, move(d.span.start_row)) for d in clean[0].diagnostics)
    after = Counter((d.code, d.span.start_row) for d in analysis.diagnostics)
    stray = [(code, row) for (code, row), n in (after - before).items() if row not in rows]
    if stray:
        message = next(d.message for d in analysis.diagnostics if (d.code, d.span.start_row) == stray[0])
        return Outcome(False, f"diagnostic off the mistake's line: {stray[0]} {message}")
    if not any(d.span.start_row in rows for d in analysis.diagnostics):
        return Outcome(False, "the mistake got no diagnostic")
    near = rows | {r - 1 for r in rows} | {r + 1 for r in rows}
    wanted = {(name, kind, move(line)) for name, kind, line in _symbols(*clean)}
    lost = {s for s in wanted - _symbols(analysis, text) if s[2] not in near}
    if lost:
        return Outcome(False, f"symbols lost: {sorted(lost)[:3]}")
    folds = {(move(a), move(b)) for a, b in _folds(*clean)}
    kept = _folds(analysis, text)
    # A fold next to the mistake may grow to take the mistaken line in; any other must stay as it was.
    grown = {(a, b) for a, b in folds if any((a, r) in kept for r in rows if r > b)}
    missing = {f for f in folds - kept - grown if not any(f[0] - 1 <= r <= f[1] + 1 for r in rows)}
    if missing:
        return Outcome(False, f"folding lost: {sorted(missing)[:3]}")
    for name, _, line in sorted(wanted)[:5]:
        if line in near:
            continue
        line_text = text.line_bytes(line)
        col = line_text.find(name.encode())
        if col < 0:
            continue
        if hover(analysis, text, text.line_start(line) + col) is None:
            return Outcome(False, f"no hover on '{name}' at line {line + 1}")
    return Outcome(True)


def _run_kind(kind: str) -> tuple[int, int, list[str]]:
    candidates, apply = KINDS[kind]
    rng = random.Random(f"{SEED}:{kind}")
    total = ok = 0
    failures: list[str] = []
    for path in PROGRAMS:
        program = _load(path)
        rows = candidates(program)
        if not rows:
            continue
        clean = _analysis(program.lines)
        for row in rng.sample(rows, min(POSITIONS, len(rows))):
            outcome = _judge(clean, apply(program, row))
            total += 1
            ok += outcome.local
            if not outcome.local:
                failures.append(f"{path.name}:{row + 1}: {outcome.detail}")
    return total, ok, failures


@pytest.mark.parametrize("kind", list(KINDS))
def test_mistake_stays_on_its_line(kind: str) -> None:
    total, ok, failures = _run_kind(kind)
    report.record(f"recovery [{kind}]: {ok}/{total} mistakes stayed local ({100.0 * ok / max(total, 1):.1f}%)")
    assert total >= 20, f"only {total} positions for {kind}"
    assert ok == total, failures[:10]
