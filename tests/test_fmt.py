"""Formatter: canonical layout, meaning preservation and idempotence.

The corpus and property tests check the two promises every caller relies on
(the tree does not change, and formatting twice changes nothing); the
targeted tests pin down the canonical form itself, documented in
docs/formatting.md.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import tree_sitter as ts
import tree_sitter_openprose as tsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprose.analysis import analyze
from openprose.fmt import FormatError, format_source, syntax_signature

LANGUAGE = ts.Language(tsp.language())


def _find_corpus() -> Path | None:
    """The shared corpus lives next to the checkout, not inside it."""
    for ancestor in Path(__file__).resolve().parents:
        candidate = ancestor / "shared" / "corpus"
        if candidate.is_dir() and any(candidate.glob("*.prose")):
            return candidate
    return None


CORPUS = _find_corpus()
CORPUS_FILES = sorted(CORPUS.glob("*.prose")) if CORPUS else []


def has_error(text: str) -> bool:
    return ts.Parser(LANGUAGE).parse(text.encode()).root_node.has_error


def verbatim_rows(text: str) -> tuple[set[int], set[int]]:
    """Rows whose end, and rows whose start, fall inside a multi-line string
    or condition -- the only places layout rules do not apply."""
    ends: set[int] = set()
    starts: set[int] = set()
    stack = [ts.Parser(LANGUAGE).parse(text.encode()).root_node]
    while stack:
        node = stack.pop()
        if node.type in ("string", "condition"):
            first, last = node.start_point.row, node.end_point.row
            ends.update(range(first, last))
            starts.update(range(first + 1, last + 1))
        else:
            stack.extend(node.children)
    return ends, starts


def assert_clean_layout(formatted: str) -> None:
    """No trailing whitespace and no tabs in indentation, outside strings."""
    ends, starts = verbatim_rows(formatted)
    for row, line in enumerate(formatted.split("\n")):
        if row not in ends:
            assert line == line.rstrip(), f"trailing whitespace on line {row + 1}"
        if row not in starts:
            indentation = line[: len(line) - len(line.lstrip())]
            assert set(indentation) <= {" "} and len(indentation) % 2 == 0, f"bad indent on line {row + 1}"


def assert_well_formatted(source: str) -> str:
    """Format, then check the promises: same tree, no errors, a fixed point."""
    formatted = format_source(source)
    assert not has_error(formatted)
    assert syntax_signature(source.encode()) == syntax_signature(formatted.encode())
    assert format_source(formatted) == formatted
    assert formatted == "" or (formatted.endswith("\n") and not formatted.endswith("\n\n"))
    return formatted


def fmt(source: str) -> str:
    return assert_well_formatted(source)


# --------------------------------------------------------------------- corpus


@pytest.mark.skipif(not CORPUS_FILES, reason="shared corpus not found")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_programs_format_idempotently_and_keep_their_meaning(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not has_error(source)
    assert_clean_layout(assert_well_formatted(source))


@pytest.mark.skipif(not CORPUS_FILES, reason="shared corpus not found")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_layout_noise_does_not_change_the_canonical_form(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    noisy = _respace_tokens(_double_indentation(source), random.Random(path.name))
    assert syntax_signature(noisy.encode()) == syntax_signature(source.encode())
    assert format_source(noisy) == format_source(source)


def _double_indentation(text: str) -> str:
    _, starts = verbatim_rows(text)
    return "\n".join(
        line if row in starts else " " * (len(line) - len(line.lstrip(" "))) + line
        for row, line in enumerate(text.split("\n"))
    )


def _respace_tokens(text: str, rnd: random.Random) -> str:
    """Change the spaces between tokens on a line, never gluing two words
    (or a hyphen and a word, which would make one hyphenated identifier)."""
    source = text.encode()
    leaves = []
    stack = [ts.Parser(LANGUAGE).parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type in ("string", "condition", "comment") or node.child_count == 0:
            leaves.append(node)
        else:
            stack.extend(reversed(node.children))
    pieces, position = [], 0
    for left, right in zip(leaves, leaves[1:]):
        gap = source[left.end_byte : right.start_byte]
        if b"\n" in gap or right.type == "comment":
            continue
        edge = source[left.end_byte - 1 : left.end_byte] + source[right.start_byte : right.start_byte + 1]
        glue_risk = all(chr(c).isalnum() or chr(c) in '_"*-' for c in edge) or b"-" in edge
        pieces += [source[position : left.end_byte], b" " * rnd.randint(1 if glue_risk else 0, 3)]
        position = right.start_byte
    pieces.append(source[position:])
    return b"".join(pieces).decode()


def test_corpus_was_found() -> None:
    assert CORPUS_FILES, "expected ../shared/corpus/*.prose next to the checkout"


# ------------------------------------------------------------ indentation


def test_four_space_indentation_becomes_two() -> None:
    source = (
        "agent writer:\n"
        "    model: sonnet\n"
        "    permissions:\n"
        "        read: [\"docs/**\"]\n"
        "        bash: deny\n"
        "\n"
        "parallel:\n"
        "    a = session \"x\"\n"
        "    if **a failed**:\n"
        "        session \"retry\"\n"
        "            context: a\n"
    )
    assert fmt(source) == (
        "agent writer:\n"
        "  model: sonnet\n"
        "  permissions:\n"
        "    read: [\"docs/**\"]\n"
        "    bash: deny\n"
        "\n"
        "parallel:\n"
        "  a = session \"x\"\n"
        "  if **a failed**:\n"
        "    session \"retry\"\n"
        "      context: a\n"
    )


def test_odd_and_mixed_indentation_widths_are_normalised() -> None:
    source = (
        "block review(topic):\n"
        "   for item, i in items:\n"
        "        session \"a\"\n"
        "        repeat 3 as n:\n"
        "         session \"b\"\n"
        "   session \"c\"\n"
    )
    assert fmt(source) == (
        "block review(topic):\n"
        "  for item, i in items:\n"
        "    session \"a\"\n"
        "    repeat 3 as n:\n"
        "      session \"b\"\n"
        "  session \"c\"\n"
    )


def test_tab_indentation_becomes_spaces() -> None:
    source = "loop until **done** (max: 3):\n\tsession \"work\"\n\t\tmodel: opus\n\tthrow\n"
    assert fmt(source) == (
        "loop until **done** (max: 3):\n"
        "  session \"work\"\n"
        "    model: opus\n"
        "  throw\n"
    )


def test_try_catch_finally_clauses_align_with_their_statement() -> None:
    source = (
        "result = try:\n"
        "     session \"risky\"\n"
        "catch   as err :\n"
        "        session \"recover\"\n"
        "finally:\n"
        " session \"cleanup\"\n"
        "if **x**:\n"
        "    throw\n"
        "elif **y**:\n"
        "      throw \"why\"\n"
        "else :\n"
        "   do:\n"
        "         resume:  captain\n"
    )
    assert fmt(source) == (
        "result = try:\n"
        "  session \"risky\"\n"
        "catch as err:\n"
        "  session \"recover\"\n"
        "finally:\n"
        "  session \"cleanup\"\n"
        "if **x**:\n"
        "  throw\n"
        "elif **y**:\n"
        "  throw \"why\"\n"
        "else:\n"
        "  do:\n"
        "    resume: captain\n"
    )


# ----------------------------------------------------------------- spacing


def test_binding_spacing() -> None:
    assert fmt('x=session "a"\n') == 'x = session "a"\n'
    assert fmt('let   y   =x\nconst z= "k"\noutput  r =y\n') == (
        'let y = x\nconst z = "k"\noutput r = y\n'
    )
    assert fmt("let {a,b}=do  review( x,depth:2 )\n") == "let { a, b } = do review(x, depth: 2)\n"


def test_parallel_modifier_spacing_keeps_bare_and_quoted_spellings() -> None:
    assert fmt('parallel(first ,on-fail:continue):\n  session "a"\n') == (
        'parallel (first, on-fail: continue):\n  session "a"\n'
    )
    assert fmt('parallel ( "any" , count:2,on-fail : "ignore" ) :\n  session "a"\n') == (
        'parallel ("any", count: 2, on-fail: "ignore"):\n  session "a"\n'
    )


def test_property_list_and_object_spacing() -> None:
    source = 'session "s"\n  context:[a,b]\n  context:{a,b}\n  context : { }\n  retry:3\n'
    assert fmt(source) == (
        'session "s"\n  context: [a, b]\n  context: { a, b }\n  context: {}\n  retry: 3\n'
    )


def test_loop_headers_and_operators() -> None:
    source = (
        "loop until **done**(max:3)as i:\n"
        "  if not x and count+1>=-3 or (y):\n"
        "    session \"a\"->session \"b\"\n"
        "repeat n*2:\n"
        "  session \"c\"\n"
        "parallel for x ,i in items:\n"
        "  session \"d\"\n"
    )
    assert fmt(source) == (
        "loop until **done** (max: 3) as i:\n"
        "  if not x and count + 1 >= -3 or (y):\n"
        "    session \"a\" -> session \"b\"\n"
        "repeat n * 2:\n"
        "  session \"c\"\n"
        "parallel for x, i in items:\n"
        "  session \"d\"\n"
    )


def test_hyphenated_identifiers_are_not_split_into_subtraction() -> None:
    assert fmt("let x = on-fail - count\n") == "let x = on-fail - count\n"
    assert fmt("agent code-reviewer:\n  model: opus\n") == "agent code-reviewer:\n  model: opus\n"


def test_condition_text_is_kept_exactly() -> None:
    source = "if **  spaced   out **:\n  throw\nchoice **the {priority} one**:\n  option \"a\":\n    throw\n"
    assert fmt(source) == source


def test_headers_with_other_forms() -> None:
    source = (
        'use  "@alice/research"as research\n'
        'import "web-search"from "github:x/y"\n'
        "input topic :\"what to research\"\n"
        "session reviewer:critic\n"
        "  prompt:\"p\"\n"
        "session:critic\n"
        "block review( a,b ):\n"
        "  session \"r\"\n"
        "let res = call-program(topic:x, depth:member.field)\n"
    )
    assert fmt(source) == (
        'use "@alice/research" as research\n'
        'import "web-search" from "github:x/y"\n'
        'input topic: "what to research"\n'
        "session reviewer: critic\n"
        '  prompt: "p"\n'
        "session: critic\n"
        "block review(a, b):\n"
        '  session "r"\n'
        "let res = call-program(topic: x, depth: member.field)\n"
    )


# -------------------------------------------------------------- whitespace


def test_trailing_whitespace_is_removed() -> None:
    source = 'session "a"   \n  context: x \t\n# note   \n'
    assert fmt(source) == 'session "a"\n  context: x\n# note\n'


def test_crlf_becomes_lf() -> None:
    source = 'agent a:\r\n    model: opus\r\n\r\nsession "x"\r\n  prompt: """\r\n  body\r\n"""\r\n'
    assert fmt(source) == 'agent a:\n  model: opus\n\nsession "x"\n  prompt: """\n  body\n"""\n'


def test_blank_lines_are_collapsed_and_trimmed() -> None:
    source = '\n\n\nsession "a"\n\n\n\nsession "b"\nif x:\n\n\n  session "c"\n\n\n  session "d"\n\n\n\n'
    assert fmt(source) == 'session "a"\n\nsession "b"\nif x:\n  session "c"\n\n  session "d"\n'


def test_file_ends_with_exactly_one_newline() -> None:
    assert fmt('session "a"') == 'session "a"\n'
    assert fmt('session "a"\n\n\n') == 'session "a"\n'


def test_empty_and_blank_inputs_format_to_nothing() -> None:
    assert fmt("") == ""
    assert fmt("\n  \n\t\n") == ""


def test_byte_order_mark_is_dropped() -> None:
    assert fmt('\ufeffsession "a"\n') == 'session "a"\n'


# ----------------------------------------------------------------- strings


def test_triple_quoted_strings_are_copied_byte_for_byte() -> None:
    body = '"""\n      deeply\n\tTabbed  \n  back out   \n\n  {name} and \\" escape\n        """'
    source = f"agent a:\n        prompt: {body}   # why\nsession    {body}\n    context: x\n"
    formatted = fmt(source)
    assert formatted == f"agent a:\n  prompt: {body}  # why\nsession {body}\n  context: x\n"
    assert formatted.count(body) == 2


