"""Parsing, and the diagnostics that come straight from the syntax tree.

Everything else in the runtime reads the tree this module produces, so
parsing lives in one place and so do the rules that are purely lexical or
structural (ERROR/MISSING nodes, unterminated strings, unknown escapes,
inconsistent dedents).
"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter as ts
import tree_sitter_openprose as tsp

from . import codes
from .codes import Code
from .diagnostics import Diagnostic, Span
from .indentation import indentation_error, levels_before, width

LANGUAGE = ts.Language(tsp.language())


# How each statement keyword is written, for messages about a broken line.
_FORMS = {
    "agent": "`agent name:` followed by indented properties",
    "session": '`session "prompt"`, `session: agent` or `session name: agent`',
    "resume": "`resume: agent`",
    "parallel": "`parallel:`, `parallel (first, on-fail: continue):` or `parallel for x in items:`",
    "let": "`let name = value`",
    "const": "`const name = value`",
    "output": "`output name = value`",
    "input": '`input name: "description"`',
    "use": '`use "path" as name`',
    "import": '`import "skill" from "source"`',
    "block": "`block name(params):` followed by an indented body",
    "do": "`do:` with a body, or `do name(args)`",
    "repeat": "`repeat N:` or `repeat N as i:`",
    "for": "`for item in items:` or `for item, i in items:`",
    "loop": "`loop:`, `loop until **condition** (max: N):` or `loop while **condition**:`",
    "if": "`if **condition**:`",
    "elif": "`elif **condition**:`",
    "else": "`else:`",
    "try": "`try:`",
    "catch": "`catch:` or `catch as err:`",
    "finally": "`finally:`",
    "choice": "`choice **criteria**:`",
    "option": '`option "label":`',
    "throw": '`throw` or `throw "message"`',
}

_TOKEN_NAMES = {
    ":": "':'",
    ")": "')'",
    "(": "'('",
    "]": "']'",
    "}": "'}'",
    "=": "'='",
    '"': "a closing '\"'",
    '"""': "a closing '\"\"\"'",
    "**": "a closing '**'",
    "***": "a closing '***'",
    "identifier": "a name",
    "string": "a string",
}


def new_parser() -> ts.Parser:
    return ts.Parser(LANGUAGE)


_PARSER = new_parser()


def parse(source: bytes, old_tree: ts.Tree | None = None) -> ts.Tree:
    """Parse with the module's shared parser (the CLI and checker are single-threaded)."""
    if old_tree is None:
        return _PARSER.parse(source)
    return _PARSER.parse(source, old_tree)


def walk(node: ts.Node) -> Iterator[ts.Node]:
    """Pre-order traversal with a cursor, cheaper than recursion over `.children`."""
    cursor = node.walk()
    while True:
        yield cursor.node  # type: ignore[misc]
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return
            if cursor.node == node:  # pragma: no cover - defensive
                return


def _first_line_span(node: ts.Node, source: bytes) -> Span:
    """The part of a node on its first line: errors are reported where they start."""
    span = Span.of(node)
    if span.end_row == span.start_row:
        return span
    line_end = source.find(b"\n", span.start_byte)
    if line_end == -1:
        line_end = len(source)
    if source[line_end - 1 : line_end] == b"\r":
        line_end -= 1
    end_col = span.start_col + (line_end - span.start_byte)
    return Span(span.start_byte, line_end, span.start_row, span.start_col, span.start_row, end_col)


def _leaves(node: ts.Node) -> Iterator[ts.Node]:
    for child in walk(node):
        if child.child_count == 0:
            yield child


def _describe_token(node: ts.Node) -> str:
    text = (node.text or b"").decode("utf-8", errors="replace")
    if node.type == "identifier":
        return f"name '{text}'"
    if node.type in {"string_content", "string"}:
        return "string"
    if node.type == "number":
        return f"number {text}"
    if len(text) > 30:
        text = text[:27] + "..."
    return f"'{text}'"


def _error_message(node: ts.Node) -> str:
    leaves = [leaf for leaf in _leaves(node) if leaf.type != "comment"]
    if not leaves:
        return "unexpected text"
    first = leaves[0]
    while first.parent is not None and first.parent != node and first.parent.start_byte == first.start_byte:
        first = first.parent  # describe `"text"` as a string, not as a quote
    form = _FORMS.get(first.type)
    if form is not None and first.start_byte == node.start_byte:
        return f"malformed '{first.type}' statement: expected {form}"
    if node.parent is not None and node.parent.type in _FORMS and node.parent.type != "source_file":
        return f"unexpected {_describe_token(first)} in '{node.parent.type}': expected {_FORMS[node.parent.type]}"
    return f"unexpected {_describe_token(first)}"


