"""Indentation mistakes, reported on the line that has them.

Indentation is syntax in OpenProse, so a line indented one space too far
would otherwise surface as a parse error somewhere near it ("malformed
session" on the line above, say). These helpers name the mistake on the
offending line instead -- "indented 3 spaces, expected 2 or 0" -- with a
quick fix that moves the line to the nearest level that fits. Tabs get
their own diagnostic: the language indents with spaces.
"""

from __future__ import annotations

import tree_sitter as ts

from . import codes
from .diagnostics import Diagnostic, Fix, Span, TextEdit

#: How wide the scanner reads a tab: one level of the canonical 2-space indent, so a tab
#: typed in place of one level keeps the program's structure (keep in sync with src/scanner.c).
TAB_WIDTH = 2

_BODIES = frozenset({"block", "property_block", "source_file"})
_TEXT_NODES = frozenset({"string", "condition", "string_content", "condition_text", "comment"})


def width(whitespace: bytes) -> int:
    """The indentation the scanner reads for a run of leading whitespace."""
    return sum(TAB_WIDTH if c == 0x09 else 1 for c in whitespace)


def column(node: ts.Node, source: bytes) -> int:
    """A node's column as the scanner reads it (a tab in the indentation counts TAB_WIDTH)."""
    col = node.start_point[1]
    prefix = source[node.start_byte - col : node.start_byte]
    if b"\t" in prefix and not prefix.strip(b" \t"):
        return width(prefix)
    return col


def body_levels(node: ts.Node | None, source: bytes, *, statement: bool = False) -> list[int]:
    """Columns of the bodies around a node, innermost first: where a line may start.

    For a statement, levels of properties do not count: a statement there
    would not be one of them.
    """
    levels: list[int] = []
    while node is not None:
        if node.type == "source_file":
            break  # the top level is column 0, whatever recovery left on the first lines
        if node.type in _BODIES and not (statement and node.type == "property_block"):
            first = next((c for c in node.named_children if _starts_line(c, source)), None)
            if first is not None and column(first, source) not in levels:
                levels.append(column(first, source))
        node = node.parent
    if 0 not in levels:
        levels.append(0)
    return levels


def _starts_line(node: ts.Node, source: bytes) -> bool:
    """A statement or property that begins its line (not a comment, not recovery's leftovers)."""
    if node.type == "comment" or node.is_error or node.is_missing:
        return False
    col = node.start_point[1]
    return not source[node.start_byte - col : node.start_byte].strip()


def levels_before(root: ts.Node, source: bytes, line_start: int, *, statement: bool = False) -> list[int]:
    """The levels open at the end of the last line of code before `line_start`."""
    end = len(source[:line_start].rstrip())
    if end == 0:
        return [0]
    node = root.descendant_for_byte_range(end - 1, end)
    return body_levels(node, source, statement=statement)


def _describe(levels: list[int]) -> str:
    ordered = sorted(set(levels), reverse=True)
    return " or ".join(str(level) for level in ordered)


def indentation_error(source: bytes, line_start: int, row: int, found: int, levels: list[int], *,
                      why: str = "") -> Diagnostic:
    """E005 on the whole offending line, with a fix to the nearest level that fits."""
    line_end = source.find(b"\n", line_start)
    if line_end == -1:
        line_end = len(source)
    text = source[line_start:line_end].rstrip(b"\r")
    indent = len(text) - len(text.lstrip(b" \t"))
    lower = [level for level in levels if level < found]
    target = max(lower) if lower else min(levels)
    span = Span(line_start, line_start + len(text.rstrip()), row, 0, row, len(text.rstrip()))
    fix = Fix(
        f"Indent {target} space{'s' if target != 1 else ''}",
        (TextEdit(Span(line_start, line_start + indent, row, 0, row, indent), " " * target),),
    )
    spaces = f"{found} space{'s' if found != 1 else ''}"
    return codes.E005.at(span, f"indented {spaces}, expected {_describe(levels)}{why}", fixes=(fix,))


def tab_diagnostics(tree: ts.Tree, source: bytes) -> list[Diagnostic]:
    """E118 for each line indented with tabs (text inside strings is the author's own)."""
    if b"\t" not in source:
        return []
    out: list[Diagnostic] = []
    root = tree.root_node
    offset = 0
    row = 0
    for line in source.split(b"\n"):
        stripped = line.lstrip(b" \t")
        indent = line[: len(line) - len(stripped)]
        if b"\t" in indent and stripped.strip() and not _inside_text(root, offset + len(indent)):
            spaces = width(indent)
            span = Span(offset, offset + len(indent), row, 0, row, len(indent))
            out.append(
                codes.E118.at(
                    span,
                    "indentation uses a tab; OpenProse indents with spaces (`prose fmt` converts a whole file)",
                    fixes=(Fix(f"Replace with {spaces} spaces", (TextEdit(span, " " * spaces),)),),
                )
            )
        offset += len(line) + 1
        row += 1
    return out


def _inside_text(root: ts.Node, offset: int) -> bool:
    node: ts.Node | None = root.descendant_for_byte_range(offset, offset)
    while node is not None:
        if node.type in _TEXT_NODES and node.start_byte < offset:
            return True
        node = node.parent
    return False
