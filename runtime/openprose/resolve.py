"""Name resolution: which definition every name in a program refers to.

OpenProse keeps one flat namespace of bindings per program (and one per
block definition, which runs like a small program of its own); loop
variables, block parameters, catch variables and the implicit pipeline
`item` live only in their bodies. Agents and blocks are hoisted. Every
reference is linked to its symbol and every symbol keeps its references, so
the language server can answer definition, references and rename from here.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePosixPath
from typing import Any, Callable, Iterator

from . import model as m
from . import codes, walk
from .codes import Code
from .diagnostics import Diagnostic, Related, Span
from .walk import Visitor, Walker


class SymbolKind(str, Enum):
    AGENT = "agent"
    BLOCK = "block"
    PROGRAM = "program"
    SKILL = "skill"
    VARIABLE = "variable"
    CONST = "constant"
    INPUT = "input"
    OUTPUT = "output"
    PARAMETER = "parameter"
    LOOP = "loop variable"
    INDEX = "index variable"
    ERROR = "error variable"
    ITEM = "pipeline item"
    ACCUMULATOR = "reduce variable"


#: Kinds that hold a value and may be referenced as a variable.
VALUE_KINDS = frozenset(
    {
        SymbolKind.VARIABLE,
        SymbolKind.CONST,
        SymbolKind.INPUT,
        SymbolKind.OUTPUT,
        SymbolKind.PARAMETER,
        SymbolKind.LOOP,
        SymbolKind.INDEX,
        SymbolKind.ERROR,
        SymbolKind.ITEM,
        SymbolKind.ACCUMULATOR,
    }
)

#: Names that cannot be assigned to after they are bound.
READONLY_KINDS = frozenset(
    {
        SymbolKind.CONST,
        SymbolKind.INPUT,
        SymbolKind.PARAMETER,
        SymbolKind.LOOP,
        SymbolKind.INDEX,
        SymbolKind.ERROR,
        SymbolKind.ITEM,
        SymbolKind.ACCUMULATOR,
    }
)


#: Properties whose bare-word values are keywords of the language.
KEYWORD_PROPERTIES = frozenset(
    {"model", "persist", "backoff", "effort", "bash", "network", "read", "write", "execute"}
)


class Role(str, Enum):
    VARIABLE = "variable"
    AGENT = "agent"
    BLOCK = "block"
    PROGRAM = "program"
    SKILL = "skill"


@dataclass(eq=False)
class Symbol:
    name: str
    kind: SymbolKind
    span: Span  # the defining name
    decl: object  # the model object that defines it
    scope: "Scope"
    implicit: bool = False  # the pipeline `item`, which has no written definition
    references: list["Reference"] = field(default_factory=list)
    other_definitions: list[Span] = field(default_factory=list)  # e.g. `output x` in several branches
    placement: tuple[tuple[int, int], ...] = ()  # where a flat-namespace binding was written

    def defer_references(self, source: Callable[["Symbol"], list["Reference"]]) -> None:
        """Have `references` made by ``source`` when first read, not now.

        A cache that keeps a popular name's uses per statement would otherwise
        rebuild this list, every use of the name, on each edit of one of them.
        """
        self.__dict__.pop("references", None)
        self.__dict__["_source"] = source

    def __getattr__(self, attr: str) -> Any:
        # Reached only for an attribute the instance lacks: `references` left to its source.
        source = self.__dict__.pop("_source", None) if attr == "references" else None
        if source is None:
            raise AttributeError(attr)
        self.references = source(self)
        return self.references


@dataclass(eq=False)
class Reference:
    name: str
    span: Span
    role: Role
    scope: "Scope"
    symbol: Symbol | None = None
    in_string: bool = False  # `{name}` inside a string or condition
    write: bool = False  # the target of an assignment
    in_context: bool = False  # named by a `context:` property


@dataclass(eq=False)
class Scope:
    kind: str  # "program" | "block" | "body"
    span: Span
    parent: "Scope | None"
    variables: dict[str, Symbol] = field(default_factory=dict)
    children: list["Scope"] = field(default_factory=list)

    @property
    def namespace(self) -> "Scope":
        scope: Scope = self
        while scope.kind == "body" and scope.parent is not None:
            scope = scope.parent
        return scope

    def lookup(self, name: str) -> Symbol | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.variables.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def visible(self) -> dict[str, Symbol]:
        out: dict[str, Symbol] = {}
        scope: Scope | None = self
        while scope is not None:
            for name, sym in scope.variables.items():
                out.setdefault(name, sym)
            scope = scope.parent
        return out


@dataclass
class Resolution:
    program: m.Program
    root: Scope
    agents: dict[str, Symbol]
    blocks: dict[str, Symbol]
    programs: dict[str, Symbol]
    skills: dict[str, Symbol]
    symbols: list[Symbol]
    references: list[Reference]
    diagnostics: list[Diagnostic]
    _index: tuple[list[int], list] | None = field(default=None, init=False, repr=False, compare=False)

    def scope_at(self, offset: int) -> Scope:
        """The innermost scope whose span contains a byte offset."""
        return innermost_scope(self.root, offset)

    def visible_variables(self, offset: int) -> list[Symbol]:
        return sorted(self.scope_at(offset).visible().values(), key=lambda s: s.name)

    def _name_index(self) -> tuple[list[int], list[NameEntry]]:
        """Every written name (definitions first on ties), sorted by position, built once."""
        if self._index is None:
            entries: list[NameEntry] = []
            for sym in self.symbols:
                if not sym.implicit:
                    entries.append((sym.span.start_byte, 0, sym.span.end_byte, sym, sym.span, None))
                for other in sym.other_definitions:
                    entries.append((other.start_byte, 0, other.end_byte, sym, other, None))
            for ref in self.references:
                entries.append((ref.span.start_byte, 1, ref.span.end_byte, ref.symbol, ref.span, ref))
            entries.sort(key=lambda e: (e[0], e[1]))
            self._index = ([e[0] for e in entries], entries)
        return self._index

    def _names_at(self, offset: int) -> list[NameEntry]:
        starts, entries = self._name_index()
        return names_at(starts, entries, offset)

    def symbol_at(self, offset: int) -> tuple[Symbol, Span] | None:
        """The symbol named at an offset (a definition or a reference) and that name's span."""
        for _, _, _, sym, span, _ in self._names_at(offset):
            if sym is not None:
                return sym, span
        return None

    def reference_at(self, offset: int) -> Reference | None:
        for *_, ref in self._names_at(offset):
            if ref is not None:
                return ref
        return None


