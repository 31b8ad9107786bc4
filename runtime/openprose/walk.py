"""The one walker over the syntax model.

Every pass (resolver, checker, analysis, the interpreter's dispatch) reaches
nodes through here, so adding a node type to `model` fails loudly in one place
instead of being silently skipped by whichever hand-written walk forgot it (that
is how `let x = not **  **` once missed a check `if not **  **:` got).

Both tables below are exhaustive `match` statements ending in `assert_never`;
their answers are cached per node class, so dispatch costs a dictionary lookup,
not a chain of isinstance tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, Union, assert_never

from . import model as m

#: Every node of the model: expressions, statements, and their parts.
Node = Union[
    m.Name, m.Interp, m.Str, m.Number, m.Literal, m.Array, m.ObjectEntry, m.Object, m.Member, m.Argument, m.Call,
    m.Condition, m.Binary, m.Unary, m.Property, m.Session, m.DoBlock, m.DoCall, m.Modifier, m.Parallel,
    m.ForLoop, m.Repeat, m.Loop, m.PipeStage, m.Pipeline, m.Sequence, m.Unknown,
    m.Use, m.Import, m.Input, m.Output, m.AgentDef, m.BlockDef, m.Let, m.Assign, m.Branch, m.If, m.Try, m.Throw,
    m.Assert, m.Option, m.Choice, m.Orphan, m.ExprStmt, m.Program,
]

#: The node classes, for tests that check every pass sees every kind of node.
NODE_TYPES: tuple[type, ...] = Node.__args__  # type: ignore[attr-defined]

T = TypeVar("T")


def _method(node: Node) -> str:
    """The `Visitor` method that handles `node`'s class."""
    match node:
        case m.Name():
            return "name"
        case m.Interp():
            return "interp"
        case m.Str():
            return "string"
        case m.Number():
            return "number"
        case m.Literal():
            return "literal"
        case m.Array():
            return "array"
        case m.ObjectEntry():
            return "object_entry"
        case m.Object():
            return "object"
        case m.Member():
            return "member"
        case m.Argument():
            return "argument"
        case m.Call():
            return "call"
        case m.Condition():
            return "condition"
        case m.Binary():
            return "binary"
        case m.Unary():
            return "unary"
        case m.Property():
            return "property_"
        case m.Session():
            return "session"
        case m.DoBlock():
            return "do_block"
        case m.DoCall():
            return "do_call"
        case m.Modifier():
            return "modifier"
        case m.Parallel():
            return "parallel"
        case m.ForLoop():
            return "for_loop"
        case m.Repeat():
            return "repeat"
        case m.Loop():
            return "loop"
        case m.PipeStage():
            return "pipe_stage"
        case m.Pipeline():
            return "pipeline"
        case m.Sequence():
            return "sequence"
        case m.Unknown():
            return "unknown"
        case m.Use():
            return "use"
        case m.Import():
            return "import_"
        case m.Input():
            return "input"
        case m.Output():
            return "output"
        case m.AgentDef():
            return "agent_def"
        case m.BlockDef():
            return "block_def"
        case m.Let():
            return "let"
        case m.Assign():
            return "assign"
        case m.Branch():
            return "branch"
        case m.If():
            return "if_"
        case m.Try():
            return "try_"
        case m.Throw():
            return "throw"
        case m.Assert():
            return "assert_"
        case m.Option():
            return "option"
        case m.Choice():
            return "choice"
        case m.Orphan():
            return "orphan"
        case m.ExprStmt():
            return "expr_stmt"
        case m.Program():
            return "program"
        case _:
            assert_never(node)


