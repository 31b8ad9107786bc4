"""A typed model of an OpenProse program, built from the Tree-sitter tree.

The checker, the interpreter and the language server all reason about these
small frozen dataclasses rather than raw nodes: children are read by field
name, never by position, and every object carries its source span. Building
is a pure function of the tree, so a statement whose subtree (and position)
did not change can be reused from a previous build (see `ModelCache`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Union

import tree_sitter as ts

from . import codes
from .diagnostics import Anchor, AnchorRow, Diagnostic, EditableLineIndex, Fix, LineIndex, Related, Span, TextEdit
from .indentation import body_levels, indentation_error, levels_before, width
from .indentation import column as visual_column

# --------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Name:
    """A reference to a binding, agent, block or program by name."""

    span: Span
    name: str


@dataclass(frozen=True, slots=True)
class Interp:
    span: Span
    name: str
    name_span: Span
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Str:
    span: Span
    parts: tuple[Union[str, Interp], ...]
    triple: bool
    terminated: bool = True
    #: The literal text with interpolations left as `{name}` (computed once; read often).
    text: str = field(init=False, compare=False, repr=False)
    interpolations: tuple[Interp, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        out = []
        interps = []
        for part in self.parts:
            if isinstance(part, Interp):
                out.append("{" + ".".join((part.name, *part.path)) + "}")
                interps.append(part)
            else:
                out.append(part)
        object.__setattr__(self, "text", "".join(out))
        object.__setattr__(self, "interpolations", tuple(interps))


@dataclass(frozen=True, slots=True)
class Number:
    span: Span
    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def is_integer(self) -> bool:
        return "." not in self.text


@dataclass(frozen=True, slots=True)
class Literal:
    """`true`, `false` or `null`."""

    span: Span
    value: bool | None


@dataclass(frozen=True, slots=True)
class Array:
    span: Span
    items: tuple["Expr", ...]
    #: Written as `- item` lines under its key rather than `[…]`.
    bullets: bool = False


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    span: Span
    key: str
    key_span: Span
    value: "Expr"  # a Name for `{ a }` shorthand
    shorthand: bool


@dataclass(frozen=True, slots=True)
class Object:
    span: Span
    entries: tuple[ObjectEntry, ...]


@dataclass(frozen=True, slots=True)
class Member:
    span: Span
    object: "Expr"
    property: str
    property_span: Span


@dataclass(frozen=True, slots=True)
class Argument:
    span: Span
    name: str | None
    name_span: Span | None
    value: "Expr"


@dataclass(frozen=True, slots=True)
class Call:
    span: Span
    function: Name
    arguments: tuple[Argument, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """An AI-judged `**…**` / `***…***` condition."""

    span: Span
    text: str
    triple: bool
    references: tuple[Interp, ...] = ()


@dataclass(frozen=True, slots=True)
class Binary:
    span: Span
    operator: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Unary:
    span: Span
    operator: str
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class Property:
    span: Span
    key: str
    key_span: Span
    value: "Expr | None"
    children: tuple["Property", ...] = ()
    has_block: bool = False
    #: A bare string line in a property block, read as `prompt:` (`session: agent` / `  "…"`).
    bare: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    """`session …` or `resume: agent` (kind tells which)."""

    span: Span
    kind: str  # "session" | "resume"
    keyword_span: Span
    prompt: Str | None
    agent: Name | None
    name: Name | None
    properties: tuple[Property, ...]

    def property(self, key: str) -> Property | None:
        for prop in self.properties:
            if prop.key == key:
                return prop
        return None


@dataclass(frozen=True, slots=True)
class DoBlock:
    span: Span
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class DoCall:
    span: Span
    block: Name
    arguments: tuple[Argument, ...]
    has_arguments: bool


@dataclass(frozen=True, slots=True)
class Modifier:
    span: Span
    key: str | None
    key_span: Span | None
    value: str | None  # quotes removed
    value_span: Span | None
    value_kind: str | None  # "identifier" | "string" | "number" | "expression"
    quoted: bool


@dataclass(frozen=True, slots=True)
class Parallel:
    span: Span
    keyword_span: Span
    modifiers: tuple[Modifier, ...]
    modifiers_span: Span | None
    body: tuple["Stmt", ...]
    #: `parallel (first` with the line ending before `)` (reported as E005 while building).
    unclosed: bool = False


@dataclass(frozen=True, slots=True)
class ForLoop:
    span: Span
    parallel: bool
    item: Name
    index: Name | None
    collection: "Expr"
    body: tuple["Stmt", ...]
    #: `parallel for x in xs (first):` -- the same modifiers as a parallel block.
    modifiers: tuple["Modifier", ...] = ()
    modifiers_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Repeat:
    span: Span
    count: "Expr"
    index: Name | None
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class Loop:
    span: Span
    keyword_span: Span
    kind: str | None  # "until" | "while" | None
    condition: Condition | None
    modifiers: tuple[Modifier, ...]
    index: Name | None
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class PipeStage:
    span: Span
    operator: str
    operator_span: Span
    parameters: tuple[Name, ...] | None
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class Pipeline:
    span: Span
    input: "Expr"
    stages: tuple[PipeStage, ...]


@dataclass(frozen=True, slots=True)
class Sequence:
    """`a -> b -> c`, flattened."""

    span: Span
    items: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    """A node the model does not understand (inside an ERROR, usually)."""

    span: Span
    type: str


Expr = Union[
    Name, Str, Number, Literal, Array, Object, Member, Call, Condition, Binary, Unary,
    Session, DoBlock, DoCall, Parallel, ForLoop, Repeat, Loop, Pipeline, Sequence, "Try", Unknown,
]

# ----------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Use:
    span: Span
    path: Str
    alias: Name | None


@dataclass(frozen=True, slots=True)
class Import:
    span: Span
    name: Str
    source: Str


@dataclass(frozen=True, slots=True)
class Input:
    span: Span
    name: Name
    description: Str | Condition | None


@dataclass(frozen=True, slots=True)
class Output:
    span: Span
    name: Name | None
    value: Expr


@dataclass(frozen=True, slots=True)
class AgentDef:
    span: Span
    name: Name
    properties: tuple[Property, ...]

    def property(self, key: str) -> Property | None:
        for prop in self.properties:
            if prop.key == key:
                return prop
        return None


@dataclass(frozen=True, slots=True)
class BlockDef:
    span: Span
    name: Name
    parameters: tuple[Name, ...]
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class Let:
    span: Span
    kind: str  # "let" | "const"
    names: tuple[Name, ...]
    destructure: bool
    value: Expr


@dataclass(frozen=True, slots=True)
class Assign:
    span: Span
    name: Name
    value: Expr


@dataclass(frozen=True, slots=True)
class Branch:
    span: Span
    keyword_span: Span
    condition: Expr | None
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class If:
    span: Span
    branches: tuple[Branch, ...]  # if, then each elif
    else_branch: Branch | None


@dataclass(frozen=True, slots=True)
class Try:
    span: Span
    keyword_span: Span
    body: tuple["Stmt", ...]
    catch: Branch | None
    catch_name: Name | None
    finally_: Branch | None


@dataclass(frozen=True, slots=True)
class Throw:
    span: Span
    message: Str | None


@dataclass(frozen=True, slots=True)
class Assert:
    """`assert condition: "message"`: throws the message when the condition does not hold."""

    span: Span
    keyword_span: Span
    condition: "Expr"
    message: Str | None


@dataclass(frozen=True, slots=True)
class Option:
    span: Span
    label: Str
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class Choice:
    span: Span
    criteria: Condition
    options: tuple[Option, ...]
    stray: tuple["Stmt", ...] = ()  # statements in the body that are not options


@dataclass(frozen=True, slots=True)
class Orphan:
    """An elif/else/catch/finally/option with no opener in front of it."""

    span: Span
    keyword: str
    keyword_span: Span
    body: tuple["Stmt", ...]


@dataclass(frozen=True, slots=True)
class ExprStmt:
    span: Span
    expr: Expr


Stmt = Union[
    Use, Import, Input, Output, AgentDef, BlockDef, Let, Assign, If, Try, Throw, Assert, Choice, Orphan, ExprStmt,
]


@dataclass(frozen=True, slots=True)
class Program:
    span: Span
    body: tuple[Stmt, ...]
    source: bytes = field(repr=False, compare=False, default=b"")
    #: E001/E002/E005 found while building: unterminated strings, unknown escapes, stray indentation.
    lexical: tuple[Diagnostic, ...] = ()


def word(expr: object) -> str | None:
    """The text of a value written as a bare word or a string (`model: opus`, `backoff: "linear"`)."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Str):
        return expr.text
    return None