def test_string_contents_are_never_touched() -> None:
    source = 'session "  two  spaces, a # hash, \\t tab escape and {var}  "\n'
    assert fmt(source) == source


def test_triple_quoted_string_inside_a_list() -> None:
    source = 'session "x"\n  context: [ """\n  q\n""" , b ]\n'
    assert fmt(source) == 'session "x"\n  context: ["""\n  q\n""", b]\n'


def test_multiline_triple_star_condition_is_copied() -> None:
    source = "loop until ***\n   the reviewer\n      is happy *** :\n  session \"x\"\n"
    assert fmt(source) == "loop until ***\n   the reviewer\n      is happy ***:\n  session \"x\"\n"


# ---------------------------------------------------------------- comments


def test_comments_are_reindented_and_inline_gap_normalised() -> None:
    source = (
        "# header\n"
        "agent a:\n"
        "      # about the model\n"
        "    model: sonnet        # aligned comment\n"
        "    persist: true # tight comment\n"
        "# between\n"
        "parallel: # why parallel\n"
        "        # first branch\n"
        "        session \"a\"\n"
        "            # deep, still inside the block\n"
        "session \"b\"\n"
    )
    assert fmt(source) == (
        "# header\n"
        "agent a:\n"
        "  # about the model\n"
        "  model: sonnet  # aligned comment\n"
        "  persist: true  # tight comment\n"
        "# between\n"
        "parallel:  # why parallel\n"
        "  # first branch\n"
        "  session \"a\"\n"
        "  # deep, still inside the block\n"
        "session \"b\"\n"
    )


