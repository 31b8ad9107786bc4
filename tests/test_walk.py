"""The one walker: it knows every node class and every field that holds a child."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest

from openprose import model as m
from openprose import walk
from openprose.analysis import analyze
from openprose.checker import check_program
from openprose.model import build_program
from openprose.recursion import deeper_recursion
from openprose.resolve import resolve
from openprose.syntax import parse

from .tshelpers import CORPUS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _node_classes() -> set[type]:
    return {
        cls for _, cls in inspect.getmembers(m, inspect.isclass)
        if cls.__module__ == m.__name__ and dataclasses.is_dataclass(cls) and "span" in cls.__dataclass_fields__
    }


def test_every_model_class_is_a_node() -> None:
    assert _node_classes() == set(walk.NODE_TYPES)


def _holds_nodes(annotation: object) -> bool:
    """Whether a field's type mentions a node class (directly, optionally, in a tuple or a union)."""
    names = {cls.__name__ for cls in walk.NODE_TYPES} | {"Expr", "Stmt"}
    return bool(set(re.findall(r"\w+", str(annotation))) & names)


@pytest.mark.parametrize("cls", sorted(walk.NODE_TYPES, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_children_cover_every_field_that_holds_nodes(cls: type) -> None:
    expected = {
        f.name for f in dataclasses.fields(cls)
        if f.name != "span" and not f.name.endswith("_span") and _holds_nodes(f.type)
    }
    if cls is m.Str:  # its parts mix text and Interp nodes; the nodes are also kept apart
        expected = (expected - {"parts"}) | {"interpolations"}
    probe = object.__new__(cls)
    assert set(walk._fields(probe)) == expected  # type: ignore[arg-type]


def test_visitor_without_a_rule_names_the_node() -> None:
    class Partial(walk.Visitor[int]):
        def name(self, node: m.Name) -> int:
            return 1

    span = m.Program(span=None, body=()).span  # type: ignore[arg-type]
    assert Partial().visit(m.Name(span, "x")) == 1
    with pytest.raises(NotImplementedError, match="Partial has no rule for Program"):
        Partial().visit(m.Program(span=span, body=()))


def test_something_that_is_not_a_node_is_refused() -> None:
    with pytest.raises(AssertionError):
        walk.method_name("text")  # type: ignore[arg-type]


def _programs() -> list[Path]:
    return sorted(CORPUS.glob("*.prose")) + sorted(EXAMPLES.glob("*.prose"))


def test_walk_reaches_every_node_a_recursive_walk_reaches() -> None:
    """`walk` (explicit stack) and a recursive `Walker` agree node for node, in the same order."""
    seen_types: set[type] = set()
    for path in _programs():
        source = path.read_bytes()
        program = build_program(parse(source), source)

        class Collect(walk.Walker):
            def __init__(self) -> None:
                self.nodes: list[object] = []

            def visit(self, node, *args):  # type: ignore[no-untyped-def, override]
                self.nodes.append(node)
                return super().visit(node, *args)

        collector = Collect()
        collector.visit(program)
        walked = list(walk.walk(program))
        assert [id(n) for n in walked] == [id(n) for n in collector.nodes], path.name
        seen_types |= {type(n) for n in walked}
    # The corpus and examples between them use nearly every construct.
    assert len(seen_types) >= len(walk.NODE_TYPES) - 6, sorted(c.__name__ for c in set(walk.NODE_TYPES) - seen_types)


def test_walk_survives_nesting_deeper_than_the_recursion_limit() -> None:
    source = "".join("  " * depth + "if **c**:\n" for depth in range(400)) + "  " * 400 + 'session "deep"\n'
    with deeper_recursion():  # building follows the nesting; walking must not need to
        program = build_program(parse(source.encode()), source.encode())
    assert sum(isinstance(n, m.If) for n in walk.walk(program)) == 400


#: One program with every construct, including the few no corpus program has
#: (`assert`, `not`, an orphaned `else:`, a missing value).
EVERY_CONSTRUCT = """\
use "@alice/research" as research
import "web" from "github:acme/web"
input topic: "what to study"
input mood: **the mood of the day**

agent writer:
  model: sonnet
  prompt: "You write."
  persist: true
  skills: ["web"]
  permissions:
    read: ["*.md"]

block review(piece):
  session "Review {piece}"

let a = session "Draft {topic}"
const n = 3
b = session: writer
  prompt: "Polish"
  context: { a, n }
output result = research(topic: topic)
let s = result.summary
parallel (first, on-fail: continue):
  c = session "one"
  d = session "two"
for x, i in [1, 2]:
  session "item {x}"
repeat 2:
  session "again"
loop until **done** (max: 3):
  session "try"
let p = [1, 2] | map:
  session "{item}"
let q = session "a" -> session "b"
if **ready** and not **blocked**:
  session "go"
elif n > 2:
  session "big"
else:
  session "stop"
try:
  session "risky"
catch as err:
  throw "failed"
finally:
  session "clean"
assert **fine**: "not fine"
choice **which**:
  option "A":
    session "a"
do review("x")
do:
  session "inline"
let z = not **  **
else:
  session "orphan"
let w =
"""


def test_the_every_construct_program_has_every_node_class() -> None:
    source = EVERY_CONSTRUCT.encode()
    program = build_program(parse(source), source)
    assert {type(n) for n in walk.walk(program)} == set(walk.NODE_TYPES)


PASSES = ("resolve", "check", "analyze")


@pytest.mark.parametrize("name", PASSES)
def test_every_pass_visits_every_node_class(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pass reaches every kind of node through `Visitor.visit`: none is skipped by a walk of its own."""
    source = EVERY_CONSTRUCT.encode()
    program = build_program(parse(source), source)
    seen: set[type] = set()
    visit = walk.Visitor.visit

    def recording(self, node, *args):  # type: ignore[no-untyped-def]
        seen.add(type(node))
        return visit(self, node, *args)

    if name == "check":
        resolution = resolve(program)  # not part of the pass: resolution visits nodes of its own
        monkeypatch.setattr(walk.Visitor, "visit", recording)
        check_program(program, resolution=resolution)
    elif name == "resolve":
        monkeypatch.setattr(walk.Visitor, "visit", recording)
        resolve(program)
    else:
        monkeypatch.setattr(walk.Visitor, "visit", recording)
        analyze(source)
    assert not set(walk.NODE_TYPES) - seen, sorted(c.__name__ for c in set(walk.NODE_TYPES) - seen)


def test_a_check_on_an_expression_applies_wherever_the_expression_is() -> None:
    """`not **  **` gets E108 in a `let` as in an `if` (one walk once had no branch for `not`)."""
    for source in ('let x = not **  **\n', 'if not **  **:\n  session "a"\n', 'session "a"\n  context: not **  **\n',
                   'let y = [not **  **]\n', 'assert not **  **\n', 'do b(not **  **)\nblock b(v):\n  session "{v}"\n'):
        codes = [d.code for d in analyze(source.encode()).diagnostics]
        assert "E108" in codes, (source, codes)


def _union_members(union: object) -> set[type]:
    members = set()
    for arg in typing.get_args(union):
        members.add(getattr(m, arg.__forward_arg__) if isinstance(arg, typing.ForwardRef) else arg)
    return members


def test_the_interpreter_has_its_own_rule_for_every_statement_and_expression() -> None:
    """The interpreter's dispatch is a Visitor: a node class it inherits the raising default for cannot run."""
    from openprose.interpreter.dispatch import Interpreter

    runnable = _union_members(m.Stmt) | _union_members(m.Expr)
    assert m.Try in runnable and m.Session in runnable and m.Let in runnable
    inherited = sorted(
        cls.__name__ for cls in runnable
        if getattr(Interpreter, walk.method_name(object.__new__(cls))) is getattr(walk.Visitor, walk.method_name(object.__new__(cls)))
    )
    assert inherited == [], inherited