def _fields(node: Node) -> tuple[str, ...]:
    """The attributes of `node` that hold child nodes (a node, None, or a tuple of nodes), in source order."""
    match node:
        case m.Name() | m.Interp() | m.Number() | m.Literal() | m.Modifier() | m.Unknown():
            return ()
        case m.Str():
            return ("interpolations",)
        case m.Condition():
            return ("references",)
        case m.Array():
            return ("items",)
        case m.ObjectEntry():
            return ("value",)
        case m.Object():
            return ("entries",)
        case m.Member():
            return ("object",)
        case m.Argument():
            return ("value",)
        case m.Call():
            return ("function", "arguments")
        case m.Binary():
            return ("left", "right")
        case m.Unary():
            return ("operand",)
        case m.Property():
            return ("value", "children")
        case m.Session():
            return ("name", "agent", "prompt", "properties")
        case m.DoBlock():
            return ("body",)
        case m.DoCall():
            return ("block", "arguments")
        case m.Parallel():
            return ("modifiers", "body")
        case m.ForLoop():
            return ("item", "index", "collection", "modifiers", "body")
        case m.Repeat():
            return ("count", "index", "body")
        case m.Loop():
            return ("condition", "modifiers", "index", "body")
        case m.PipeStage():
            return ("parameters", "body")
        case m.Pipeline():
            return ("input", "stages")
        case m.Sequence():
            return ("items",)
        case m.Use():
            return ("path", "alias")
        case m.Import():
            return ("name", "source")
        case m.Input():
            return ("name", "description")
        case m.Output():
            return ("name", "value")
        case m.AgentDef():
            return ("name", "properties")
        case m.BlockDef():
            return ("name", "parameters", "body")
        case m.Let():
            return ("names", "value")
        case m.Assign():
            return ("name", "value")
        case m.Branch():
            return ("condition", "body")
        case m.If():
            return ("branches", "else_branch")
        case m.Try():
            return ("body", "catch_name", "catch", "finally_")
        case m.Throw():
            return ("message",)
        case m.Assert():
            return ("condition", "message")
        case m.Option():
            return ("label", "body")
        case m.Choice():
            return ("criteria", "options", "stray")
        case m.Orphan():
            return ("body",)
        case m.ExprStmt():
            return ("expr",)
        case m.Program():
            return ("body",)
        case _:
            assert_never(node)


_METHODS: dict[type, str] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}


def method_name(node: Node) -> str:
    """The name of the `Visitor` method for `node` (an AssertionError for something that is not a node)."""
    try:
        return _METHODS[type(node)]
    except KeyError:
        name = _METHODS[type(node)] = _method(node)
        return name