# -------------------------------------------------------------------- builder


class _Context:
    """The statement being built: spans are stored relative to its anchor,
    and lexical problems found on the way are collected for it."""

    anchor: Anchor = Anchor(0, LineIndex(b""))
    source: bytes = b""
    problems: list[Diagnostic] = []


_ctx = _Context()


_new = object.__new__


def _sp(node: ts.Node) -> Span:
    """Span.anchored, inlined: this runs for almost every node of a program."""
    anchor = _ctx.anchor
    base = anchor._rel + anchor._shift.value  # `anchor.byte`, inlined too
    span = _new(Span)
    span._anchor = anchor
    span._start = node.start_byte - base
    span._end = node.end_byte - base
    span._points = None
    return span


def _abs(start: int, end: int) -> Span:
    return Span.anchored(_ctx.anchor, start, end)


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t", "\\{": "{", "\\}": "}"}


@dataclass(frozen=True)
class ModelChanges:
    """What one `ModelCache.build` changed in the program body, so later stages need not diff it.

    Every statement of the new body that is not in `added` is the very object
    the previous build returned (its anchor moved if the edit moved it, so its
    spans already give the new positions).
    """

    #: The previous build's statements that are not in the new body, in their old body order.
    removed: tuple[Stmt, ...] = ()
    #: The statements built by this build, in body order.
    added: tuple[Stmt, ...] = ()
    #: No previous build to compare with (the first one): `added` is the whole body.
    everything_new: bool = True
    #: Built from edit hints (`ModelCache.note_edit`): only the damaged statements were looked at.
    hinted: bool = False
    #: How many top-level statements the build looked at (all of them without hints).
    visited: int = 0


class _Entry:
    """One top-level statement of the last build (any root child but comments and recovery leftovers)."""

    __slots__ = ("node_id", "generation", "text", "stmt", "anchor", "found", "problems", "kind")

    def __init__(self, node_id: int, text: bytes, stmt: Stmt | None, anchor: Anchor,
                 found: tuple[Diagnostic, ...], problems: tuple[Diagnostic, ...], generation: int = 0,
                 kind: str = "") -> None:
        #: The node it was built from. A node id is the address of the node's slot in its parent's
        #: child array: it names the same subtree only while the tree holding that slot lives, so the
        #: cache keeps the tree of the build (`generation`) that made the entry alive, or forgets the id.
        self.node_id = node_id
        self.generation = generation
        self.text = text
        self.stmt = stmt  # None: recovery left a node no builder knows
        self.anchor = anchor
        self.found = found  # the statement's own lexical problems (reused with it)
        self.problems = problems  # the column rule's problem, if any, then `found`
        #: The node's type, "" when its tree had errors: with the text, what finds it again in a fresh parse.
        self.kind = kind


#: A stretch of the text an edit may have changed: (new_lo, new_hi, old_lo, old_hi) --
#: new bytes [new_lo, new_hi) replaced old bytes [old_lo, old_hi); the rest only moved.
_Damage = tuple[int, int, int, int]

#: More separate damaged stretches than this are merged into one covering them all.
_MAX_DAMAGE = 32

#: Trees of hinted builds kept alive for the node ids of their entries (besides the tree of the
#: last full build); the oldest is let go beyond this many, and its entries' ids are forgotten
#: (such an entry is rebuilt when an edit reaches it, and is not taken as proof of a resync).
_MAX_TREES = 64

#: A node id no node has.
_FORGOTTEN = -1

_by_anchor = attrgetter("anchor.byte")


def _skipped(node: ts.Node) -> bool:
    return node.type == "comment" or node.is_error or node.is_missing