#: A written name in the index: (start byte, 0 for a definition / 1 for a reference, end byte,
#: its symbol, its span, the reference).
NameEntry = tuple[int, int, int, "Symbol | None", Span, "Reference | None"]


def names_at(starts: list[int], entries: list[NameEntry], offset: int) -> list[NameEntry]:
    """The entries (sorted by start, definitions first) whose name holds an offset, definitions first."""
    hits = []
    i = bisect_right(starts, offset) - 1
    # Names never overlap; a definition and its references may share a start, and with
    # inclusive ends a neighbour may touch the offset, so a few entries back suffice.
    for j in range(i, max(-1, i - 4), -1):
        if entries[j][0] <= offset <= entries[j][2]:
            hits.append(entries[j])
    hits.sort(key=lambda e: (e[1], e[0]))
    return hits


def innermost_scope(scope: Scope, offset: int) -> Scope:
    """The innermost scope at or under ``scope`` whose span holds a byte offset (ends included)."""
    while True:
        for child in scope.children:
            if child.span.start_byte <= offset <= child.span.end_byte:
                scope = child
                break
        else:
            return scope


def _inside(span: Span, offset: int) -> bool:
    return span.start_byte <= offset <= span.end_byte


def program_alias(path: str) -> str:
    """The name a `use` without `as` binds: the slug or the file's stem."""
    tail = path.rstrip("/").split("/")[-1]
    stem = PurePosixPath(tail).stem if tail.endswith(".prose") else tail
    return stem.lstrip("@")