def test_comments_inside_multiline_objects_are_kept() -> None:
    source = (
        "session \"s\"\n"
        "  context: {   # the inputs\n"
        "     a,  # first\n"
        "       # an own-line comment\n"
        "     b:  x ,\n"
        "   }\n"
    )
    assert fmt(source) == (
        "session \"s\"\n"
        "  context: {  # the inputs\n"
        "    a,  # first\n"
        "    # an own-line comment\n"
        "    b: x,\n"
        "  }\n"
    )


def test_comment_inside_a_header_continues_it_one_level_deeper() -> None:
    source = "for item in # the source\n      items:\n      session \"a\"\n"
    assert fmt(source) == "for item in  # the source\n  items:\n  session \"a\"\n"


def test_empty_comment_and_comment_only_file() -> None:
    assert fmt("#\n   #   spaced\n") == "#\n#   spaced\n"


# ------------------------------------------------------------ multi-line lists


def test_multiline_array_is_one_entry_per_line_and_keeps_comma_choice() -> None:
    source = 'agent a:\n  skills: ["a", "b",\n        "c"]\n  read: [\n "x",\n "y",\n  ]\n'
    assert fmt(source) == (
        "agent a:\n"
        "  skills: [\n"
        '    "a",\n'
        '    "b",\n'
        '    "c"\n'
        "  ]\n"
        "  read: [\n"
        '    "x",\n'
        '    "y",\n'
        "  ]\n"
    )