class ModelCache:
    """Reuses the models of top-level statements an edit did not touch.

    Tree-sitter keeps unchanged subtrees across incremental reparses. A
    top-level statement whose subtree and text are unchanged gets its previous
    model back; if the edit moved it, only its anchor moves (every span in it
    is relative to the anchor), so the cost is independent of its size.
    Programs built earlier by the same cache therefore see moved positions:
    keep only the newest one.

    Told the edits since the last build (`note_edit`, as the language server
    does for every change it applies to the tree), `build` goes further and
    looks only at the statements in the damaged stretches: the edited bytes,
    widened to whole lines and whole top-level statements, and onwards until
    the new tree's statements are again the very subtrees of the old one (same
    node, same offset after the edit's shift). Statements before the damage
    keep their anchors; those after it move by the byte delta; the line index
    is edited, not rebuilt, and every anchor shares it, so rows need no
    per-statement work. What cannot be proven unchanged is looked at too (a
    fresh parse shares no subtree with the old tree, so there the walk covers
    the whole program), and where the outcome for the statements left alone
    could differ (the column the top level is indented to changed, recovery
    left nodes no builder knows) the build falls back to the loop over every
    statement, which is exactly the build without hints.

    `changes` describes the last build (see `ModelChanges`).
    """

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._body: list[Stmt] = []  # the entries' statements (when `_dense`)
        #: The entries' anchors, moved by blocks (an entry is a cold object per statement).
        self._anchors = AnchorRow()
        self._by_id: dict[int, _Entry] = {}
        self._flagged: list[_Entry] = []  # entries with problems, in body order
        self._column: int | None = None  # the column of the top-level statements
        self._first = -1  # index of the entry that set it (-1: none did)
        #: Every entry has a statement and they start at increasing offsets (what hints rely on).
        self._dense = True
        self._lines = EditableLineIndex(b"")
        self._tree: ts.Tree | None = None  # the last build's tree (the server edits it in place)
        self._generation = 0  # bumped by every build
        self._base: ts.Tree | None = None  # the tree of the last full build (most entries' ids are its)
        #: The trees of the hinted builds since, oldest first, with the entries each made.
        self._recent: deque[tuple[int, ts.Tree, list[_Entry]]] = deque()
        self._length = 0
        self._source = b""
        self._built = False
        self._damage: list[_Damage] = []
        self._noted = False
        self.changes = ModelChanges()

    def note_edit(self, start_byte: int, old_end_byte: int, new_end_byte: int) -> None:
        """Record one edit of the text (offsets as for `Tree.edit`, in the text as it is when it happens).

        Edits between two builds compose; the next `build` uses them when its
        tree is an incremental reparse of the previous build's tree edited the
        same way. A caller that reports edits must report every one of them.
        """
        self._noted = True
        if not 0 <= start_byte <= old_end_byte or new_end_byte < start_byte:
            self._damage = [(0, 1 << 62, 0, 1 << 62)]  # nonsense: everything is damaged
            return
        delta = new_end_byte - old_end_byte
        before: list[_Damage] = []
        group: list[_Damage] = []
        after: list[_Damage] = []
        for stretch in self._damage:
            if stretch[1] < start_byte:
                before.append(stretch)
            elif stretch[0] > old_end_byte:
                after.append((stretch[0] + delta, stretch[1] + delta, stretch[2], stretch[3]))
            else:
                group.append(stretch)
        shift = sum((n1 - n0) - (o1 - o0) for n0, n1, o0, o1 in before)  # new minus old offsets before the edit
        if group and group[0][0] < start_byte:
            new_lo, old_lo = group[0][0], group[0][2]
        else:
            new_lo, old_lo = start_byte, start_byte - shift
        if group and group[-1][1] > old_end_byte:
            new_hi, old_hi = group[-1][1] + delta, group[-1][3]
        else:
            shift += sum((n1 - n0) - (o1 - o0) for n0, n1, o0, o1 in group)
            new_hi, old_hi = new_end_byte, old_end_byte - shift
        damage = [*before, (new_lo, new_hi, old_lo, old_hi), *after]
        if len(damage) > _MAX_DAMAGE:
            damage = [(damage[0][0], damage[-1][1], damage[0][2], damage[-1][3])]
        self._damage = damage

    def forget_edits(self) -> None:
        """The next tree is a fresh parse, not a reparse of the last one: its nodes share nothing
        with the old tree, so the edit hints cannot say what moved. The next build goes over every
        statement and reuses the unchanged ones by their text."""
        self._damage, self._noted = [], False

    def build(self, tree: ts.Tree, source: bytes) -> Program:
        """The program of ``tree`` (a parse of ``source``), equal to `build_program`'s."""
        damage, noted = self._damage, self._noted
        self._damage, self._noted = [], False
        if (not noted and self._built and tree is self._tree and not tree.root_node.has_changes
                and source == self._source):
            self.changes = ModelChanges(everything_new=False, hinted=True)  # built twice: nothing changed
            return self._program(tree, source)
        self._generation += 1
        try:
            program = None
            if noted and self._hints_apply(tree, source, damage):
                program = self._build_hinted(tree, source, damage)
            if program is None:
                program = self._build_all(tree, source)
        except BaseException:
            self.__init__()  # type: ignore[misc]  # half-updated state must not be trusted next time
            raise
        self._tree = tree
        self._source = source
        self._length = len(source)
        self._built = True
        return program

    def _hints_apply(self, tree: ts.Tree, source: bytes, damage: list[_Damage]) -> bool:
        old = self._tree
        if not (self._built and self._dense and damage and old is not None and old is not tree):
            return False
        if not old.root_node.has_changes:
            return False  # the old tree was not edited: the new one cannot be its reparse
        shift = sum((n1 - n0) - (o1 - o0) for n0, n1, o0, o1 in damage)
        return self._length + shift == len(source) and damage[-1][1] <= len(source)

    # ------------------------------------------------------------------ the loop over every statement

    def _build_all(self, tree: ts.Tree, source: bytes) -> Program:
        lines = self._lines
        lines.load(source)  # in place: the anchors kept from earlier builds follow
        _ctx.source = source
        reuse = self._by_id
        old_entries = self._entries
        generation = self._generation
        entries: list[_Entry] = []
        body: list[Stmt] = []
        anchors: list[Anchor] = []
        flagged: list[_Entry] = []
        by_id: dict[int, _Entry] = {}
        added: list[Stmt] = []
        kept: set[_Entry] = set()  # the old entries whose statements are reused
        checked: list[Diagnostic] = []
        column: int | None = None
        first = -1
        dense = True
        previous_start = -1
        children = tree.root_node.named_children
        # Allocated together, the anchors sit close in memory: loading the row visits every one.
        spare = None if old_entries else iter([Anchor(0, lines) for _ in children])
        same_text: dict[tuple[str, bytes], list[_Entry]] | None = None
        clean = not tree.root_node.has_error  # error recovery depends on more than a statement's bytes
        for child in children:  # `_entry`, inlined: this runs for every statement
            if child.type == "comment" or child.is_error or child.is_missing:
                continue
            start = child.start_byte
            text = source[start : child.end_byte]
            old = reuse.get(child.id)
            if old is None or old.text != text or child.has_error or old in kept:
                old = None
                if clean and old_entries:
                    # A fresh parse shares no node with the old tree. In a tree without errors a
                    # top-level statement is a function of its type and bytes, so it is found by them.
                    if same_text is None:
                        same_text = _by_text(old_entries)
                    twins = same_text.get((child.type, text))
                    while twins and twins[-1] in kept:
                        twins.pop()
                    old = twins.pop() if twins else None
            if old is not None:
                stmt, anchor, found = old.stmt, old.anchor, old.found
                anchor.byte = start
                kept.add(old)
            else:
                anchor = Anchor(start, lines) if spare is None else next(spare)
                anchor.byte = start
                _ctx.anchor = anchor
                _ctx.problems = []
                stmt = _build_statement(child)
                found = tuple(_ctx.problems)
                if stmt is not None:
                    added.append(stmt)
            column_after = _check_column(child, column, checked)
            if checked:
                problems = (*(_following(d, anchor, start) for d in checked), *found)
                checked = []
            else:
                problems = found
            entry = _Entry(child.id, text, stmt, anchor, found, problems, generation, child.type if clean else "")
            if column is None and column_after is not None:
                first = len(entries)
            column = column_after
            if stmt is None:
                dense = False
            else:
                body.append(stmt)
            if start <= previous_start:
                dense = False
            previous_start = start
            entries.append(entry)
            anchors.append(anchor)
            by_id[entry.node_id] = entry
            if problems:
                flagged.append(entry)
        self._base = tree
        self._recent.clear()
        self._anchors.load(anchors)
        self._entries, self._body, self._by_id, self._flagged = entries, body, by_id, flagged
        self._column, self._first, self._dense = column, first, dense
        removed = () if len(kept) == len(old_entries) else tuple(
            [e.stmt for e in old_entries if e not in kept and e.stmt is not None])
        self.changes = ModelChanges(removed, tuple(added), everything_new=not self._built, visited=len(entries))
        return self._program(tree, source)

    def _program(self, tree: ts.Tree, source: bytes) -> Program:
        lexical = tuple(d for e in self._flagged for d in e.problems)
        return Program(Span.of(tree.root_node), tuple(self._body), source, lexical)

    # ------------------------------------------------------------------ only the damaged statements

    def _build_hinted(self, tree: ts.Tree, source: bytes, damage: list[_Damage]) -> Program | None:
        """The build with edit hints, or None when it cannot be proven equal to the full loop."""
        root = tree.root_node
        clean = not root.has_error
        entries, by_id, lines = self._entries, self._by_id, self._lines
        if not entries:
            return None
        _ctx.source = source
        runs: list[tuple[int, int, list[_Entry], int]] = []  # (old i, old j, new entries, byte shift after)
        moves: list[tuple[Anchor, int]] = []  # reused statements inside the damage, moved at the end
        column: int | None = None
        first = -1
        done = 0  # old entries before this index are accounted for
        grown = 0  # new entries minus old ones so far
        k = 0
        count = len(damage)
        rfind, find = source.rfind, source.find
        while k < count:
            new_lo, new_hi, old_lo, old_hi = damage[k]
            shift_before = new_lo - old_lo
            line_lo = rfind(b"\n", 0, new_lo) + 1
            # Back to the last statement before the damage that is still the old tree's own.
            last = _last_named_child(root)
            if last is None or last.end_byte <= line_lo:
                node, prev = None, last  # (first_named_child_for_byte crashes when no child is left)
            else:
                node = root.first_named_child_for_byte(line_lo)
                prev = node.prev_named_sibling
            i = 0
            while prev is not None:
                if prev.end_byte >= line_lo or _skipped(prev):
                    node, prev = prev, prev.prev_named_sibling
                    continue
                old = by_id.get(prev.id)
                if (old is not None and old.anchor.byte == prev.start_byte - shift_before
                        and old.text == source[prev.start_byte : prev.end_byte]):
                    i = self._index(old)
                    if i < 0:
                        return None
                    i += 1
                    break
                node, prev = prev, prev.prev_named_sibling
            if i < done:
                return None
            # The unchanged stretch [done, i): the old first statement may set the column there.
            if column is None and done <= self._first < i:
                column, first = self._column, self._first + grown
            line_hi = find(b"\n", new_hi)
            if line_hi == -1:
                line_hi = len(source)
            shift_after = new_hi - old_hi
            fresh: list[_Entry] = []
            reused: list[_Entry] = []
            matched = False
            sync: _Entry | None = None
            last_start = entries[i - 1].anchor.byte + shift_before if i else -1
            while node is not None:
                start = node.start_byte
                if start > line_hi:
                    if k + 1 < count and node.end_byte >= rfind(b"\n", 0, damage[k + 1][0]) + 1:
                        k += 1  # the walk reached the next damaged stretch: one run for both
                        new_hi, old_hi = damage[k][1], damage[k][3]
                        line_hi = find(b"\n", new_hi)
                        if line_hi == -1:
                            line_hi = len(source)
                        shift_after = new_hi - old_hi
                        matched = False
                        continue
                    if not _skipped(node):
                        old = by_id.get(node.id)
                        if (old is not None and old.anchor.byte == start - shift_after
                                and old.text == source[start : node.end_byte]):
                            if matched:
                                sync = old  # two in a row: this one and the rest are unchanged
                                break
                            matched = True  # its column problem may still change: rebuilt below
                        else:
                            matched = False
                if not _skipped(node):
                    if start <= last_start:
                        return None  # zero-width leftovers: entries must start at increasing offsets
                    last_start = start
                    entry, column_after, old = _entry(node, start, source, column, by_id, lines, None, clean)
                    if entry.stmt is None:
                        return None
                    if old is not None:
                        reused.append(old)
                        moves.append((old.anchor, start))
                    if column is None and column_after is not None:
                        first = i + grown + len(fresh)
                    column = column_after
                    fresh.append(entry)
                node = node.next_named_sibling
            j = len(entries) if sync is None else self._index(sync)
            if j < i:
                return None
            if reused:
                inside = {id(e) for e in entries[i:j]}
                if len(reused) != len({id(e) for e in reused}) or any(id(e) not in inside for e in reused):
                    return None
            if column is None and i <= self._first < j:
                return None  # the old first statement is gone and none took its place: unknown column
            runs.append((i, j, fresh, shift_after))
            grown += len(fresh) - (j - i)
            done = j
            k += 1
            if sync is None:
                break  # the walk reached the end of the program
        if column is None and self._first >= done:
            column, first = self._column, self._first + grown
        if column != self._column:
            return None  # the top level's column changed: every statement's column problem may too
        self._commit(tree, source, damage, runs, moves, first)
        return self._program(tree, source)

    def _index(self, entry: _Entry) -> int:
        """Where ``entry`` is in the old entries (found by its anchor, not yet moved), -1 if it is not."""
        entries = self._entries
        i = bisect_left(entries, entry.anchor.byte, key=_by_anchor)
        return i if i < len(entries) and entries[i] is entry else -1

    def _commit(self, tree: ts.Tree, source: bytes, damage: list[_Damage],
                runs: list[tuple[int, int, list[_Entry], int]], moves: list[tuple[Anchor, int]], first: int) -> None:
        """Splice the runs into the cache's lists (in place: the tails are moved by memmove, not
        rebuilt) and move the anchors after each run by its shift (by blocks: see `AnchorRow`)."""
        entries, flagged, body, anchors, by_id = self._entries, self._flagged, self._body, self._anchors, self._by_id
        generation = self._generation
        made: list[_Entry] = []
        removed: list[Stmt] = []
        added: list[Stmt] = []
        # Flagged entries of each run, found while every anchor still has its old offset.
        bounds = []
        for i, j, _, _ in runs:
            lo = bisect_left(flagged, entries[i].anchor.byte, key=_by_anchor) if i < len(entries) else len(flagged)
            hi = bisect_left(flagged, entries[j].anchor.byte, key=_by_anchor) if j < len(entries) else len(flagged)
            bounds.append((lo, hi))
        for n, (i, j, fresh, shift) in enumerate(runs):
            anchors.move(j, runs[n + 1][0] if n + 1 < len(runs) else len(anchors), shift)
            kept = {id(e.stmt) for e in fresh}
            was = {id(e.stmt) for e in entries[i:j]}
            for e in entries[i:j]:
                if id(e.stmt) not in kept:
                    removed.append(e.stmt)  # type: ignore[arg-type]  # dense: never None
                if by_id.get(e.node_id) is e:
                    del by_id[e.node_id]
            for e in fresh:
                e.generation = generation
                by_id[e.node_id] = e
                if id(e.stmt) not in was:
                    added.append(e.stmt)  # type: ignore[arg-type]
            made += fresh
        for (i, j, fresh, _), (lo, hi) in zip(reversed(runs), reversed(bounds)):
            entries[i:j] = fresh
            body[i:j] = [e.stmt for e in fresh]  # type: ignore[misc]
            anchors.replace(i, j, [e.anchor for e in fresh])
            flagged[lo:hi] = [e for e in fresh if e.problems]
        for anchor, byte in moves:
            anchor.byte = byte
        self._lines.edit(source, [(o0, o1, n0, n1) for n0, n1, o0, o1 in damage])
        self._first = first
        self._recent.append((generation, tree, made))
        if len(self._recent) > _MAX_TREES:
            old, _, entries_of_old = self._recent.popleft()  # its tree goes: its slots may be handed out again
            for e in entries_of_old:
                if e.generation == old:
                    if by_id.get(e.node_id) is e:
                        del by_id[e.node_id]
                    e.node_id = _FORGOTTEN
        self.changes = ModelChanges(tuple(removed), tuple(added), everything_new=False, hinted=True,
                                    visited=len(made))