class _Resolver(Walker):
    """Binds every definition and links every name, visiting each node with the scope it is read in."""

    def __init__(self, program: m.Program) -> None:
        self.root = Scope("program", program.span, None)
        self.agents: dict[str, Symbol] = {}
        self.blocks: dict[str, Symbol] = {}
        self.programs: dict[str, Symbol] = {}
        self.skills: dict[str, Symbol] = {}
        self.symbols: list[Symbol] = []
        self.references: list[Reference] = []
        self.diagnostics: list[Diagnostic] = []
        self.placement: tuple[tuple[int, int], ...] = ()
        self._constructs = 0

    # ------------------------------------------------------------ plumbing

    def report(self, code: Code, message: str, span: Span, related: tuple[Related, ...] = ()) -> None:
        self.diagnostics.append(code.at(span, message, related=related))

    def new_symbol(self, name: m.Name, kind: SymbolKind, decl: object, scope: Scope, implicit: bool = False) -> Symbol:
        sym = Symbol(name.name, kind, name.span, decl, scope, implicit)
        self.symbols.append(sym)
        return sym

    def ref(self, name: m.Name, role: Role, scope: Scope, *, in_string: bool = False, write: bool = False) -> Reference:
        ref = Reference(name.name, name.span, role, scope, in_string=in_string, write=write)
        self.references.append(ref)
        return ref

    def add_definition(self, existing: Symbol, span: Span) -> None:
        """Another place that defines an existing binding (a branch's `let`, a republished output, a duplicate)."""
        existing.other_definitions.append(span)

    def skill_ref(self, item: m.Str, scope: Scope) -> None:
        """A `skills: ["name"]` entry naming a known skill (linked at once; not among the name references)."""
        skill = self.skills[item.text]
        skill.references.append(Reference(item.text, item.span, Role.SKILL, scope, skill))

    def body_scope(self, span: Span, parent: Scope) -> Scope:
        scope = Scope("body", span, parent)
        parent.children.append(scope)
        return scope

    def declare_global(
        self, name: m.Name, kind: SymbolKind, decl: object, table: dict[str, Symbol], code: Code, what: str
    ) -> None:
        first = table.get(name.name)
        if first is not None:
            self.report(
                code,
                f"{what} '{name.name}' is already defined",
                name.span,
                (Related(f"first definition of '{name.name}'", first.span),),
            )
            first.other_definitions.append(name.span)
            return
        table[name.name] = self.new_symbol(name, kind, decl, self.root)

    # ------------------------------------------------------- declarations

    def declare_value(self, name: m.Name, kind: SymbolKind, decl: object, scope: Scope) -> Symbol:
        """Bind a name in the flat namespace of the enclosing program or block."""
        ns = scope.namespace
        agent = self.agents.get(name.name)
        if agent is not None:
            self.report(
                codes.E112,
                f"'{name.name}' is already the name of an agent; choose another name",
                name.span,
                (Related("agent defined here", agent.span),),
            )
        existing = ns.variables.get(name.name)
        if existing is not None:
            if kind is SymbolKind.OUTPUT and existing.kind is SymbolKind.OUTPUT:
                self.add_definition(existing, name.span)
                return existing
            relation = _placement(existing.placement, self.placement)
            if (
                kind is SymbolKind.VARIABLE
                and existing.kind is SymbolKind.VARIABLE
                and isinstance(decl, m.Let)
                and relation == "exclusive"
            ):
                # `let x` in each branch of an if/else or choice: one binding, set one way or another.
                self.add_definition(existing, name.span)
                return existing
            if (
                kind is SymbolKind.VARIABLE
                and existing.kind is SymbolKind.VARIABLE
                and isinstance(decl, m.Let)
                and relation == "nested"
            ):
                self.report(
                    codes.W112,
                    f"'{name.name}' is already a variable; this `let` updates it "
                    f"(write `{name.name} = …` to say so)",
                    name.span,
                    (Related(f"'{name.name}' first defined here", existing.span),),
                )
                self.add_definition(existing, name.span)
                return existing
            if kind is SymbolKind.INPUT and existing.kind is SymbolKind.INPUT:
                self.report(
                    codes.E021,
                    f"input '{name.name}' is already declared",
                    name.span,
                    (Related("first declared here", existing.span),),
                )
            else:
                self.report(
                    codes.E019,
                    f"'{name.name}' is already defined as {_article(existing.kind.value)}; "
                    "every binding in a program needs its own name",
                    name.span,
                    (Related(f"'{name.name}' first defined here", existing.span),),
                )
            self.add_definition(existing, name.span)
            return existing
        sym = self.new_symbol(name, kind, decl, ns)
        sym.placement = self.placement
        ns.variables[name.name] = sym
        return sym

    def declare_local(self, name: m.Name, kind: SymbolKind, decl: object, scope: Scope, implicit: bool = False) -> None:
        """Bind a loop variable, parameter, catch variable or pipeline name in its body."""
        outer = scope.parent.lookup(name.name) if scope.parent is not None else None
        if outer is not None and not (implicit and outer.implicit) and not implicit:
            self.report(
                codes.W103,
                f"{kind.value} '{name.name}' hides the {outer.kind.value} of the same name inside this body",
                name.span,
                (Related(f"outer '{name.name}' defined here", outer.span),),
            )
        existing = scope.variables.get(name.name)
        if existing is not None:
            self.report(
                codes.E019,
                f"'{name.name}' is declared twice here",
                name.span,
                (Related("first declared here", existing.span),),
            )
            return
        sym = self.new_symbol(name, kind, decl, scope, implicit)
        scope.variables[name.name] = sym

    # ---------------------------------------------------------- statements

    def statements(self, body: tuple[m.Stmt, ...], scope: Scope, branch: tuple[int, int] | None = None) -> None:
        """Walk a statement list; `branch` marks it as one alternative of a construct."""
        saved = self.placement
        self.placement = saved + (branch if branch is not None else (self.construct(), 0),)
        try:
            for stmt in body:
                self.visit(stmt, scope)
        finally:
            self.placement = saved

    def construct(self) -> object:
        """A new construct's identity (compared only for equality, see `_placement`)."""
        self._constructs += 1
        return self._constructs

    def program(self, node: m.Program, scope: Scope) -> None:
        hoist = _Hoist(self)
        for stmt in node.body:
            hoist.visit(stmt)
        for name, block in self.blocks.items():
            agent = self.agents.get(name)
            if agent is not None:
                self.report(
                    codes.E112,
                    f"block '{name}' has the same name as an agent",
                    block.span,
                    (Related("agent defined here", agent.span),),
                )
        self.statements(node.body, scope)

    def use(self, node: m.Use, scope: Scope) -> None:
        pass  # bound while hoisting; its path is not text with bindings in it

    def import_(self, node: m.Import, scope: Scope) -> None:
        pass  # bound while hoisting

    def let(self, stmt: m.Let, scope: Scope) -> None:
        self.visit(stmt.value, scope)
        kind = SymbolKind.CONST if stmt.kind == "const" else SymbolKind.VARIABLE
        for name in stmt.names:
            self.declare_value(name, kind, stmt, scope)

    def assign(self, stmt: m.Assign, scope: Scope) -> None:
        self.visit(stmt.value, scope)
        target = scope.lookup(stmt.name.name)
        if target is None:
            # The first assignment to a fresh name binds it (named parallel
            # results). Inside a block it binds at program level, so results
            # a block produces stay visible after `do block`; `let` keeps a
            # name local to the block instead.
            self.declare_value(stmt.name, SymbolKind.VARIABLE, stmt, self.root)
        else:
            self.ref(stmt.name, Role.VARIABLE, scope, write=True)

    def output(self, stmt: m.Output, scope: Scope) -> None:
        self.visit(stmt.value, scope)
        if stmt.name is not None:
            existing = scope.lookup(stmt.name.name)
            if (
                existing is not None
                and isinstance(stmt.value, m.Name)
                and stmt.value.name == stmt.name.name
            ):
                # `output x = x` publishes an existing binding; it is not a second one.
                self.add_definition(existing, stmt.name.span)
            else:
                self.declare_value(stmt.name, SymbolKind.OUTPUT, stmt, scope)

    def input(self, stmt: m.Input, scope: Scope) -> None:
        if stmt.description is not None:
            self.visit(stmt.description, scope)
        self.declare_value(stmt.name, SymbolKind.INPUT, stmt, scope)

    def agent_def(self, stmt: m.AgentDef, scope: Scope) -> None:
        for prop in stmt.properties:
            self.visit(prop, scope)

    def block_def(self, stmt: m.BlockDef, scope: Scope) -> None:
        block_scope = Scope("block", stmt.span, scope)
        scope.children.append(block_scope)
        for param in stmt.parameters:
            self.declare_local(param, SymbolKind.PARAMETER, stmt, block_scope)
        self.statements(stmt.body, block_scope)

    def if_(self, stmt: m.If, scope: Scope) -> None:
        construct = self.construct()
        for index, branch in enumerate(stmt.branches):
            self.visit(branch, scope, (construct, index))
        if stmt.else_branch is not None:
            self.visit(stmt.else_branch, scope, (construct, len(stmt.branches)))

    def branch(self, branch: m.Branch, scope: Scope, place: tuple[int, int] | None = None) -> None:
        if branch.condition is not None:
            self.visit(branch.condition, scope)
        self.statements(branch.body, scope, place)

    def try_(self, stmt: m.Try, scope: Scope) -> None:
        construct = self.construct()
        self.statements(stmt.body, scope, (construct, 0))
        if stmt.catch is not None:
            catch_scope = self.body_scope(stmt.catch.span, scope)
            if stmt.catch_name is not None:
                self.declare_local(stmt.catch_name, SymbolKind.ERROR, stmt, catch_scope)
            self.visit(stmt.catch, catch_scope, (construct, 1))
        if stmt.finally_ is not None:
            self.visit(stmt.finally_, scope)

    def choice(self, stmt: m.Choice, scope: Scope) -> None:
        self.visit(stmt.criteria, scope)
        construct = self.construct()
        for index, option in enumerate(stmt.options):
            self.visit(option, scope, (construct, index))
        self.statements(stmt.stray, scope)

    def option(self, option: m.Option, scope: Scope, place: tuple[int, int] | None = None) -> None:
        self.statements(option.body, scope, place)  # the label is plain text, not read for bindings

    def orphan(self, stmt: m.Orphan, scope: Scope) -> None:
        self.statements(stmt.body, scope)

    # --------------------------------------------------------- expressions

    def property_(self, prop: m.Property, scope: Scope) -> None:
        if prop.value is not None:
            if prop.key in KEYWORD_PROPERTIES and isinstance(prop.value, m.Name):
                pass  # `model: opus`, `persist: project`, `bash: deny` name values, not bindings
            elif prop.key == "skills" and isinstance(prop.value, m.Array):
                for item in prop.value.items:
                    if isinstance(item, m.Str) and item.text in self.skills:
                        self.skill_ref(item, scope)
            elif prop.key == "context":
                start = len(self.references)
                self.visit(prop.value, scope)
                for ref in self.references[start:]:
                    ref.in_context = True
            else:
                self.visit(prop.value, scope)
        for child in prop.children:
            self.visit(child, scope)

    def interp(self, node: m.Interp, scope: Scope) -> None:
        """`{name}` inside a string or a condition."""
        self.ref(m.Name(node.name_span, node.name), Role.VARIABLE, scope, in_string=True)

    def name(self, e: m.Name, scope: Scope) -> None:
        self.ref(e, Role.VARIABLE, scope)

    def session(self, e: m.Session, scope: Scope) -> None:
        if e.prompt is not None:
            self.visit(e.prompt, scope)
        if e.agent is not None:
            self.ref(e.agent, Role.AGENT, scope)
        for prop in e.properties:
            self.visit(prop, scope)

    def call(self, e: m.Call, scope: Scope) -> None:
        self.ref(e.function, Role.PROGRAM, scope)
        for arg in e.arguments:
            self.visit(arg, scope)

    def do_call(self, e: m.DoCall, scope: Scope) -> None:
        self.ref(e.block, Role.BLOCK, scope)
        for arg in e.arguments:
            self.visit(arg, scope)

    def do_block(self, e: m.DoBlock, scope: Scope) -> None:
        self.statements(e.body, scope)

    def parallel(self, e: m.Parallel, scope: Scope) -> None:
        for mod in e.modifiers:
            self.visit(mod, scope)
        self.statements(e.body, scope)

    def for_loop(self, e: m.ForLoop, scope: Scope) -> None:
        self.visit(e.collection, scope)
        for mod in e.modifiers:
            self.visit(mod, scope)
        body = self.body_scope(e.span, scope)
        self.declare_local(e.item, SymbolKind.LOOP, e, body)
        if e.index is not None:
            self.declare_local(e.index, SymbolKind.INDEX, e, body)
        self.statements(e.body, body)

    def repeat(self, e: m.Repeat, scope: Scope) -> None:
        self.visit(e.count, scope)
        body = self.body_scope(e.span, scope)
        if e.index is not None:
            self.declare_local(e.index, SymbolKind.INDEX, e, body)
        self.statements(e.body, body)

    def loop(self, e: m.Loop, scope: Scope) -> None:
        if e.condition is not None:
            self.visit(e.condition, scope)
        for mod in e.modifiers:
            self.visit(mod, scope)
        body = self.body_scope(e.span, scope)
        if e.index is not None:
            self.declare_local(e.index, SymbolKind.INDEX, e, body)
        self.statements(e.body, body)

    def pipeline(self, e: m.Pipeline, scope: Scope) -> None:
        self.visit(e.input, scope)
        for stage in e.stages:
            self.visit(stage, scope)

    def pipe_stage(self, stage: m.PipeStage, scope: Scope) -> None:
        body = self.body_scope(stage.span, scope)
        if stage.parameters:
            for param in stage.parameters:
                self.declare_local(param, SymbolKind.ACCUMULATOR, stage, body)
        elif stage.operator in ("map", "filter", "pmap"):
            self.declare_local(m.Name(stage.operator_span, "item"), SymbolKind.ITEM, stage, body, implicit=True)
        self.statements(stage.body, body)

    # ------------------------------------------------------------ linking

    def link(self) -> None:
        tables = {Role.AGENT: self.agents, Role.BLOCK: self.blocks, Role.PROGRAM: self.programs}
        for ref in self.references:
            if ref.symbol is not None:
                continue
            if ref.role is Role.VARIABLE:
                ref.symbol = ref.scope.lookup(ref.name)
                if ref.symbol is None and ref.in_context:
                    ref.symbol = self.agents.get(ref.name)  # `context: captain` passes the agent's memory
            else:
                ref.symbol = tables[ref.role].get(ref.name)
            if ref.symbol is not None:
                ref.symbol.references.append(ref)