def test_single_line_lists_stay_on_one_line_with_their_commas() -> None:
    assert fmt("let x = [a,b,]\n") == "let x = [a, b,]\n"
    assert fmt("let x = [{first:a,second:b}]\n") == "let x = [{ first: a, second: b }]\n"


def test_nested_multiline_lists_indent_per_level() -> None:
    source = "let x = {\na: [1,\n2],\nb: {c: 3}\n}\n"
    assert fmt(source) == "let x = {\n  a: [\n    1,\n    2\n  ],\n  b: { c: 3 }\n}\n"


def test_multiline_argument_list() -> None:
    source = "do review(\n    topic,\n  depth: 2)\nlet r = call-it(a,\n b)\n"
    assert fmt(source) == "do review(\n  topic,\n  depth: 2\n)\nlet r = call-it(\n  a,\n  b\n)\n"


# --------------------------------------------------------- continuation lines


def test_pipeline_stages_on_their_own_lines_are_indented_under_the_statement() -> None:
    source = (
        "let result = topics\n"
        "      | filter:\n"
        "          session \"trending?\"\n"
        "            context: item\n"
        "|   map:\n"
        "   session \"pitch\"\n"
        "  | reduce(acc,x):\n"
        "      session \"merge\"\n"
    )
    assert fmt(source) == (
        "let result = topics\n"
        "  | filter:\n"
        "    session \"trending?\"\n"
        "      context: item\n"
        "  | map:\n"
        "    session \"pitch\"\n"
        "  | reduce(acc, x):\n"
        "    session \"merge\"\n"
    )