def _by_text(entries: list[_Entry]) -> dict[tuple[str, bytes], list[_Entry]]:
    """The entries with a statement by node type and text, each list last-first (`pop` takes the first)."""
    out: dict[tuple[str, bytes], list[_Entry]] = {}
    for entry in reversed(entries):
        if entry.kind and entry.stmt is not None and not entry.found:
            out.setdefault((entry.kind, entry.text), []).append(entry)
    return out


def _last_named_child(node: ts.Node) -> ts.Node | None:
    count = node.named_child_count
    return node.named_child(count - 1) if count else None


def _entry(child: ts.Node, start: int, source: bytes, column: int | None, reuse: dict[int, _Entry],
           lines: LineIndex, spare: Anchor | None, clean: bool = False) -> tuple[_Entry, int | None, _Entry | None]:
    """One top-level statement as the loop over every statement handles it.

    Returns its entry, the top level's column after it, and the old entry
    whose statement it reuses (whose anchor the caller moves to ``start``).
    """
    text = source[start : child.end_byte]
    old = reuse.get(child.id)
    if old is not None and old.text == text and not child.has_error:
        stmt, anchor, found = old.stmt, old.anchor, old.found
    else:
        old = None
        if spare is None:
            anchor = Anchor(start, lines)
        else:
            anchor = spare
            anchor.byte = start
        _ctx.anchor = anchor
        _ctx.problems = []
        stmt = _build_statement(child)
        found = tuple(_ctx.problems)
    checked: list[Diagnostic] = []
    column = _check_column(child, column, checked)
    # Kept with the statement, so it must move with the anchor (relative to ``start``, where it is now).
    problems = (*(_following(d, anchor, start) for d in checked), *found) if checked else found
    return _Entry(child.id, text, stmt, anchor, found, problems, kind=child.type if clean else ""), column, old


