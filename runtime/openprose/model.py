"""A typed model of an OpenProse program, built from the Tree-sitter tree.

The checker, the interpreter and the language server all reason about these
small frozen dataclasses rather than raw nodes: children are read by field
name, never by position, and every object carries its source span. Building
is a pure function of the tree, so a statement whose subtree (and position)
did not change can be reused from a previous build (see `ModelCache`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

import tree_sitter as ts

from .diagnostics import Span

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

    @property
    def text(self) -> str:
        """The literal text with interpolations left as `{name}`."""
        out = []
        for part in self.parts:
            if isinstance(part, Interp):
                out.append("{" + ".".join((part.name, *part.path)) + "}")
            else:
                out.append(part)
        return "".join(out)

    @property
    def interpolations(self) -> tuple[Interp, ...]:
        return tuple(p for p in self.parts if isinstance(p, Interp))


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


@dataclass(frozen=True, slots=True)
class ForLoop:
    span: Span
    parallel: bool
    item: Name
    index: Name | None
    collection: "Expr"
    body: tuple["Stmt", ...]


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
    Use, Import, Input, Output, AgentDef, BlockDef, Let, Assign, If, Try, Throw, Choice, Orphan, ExprStmt,
]


@dataclass(frozen=True, slots=True)
class Program:
    span: Span
    body: tuple[Stmt, ...]
    source: bytes = field(repr=False, compare=False, default=b"")


# -------------------------------------------------------------------- builder


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t", "\\{": "{", "\\}": "}"}


class ModelCache:
    """Reuses statement models whose subtree is unchanged and unmoved.

    Tree-sitter keeps unchanged subtrees across incremental reparses; a
    statement at the same byte offset with the same subtree id has the same
    model, so the server can skip rebuilding most of a large file per
    keystroke.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], Stmt] = {}

    def build(self, tree: ts.Tree, source: bytes) -> Program:
        fresh: dict[tuple[int, int], Stmt] = {}
        root = tree.root_node
        body: list[Stmt] = []
        for child in root.named_children:
            if child.type == "comment" or child.is_error:
                continue
            key = (child.id, child.start_byte)
            stmt = self._entries.get(key)
            if stmt is None or child.has_error:
                stmt = _build_statement(child)
            if stmt is not None:
                fresh[key] = stmt
                body.append(stmt)
        self._entries = fresh
        return Program(Span.of(root), tuple(body), source)


def build_program(tree: ts.Tree, source: bytes) -> Program:
    root = tree.root_node
    return Program(Span.of(root), _statements(root), source)


def _statements(node: ts.Node | None) -> tuple[Stmt, ...]:
    if node is None:
        return ()
    out: list[Stmt] = []
    children = node.named_children
    i = 0
    while i < len(children):
        child = children[i]
        i += 1
        if child.type == "comment" or child.is_error or child.is_missing:
            continue
        stmt = _build_statement(child)
        if stmt is not None:
            out.append(stmt)
    return tuple(out)


def _body(node: ts.Node) -> tuple[Stmt, ...]:
    return _statements(node.child_by_field_name("body"))


def _name(node: ts.Node | None) -> Name | None:
    if node is None or node.is_missing:
        return None
    return Name(Span.of(node), _text(node))


def _build_statement(node: ts.Node) -> Stmt | None:
    builder = _STATEMENTS.get(node.type)
    if builder is None:
        return None
    return builder(node)


def _use(node: ts.Node) -> Use:
    return Use(Span.of(node), _string(node.child_by_field_name("path")), _name(node.child_by_field_name("alias")))


def _import(node: ts.Node) -> Import:
    return Import(
        Span.of(node), _string(node.child_by_field_name("name")), _string(node.child_by_field_name("source"))
    )


def _input(node: ts.Node) -> Input:
    desc = node.child_by_field_name("description")
    description: Str | Condition | None = None
    if desc is not None:
        description = _condition(desc) if desc.type == "condition" else _string(desc)
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    return Input(Span.of(node), name, description)


def _bound_value(node: ts.Node) -> Expr:
    value = node.child_by_field_name("value")
    if value is None:
        equals = next((c for c in node.children if c.type == "="), node)
        return Unknown(Span.of(equals), "missing")
    return _expr(value)


def _output(node: ts.Node) -> Output:
    return Output(Span.of(node), _name(node.child_by_field_name("name")), _bound_value(node))


