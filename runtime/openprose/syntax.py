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

from .diagnostics import Diagnostic, Severity, Span

LANGUAGE = ts.Language(tsp.language())

#: Escapes the language defines; anything else after a backslash is E002.
KNOWN_ESCAPES = frozenset({"\\\\", '\\"', "\\n", "\\t", "\\{", "\\}"})

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


def _error_code(node: ts.Node) -> tuple[str, str]:
    """E020/E023 for a nameless input/output, E004 for anything else."""
    leaves = [leaf.type for leaf in _leaves(node) if leaf.type != "comment"][:2]
    if leaves == ["input", ":"]:
        return "E020", "input needs a name: `input name: \"description\"`"
    parent = node.parent
    if leaves[:1] == ["="] and parent is not None and parent.type == "output_statement":
        return "E023", "output needs a name: `output name = value`"
    return "E004", _error_message(node)


def _missing_message(node: ts.Node) -> str:
    name = _TOKEN_NAMES.get(node.type, f"'{node.type}'" if not node.is_named else node.type.replace("_", " "))
    return f"expected {name}"


def syntax_diagnostics(tree: ts.Tree, source: bytes) -> list[Diagnostic]:
    """E001/E002/E004/E005 from the tree alone.

    Only the outermost ERROR of a nest is reported: one broken line gives one
    squiggle, not a cascade.
    """
    out: list[Diagnostic] = []
    root = tree.root_node
    cursor = root.walk()
    while True:
        node = cursor.node
        assert node is not None
        descend = True
        if node.is_missing:
            out.append(Diagnostic("E005", Severity.ERROR, _missing_message(node), Span.of(node)))
            descend = False
        elif node.is_error:
            code, message = _error_code(node)
            out.append(Diagnostic(code, Severity.ERROR, message, _first_line_span(node, source)))
            descend = False
        elif node.type == "string":
            _string_diagnostics(node, source, out)
            descend = node.has_error
        if descend and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                out.extend(_indentation_diagnostics(root, source))
                return out


def _string_diagnostics(node: ts.Node, source: bytes, out: list[Diagnostic]) -> None:
    children = node.children
    if not children:
        return
    opener = children[0].type
    last = children[-1]
    if last.type != opener or len(children) == 1 or last.start_byte == last.end_byte:
        span = _first_line_span(node, source)
        out.append(
            Diagnostic(
                "E001",
                Severity.ERROR,
                "unterminated string: add a closing " + ('"""' if opener == '"""' else '"'),
                span,
            )
        )
    for child in children:
        if child.type == "escape_sequence":
            text = (child.text or b"").decode("utf-8", errors="replace")
            if text not in KNOWN_ESCAPES:
                out.append(
                    Diagnostic(
                        "E002",
                        Severity.ERROR,
                        f"unknown escape sequence '{text}'; use \\\\, \\\", \\n, \\t or \\{{",
                        Span.of(child),
                    )
                )


_BODY_TYPES = frozenset({"source_file", "block"})


def _starts_line(node: ts.Node, source: bytes) -> bool:
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    return not source[line_start : node.start_byte].strip()


def _indentation_diagnostics(root: ts.Node, source: bytes) -> list[Diagnostic]:
    """Statements of one body must share a column.

    The scanner treats a dedent to a column that matches no enclosing level
    as a plain dedent, so the parse stays intact; the inconsistency is
    reported here instead.
    """
    out: list[Diagnostic] = []
    for node in walk(root):
        if node.type not in _BODY_TYPES:
            continue
        column: int | None = None
        previous_error = False
        for child in node.named_children:
            if child.type == "comment":
                continue
            if child.is_error or child.is_missing or not _starts_line(child, source):
                previous_error = True
                continue
            col = child.start_point[1]
            if column is None:
                column = col
            elif col != column and not previous_error:
                span = Span.of(child)
                out.append(
                    Diagnostic(
                        "E005",
                        Severity.ERROR,
                        f"inconsistent indentation: this line starts at column {col + 1}, "
                        f"the statements around it at column {column + 1}",
                        Span(span.start_byte, span.start_byte, span.start_row, 0, span.start_row, col),
                    )
                )
            previous_error = False
    return out