def _following(diag: Diagnostic, anchor: Anchor, base: int) -> Diagnostic:
    """``diag`` with every span following ``anchor``, for a statement that starts at ``base`` now."""
    def move(span: Span) -> Span:
        out = _new(Span)
        out._anchor = anchor
        out._start = span.start_byte - base
        out._end = span.end_byte - base
        out._points = None
        return out

    related = tuple(Related(r.message, move(r.span)) for r in diag.related)
    fixes = tuple(Fix(f.title, tuple(TextEdit(move(e.span), e.new_text) for e in f.edits)) for f in diag.fixes)
    return Diagnostic(diag.code, diag.severity, diag.message, move(diag.span), related, fixes)


def build_program(tree: ts.Tree, source: bytes) -> Program:
    lines = LineIndex(source)
    _ctx.source = source
    body: list[Stmt] = []
    problems: list[Diagnostic] = []
    column: int | None = None
    for child in tree.root_node.named_children:
        if child.type == "comment" or child.is_error or child.is_missing:
            continue
        column = _check_column(child, column, problems)
        _ctx.anchor = Anchor(child.start_byte, lines)
        _ctx.problems = problems
        stmt = _build_statement(child)
        if stmt is not None:
            body.append(stmt)
    return Program(Span.of(tree.root_node), tuple(body), source, tuple(problems))


def _check_column(node: ts.Node, column: int | None, problems: list[Diagnostic], *, anchored: bool = False,
                  statement: bool = True) -> int | None:
    """Statements of one body (or properties of one block) share a column; report one that does not.

    The scanner keeps a line indented between two open levels in the inner
    body (or, when it owns what follows, ends that body), and reads a deeper
    line that starts a statement as a statement, so the parse stays intact
    and the mistake is reported here, on its own line.
    """
    source = _ctx.source
    start = node.start_byte
    col = node.start_point[1]
    line_start = start - col
    if col:
        prefix = source[line_start:start]
        if prefix.strip():
            return column  # not first on its line (recovery left something before it): says nothing of the level
        if b"\t" in prefix:
            col = width(prefix)  # as the scanner reads it
    if column is None:
        return col
    if col != column:
        root = node
        while root.parent is not None:
            root = root.parent
        levels = levels_before(root, source, line_start, statement=statement)
        if column not in levels:
            levels.append(column)
        found = indentation_error(source, line_start, node.start_point[0], width(source[line_start : node.start_byte]), levels)
        # Inside a statement the problem is cached with it, so it must move with its anchor.
        problems.append(_anchored(found) if anchored else found)
    return column


def _anchored(diag: Diagnostic) -> Diagnostic:
    """The same diagnostic with spans relative to the statement being built."""
    def move(span: Span) -> Span:
        return _abs(span.start_byte, span.end_byte)

    fixes = tuple(Fix(f.title, tuple(TextEdit(move(e.span), e.new_text) for e in f.edits)) for f in diag.fixes)
    return Diagnostic(diag.code, diag.severity, diag.message, move(diag.span), diag.related, fixes)


def _statements(node: ts.Node | None) -> tuple[Stmt, ...]:
    if node is None:
        return ()
    out: list[Stmt] = []
    column: int | None = None
    after_error = False
    for child in node.named_children:
        if child.type == "comment":
            continue
        if child.is_error or child.is_missing:
            after_error = True
            continue
        if after_error:
            column, after_error = None, False  # recovery may leave odd columns behind an error
        column = _check_column(child, column, _ctx.problems, anchored=True)
        stmt = _build_statement(child)
        if stmt is not None:
            out.append(stmt)
    return tuple(out)


def _body(node: ts.Node) -> tuple[Stmt, ...]:
    return _statements(node.child_by_field_name("body"))


def _name(node: ts.Node | None) -> Name | None:
    if node is None or node.is_missing:
        return None
    return Name(_sp(node), _text(node))


def _build_statement(node: ts.Node) -> Stmt | None:
    builder = _STATEMENTS.get(node.type)
    if builder is None:
        return None
    return builder(node)


def _use(node: ts.Node) -> Use:
    return Use(_sp(node), _string(node.child_by_field_name("path")), _name(node.child_by_field_name("alias")))


def _import(node: ts.Node) -> Import:
    return Import(
        _sp(node), _string(node.child_by_field_name("name")), _string(node.child_by_field_name("source"))
    )


def _input(node: ts.Node) -> Input:
    desc = node.child_by_field_name("description")
    description: Str | Condition | None = None
    if desc is not None:
        description = _condition(desc) if desc.type == "condition" else _string(desc)
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    return Input(_sp(node), name, description)


def _bound_value(node: ts.Node) -> Expr:
    value = node.child_by_field_name("value")
    if value is None:
        equals = next((c for c in node.children if c.type == "="), node)
        return Unknown(_sp(equals), "missing")
    return _expr(value)


def _output(node: ts.Node) -> Output:
    return Output(_sp(node), _name(node.child_by_field_name("name")), _bound_value(node))


def _agent(node: ts.Node) -> AgentDef:
    _need_colon(node)
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    return AgentDef(_sp(node), name, _properties(node.child_by_field_name("properties")))


def _block_def(node: ts.Node) -> BlockDef:
    _need_colon(node)
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    params = node.child_by_field_name("parameters")
    return BlockDef(_sp(node), name, _parameters(params), _body(node))


def _parameters(node: ts.Node | None) -> tuple[Name, ...]:
    if node is None:
        return ()
    return tuple(Name(_sp(c), _text(c)) for c in node.named_children if c.type == "identifier")


def _let(node: ts.Node) -> Let:
    target = node.child_by_field_name("name")
    kind = "const" if node.type == "const_statement" else "let"
    if target is not None and target.type == "object_pattern":
        names = _parameters(target)
        destructure = True
    else:
        one = _name(target)
        names = (one,) if one is not None else ()
        destructure = False
    return Let(_sp(node), kind, names, destructure, _bound_value(node))


def _assign(node: ts.Node) -> Assign:
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    return Assign(_sp(node), name, _bound_value(node))