def children(node: Node) -> Iterator[Node]:
    """The direct child nodes of `node`, in source order."""
    try:
        fields = _FIELDS[type(node)]
    except KeyError:
        fields = _FIELDS[type(node)] = _fields(node)
    for attr in fields:
        value = getattr(node, attr)
        if value is None:
            continue
        if type(value) is tuple:
            yield from value
        else:
            yield value


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node under it, depth first in source order.

    An explicit stack, so a program nested deeper than the recursion limit is still walked.
    """
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(tuple(children(current))))


class Visitor(Generic[T]):
    """A pass over the model: one method per node class, reached through `visit`.

    Every method starts at `default`, which raises: a pass that must handle every
    node (the interpreter's dispatch) overrides them all, and one that only cares
    about a few (a resolver collecting references) derives from `Walker` instead.
    Extra positional arguments to `visit` reach the method unchanged (the
    interpreter passes its frame and path).
    """

    def visit(self, node: Node, *args: Any) -> T:
        return getattr(self, method_name(node))(node, *args)

    def default(self, node: Node, *args: Any) -> T:
        raise NotImplementedError(f"{type(self).__name__} has no rule for {type(node).__name__}")

    # Expressions and their parts.
    def name(self, node: m.Name, *args: Any) -> T:
        return self.default(node, *args)

    def interp(self, node: m.Interp, *args: Any) -> T:
        return self.default(node, *args)

    def string(self, node: m.Str, *args: Any) -> T:
        return self.default(node, *args)

    def number(self, node: m.Number, *args: Any) -> T:
        return self.default(node, *args)

    def literal(self, node: m.Literal, *args: Any) -> T:
        return self.default(node, *args)

    def array(self, node: m.Array, *args: Any) -> T:
        return self.default(node, *args)

    def object_entry(self, node: m.ObjectEntry, *args: Any) -> T:
        return self.default(node, *args)

    def object(self, node: m.Object, *args: Any) -> T:
        return self.default(node, *args)

    def member(self, node: m.Member, *args: Any) -> T:
        return self.default(node, *args)

    def argument(self, node: m.Argument, *args: Any) -> T:
        return self.default(node, *args)

    def call(self, node: m.Call, *args: Any) -> T:
        return self.default(node, *args)

    def condition(self, node: m.Condition, *args: Any) -> T:
        return self.default(node, *args)

    def binary(self, node: m.Binary, *args: Any) -> T:
        return self.default(node, *args)

    def unary(self, node: m.Unary, *args: Any) -> T:
        return self.default(node, *args)

    def property_(self, node: m.Property, *args: Any) -> T:
        return self.default(node, *args)

    def session(self, node: m.Session, *args: Any) -> T:
        return self.default(node, *args)

    def do_block(self, node: m.DoBlock, *args: Any) -> T:
        return self.default(node, *args)

    def do_call(self, node: m.DoCall, *args: Any) -> T:
        return self.default(node, *args)

    def modifier(self, node: m.Modifier, *args: Any) -> T:
        return self.default(node, *args)

    def parallel(self, node: m.Parallel, *args: Any) -> T:
        return self.default(node, *args)

    def for_loop(self, node: m.ForLoop, *args: Any) -> T:
        return self.default(node, *args)

    def repeat(self, node: m.Repeat, *args: Any) -> T:
        return self.default(node, *args)

    def loop(self, node: m.Loop, *args: Any) -> T:
        return self.default(node, *args)

    def pipe_stage(self, node: m.PipeStage, *args: Any) -> T:
        return self.default(node, *args)

    def pipeline(self, node: m.Pipeline, *args: Any) -> T:
        return self.default(node, *args)

    def sequence(self, node: m.Sequence, *args: Any) -> T:
        return self.default(node, *args)

    def unknown(self, node: m.Unknown, *args: Any) -> T:
        return self.default(node, *args)

    # Statements and their parts.
    def use(self, node: m.Use, *args: Any) -> T:
        return self.default(node, *args)

    def import_(self, node: m.Import, *args: Any) -> T:
        return self.default(node, *args)

    def input(self, node: m.Input, *args: Any) -> T:
        return self.default(node, *args)

    def output(self, node: m.Output, *args: Any) -> T:
        return self.default(node, *args)

    def agent_def(self, node: m.AgentDef, *args: Any) -> T:
        return self.default(node, *args)

    def block_def(self, node: m.BlockDef, *args: Any) -> T:
        return self.default(node, *args)

    def let(self, node: m.Let, *args: Any) -> T:
        return self.default(node, *args)

    def assign(self, node: m.Assign, *args: Any) -> T:
        return self.default(node, *args)

    def branch(self, node: m.Branch, *args: Any) -> T:
        return self.default(node, *args)

    def if_(self, node: m.If, *args: Any) -> T:
        return self.default(node, *args)

    def try_(self, node: m.Try, *args: Any) -> T:
        return self.default(node, *args)

    def throw(self, node: m.Throw, *args: Any) -> T:
        return self.default(node, *args)

    def assert_(self, node: m.Assert, *args: Any) -> T:
        return self.default(node, *args)

    def option(self, node: m.Option, *args: Any) -> T:
        return self.default(node, *args)

    def choice(self, node: m.Choice, *args: Any) -> T:
        return self.default(node, *args)

    def orphan(self, node: m.Orphan, *args: Any) -> T:
        return self.default(node, *args)

    def expr_stmt(self, node: m.ExprStmt, *args: Any) -> T:
        return self.default(node, *args)

    def program(self, node: m.Program, *args: Any) -> T:
        return self.default(node, *args)


class Walker(Visitor[None]):
    """A visitor whose unhandled nodes pass the visit on to their children.

    Override the methods a pass cares about and call `self.descend(node, ...)`
    inside them to continue below.
    """

    def default(self, node: Node, *args: Any) -> None:
        self.descend(node, *args)

    def descend(self, node: Node, *args: Any) -> None:
        for child in children(node):
            self.visit(child, *args)
