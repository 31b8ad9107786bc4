"""Canonical formatting for OpenProse programs.

The formatter re-prints a program from its syntax tree instead of patching
whitespace, so every layout decision is made in one place and the result is
the same however the input was laid out. Text the author owns -- strings,
conditions and comments -- is copied, never rewritten. The canonical form
itself is described in ``docs/formatting.md``.

Because indentation is syntax in OpenProse, a layout bug could silently
change what a program means. ``format_source`` therefore re-parses its own
output and refuses (with ``FormatError``) to return anything whose syntax
tree differs from the input's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_openprose as tsp

from .recursion import deeper_recursion
from .syntax import syntax_diagnostics

__all__ = ["FormatError", "format_source", "syntax_signature"]

_LANGUAGE = ts.Language(tsp.language())

INDENT = "  "
"""One nesting level."""

COMMENT_GAP = "  "
"""Separates code from a comment that ends the same line."""

# Nodes printed exactly as written: their text is the author's, and their
# insides (escapes, interpolations, multi-line bodies) are not layout.
_VERBATIM = frozenset({"string", "condition"})

# Bracketed, comma-separated lists, which may be laid out one entry a line.
_LISTS = frozenset(
    {"array", "object", "object_pattern", "argument_list", "parameter_list", "modifier_list"}
)
_CLOSERS = frozenset({")", "]", "}"})

# Indented children of a node, printed one entry per line.
_BODIES = frozenset({"block", "property_block"})

# Clauses that continue a statement on a new line at the statement's level.
_CLAUSE_OWNERS = frozenset({"if_statement", "try_statement"})
_CLAUSES = frozenset({"elif_clause", "else_clause", "catch_clause", "finally_clause"})

_NO_SPACE_AFTER = frozenset({"(", "[", "."})
_NO_SPACE_BEFORE = frozenset({")", "]", ",", ":", "."})
_TIGHT_OPEN_PARENTS = frozenset({"argument_list", "parameter_list"})

_MAX_DEPTH = 20_000



class FormatError(Exception):
    """Raised instead of formatting a program that does not parse cleanly.

    A formatter that guessed at broken code could destroy what the author
    was in the middle of typing, so it declines and says where the problems
    are. ``errors`` holds ``(line, column, message)`` with 1-based line and
    column (column counted in characters).
    """

    def __init__(self, errors: list[tuple[int, int, str]]) -> None:
        self.errors: list[tuple[int, int, str]] = errors
        summary = "; ".join(f"{line}:{col}: {message}" for line, col, message in errors[:3])
        if len(errors) > 3:
            summary += f"; and {len(errors) - 3} more"
        super().__init__(summary or "cannot format")


class FormatterSafetyError(FormatError):
    """The formatter's own output would not mean the same as its input.

    This signals a formatter bug, not a user error: nothing is returned, so
    callers leave the file as it was.
    """


def format_source(text: str) -> str:
    """Return ``text`` in canonical layout, or raise ``FormatError``.

    Never returns output whose syntax tree differs from the input's; see the
    module docstring for why that check is worth a second parse.
    """
    source = _encode(text.replace("\r\n", "\n"))
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    tree = ts.Parser(_LANGUAGE).parse(source)
    errors = [_located_at(source, d.span.start_byte, d.message) for d in syntax_diagnostics(tree, source)]
    if errors:
        raise FormatError(errors)
    printer = _Printer(source)
    with deeper_recursion(_MAX_DEPTH):  # nesting depth follows the program (long `a -> b -> …` chains nest)
        try:
            printer.statements(tree.root_node, 0)
        except RecursionError:
            raise FormatError([(1, 1, "program is nested too deeply to format")]) from None
    if printer.errors:
        raise FormatError(sorted(set(printer.errors)))
    output = printer.writer.finish()
    _verify(_signature(tree, source), _encode(output))
    return output


def syntax_signature(source: bytes) -> tuple:
    """Summarise a parse so that two layouts of one program compare equal.

    The summary keeps node types, field names and token texts but no
    positions or whitespace; comments are kept separately, in order, because
    their place in the tree follows their indentation, which formatting is
    allowed to change. CRLF inside tokens counts the same as LF, because the
    formatter converts line endings.
    """
    return _signature(ts.Parser(_LANGUAGE).parse(source), source)


def _signature(tree: ts.Tree, source: bytes) -> tuple:
    # A flat pre-order list with depths determines the tree exactly and is
    # about twice as cheap to build as nested tuples.
    nodes: list[tuple] = []
    comments: list[bytes] = []
    cursor = tree.walk()
    depth = 0
    while True:
        node = cursor.node
        if node.type == "comment":
            comments.append(source[node.start_byte : node.end_byte].rstrip(b" \t\f\v"))
        elif node.child_count:
            nodes.append((depth, cursor.field_name, node.type, node.is_missing))
            cursor.goto_first_child()
            depth += 1
            continue
        else:
            nodes.append((depth, cursor.field_name, _leaf_signature(source, node)))
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return (tuple(nodes), tuple(comments))
            depth -= 1


# --------------------------------------------------------------------- errors


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise FormatError([(1, 1, f"text cannot be encoded as UTF-8: {exc.reason}")]) from None


def _located(source: bytes, node: ts.Node, message: str) -> tuple[int, int, str]:
    return _located_at(source, node.start_byte, message)


def _located_at(source: bytes, offset: int, message: str) -> tuple[int, int, str]:
    return (*_position(source, offset), message)


def _position(source: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    column = len(source[line_start:offset].decode("utf-8", "replace"))
    return source.count(b"\n", 0, offset) + 1, column + 1


def _verify(expected: tuple, output: bytes) -> None:
    tree = ts.Parser(_LANGUAGE).parse(output)
    if tree.root_node.has_error or _signature(tree, output) != expected:
        raise FormatterSafetyError(
            [(1, 1, "internal formatter error: the formatted program would parse differently; "
                    "the input was left unformatted")]
        )


# ------------------------------------------------------------------- helpers


def _token_text(source: bytes, node: ts.Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "surrogateescape")


def _leaf_signature(source: bytes, node: ts.Node) -> tuple | str:
    if not (node.is_named or node.is_missing):
        return node.type  # an anonymous token's type is its text
    text = source[node.start_byte : node.end_byte]
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n")
    return (node.type, node.is_missing, text)


def _is_body(node: ts.Node) -> bool:
    # The `block` keyword and the `block` node share a type name.
    return node.is_named and node.type in _BODIES


def _is_closed(node: ts.Node) -> bool:
    """Whether a string or bracket list has its closing delimiter."""
    children = node.children
    if node.type == "string":
        return len(children) >= 2 and children[-1].type == children[0].type
    return bool(children) and children[-1].type in _CLOSERS


# -------------------------------------------------------------------- writer


@dataclass
class _Pending:
    text: str
    blank_before: bool


@dataclass
class _Writer:
    """Accumulates output lines and owns every whitespace decision.

    Tokens either join the current line or start a new one. A new line is
    "structural" when the printer asked for it at a given nesting level
    (statements, properties, clauses, list entries, continuation lines), and
    a "forced break" when a comment ended the line the token would have
    joined; forced breaks go one level deeper than the line that started the
    construct, which always indents deeper than any enclosing block.
    """

    out: list[str] = field(default_factory=list)
    line: list[str] = field(default_factory=list)
    line_open: bool = False
    line_level: int = 0
    anchor: int = 0
    closed: bool = False
    pending: list[_Pending] = field(default_factory=list)
    request: tuple[int, bool, bool] | None = None
    suppress_blank: bool = True
    closed_block: int | None = None
    last_row: int = -1

    def request_line(self, level: int, *, anchor: bool = True, blank: bool = True) -> None:
        self.request = (level, anchor, blank)

    def token(self, text: str, start_row: int, end_row: int, space: bool) -> None:
        blank = start_row - self.last_row > 1
        if self.request is not None:
            level, anchor, allow_blank = self.request
            self.request = None
            self.flush_pending(level)
            self._open(level, blank and allow_blank, anchor)
        elif self.pending or self.closed or not self.line_open:
            level = self.anchor + 1
            self.flush_pending(level)
            self._open(level, blank, anchor=False)
        elif space:
            self.line.append(" ")
        self.line.append(text)
        self.last_row = end_row
        self.closed_block = None

    def comment(self, text: str, start_row: int, level: int | None) -> None:
        """Place a comment: after code on its row, on its own line, or later."""
        blank = start_row - self.last_row > 1
        if self.line_open and not self.closed and start_row == self.last_row:
            self.line.append(COMMENT_GAP + text)
            self.closed = True
        elif level is not None:
            self.flush_pending(level)
            self._own_line(text, level, blank)
        else:
            # Its level depends on the line that follows it.
            self.pending.append(_Pending(text, blank))
        self.last_row = start_row

    def flush_pending(self, level: int) -> None:
        for item in self.pending:
            self._own_line(item.text, level, item.blank_before)
        self.pending.clear()

    def open_body(self) -> None:
        self.suppress_blank = True

    def close_body(self, level: int) -> None:
        self._end_line()
        self.closed_block = level
        self.anchor = max(level - 1, 0)

    def finish(self) -> str:
        self.flush_pending(0)
        self._end_line()
        return "".join(self.out)

    def _own_line(self, text: str, level: int, blank: bool) -> None:
        self._open(level, blank, anchor=False)
        self.line.append(text)
        self.closed = True

    def _open(self, level: int, blank: bool, anchor: bool) -> None:
        self._end_line()
        if blank and not self.suppress_blank:
            self.out.append("\n")
        self.line = [INDENT * level]
        self.line_open = True
        self.line_level = level
        self.closed = False
        self.suppress_blank = False
        if anchor:
            self.anchor = level

    def _end_line(self) -> None:
        if self.line_open:
            self.line.append("\n")
            self.out.append("".join(self.line))
            self.line = []
            self.line_open = False


# ------------------------------------------------------------------- printer


class _Printer:
    """Walks the tree in source order and tells the writer what to print.

    Each ``print`` returns the nesting level of the line its first token
    landed on: indented bodies go one level below the line that owns them,
    and clauses and continuation lines are placed relative to it.
    """

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.writer = _Writer()
        self.errors: list[tuple[int, int, str]] = []
        self._previous: tuple[str, str] | None = None
        self._flat_chains: dict[int, bool] = {}

    def statements(self, node: ts.Node, level: int) -> None:
        """Print a file, block or property block: one entry per line."""
        writer = self.writer
        writer.open_body()
        for child in node.children:
            if child.type == "comment":
                self.comment(child, level)
                continue
            writer.request_line(level)
            self.print(child, node.type)
            writer.flush_pending(level)

    def print(self, node: ts.Node, parent_type: str) -> int:
        if node.type in _VERBATIM:
            return self.verbatim(node)
        if node.child_count == 0:
            return self.token(node, parent_type)
        if node.type in _LISTS:
            return self.bracketed(node)
        return self.children(node)

    def children(self, node: ts.Node) -> int:
        writer = self.writer
        first: int | None = None
        for child in node.children:
            kind = child.type
            if kind == "comment":
                self.comment(child, None)
                continue
            if _is_body(child) or kind == "list_block":
                owner = writer.line_level if first is None else first
                (self.list_block if kind == "list_block" else self.statements)(child, owner + 1)
                writer.close_body(owner + 1)
                continue
            if first is not None:
                if child.is_named and kind in _CLAUSES and node.type in _CLAUSE_OWNERS:
                    writer.request_line(first)
                elif self._continues_on_new_line(node.type, child):
                    writer.request_line(self._continuation_level(node, first))
            level = self.print(child, node.type)
            if first is None:
                first = level
        return writer.line_level if first is None else first

    def list_block(self, node: ts.Node, level: int) -> None:
        """`- item` lines under their key, one a line, one level deeper."""
        writer = self.writer
        writer.open_body()
        for child in node.children:
            if child.type == "comment":
                self.comment(child, level)
            elif child.type == "-" and not child.is_named:
                writer.request_line(level)
                writer.token("-", child.start_point.row, child.start_point.row, False)
                self._previous = ("-", "list_block")
            else:
                self.print(child, node.type)
        writer.flush_pending(level)

    def bracketed(self, node: ts.Node) -> int:
        """Lay out a list on one line, or one entry a line if it was multi-line."""
        children = node.children
        if not _is_closed(node):
            self.errors.append(_located(self.source, node, f"unclosed '{children[0].type}'"))
        if not self._was_multiline(children):
            return self.children(node)
        writer = self.writer
        first = self.token(children[0], node.type)
        entry_level = first + 1
        saved_anchor = writer.anchor
        writer.open_body()
        for child in children[1:-1]:
            if child.type == "comment":
                self.comment(child, entry_level)
            elif child.type == ",":
                self.token(child, node.type)
            else:
                writer.request_line(entry_level)
                self.print(child, node.type)
        writer.flush_pending(entry_level)
        writer.request_line(first, anchor=False, blank=False)
        self.token(children[-1], node.type)
        writer.anchor = saved_anchor
        return first

    def verbatim(self, node: ts.Node) -> int:
        if node.type == "string" and not _is_closed(node):
            self.errors.append(_located(self.source, node, "unterminated string"))
        return self.token(node, node.type)

    def token(self, node: ts.Node, parent_type: str) -> int:
        kind = node.type
        space = self._previous is not None and _spaced(self._previous, kind, parent_type)
        text = _token_text(self.source, node)
        self.writer.token(text, node.start_point.row, node.end_point.row, space)
        self._previous = (kind, parent_type)
        return self.writer.line_level

    def comment(self, node: ts.Node, level: int | None) -> None:
        text = _token_text(self.source, node).rstrip(" \t\f\v")
        self.writer.comment(text, node.start_point.row, level)

    def _continues_on_new_line(self, parent_type: str, child: ts.Node) -> bool:
        """A `| stage` or `-> next` that the author started on its own line."""
        continues = (parent_type == "pipeline" and child.type == "pipe_stage") or (
            parent_type == "sequence" and child.type == "->"
        )
        return continues and child.start_point.row > self.writer.last_row

    def _continuation_level(self, chain: ts.Node, first: int) -> int:
        """One level under the expression's first line, unless that would put
        a continuation at the depth of a body it follows: the parser closes
        blocks by indentation, so such a line would be read as part of the
        body. Then the whole chain's continuations sit at the first line's
        level, so they stay aligned with each other."""
        top = self._chain_top(chain)
        flat = self._flat_chains.get(top.id)
        if flat is None:
            flat = self._flat_chains[top.id] = _first_continuation_follows_body(top)
        level = first if flat else first + 1
        closed = self.writer.closed_block
        if closed is not None and closed <= level:
            level = closed - 1
        return level

    def _chain_top(self, node: ts.Node) -> ts.Node:
        """The outermost `->` of a left-nested chain (pipelines are flat)."""
        while node.type == "sequence":
            parent = node.parent
            if parent is None or parent.type != "sequence" or parent.child_by_field_name("left") != node:
                break
            node = parent
        return node

    @staticmethod
    def _was_multiline(children: list[ts.Node]) -> bool:
        if len(children) <= 2:
            return False
        return any(a.end_point.row < b.start_point.row for a, b in zip(children, children[1:]))


def _chain_links(top: ts.Node) -> list[tuple[ts.Node, ts.Node]]:
    """(what precedes, continuation token or stage) for each link of a chain."""
    if top.type == "pipeline":
        parts = [child for child in top.children if child.type != "comment"]
        return list(zip(parts, parts[1:]))
    links: list[tuple[ts.Node, ts.Node]] = []
    node = top
    while node.type == "sequence":
        left = node.child_by_field_name("left")
        arrow = next(child for child in node.children if child.type == "->")
        links.append((left, arrow))
        node = left
    links.reverse()
    return [(_rightmost_operand(left), arrow) for left, arrow in links]


def _rightmost_operand(node: ts.Node) -> ts.Node:
    while node.type == "sequence":
        right = node.child_by_field_name("right")
        if right is None:  # a dangling `a ->` still being typed
            break
        node = right
    return node


def _first_continuation_follows_body(top: ts.Node) -> bool:
    for before, link in _chain_links(top):
        if link.start_point.row > before.end_point.row:
            return _ends_with_body(before)
    return False


def _ends_with_body(node: ts.Node) -> bool:
    while node.child_count:
        node = node.children[-1]
        if _is_body(node):
            return True
    return False


def _spaced(previous: tuple[str, str], kind: str, parent_type: str) -> bool:
    """Whether a space separates two tokens printed on the same line."""
    before, before_parent = previous
    if before in _NO_SPACE_AFTER or kind in _NO_SPACE_BEFORE:
        return False
    if before == "-" and before_parent == "unary_expression":
        return False
    if kind == "(" and parent_type in _TIGHT_OPEN_PARENTS:
        return False
    return not (before == "{" and kind == "}")