_BODY_TYPES = frozenset({"block", "property_block"})


def _need_colon(node: ts.Node) -> None:
    """E005 for a header (`if …`, `agent a`, `parallel`…) written without its `:`.

    The grammar accepts the header without it, so the body still parses as
    the body and the one diagnostic, with its fix, sits on the header line.
    """
    last: ts.Node | None = None
    for child in node.children:
        if child.type == ":" and not child.is_missing:
            return
        if child.is_named and child.type in _BODY_TYPES | _CLAUSE_TYPES:  # (the `block` keyword is not a body)
            break
        if child.type != "comment" and child.end_byte > child.start_byte:
            last = child
    if last is None:
        return
    at = _abs(last.end_byte, last.end_byte)
    keyword = node.child(0)
    word = keyword.type if keyword is not None else node.type
    _ctx.problems.append(
        codes.E005.at(at, f"expected ':' at the end of the '{word}' line",
                      fixes=(Fix("Add ':'", (TextEdit(at, ":"),)),))
    )


_CLAUSE_TYPES = frozenset({"elif_clause", "else_clause", "catch_clause", "finally_clause"})


def _keyword_span(node: ts.Node) -> Span:
    first = node.child(0)
    return _sp(first if first is not None else node)


def _branch(node: ts.Node) -> Branch:
    _need_colon(node)
    cond = node.child_by_field_name("condition")
    return Branch(_sp(node), _keyword_span(node), _expr(cond) if cond is not None else None, _body(node))


def _if(node: ts.Node) -> If:
    branches = [_branch(node)]
    else_branch = None
    for alt in node.children_by_field_name("alternative"):
        if alt.type == "elif_clause":
            branches.append(_branch(alt))
        else:
            else_branch = _branch(alt)
    return If(_sp(node), tuple(branches), else_branch)


def _try(node: ts.Node) -> Try:
    _need_colon(node)
    handler = node.child_by_field_name("handler")
    finalizer = node.child_by_field_name("finalizer")
    return Try(
        _sp(node),
        _keyword_span(node),
        _body(node),
        _branch(handler) if handler is not None else None,
        _name(handler.child_by_field_name("error")) if handler is not None else None,
        _branch(finalizer) if finalizer is not None else None,
    )


def _throw(node: ts.Node) -> Throw:
    message = node.child_by_field_name("message")
    return Throw(_sp(node), _string(message) if message is not None else None)


def _assert(node: ts.Node) -> Assert:
    cond = node.child_by_field_name("condition")
    message = node.child_by_field_name("message")
    return Assert(
        _sp(node),
        _keyword_span(node),
        _expr(cond) if cond is not None else Unknown(_sp(node), "missing"),
        _string(message) if message is not None else None,
    )


def _choice(node: ts.Node) -> Choice:
    _need_colon(node)
    criteria = node.child_by_field_name("criteria")
    options: list[Option] = []
    stray: list[Stmt] = []
    body = node.child_by_field_name("body")
    for stmt_node in body.named_children if body is not None else ():
        if stmt_node.type == "option_clause":
            _need_colon(stmt_node)
            options.append(Option(_sp(stmt_node), _string(stmt_node.child_by_field_name("label")), _body(stmt_node)))
        elif stmt_node.type != "comment" and not stmt_node.is_error:
            built = _build_statement(stmt_node)
            if built is not None:
                stray.append(built)
    cond = _condition(criteria) if criteria is not None else Condition(_sp(node), "", False)
    return Choice(_sp(node), cond, tuple(options), tuple(stray))


def _orphan(node: ts.Node) -> Orphan:
    _need_colon(node)
    keyword = node.type.split("_")[0]
    return Orphan(_sp(node), keyword, _keyword_span(node), _body(node))


def _expr_stmt(node: ts.Node) -> ExprStmt:
    inner = node.named_children
    expr_node = next((c for c in inner if c.type != "comment"), None)
    expr = _expr(expr_node) if expr_node is not None else Unknown(_sp(node), "missing")
    return ExprStmt(_sp(node), expr)


_STATEMENTS = {
    "use_statement": _use,
    "import_statement": _import,
    "input_declaration": _input,
    "output_statement": _output,
    "agent_definition": _agent,
    "block_definition": _block_def,
    "let_statement": _let,
    "const_statement": _let,
    "assignment": _assign,
    "if_statement": _if,
    "elif_clause": _orphan,
    "else_clause": _orphan,
    "try_statement": _try,
    "catch_clause": _orphan,
    "finally_clause": _orphan,
    "throw_statement": _throw,
    "assert_statement": _assert,
    "choice_block": _choice,
    "option_clause": _orphan,
    "expression_statement": _expr_stmt,
}

# ---------------------------------------------------------------- expressions


def _properties(node: ts.Node | None) -> tuple[Property, ...]:
    if node is None:
        return ()
    out = []
    column: int | None = None
    for prop in node.named_children:
        if prop.type in ("property", "prompt_line", "word_line"):
            column = _check_column(prop, column, _ctx.problems, anchored=True, statement=False)
        if prop.type == "prompt_line":
            text = prop.child_by_field_name("prompt")
            if text is not None:
                value_str = _string(text)
                out.append(Property(_sp(prop), "prompt", value_str.span, value_str, bare=True))
            continue
        if prop.type == "word_line":
            word = prop.child_by_field_name("word")
            if word is not None:
                _ctx.problems.append(
                    codes.E004.at(_sp(word),
                                  f"'{_text(word)}' alone is not a property: write `{_text(word)}: value`")
                )
            continue
        if prop.type != "property":
            continue
        key = prop.child_by_field_name("key")
        value = prop.child_by_field_name("value")
        nested = prop.child_by_field_name("properties")
        assert key is not None
        key_text = _text(key)
        if value is not None and nested is not None:
            # `model: sonnet` with a deeper line under it: a property indented too far.
            # Report it on that line and keep its properties as siblings.
            first = next((c for c in nested.named_children if c.type == "property"), None)
            if first is not None:
                line_start = first.start_byte - first.start_point[1]
                found = indentation_error(
                    _ctx.source, line_start, first.start_point[0], visual_column(first, _ctx.source), body_levels(prop, _ctx.source),
                    why=f" ('{key_text}' has a value, so nothing can be nested under it)",
                )
                _ctx.problems.append(_anchored(found))
            out.append(Property(_sp(prop), key_text, _sp(key), _expr(value)))
            out.extend(_properties(nested))
            continue
        out.append(
            Property(
                _sp(prop),
                key_text,
                _sp(key),
                _list_block(value, words=key_text == "skills") if value is not None and value.type == "list_block"
                else _expr(value) if value is not None else None,
                _properties(nested),
                nested is not None,
            )
        )
    return tuple(out)


def _list_block(node: ts.Node, *, words: bool) -> Array:
    """`- item` lines. Under `skills:` a bare word is the skill's name, as in YAML."""
    items: list[Expr] = []
    for child in node.named_children:
        if child.type == "comment":
            continue
        if words and child.type == "identifier":
            items.append(Str(_sp(child), (_text(child),), False))
        else:
            items.append(_expr(child))
    return Array(_sp(node), tuple(items), bullets=True)


# The scanner's rules, as one pattern: an escape, or a `{name(.name)*}` interpolation.
_IDENT = rb"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"
_PARTS = re.compile(rb"(\\[^\r\n])|\{(" + _IDENT + rb")((?:\." + _IDENT + rb")*)\}")