def _error_code(node: ts.Node) -> tuple[Code, str]:
    """E020/E023 for a nameless input/output, E004 for anything else."""
    leaves = [leaf.type for leaf in _leaves(node) if leaf.type != "comment"][:2]
    if leaves == ["input", ":"]:
        return codes.E020, "input needs a name: `input name: \"description\"`"
    parent = node.parent
    if leaves[:1] == ["="] and parent is not None and parent.type == "output_statement":
        return codes.E023, "output needs a name: `output name = value`"
    return codes.E004, _error_message(node)


def _missing_message(node: ts.Node) -> str:
    name = _TOKEN_NAMES.get(node.type, f"'{node.type}'" if not node.is_named else node.type.replace("_", " "))
    return f"expected {name}"


def syntax_diagnostics(tree: ts.Tree, source: bytes) -> list[Diagnostic]:
    """E004/E005 for ERROR and MISSING nodes.

    Only subtrees that contain an error are walked (Tree-sitter keeps that
    flag per node), so a clean file costs nothing here. Only the outermost
    ERROR of a nest is reported: one broken line gives one squiggle, not a
    cascade. Lexical problems inside well-formed statements (unterminated
    strings, unknown escapes, inconsistent indentation) are found while the
    model is built; see `model.Program.lexical`.
    """
    out: list[Diagnostic] = []
    rows: set[int] = set()
    root = tree.root_node
    if root.has_error or root.is_error:
        cursor = root.walk()
        while True:
            node = cursor.node
            assert node is not None
            descend = False
            if (node.is_missing or node.is_error) and node.start_point[0] in rows:
                pass  # one diagnostic per broken line: the first says what is wrong
            elif node.is_missing:
                out.append(codes.E005.at(Span.of(node), _missing_message(node)))
                rows.add(node.start_point[0])
            elif node.is_error:
                misplaced = _misindented(root, node, source)
                if misplaced is not None:
                    out.append(misplaced)
                else:
                    code, message = _error_code(node)
                    out.append(code.at(_first_line_span(node, source), _spaced_call(node, source) or message))
                rows.add(node.start_point[0])
            elif node.has_error:
                descend = True
                if not any(c.has_error or c.is_error or c.is_missing for c in node.children):
                    # The error is a hidden token (a missing line end): only the tree's
                    # flag shows it. Point at what follows the statement on its line.
                    out.append(_hidden_missing(node, source))
                    descend = False
            if descend and cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    break
            else:
                continue
            break
    return out


def _spaced_call(node: ts.Node, source: bytes) -> str | None:
    """`research (topic: x)`: a call whose `(` does not touch the name."""
    first = next(_leaves(node), None)
    if first is None or first.type != "identifier":
        return None
    line_end = source.find(b"\n", first.end_byte)
    rest = source[first.end_byte : line_end if line_end != -1 else len(source)]
    if rest[:1] in (b" ", b"\t") and rest.lstrip(b" \t").startswith(b"("):
        name = (first.text or b"").decode("utf-8", errors="replace")
        return f"a call's '(' must touch the name: write `{name}(…)`"
    return None


def _misindented(root: ts.Node, node: ts.Node, source: bytes) -> Diagnostic | None:
    """An ERROR that starts a line indented to no open level is an indentation mistake.

    Said on that line ("indented 3 spaces, expected 2 or 0"), it replaces the
    "malformed …" message the parser's recovery would otherwise give.
    """
    start = node.start_byte
    line_start = source.rfind(b"\n", 0, start) + 1
    indent = source[line_start:start]
    if indent.strip(b" \t") or not indent:
        return None  # not the first thing on its line, or at column 0
    found = width(indent)
    levels = levels_before(root, source, line_start)
    if found in levels:
        return None
    return indentation_error(source, line_start, node.start_point[0], found, levels)


def _hidden_missing(node: ts.Node, source: bytes) -> Diagnostic:
    end = node.end_byte
    line_end = source.find(b"\n", end)
    if line_end == -1:
        line_end = len(source)
    rest = source[end:line_end]
    start = end + (len(rest) - len(rest.lstrip()))
    stop = max(start, end + len(rest.rstrip()))
    row, col = node.end_point
    span = Span(start, stop, row, col + (start - end), row, col + (stop - end))
    return codes.E004.at(span, "unexpected text after the statement; put it on its own line")


def _inside_error(node: ts.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.is_error:
            return True
        parent = parent.parent
    return False