def _agent(node: ts.Node) -> AgentDef:
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    return AgentDef(Span.of(node), name, _properties(node.child_by_field_name("properties")))


def _block_def(node: ts.Node) -> BlockDef:
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    params = node.child_by_field_name("parameters")
    return BlockDef(Span.of(node), name, _parameters(params), _body(node))


def _parameters(node: ts.Node | None) -> tuple[Name, ...]:
    if node is None:
        return ()
    return tuple(Name(Span.of(c), _text(c)) for c in node.named_children if c.type == "identifier")


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
    return Let(Span.of(node), kind, names, destructure, _bound_value(node))


def _assign(node: ts.Node) -> Assign:
    name = _name(node.child_by_field_name("name"))
    assert name is not None
    return Assign(Span.of(node), name, _bound_value(node))


def _keyword_span(node: ts.Node) -> Span:
    first = node.child(0)
    return Span.of(first if first is not None else node)


def _branch(node: ts.Node) -> Branch:
    cond = node.child_by_field_name("condition")
    return Branch(Span.of(node), _keyword_span(node), _expr(cond) if cond is not None else None, _body(node))


def _if(node: ts.Node) -> If:
    branches = [_branch(node)]
    else_branch = None
    for alt in node.children_by_field_name("alternative"):
        if alt.type == "elif_clause":
            branches.append(_branch(alt))
        else:
            else_branch = _branch(alt)
    return If(Span.of(node), tuple(branches), else_branch)


def _try(node: ts.Node) -> Try:
    handler = node.child_by_field_name("handler")
    finalizer = node.child_by_field_name("finalizer")
    return Try(
        Span.of(node),
        _keyword_span(node),
        _body(node),
        _branch(handler) if handler is not None else None,
        _name(handler.child_by_field_name("error")) if handler is not None else None,
        _branch(finalizer) if finalizer is not None else None,
    )


def _throw(node: ts.Node) -> Throw:
    message = node.child_by_field_name("message")
    return Throw(Span.of(node), _string(message) if message is not None else None)


def _choice(node: ts.Node) -> Choice:
    criteria = node.child_by_field_name("criteria")
    options: list[Option] = []
    stray: list[Stmt] = []
    body = node.child_by_field_name("body")
    for stmt_node in body.named_children if body is not None else ():
        if stmt_node.type == "option_clause":
            options.append(Option(Span.of(stmt_node), _string(stmt_node.child_by_field_name("label")), _body(stmt_node)))
        elif stmt_node.type != "comment" and not stmt_node.is_error:
            built = _build_statement(stmt_node)
            if built is not None:
                stray.append(built)
    cond = _condition(criteria) if criteria is not None else Condition(Span.of(node), "", False)
    return Choice(Span.of(node), cond, tuple(options), tuple(stray))


def _orphan(node: ts.Node) -> Orphan:
    keyword = node.type.split("_")[0]
    return Orphan(Span.of(node), keyword, _keyword_span(node), _body(node))


def _expr_stmt(node: ts.Node) -> ExprStmt:
    inner = node.named_children
    expr_node = next((c for c in inner if c.type != "comment"), None)
    expr = _expr(expr_node) if expr_node is not None else Unknown(Span.of(node), "missing")
    return ExprStmt(Span.of(node), expr)


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
    "choice_block": _choice,
    "option_clause": _orphan,
    "expression_statement": _expr_stmt,
}

# ---------------------------------------------------------------- expressions


def _properties(node: ts.Node | None) -> tuple[Property, ...]:
    if node is None:
        return ()
    out = []
    for prop in node.named_children:
        if prop.type != "property":
            continue
        key = prop.child_by_field_name("key")
        value = prop.child_by_field_name("value")
        nested = prop.child_by_field_name("properties")
        assert key is not None
        out.append(
            Property(
                Span.of(prop),
                _text(key),
                Span.of(key),
                _expr(value) if value is not None else None,
                _properties(nested),
                nested is not None,
            )
        )
    return tuple(out)


