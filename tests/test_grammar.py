"""The grammar: corpus cases, real programs, the design document's parallel
examples in both spellings, and error recovery confined to the broken line."""

from __future__ import annotations

import re

import pytest
import tree_sitter as ts

from openprose.syntax import LANGUAGE, parse

from .tshelpers import CORPUS, GRAMMAR, SHARED, problem_nodes, read_corpus_cases, sexp

CASES = read_corpus_cases(GRAMMAR / "test" / "corpus")


def test_language_is_abi_14() -> None:
    assert LANGUAGE.abi_version == 14


def test_corpus_files_have_cases() -> None:
    assert len(CASES) >= 30
    assert {c.file for c in CASES} >= {"basics.txt", "definitions.txt", "parallel.txt", "control.txt", "errors.txt"}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}:{c.name}" for c in CASES])
def test_corpus_case(case, parser: ts.Parser) -> None:
    tree = parser.parse(case.source.encode("utf-8"))
    assert sexp(tree.root_node) == case.expected
    if not case.name.startswith("Error"):
        assert not tree.root_node.has_error


PROGRAMS = sorted(CORPUS.glob("*.prose"))


def test_shared_corpus_present() -> None:
    assert len(PROGRAMS) == 50


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_real_program_parses_cleanly(path, parser: ts.Parser) -> None:
    tree = parser.parse(path.read_bytes())
    problems = problem_nodes(tree.root_node)
    assert not problems, [(n.type, n.start_point) for n in problems]


# ------------------------------------------------- design document examples

def _design_examples() -> list[str]:
    text = (SHARED / "design" / "parallel-execution.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", text, re.S)
    return [b for b in blocks if "parallel" in b]


_QUOTED = re.compile(r'"(all|first|any|regardless|fail-fast|continue|ignore)"')
_MODS = re.compile(r"parallel \(([^)]*)\):")


def _quote(example: str) -> str:
    def fix(match: re.Match[str]) -> str:
        inner = re.sub(r'(?<!["\w-])(all|first|any|regardless|fail-fast|continue|ignore)(?![\w"-])', r'"\1"', match.group(1))
        return f"parallel ({inner}):"

    return _MODS.sub(fix, example)


def _unquote(example: str) -> str:
    return _QUOTED.sub(r"\1", example)


EXAMPLES = _design_examples()


def test_design_examples_found() -> None:
    assert len(EXAMPLES) >= 6
    assert any("(first)" in e for e in EXAMPLES) and any("on-fail: continue" in e for e in EXAMPLES)


@pytest.mark.parametrize("spelling", ["bare", "quoted"])
@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_design_example_parses_in_both_spellings(index: int, spelling: str, parser: ts.Parser) -> None:
    example = EXAMPLES[index]
    source = _unquote(example) if spelling == "bare" else _quote(example)
    if spelling == "quoted" and "(" in example:
        assert '"' in source or "(on-fail" not in example
    tree = parser.parse(source.encode())
    problems = problem_nodes(tree.root_node)
    assert not problems, (source, [(n.type, n.start_point) for n in problems])


def test_quoted_and_bare_modifiers_have_same_shape(parser: ts.Parser) -> None:
    bare = parser.parse(b'parallel (any, count: 2, on-fail: continue):\n  session "a"\n')
    quoted = parser.parse(b'parallel ("any", count: 2, on-fail: "continue"):\n  session "a"\n')
    mods_bare = bare.root_node.named_children[0].named_children[0].child_by_field_name("modifiers")
    mods_quoted = quoted.root_node.named_children[0].named_children[0].child_by_field_name("modifiers")
    assert [m.child_by_field_name("key") is not None for m in mods_bare.named_children] == [False, True, True]
    assert [m.child_by_field_name("value").type for m in mods_bare.named_children] == ["identifier", "number", "identifier"]
    assert [m.child_by_field_name("value").type for m in mods_quoted.named_children] == ["string", "number", "string"]


# ----------------------------------------------------------- error recovery

BASE_BEFORE = 'agent helper:\n  model: sonnet\n  prompt: "You help"\n\nlet first = session "one"\n'
BASE_AFTER = 'let second = session "two"\n  context: first\nparallel:\n  a = session "A"\n  b = session "B"\n'

HALF_TYPED = {
    "unterminated string": 'session "unterminated\n',
    "unclosed modifiers": "parallel (first\n",
    "property without value": "agent other:\n  model:\n",
    "half a let": "let x =\n",
    "stray operator": "session +\n",
    "half a session": "session\n",
    "dangling arrow": 'session "a" ->\n',
}


def _top_level(tree: ts.Tree) -> list[str]:
    return [sexp(child) for child in tree.root_node.named_children if not child.is_error]


@pytest.mark.parametrize("name", list(HALF_TYPED))
def test_half_typed_line_keeps_rest_of_program(name: str, parser: ts.Parser) -> None:
    broken = HALF_TYPED[name]
    clean = parser.parse((BASE_BEFORE + BASE_AFTER).encode())
    source = BASE_BEFORE + broken + BASE_AFTER
    tree = parser.parse(source.encode())
    broken_rows = set(range(BASE_BEFORE.count("\n"), BASE_BEFORE.count("\n") + broken.count("\n")))
    for node in problem_nodes(tree.root_node):
        assert node.start_point[0] in broken_rows, (name, node.type, node.start_point, node.end_point)
        assert node.end_point[0] in broken_rows | {max(broken_rows) + 1}, (name, node.start_point, node.end_point)
    expected = _top_level(clean)
    got = _top_level(tree)
    # Every statement of the clean program is still there, unchanged, in order.
    it = iter(got)
    assert all(any(stmt == g for g in it) for stmt in expected), (name, got)