class _Hoist(Visitor[None]):
    """Agents, blocks, programs and skills, bound before anything else so they may be used above their definition."""

    def __init__(self, resolver: _Resolver) -> None:
        self.r = resolver

    def default(self, node: walk.Node, *args: object) -> None:
        pass  # only top-level definitions and imports are hoisted

    def agent_def(self, stmt: m.AgentDef) -> None:
        self.r.declare_global(stmt.name, SymbolKind.AGENT, stmt, self.r.agents, codes.E006, "agent")

    def block_def(self, stmt: m.BlockDef) -> None:
        self.r.declare_global(stmt.name, SymbolKind.BLOCK, stmt, self.r.blocks, codes.E113, "block")

    def use(self, stmt: m.Use) -> None:
        r = self.r
        alias = stmt.alias or (
            m.Name(stmt.path.span, program_alias(stmt.path.text)) if stmt.path.text.strip() else None
        )
        if alias is not None:
            if alias.name in r.programs:
                first = r.programs[alias.name]
                r.report(
                    codes.E010,
                    f"a program is already imported as '{alias.name}'; add `as other-name` to one of them",
                    alias.span,
                    (Related("first imported here", first.span),),
                )
            else:
                r.programs[alias.name] = r.new_symbol(alias, SymbolKind.PROGRAM, stmt, r.root)
        # The spec imports skills with `use` too: `use "@anthropic/web-search"`
        # makes `skills: ["web-search"]` valid (under its `as` name when it has
        # one), as agents.skills.skill_sources finds it at run time.
        if alias is not None and not stmt.path.text.endswith(".prose") and alias.name not in r.skills:
            r.skills[alias.name] = r.new_symbol(alias, SymbolKind.SKILL, stmt, r.root)

    def import_(self, stmt: m.Import) -> None:
        r = self.r
        name = stmt.name.text
        if name and name not in r.skills:
            r.skills[name] = r.new_symbol(m.Name(stmt.name.span, name), SymbolKind.SKILL, stmt, r.root)


def _placement(first: tuple[tuple[int, int], ...], second: tuple[tuple[int, int], ...]) -> str:
    """How two declarations sit relative to each other.

    A placement is the chain of (construct, branch) pairs from the program
    down to the statement list holding a declaration. "same" means one
    statement list; "exclusive" means different branches of one if/choice, so
    at most one of them runs; anything else is "nested".
    """
    for a, b in zip(first, second):
        if a == b:
            continue
        if a[0] == b[0]:
            return "exclusive"
        return "nested"
    return "same" if len(first) == len(second) else "nested"


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def resolve(program: m.Program) -> Resolution:
    r = _Resolver(program)
    r.visit(program, r.root)
    r.link()
    return Resolution(
        program, r.root, r.agents, r.blocks, r.programs, r.skills, r.symbols, r.references, r.diagnostics
    )


def iter_scopes(scope: Scope) -> Iterator[Scope]:
    yield scope
    for child in scope.children:
        yield from iter_scopes(child)