def _first_line(node: ts.Node, raw: bytes) -> Span:
    cut = raw.find(b"\n")
    if cut != -1 and raw[cut - 1 : cut] == b"\r":
        cut -= 1
    return _abs(node.start_byte, node.start_byte + (len(raw) if cut == -1 else cut))


def _string(node: ts.Node | None) -> Str:
    """A string's parts, read from its text with the scanner's own rules.

    Reading the bytes once is much cheaper than visiting every content,
    escape and interpolation node from Python.
    """
    if node is None:
        return Str(Span(0, 0, 0, 0, 0, 0), (), False)
    raw = node.text or b""
    base = node.start_byte
    triple = raw.startswith(b'"""')
    quote = b'"""' if triple else b'"'
    opener = len(quote)
    terminated = len(raw) >= 2 * opener and raw.endswith(quote)
    if terminated and not triple:
        backslashes = len(raw) - 1 - len(raw[:-1].rstrip(b"\\"))
        terminated = backslashes % 2 == 0 and len(raw) >= 2
    body_end = len(raw) - opener if terminated else len(raw)
    if not terminated:
        _ctx.problems.append(
            codes.E001.at(_first_line(node, raw), f"unterminated string: add a closing {quote.decode()}")
        )
    if b"\\" not in raw and b"{" not in raw:
        body = raw[opener:body_end].decode("utf-8", errors="replace")
        return Str(_sp(node), (body,) if body else (), triple, terminated)
    parts: list[str | Interp] = []
    text = bytearray()
    pos = opener
    for match in _PARTS.finditer(raw, opener, body_end):
        text += raw[pos : match.start()]
        escape = match.group(1)
        if escape is not None:
            decoded = _ESCAPES.get(escape.decode("utf-8", errors="replace"))
            if decoded is None:
                shown = escape.decode("utf-8", errors="replace")
                _ctx.problems.append(
                    codes.E002.at(_abs(base + match.start(), base + match.end()),
                                  f"unknown escape sequence '{shown}'; use \\\\, \\\", \\n, \\t or \\{{")
                )
            text += (decoded if decoded is not None else escape.decode("utf-8", errors="replace")).encode()
        else:
            if text:
                parts.append(text.decode("utf-8", errors="replace"))
                text = bytearray()
            name = match.group(2).decode()
            path = tuple(p for p in match.group(3).decode().split(".") if p)
            name_start = base + match.start(2)
            parts.append(
                Interp(_abs(base + match.start(), base + match.end()), name, _abs(name_start, name_start + len(match.group(2))), path)
            )
        pos = match.end()
    text += raw[pos:body_end]
    if text:
        parts.append(text.decode("utf-8", errors="replace"))
    return Str(_sp(node), tuple(parts), triple, terminated)


def _condition(node: ts.Node) -> Condition:
    text_node = next((c for c in node.named_children if c.type == "condition_text"), None)
    first = node.child(0)
    triple = first is not None and first.type == "***"
    text = _text(text_node) if text_node is not None else ""
    refs: list[Interp] = []
    if text_node is not None and "{" in text:
        refs = _condition_refs(text_node, text)
    return Condition(_sp(node), text.strip(), triple, tuple(refs))


def _condition_refs(node: ts.Node, text: str) -> list[Interp]:
    """`{name}` inside a condition refers to a binding, as in strings."""
    out = []
    raw = node.text or b""
    base = node.start_byte
    for m in _PARTS.finditer(raw):
        if m.group(2) is None:
            continue
        name = m.group(2).decode()
        name_start = base + m.start(2)
        path = tuple(p for p in m.group(3).decode().split(".") if p)
        out.append(Interp(_abs(base + m.start(), base + m.end()), name, _abs(name_start, name_start + len(m.group(2))), path))
    return out


def _modifiers(node: ts.Node | None) -> tuple[Modifier, ...]:
    if node is None:
        return ()
    out = []
    for mod in node.named_children:
        if mod.type != "modifier":
            continue
        key = mod.child_by_field_name("key")
        value = mod.child_by_field_name("value")
        value_text: str | None = None
        kind: str | None = None
        quoted = False
        if value is not None:
            kind = value.type
            if value.type == "string":
                value_text = _string(value).text
                quoted = True
            else:
                value_text = _text(value)
                if value.type not in ("identifier", "number"):
                    kind = "expression"
        out.append(
            Modifier(
                _sp(mod),
                _text(key) if key is not None else None,
                _sp(key) if key is not None else None,
                value_text,
                _sp(value) if value is not None else None,
                kind,
                quoted,
            )
        )
    return tuple(out)


def _session(node: ts.Node) -> Session:
    prompt = node.child_by_field_name("prompt")
    properties = _properties(node.child_by_field_name("properties"))
    inline = node.child_by_field_name("inline")
    if inline is not None:
        properties = (_inline_property(inline),) + properties
    return Session(
        _sp(node),
        "resume" if node.type == "resume" else "session",
        _keyword_span(node),
        _string(prompt) if prompt is not None else None,
        _name(node.child_by_field_name("agent")),
        _name(node.child_by_field_name("name")),
        properties,
    )


def _inline_property(node: ts.Node) -> Property:
    """`session "…" context: x` on one line: read as the property it was meant
    to be, and reported (E004) with the fix that moves it to its own line."""
    key = node.child_by_field_name("key")
    value = node.child_by_field_name("value")
    assert key is not None
    source = _ctx.source
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    line = source[line_start : node.start_byte]
    indent = " " * (len(line) - len(line.lstrip(b" ")) + 2)
    gap_start = node.start_byte - (len(line) - len(line.rstrip()))
    key_text = _text(key).rstrip(":").strip()
    _ctx.problems.append(
        codes.E004.at(
            _sp(node),
            f"'{key_text}:' must go on its own line, indented under the session",
            fixes=(Fix(f"Move '{key_text}:' to its own line", (TextEdit(_abs(gap_start, node.start_byte), "\n" + indent),)),),
        )
    )
    key_span = _abs(key.start_byte, key.start_byte + len(key_text))
    return Property(_sp(node), key_text, key_span, _expr(value) if value is not None else None)


def _arguments(node: ts.Node | None) -> tuple[Argument, ...]:
    if node is None:
        return ()
    _unclosed(node, ")")
    out = []
    for arg in node.named_children:
        if arg.type == "comment":
            continue
        if arg.type == "keyword_argument":
            name = arg.child_by_field_name("name")
            value = arg.child_by_field_name("value")
            out.append(
                Argument(
                    _sp(arg),
                    _text(name) if name is not None else None,
                    _sp(name) if name is not None else None,
                    _expr(value) if value is not None else Unknown(_sp(arg), "missing"),
                )
            )
        else:
            out.append(Argument(_sp(arg), None, None, _expr(arg)))
    return tuple(out)


def _do(node: ts.Node) -> DoBlock | DoCall:
    block = node.child_by_field_name("block")
    if block is None:
        _need_colon(node)
        return DoBlock(_sp(node), _body(node))
    args = node.child_by_field_name("arguments")
    return DoCall(_sp(node), Name(_sp(block), _text(block)), _arguments(args), args is not None)