def test_stray_dedent_is_reported_but_parses(parser: ts.Parser) -> None:
    source = b'parallel:\n    session "a"\n  session "b"\nsession "c"\n'
    tree = parser.parse(source)
    assert not tree.root_node.has_error
    from openprose.analysis import analyze

    diags = analyze(source).diagnostics
    assert [(d.code, d.span.start_row) for d in diags] == [("E005", 2)]


def test_empty_parallel_parses_without_error(parser: ts.Parser) -> None:
    for source in (b"parallel:\n", b"parallel:\n  # nothing yet\nsession \"x\"\n", b"parallel (first):\n"):
        tree = parser.parse(source)
        assert not tree.root_node.has_error, source


# --------------------------------------------------------------- incremental

def test_incremental_reparse_matches_fresh_parse() -> None:
    source = (CORPUS / "19-advanced-parallel.prose").read_bytes()
    tree = parse(source)
    pos = source.index(b'parallel ("first")') + len(b'parallel ("')
    edited = source[:pos] + b"x" + source[pos:]
    row = source.count(b"\n", 0, pos)
    col = pos - (source.rfind(b"\n", 0, pos) + 1)
    tree.edit(
        start_byte=pos, old_end_byte=pos, new_end_byte=pos + 1,
        start_point=(row, col), old_end_point=(row, col), new_end_point=(row, col + 1),
    )
    again = parse(edited, tree)
    assert sexp(again.root_node) == sexp(parse(edited).root_node)


# The top-level statements are grouped into hidden chunks and sections (grammar.js, source_file)
# so that a reparse reuses the groups an edit does not touch. These edits go where the groups'
# ends are decided: at the start of top-level lines, whose first bytes the scanner hashes.
_EDITS = (b"x", b"y", b"\n", b"  ", b"=", b":", b'"', b"#", b"else:\n", b"let", b"let q = 1\n", b"->", b"(")


def _point(source: bytes, offset: int) -> tuple[int, int]:
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def test_incremental_reparses_match_fresh_parses_over_many_edits() -> None:
    import random
    import sys

    sys.path.insert(0, str(GRAMMAR.parent / "bench"))
    from generate import generate_program

    programs = [generate_program(1500, seed=11).encode(), (CORPUS / "28-gas-town.prose").read_bytes(),
                (CORPUS / "22-error-handling.prose").read_bytes()]
    for index, source in enumerate(programs):
        rng = random.Random(index)
        tree = parse(source)
        for step in range(60):
            line_starts = [0] + [i + 1 for i, byte in enumerate(source) if byte == 10]
            if rng.random() < 0.6:  # within the first bytes of a line
                start = min(len(source), rng.choice(line_starts) + rng.randrange(12))
            else:
                start = rng.randrange(len(source) + 1)
            if rng.random() < 0.5:
                end, text = start, rng.choice(_EDITS)
            else:
                end, text = min(len(source), start + rng.randrange(1, 6)), b""
            edited = source[:start] + text + source[end:]
            tree.edit(start_byte=start, old_end_byte=end, new_end_byte=start + len(text),
                      start_point=_point(source, start), old_end_point=_point(source, end),
                      new_end_point=_point(edited, start + len(text)))
            tree = parse(edited, tree)
            assert sexp(tree.root_node) == sexp(parse(edited).root_node), (index, step)
            source = edited


def _reparse_actions(source: bytes, offset: int) -> int:
    """Tokens taken, shifts and reductions of one reparse after a character is inserted at `offset`."""
    parser = ts.Parser(LANGUAGE)
    tree = parser.parse(source)
    row, col = _point(source, offset)
    tree.edit(start_byte=offset, old_end_byte=offset, new_end_byte=offset + 1, start_point=(row, col),
              old_end_point=(row, col), new_end_point=(row, col + 1))
    count = 0

    def log(kind: ts.LogType, message: str) -> None:
        nonlocal count
        count += message.startswith(("reuse_node", "lexed_lookahead", "shift", "reduce"))

    parser.logger = log
    parser.parse(source[:offset] + b"x" + source[offset:], tree)
    return count


def test_the_work_of_an_incremental_reparse_does_not_grow_with_the_file() -> None:
    """A count of parser actions, not a time: with a flat list of top-level statements it grew
    with the file (every statement re-shifted and re-reduced); it must stay about the same."""
    import sys

    sys.path.insert(0, str(GRAMMAR.parent / "bench"))
    from generate import generate_program

    def worst(lines: int) -> int:
        source = generate_program(lines).encode()
        offsets = [source.index(b'session "', int(len(source) * where)) + len(b'session "')
                   for where in (0.02, 0.3, 0.5, 0.7, 0.95)]
        return max(_reparse_actions(source, offset) for offset in offsets)

    small, large = worst(2000), worst(40000)  # about 520 and 10,400 top-level statements
    assert large < 3 * small, (small, large)
    assert large < 2000, large