def _string(node: ts.Node | None) -> Str:
    if node is None:
        return Str(Span(0, 0, 0, 0, 0, 0), (), False)
    children = node.children
    triple = bool(children) and children[0].type == '"""'
    parts: list[str | Interp] = []
    terminated = len(children) >= 2 and children[-1].type == children[0].type and children[-1].end_byte > children[-1].start_byte
    for child in children[1:]:
        kind = child.type
        if kind == "string_content":
            parts.append(_text(child))
        elif kind == "escape_sequence":
            raw = _text(child)
            parts.append(_ESCAPES.get(raw, raw))
        elif kind == "interpolation":
            parts.append(_interp(child))
    merged: list[str | Interp] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return Str(Span.of(node), tuple(merged), triple, terminated)


def _interp(node: ts.Node) -> Interp:
    expr = node.child_by_field_name("expression")
    assert expr is not None
    path: list[str] = []
    current = expr
    while current.type == "interpolation_member":
        prop = current.child_by_field_name("property")
        path.append(_text(prop) if prop is not None else "")
        obj = current.child_by_field_name("object")
        assert obj is not None
        current = obj
    path.reverse()
    return Interp(Span.of(node), _text(current), Span.of(current), tuple(path))


def _condition(node: ts.Node) -> Condition:
    text_node = next((c for c in node.named_children if c.type == "condition_text"), None)
    first = node.child(0)
    triple = first is not None and first.type == "***"
    text = _text(text_node) if text_node is not None else ""
    refs: list[Interp] = []
    if text_node is not None and "{" in text:
        refs = _condition_refs(text_node, text)
    return Condition(Span.of(node), text.strip(), triple, tuple(refs))


def _condition_refs(node: ts.Node, text: str) -> list[Interp]:
    """`{name}` inside a condition refers to a binding, as in strings."""
    out = []
    raw = node.text or b""
    base = node.start_byte
    row, col = node.start_point
    for m in re.finditer(rb"\{([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}", raw):
        before = raw[: m.start()]
        line = row + before.count(b"\n")
        start_col = (len(before) - before.rfind(b"\n") - 1) if b"\n" in before else col + len(before)
        name = m.group(1).decode()
        name_start = base + m.start(1)
        span = Span(base + m.start(), base + m.end(), line, start_col, line, start_col + (m.end() - m.start()))
        name_span = Span(name_start, name_start + len(m.group(1)), line, start_col + 1, line, start_col + 1 + len(m.group(1)))
        path = tuple(p for p in m.group(2).decode().split(".") if p)
        out.append(Interp(span, name, name_span, path))
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
                Span.of(mod),
                _text(key) if key is not None else None,
                Span.of(key) if key is not None else None,
                value_text,
                Span.of(value) if value is not None else None,
                kind,
                quoted,
            )
        )
    return tuple(out)


def _session(node: ts.Node) -> Session:
    prompt = node.child_by_field_name("prompt")
    return Session(
        Span.of(node),
        "resume" if node.type == "resume" else "session",
        _keyword_span(node),
        _string(prompt) if prompt is not None else None,
        _name(node.child_by_field_name("agent")),
        _name(node.child_by_field_name("name")),
        _properties(node.child_by_field_name("properties")),
    )


def _arguments(node: ts.Node | None) -> tuple[Argument, ...]:
    if node is None:
        return ()
    out = []
    for arg in node.named_children:
        if arg.type == "comment":
            continue
        if arg.type == "keyword_argument":
            name = arg.child_by_field_name("name")
            value = arg.child_by_field_name("value")
            out.append(
                Argument(
                    Span.of(arg),
                    _text(name) if name is not None else None,
                    Span.of(name) if name is not None else None,
                    _expr(value) if value is not None else Unknown(Span.of(arg), "missing"),
                )
            )
        else:
            out.append(Argument(Span.of(arg), None, None, _expr(arg)))
    return tuple(out)


def _do(node: ts.Node) -> DoBlock | DoCall:
    block = node.child_by_field_name("block")
    if block is None:
        return DoBlock(Span.of(node), _body(node))
    args = node.child_by_field_name("arguments")
    return DoCall(Span.of(node), Name(Span.of(block), _text(block)), _arguments(args), args is not None)


def _parallel(node: ts.Node) -> Parallel:
    mods = node.child_by_field_name("modifiers")
    return Parallel(
        Span.of(node), _keyword_span(node), _modifiers(mods), Span.of(mods) if mods is not None else None, _body(node)
    )