def _parallel(node: ts.Node) -> Parallel:
    mods = node.child_by_field_name("modifiers")
    unclosed = mods is not None and (mods.child_count == 0 or mods.children[-1].type != ")")
    if unclosed:
        assert mods is not None
        _ctx.problems.append(
            codes.E005.at(_sp(mods), "unclosed '(': finish the modifiers with `):`")
        )
    else:
        _need_colon(node)
    return Parallel(
        _sp(node), _keyword_span(node), _modifiers(mods), _sp(mods) if mods is not None else None, _body(node),
        unclosed,
    )


def _for(node: ts.Node) -> ForLoop:
    _need_colon(node)
    item = _name(node.child_by_field_name("item"))
    assert item is not None
    coll = node.child_by_field_name("collection")
    mods = node.children_by_field_name("modifiers")
    modifiers: tuple[Modifier, ...] = ()
    for mod_list in mods:
        modifiers += _modifiers(mod_list)
    return ForLoop(
        _sp(node),
        node.type == "parallel_for",
        item,
        _name(node.child_by_field_name("index")),
        _expr(coll) if coll is not None else Unknown(_sp(node), "missing"),
        _body(node),
        modifiers,
        _sp(mods[0]) if mods else None,
    )


def _repeat(node: ts.Node) -> Repeat:
    _need_colon(node)
    count = node.child_by_field_name("count")
    return Repeat(
        _sp(node),
        _expr(count) if count is not None else Unknown(_sp(node), "missing"),
        _name(node.child_by_field_name("index")),
        _body(node),
    )


def _loop(node: ts.Node) -> Loop:
    _need_colon(node)
    kind = node.child_by_field_name("kind")
    cond = node.child_by_field_name("condition")
    return Loop(
        _sp(node),
        _keyword_span(node),
        _text(kind) if kind is not None else None,
        _condition(cond) if cond is not None else None,
        _modifiers(node.child_by_field_name("modifiers")),
        _name(node.child_by_field_name("index")),
        _body(node),
    )


def _pipeline(node: ts.Node) -> Pipeline:
    stages = []
    for stage in node.children_by_field_name("stage"):
        _need_colon(stage)
        op = stage.child_by_field_name("operator")
        params = stage.child_by_field_name("parameters")
        stages.append(
            PipeStage(
                _sp(stage),
                _text(op) if op is not None else "",
                _sp(op) if op is not None else _sp(stage),
                _parameters(params) if params is not None else None,
                _body(stage),
            )
        )
    inp = node.child_by_field_name("input")
    return Pipeline(_sp(node), _expr(inp) if inp is not None else Unknown(_sp(node), "missing"), tuple(stages))


def _sequence(node: ts.Node) -> Sequence:
    items: list[Expr] = []
    current: ts.Node | None = node
    rights: list[ts.Node] = []
    missing: list[Span] = []
    while current is not None and current.type == "sequence":
        right = current.child_by_field_name("right")
        if right is not None:
            rights.append(right)
        else:
            arrow = next((c for c in current.children if c.type == "->"), current)
            missing.append(_sp(arrow))
        current = current.child_by_field_name("left")
    if current is not None:
        items.append(_expr(current))
    for right in reversed(rights):
        inner = _expr(right)
        if isinstance(inner, Sequence):
            items.extend(inner.items)
        else:
            items.append(inner)
    items.extend(Unknown(span, "missing") for span in missing)
    return Sequence(_sp(node), tuple(items))


def _binary(node: ts.Node) -> Binary:
    op = node.child_by_field_name("operator")
    left = node.child_by_field_name("left")
    right = node.child_by_field_name("right")
    return Binary(
        _sp(node),
        " ".join(_text(op).split()) if op is not None else "?",  # `is   not` is `is not`
        _expr(left) if left is not None else Unknown(_sp(node), "missing"),
        _expr(right) if right is not None else Unknown(_sp(node), "missing"),
    )


def _unary(node: ts.Node) -> Unary:
    op = node.child_by_field_name("operator")
    operand = node.child_by_field_name("operand")
    return Unary(
        _sp(node),
        _text(op) if op is not None else "?",
        _expr(operand) if operand is not None else Unknown(_sp(node), "missing"),
    )


def _member(node: ts.Node) -> Member:
    obj = node.child_by_field_name("object")
    prop = node.child_by_field_name("property")
    return Member(
        _sp(node),
        _expr(obj) if obj is not None else Unknown(_sp(node), "missing"),
        _text(prop) if prop is not None else "",
        _sp(prop) if prop is not None else _sp(node),
    )


def _call(node: ts.Node) -> Call:
    func = node.child_by_field_name("function")
    assert func is not None
    return Call(_sp(node), Name(_sp(func), _text(func)), _arguments(node.child_by_field_name("arguments")))


def _unclosed(node: ts.Node, closer: str) -> None:
    """E005 for a bracket the line ended without closing (the scanner closed it there)."""
    last = node.children[-1] if node.child_count else None
    if last is None or last.type == closer or node.child_count < 1:
        return
    opener = node.children[0]
    content = next((c for c in reversed(node.children) if c.end_byte > c.start_byte and c.type != "comment"), opener)
    at = _abs(content.end_byte, content.end_byte)
    _ctx.problems.append(
        codes.E005.at(_sp(opener), f"unclosed '{opener.type}': add '{closer}'",
                      fixes=(Fix(f"Add '{closer}'", (TextEdit(at, closer),)),))
    )


def _array(node: ts.Node) -> Array:
    _unclosed(node, "]")
    return Array(_sp(node), tuple(_expr(c) for c in node.named_children if c.type != "comment"))


def _object(node: ts.Node) -> Object:
    _unclosed(node, "}")
    entries = []
    for entry in node.named_children:
        if entry.type == "identifier":
            name = Name(_sp(entry), _text(entry))
            entries.append(ObjectEntry(_sp(entry), name.name, name.span, name, True))
        elif entry.type == "pair":
            key = entry.child_by_field_name("key")
            value = entry.child_by_field_name("value")
            assert key is not None
            key_text = _string(key).text if key.type == "string" else _text(key)
            entries.append(
                ObjectEntry(
                    _sp(entry),
                    key_text,
                    _sp(key),
                    _expr(value) if value is not None else Unknown(_sp(entry), "missing"),
                    False,
                )
            )
    return Object(_sp(node), tuple(entries))


def _parenthesized(node: ts.Node) -> Expr:
    inner = next((c for c in node.named_children if c.type != "comment"), None)
    return _expr(inner) if inner is not None else Unknown(_sp(node), "missing")


def _expr(node: ts.Node) -> Expr:
    builder = _EXPRESSIONS.get(node.type)
    if builder is None:
        return Unknown(_sp(node), node.type)
    return builder(node)


_EXPRESSIONS = {
    "identifier": lambda n: Name(_sp(n), _text(n)),
    "number": lambda n: Number(_sp(n), _text(n)),
    "string": _string,
    "true": lambda n: Literal(_sp(n), True),
    "false": lambda n: Literal(_sp(n), False),
    "null": lambda n: Literal(_sp(n), None),
    "array": _array,
    "list_block": lambda n: _list_block(n, words=False),
    "object": _object,
    "member_expression": _member,
    "call": _call,
    "parenthesized_expression": _parenthesized,
    "condition": _condition,
    "binary_expression": _binary,
    "unary_expression": _unary,
    "session": _session,
    "resume": _session,
    "do_expression": _do,
    "parallel_block": _parallel,
    "parallel_for": _for,
    "for_loop": _for,
    "repeat_loop": _repeat,
    "loop": _loop,
    "pipeline": _pipeline,
    "sequence": _sequence,
    "try_statement": _try,
}