def test_single_line_pipeline_stays_single_line() -> None:
    source = "let pitches = ideas|map:\n    session \"pitch\"\n"
    assert fmt(source) == "let pitches = ideas | map:\n  session \"pitch\"\n"


def test_continuation_after_a_body_stays_outside_that_body() -> None:
    # A `->` at the depth of the properties above it would read as a property.
    source = 'session "a"\n    context: x\n-> session "b"\n        -> session "c"\n'
    assert fmt(source) == 'session "a"\n  context: x\n-> session "b"\n-> session "c"\n'
    source = "let z = items | map:\n  session \"q\"\n| filter:\n  session \"r\"\n"
    assert fmt(source) == source


def test_arrow_continuation_lines_are_kept() -> None:
    source = 'session "a" -> session "b"\n      -> session "c"\n'
    assert fmt(source) == 'session "a" -> session "b"\n  -> session "c"\n'


def test_comments_before_continuation_lines_follow_them() -> None:
    source = "let x = items\n# why filter\n   | filter:\n     session \"a\"\n"
    assert fmt(source) == "let x = items\n  # why filter\n  | filter:\n    session \"a\"\n"


# ------------------------------------------------------------------ errors


def test_syntax_error_is_reported_with_location_and_nothing_is_formatted() -> None:
    """The formatter refuses with the same first error `prose check` gives (one collector for both)."""
    source = 'session "ok"\nagent writer:\n  model sonnet\n'
    with pytest.raises(FormatError) as caught:
        format_source(source)
    first = [d for d in analyze(source.encode()).diagnostics if d.code in ("E004", "E005")][0]
    (line, column, message) = caught.value.errors[0]
    assert (line, column, message) == (first.span.start_row + 1, first.span.start_col + 1, first.message)
    assert (line, column) == (3, 1) and "indented 2 spaces" in message


def test_syntax_error_column_counts_characters_not_bytes() -> None:
    with pytest.raises(FormatError) as caught:
        format_source('session "héllo wörld"\nsession "é" foo\n')
    (line, column, message) = caught.value.errors[0]
    assert (line, column) == (2, 13)  # byte column 14: "é" is two bytes
    assert "unexpected text after the statement" in message


def test_missing_line_break_is_reported_where_the_next_statement_starts() -> None:
    with pytest.raises(FormatError) as caught:
        format_source('let x = 3\nsession "a" foo\n')
    assert [error[:2] for error in caught.value.errors] == [(2, 13)]


def test_unterminated_string_is_not_formatted() -> None:
    with pytest.raises(FormatError) as caught:
        format_source('session "a"\nsession "never closed   \n')
    assert caught.value.errors == [(2, 9, "unterminated string")]


@pytest.mark.parametrize(
    "source",
    [
        'session "a"\n  context: x\n->\n',
        'session "a" ->\n  session "b"\n',
        "let x =\nconst y=\n",
        'session "x" :\n    model: opus\nsession\n',
        "parallel (first\n  session \"a\"\n",
        "do review(a,\n",
        'session """never closed\n',
    ],
)
def test_half_typed_code_is_formatted_or_refused_but_never_crashes(source: str) -> None:
    try:
        formatted = format_source(source)
    except FormatError as error:
        assert error.errors
    else:
        assert not has_error(formatted)
        assert format_source(formatted) == formatted


def test_format_error_shape() -> None:
    with pytest.raises(FormatError) as caught:
        format_source("let = 3\n")
    errors = caught.value.errors
    assert errors and all(
        isinstance(line, int) and isinstance(col, int) and isinstance(msg, str) and line >= 1 and col >= 1
        for line, col, msg in errors
    )
    assert str(caught.value).startswith(f"{errors[0][0]}:{errors[0][1]}:")


def test_signature_notices_a_change_of_meaning() -> None:
    nested = b'if x:\n  session "a"\n  session "b"\n'
    outside = b'if x:\n  session "a"\nsession "b"\n'
    assert syntax_signature(nested) != syntax_signature(outside)
    assert syntax_signature(nested) == syntax_signature(nested.replace(b"  ", b"    "))


# ------------------------------------------------------------- performance


def test_five_thousand_lines_format_quickly() -> None:
    lines = []
    for i in range(1250):
        lines += [f'let x{i} = session "step {i}"', "  context: { a, b, c }", "  retry: 3", ""]
    source = "\n".join(lines)
    assert source.count("\n") >= 4999
    best = min(_timed(format_source, source) for _ in range(3))
    assert best < 1.0, f"formatting 5,000 lines took {best:.2f}s"