def _for(node: ts.Node) -> ForLoop:
    item = _name(node.child_by_field_name("item"))
    assert item is not None
    coll = node.child_by_field_name("collection")
    return ForLoop(
        Span.of(node),
        node.type == "parallel_for",
        item,
        _name(node.child_by_field_name("index")),
        _expr(coll) if coll is not None else Unknown(Span.of(node), "missing"),
        _body(node),
    )


def _repeat(node: ts.Node) -> Repeat:
    count = node.child_by_field_name("count")
    return Repeat(
        Span.of(node),
        _expr(count) if count is not None else Unknown(Span.of(node), "missing"),
        _name(node.child_by_field_name("index")),
        _body(node),
    )


def _loop(node: ts.Node) -> Loop:
    kind = node.child_by_field_name("kind")
    cond = node.child_by_field_name("condition")
    return Loop(
        Span.of(node),
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
        op = stage.child_by_field_name("operator")
        params = stage.child_by_field_name("parameters")
        stages.append(
            PipeStage(
                Span.of(stage),
                _text(op) if op is not None else "",
                Span.of(op) if op is not None else Span.of(stage),
                _parameters(params) if params is not None else None,
                _body(stage),
            )
        )
    inp = node.child_by_field_name("input")
    return Pipeline(Span.of(node), _expr(inp) if inp is not None else Unknown(Span.of(node), "missing"), tuple(stages))


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
            missing.append(Span.of(arrow))
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
    return Sequence(Span.of(node), tuple(items))


def _binary(node: ts.Node) -> Binary:
    op = node.child_by_field_name("operator")
    left = node.child_by_field_name("left")
    right = node.child_by_field_name("right")
    return Binary(
        Span.of(node),
        _text(op) if op is not None else "?",
        _expr(left) if left is not None else Unknown(Span.of(node), "missing"),
        _expr(right) if right is not None else Unknown(Span.of(node), "missing"),
    )


def _unary(node: ts.Node) -> Unary:
    op = node.child_by_field_name("operator")
    operand = node.child_by_field_name("operand")
    return Unary(
        Span.of(node),
        _text(op) if op is not None else "?",
        _expr(operand) if operand is not None else Unknown(Span.of(node), "missing"),
    )


def _member(node: ts.Node) -> Member:
    obj = node.child_by_field_name("object")
    prop = node.child_by_field_name("property")
    return Member(
        Span.of(node),
        _expr(obj) if obj is not None else Unknown(Span.of(node), "missing"),
        _text(prop) if prop is not None else "",
        Span.of(prop) if prop is not None else Span.of(node),
    )


def _call(node: ts.Node) -> Call:
    func = node.child_by_field_name("function")
    assert func is not None
    return Call(Span.of(node), Name(Span.of(func), _text(func)), _arguments(node.child_by_field_name("arguments")))


def _array(node: ts.Node) -> Array:
    return Array(Span.of(node), tuple(_expr(c) for c in node.named_children if c.type != "comment"))


def _object(node: ts.Node) -> Object:
    entries = []
    for entry in node.named_children:
        if entry.type == "identifier":
            name = Name(Span.of(entry), _text(entry))
            entries.append(ObjectEntry(Span.of(entry), name.name, name.span, name, True))
        elif entry.type == "pair":
            key = entry.child_by_field_name("key")
            value = entry.child_by_field_name("value")
            assert key is not None
            key_text = _string(key).text if key.type == "string" else _text(key)
            entries.append(
                ObjectEntry(
                    Span.of(entry),
                    key_text,
                    Span.of(key),
                    _expr(value) if value is not None else Unknown(Span.of(entry), "missing"),
                    False,
                )
            )
    return Object(Span.of(node), tuple(entries))


def _parenthesized(node: ts.Node) -> Expr:
    inner = next((c for c in node.named_children if c.type != "comment"), None)
    return _expr(inner) if inner is not None else Unknown(Span.of(node), "missing")


def _expr(node: ts.Node) -> Expr:
    builder = _EXPRESSIONS.get(node.type)
    if builder is None:
        return Unknown(Span.of(node), node.type)
    return builder(node)


_EXPRESSIONS = {
    "identifier": lambda n: Name(Span.of(n), _text(n)),
    "number": lambda n: Number(Span.of(n), _text(n)),
    "string": _string,
    "true": lambda n: Literal(Span.of(n), True),
    "false": lambda n: Literal(Span.of(n), False),
    "null": lambda n: Literal(Span.of(n), None),
    "array": _array,
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
