"""The one walker: it knows every node class and every field that holds a child."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from openprose import model as m
from openprose import walk
from openprose.model import build_program
from openprose.recursion import deeper_recursion
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