def _timed(function, argument: str) -> float:
    start = time.perf_counter()
    function(argument)
    return time.perf_counter() - start


# ------------------------------------------------------- generated programs

NAMES = ["alpha", "beta", "item-set", "notes", "x2", "review_data"]
AGENTS = ["critic", "writer", "code-reviewer"]


def _gap(draw, required: bool = False) -> str:
    """Whitespace between two tokens; at least one space where it matters."""
    return " " * draw(st.integers(min_value=1 if required else 0, max_value=3))


def _text(draw) -> str:
    return draw(st.text(alphabet="abc XYZ,.:#-*!?'()[]", min_size=0, max_size=12))


def _string(draw) -> str:
    pieces = draw(st.lists(st.sampled_from(["word", " ", "{alpha}", "\\\"", "\\n", "#x", "{ }"]), max_size=4))
    return '"' + "".join(pieces) + '"'


def _triple_string(draw) -> str:
    lines = draw(
        st.lists(
            st.tuples(st.sampled_from(["", " ", "   ", "\t", "        "]), st.sampled_from(["", "line", "- item  ", "{beta}"])),
            max_size=3,
        )
    )
    return '"""\n' + "".join(indent + text + "\n" for indent, text in lines) + draw(st.sampled_from(["", "  "])) + '"""'


def _value(draw) -> str:
    kind = draw(st.sampled_from(["name", "string", "number", "array", "object", "member"]))
    if kind == "name":
        return draw(st.sampled_from(NAMES))
    if kind == "string":
        return _string(draw)
    if kind == "number":
        return str(draw(st.integers(0, 99)))
    if kind == "member":
        return draw(st.sampled_from(NAMES)) + "." + draw(st.sampled_from(NAMES))
    items = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=3))
    joined = ("," + _gap(draw)).join(items) + (draw(st.sampled_from(["", ","])) if items else "")
    if kind == "array":
        return "[" + _gap(draw) + joined + _gap(draw) + "]"
    return "{" + _gap(draw) + joined + _gap(draw) + "}"


def _comment(draw) -> str:
    return "#" + _text(draw)


class _Program:
    """Lines of a generated program as (depth, text); rendered at the end."""

    def __init__(self, draw, unit: str) -> None:
        self.draw = draw
        self.unit = unit
        self.lines: list[tuple[int, str]] = []

    def add(self, depth: int, text: str, inline_comment_ok: bool = True) -> None:
        draw = self.draw
        if inline_comment_ok and draw(st.integers(0, 5)) == 0:
            text += _gap(draw) + _comment(draw)
        self.lines.append((depth, text + draw(st.sampled_from(["", "", " ", "\t"]))))
        if draw(st.integers(0, 6)) == 0:
            self.lines.append((0, ""))
        if draw(st.integers(0, 8)) == 0:
            self.lines.append((draw(st.integers(0, depth + 1)), _comment(draw)))

    def render(self) -> str:
        return "".join(self.unit * depth + text + "\n" if text else "\n" for depth, text in self.lines)


def _properties(program: _Program, depth: int) -> None:
    draw = program.draw
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["model", "context", "retry", "prompt"]))
        if key == "prompt" and draw(st.booleans()):
            program.add(depth, f"prompt:{_gap(draw)}{_triple_string(draw)}", inline_comment_ok=False)
        else:
            program.add(depth, f"{key}{_gap(draw)}:{_gap(draw)}{_value(draw)}")


def _session(draw) -> str:
    form = draw(st.sampled_from(["prompt", "agent", "named"]))
    if form == "prompt":
        return f"session{_gap(draw, True)}{_string(draw)}"
    if form == "agent":
        return f"session{_gap(draw)}:{_gap(draw)}{draw(st.sampled_from(AGENTS))}"
    return f"session {draw(st.sampled_from(NAMES))}{_gap(draw)}:{_gap(draw)}{draw(st.sampled_from(AGENTS))}"


def _modifiers(draw) -> str:
    options = draw(
        st.lists(
            st.sampled_from(["first", '"first"', "on-fail:continue", 'on-fail: "ignore"', "count:2", '"any"']),
            min_size=0,
            max_size=3,
        )
    )
    return "(" + (_gap(draw) + "," + _gap(draw)).join(options) + ")"


def _statement(program: _Program, depth: int, budget: int) -> None:
    draw = program.draw
    kinds = ["session", "let", "assign", "comment", "sequence"]
    if budget > 0:
        kinds += ["parallel", "repeat", "for", "loop", "if", "try", "pipeline", "pipeline_lines", "arrow_lines"]
    kind = draw(st.sampled_from(kinds))
    gap = lambda required=False: _gap(draw, required)  # noqa: E731
    name = draw(st.sampled_from(NAMES))
    if kind == "session":
        program.add(depth, _session(draw))
        _properties(program, depth + 1)
    elif kind == "let":
        if draw(st.booleans()):
            program.add(depth, f"let {name}{gap()}={gap()}{_value(draw)}")
        else:
            program.add(depth, f"let {name}{gap()}={gap()}{_session(draw)}")
            _properties(program, depth + 1)
    elif kind == "assign":
        program.add(depth, f"{name}{gap()}={gap()}{_session(draw)}")
        _properties(program, depth + 1)
    elif kind == "comment":
        program.add(draw(st.integers(0, depth)), _comment(draw), inline_comment_ok=False)
    elif kind == "sequence":
        program.add(depth, f"{_session(draw)}{gap()}->{gap()}{_session(draw)}")
    elif kind == "arrow_lines":
        # A `->` line must be shallower than any properties just above it.
        program.add(depth, _session(draw))
        line_depth = depth + 1
        for _ in range(draw(st.integers(1, 2))):
            with_properties = draw(st.booleans())
            if with_properties:
                _properties(program, line_depth + 1)
                line_depth = depth
            program.add(line_depth, f"->{gap()}{_session(draw)}")
    elif kind == "pipeline_lines":
        program.add(depth, f"let {name} = {draw(st.sampled_from(NAMES))}")
        for stage in draw(st.lists(st.sampled_from(["map", "filter", "pmap"]), min_size=1, max_size=2)):
            program.add(depth + 1, f"|{gap()}{stage}{gap()}:")
            _body(program, depth + 2, budget - 1)
    else:
        header = {
            "parallel": lambda: f"parallel{gap()}{draw(st.sampled_from(['', _modifiers(draw)]))}{gap()}:",
            "repeat": lambda: f"repeat {draw(st.integers(1, 9))}{draw(st.sampled_from(['', ' as i']))}{gap()}:",
            "for": lambda: f"for {name}{draw(st.sampled_from(['', ', i', ' ,i']))} in {draw(st.sampled_from(NAMES))}:",
            "loop": lambda: "loop"
            + draw(st.sampled_from(["", " until **done**", " while ** more to do **"]))
            + draw(st.sampled_from(["", f"{gap()}(max:{gap()}5)"]))
            + draw(st.sampled_from(["", " as n"]))
            + f"{gap()}:",
            "if": lambda: f"if{gap(True)}**{_text(draw).replace('*', '')}x**{gap()}:",
            "try": lambda: f"try{gap()}:",
            "pipeline": lambda: f"let {name} = {draw(st.sampled_from(NAMES))}{gap()}|{gap()}map{gap()}:",
        }[kind]()
        program.add(depth, header)
        _body(program, depth + 1, budget - 1)
        if kind == "if" and draw(st.booleans()):
            program.add(depth, f"else{gap()}:")
            _body(program, depth + 1, budget - 1)
        if kind == "try":
            program.add(depth, f"catch{draw(st.sampled_from(['', ' as err']))}{gap()}:")
            _body(program, depth + 1, budget - 1)


def _body(program: _Program, depth: int, budget: int) -> None:
    for _ in range(program.draw(st.integers(1, 3))):
        _statement(program, depth, budget)


@st.composite
def programs(draw) -> str:
    unit = draw(st.sampled_from(["  ", "    ", "   ", " ", "\t", "     "]))
    program = _Program(draw, unit)
    for _ in range(draw(st.integers(1, 5))):
        _statement(program, 0, budget=2)
    text = program.render()
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_format_idempotently_and_keep_their_meaning(source: str) -> None:
    assert not has_error(source), source
    formatted = assert_well_formatted(source)
    assert "\r" not in formatted
    assert_clean_layout(formatted)
