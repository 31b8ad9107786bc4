"""Name resolution kept across edits, redone only where an edit can change it.

`resolve` walks every statement of a program on every call. The language
server calls it on every keystroke, and nearly every time the answer for all
but one top-level statement is what it was. `ResolutionCache` keeps, per
top-level statement (found by the identity of the model object `ModelCache`
hands back while its text is unchanged), a *fragment*: the scopes, symbols and
references its walk made, and every question the walk asked of the rest of
the program on the way:

- which binding of a name in the program's flat namespace it could see at
  that point (the first one written before it; `_Namespace.get`), which
  decides redefinitions, `x = …` binding or updating, `output x = x` and
  hidden names;
- whether an agent or a skill of a name exists (`_TableView`).

References the walk could not bind inside the statement itself are left for
the linking step, per name. An edit then costs: walking the statements whose
text changed; re-asking the recorded questions of the statements that asked
about a name whose first binding (or agent, or skill) changed, and walking
again those that get another answer; and relinking the names any of those
touched. Renaming an agent relinks its users and walks nothing else. While a
name's symbols stay the same objects, relinking it costs the references in the
statements walked or removed, not all its uses: those are kept per statement
(`_Uses`), and the symbols' lists of them are made when something reads them.

Agents, blocks, programs and skills are hoisted per name: the definitions of
one name are few, so they are declared again, in order, by the same code the
fresh resolver uses (`_Hoist`).

The cache only produces what `resolve` produces; `tests/test_incremental.py`
compares the two after many random edits.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import codes
from . import model as m
from .diagnostics import Diagnostic, Related, Span
from .resolve import (NameEntry, Reference, Resolution, Role, Scope, Symbol, _Hoist, _Resolver, innermost_scope,
                      names_at, program_alias)

#: Identities for the constructs of each walk (placements are compared only for equality).
_walks = itertools.count(1)
#: The placement of a statement directly in the program: the same for every top-level statement.
_TOP: tuple[tuple[Any, int], ...] = ((0, 0),)

#: The hoisted tables, by the kind of definition.
_TABLES = ("agent", "block", "program", "skill")


def _decl(sym: Symbol | None) -> object:
    return None if sym is None else sym.decl


@dataclass(eq=False)
class _Fragment:
    """One top-level statement's share of the resolution, and what it asked to get it."""

    stmt: m.Stmt
    #: Hoisted (table, name) pairs this statement defines.
    hoists: tuple[tuple[str, str], ...] = ()
    walked: bool = False
    scopes: list[Scope] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)
    refs: list[Reference] = field(default_factory=list)
    skill_refs: list[Reference] = field(default_factory=list)
    #: References bound in the program's namespace or a table, by name, in walk order.
    root_refs: dict[str, list[Reference]] = field(default_factory=dict)
    #: Bindings of the program's namespace this walk made (it wrote the first definition).
    made: dict[str, Symbol] = field(default_factory=dict)
    #: Further definitions this walk added to bindings of the program's namespace, by name.
    extras: dict[str, list[Span]] = field(default_factory=dict)
    #: Name -> the binding written before this statement that the walk saw (None: none).
    reads: dict[str, Symbol | None] = field(default_factory=dict)
    #: (table, name) -> the definition (model object) the walk saw there.
    table_reads: dict[tuple[str, str], object] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.stmt.span.start_byte

    def names(self) -> set[str]:
        """Every name whose linking this fragment takes part in."""
        return {*self.root_refs, *self.made, *self.extras, *(name for _, name in self.hoists)}


@dataclass(eq=False)
class _Uses:
    """One name's root references as last linked, kept per fragment (by id).

    Linking a few fragments again then costs the references they hold; the
    name's other uses are neither copied nor looked at.
    """

    holders: dict[int, _Fragment] = field(default_factory=dict)
    #: Fragment id -> how many of its references bind nothing / of those, how many name an agent.
    unbound: dict[int, int] = field(default_factory=dict)
    unbound_agents: dict[int, int] = field(default_factory=dict)

    def add(self, frag: _Fragment, refs: list[Reference]) -> None:
        key = id(frag)
        self.holders[key] = frag
        unbound = [ref for ref in refs if ref.symbol is None]
        if unbound:
            self.unbound[key] = len(unbound)
            agents = sum(ref.role is Role.AGENT for ref in unbound)
            if agents:
                self.unbound_agents[key] = agents

    def drop(self, keys: set[int]) -> None:
        """Forget the fragments among ``keys`` (whichever of the two is smaller is walked)."""
        gone = keys if len(keys) <= len(self.holders) else [key for key in self.holders if key in keys]
        for key in gone:
            if self.holders.pop(key, None) is not None:
                self.unbound.pop(key, None)
                self.unbound_agents.pop(key, None)

    def ordered(self) -> list[_Fragment]:
        return sorted(self.holders.values(), key=lambda f: f.start)


def _hoists(stmt: m.Stmt) -> tuple[tuple[str, str], ...]:
    """What `_Hoist` declares for a top-level statement (only the name matters here)."""
    if isinstance(stmt, m.AgentDef):
        return (("agent", stmt.name.name),)
    if isinstance(stmt, m.BlockDef):
        return (("block", stmt.name.name),)
    if isinstance(stmt, m.Use):
        if stmt.alias is not None:
            name = stmt.alias.name
        elif stmt.path.text.strip():
            name = program_alias(stmt.path.text)
        else:
            return ()
        return (("program", name), ("skill", name))
    if isinstance(stmt, m.Import):
        return (("skill", stmt.name.text),) if stmt.name.text else ()
    return ()


class _Namespace(dict):  # type: ignore[type-arg]
    """The program's flat namespace; while a statement is walked, `get` sees only what was bound before it."""

    def __init__(self) -> None:
        super().__init__()
        self.walk: _Fragment | None = None
        #: Names bound or unbound since `settle`, with whether each was bound before.
        self.was: dict[str, bool] = {}

    def settle(self) -> bool:
        """Whether the set of bound names differs from the last settle's."""
        moved = any((name in self) != was for name, was in self.was.items())
        self.was = {}
        return moved

    def unbind(self, name: str) -> None:
        self.was.setdefault(name, True)
        dict.__delitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        sym = dict.get(self, name)
        frag = self.walk
        if frag is None:
            return default if sym is None else sym
        if sym is None:
            outside = seen = None
        elif frag.made.get(name) is sym:
            outside, seen = None, sym  # bound earlier in this walk (it saw nothing before)
        elif sym.span.start_byte < frag.start:
            outside = seen = sym
        else:
            outside = seen = None  # bound by a later statement
        frag.reads.setdefault(name, outside)
        return default if seen is None else seen

    def __setitem__(self, name: str, sym: Symbol) -> None:
        if self.walk is not None:
            self.walk.made.setdefault(name, sym)
        if name not in self:
            self.was.setdefault(name, False)
        dict.__setitem__(self, name, sym)


class _TableView:
    """A hoisted table as one statement's walk reads it, noting each answer."""

    def __init__(self, table: dict[str, Symbol], kind: str, frag: _Fragment) -> None:
        self.table, self.kind, self.frag = table, kind, frag

    def get(self, name: str, default: Any = None) -> Any:
        sym = self.table.get(name)
        self.frag.table_reads.setdefault((self.kind, name), _decl(sym))
        return default if sym is None else sym

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __getitem__(self, name: str) -> Symbol:
        sym = self.get(name)
        if sym is None:
            raise KeyError(name)
        return sym  # type: ignore[no-any-return]


class _StatementResolver(_Resolver):
    """The fresh resolver's walk over one top-level statement, with the program outside it behind questions."""

    def __init__(self, program: m.Program, cache: "ResolutionCache", frag: _Fragment) -> None:
        super().__init__(program)
        self.root = cache.root
        self.agents = _TableView(cache.agents, "agent", frag)  # type: ignore[assignment]
        self.skills = _TableView(cache.skills, "skill", frag)  # type: ignore[assignment]
        self.symbols = frag.symbols
        self.references = frag.refs
        self.diagnostics = frag.diagnostics
        self.frag = frag
        self.walk_id = next(_walks)
        self.placement = _TOP

    def construct(self) -> object:
        self._constructs += 1
        return (self.walk_id, self._constructs)

    def add_definition(self, existing: Symbol, span: Span) -> None:
        super().add_definition(existing, span)
        if existing.scope is self.root:
            self.frag.extras.setdefault(existing.name, []).append(span)

    def skill_ref(self, item: m.Str, scope: Scope) -> None:
        self.frag.skill_refs.append(Reference(item.text, item.span, Role.SKILL, scope))


def _local(scope: Scope, name: str, root: Scope) -> Symbol | None:
    """The binding of a name inside the statement (its bodies, blocks, loops), not the program's."""
    current: Scope | None = scope
    while current is not None and current is not root:
        found = current.variables.get(name)
        if found is not None:
            return found
        current = current.parent
    return None


class ResolutionCache:
    """The resolution of one document, kept current statement by statement.

    Keep one per document beside its `ModelCache`; `resolve(program)` must be
    given the programs that cache builds, in order. A returned resolution is
    current until the next call (its symbols are updated in place).
    """

    def __init__(self) -> None:
        self.root = Scope("program", Span(0, 0, 0, 0, 0, 0), None)
        self.root.variables = _Namespace()
        self.agents: dict[str, Symbol] = {}
        self.blocks: dict[str, Symbol] = {}
        self.programs: dict[str, Symbol] = {}
        self.skills: dict[str, Symbol] = {}
        self.fragments: dict[int, _Fragment] = {}
        self._readers: dict[str, set[_Fragment]] = {}
        self._table_readers: dict[tuple[str, str], set[_Fragment]] = {}
        #: Per name: fragments holding references to it or definitions of it / only definitions of it.
        self._holders: dict[str, set[_Fragment]] = {}
        self._definers: dict[str, set[_Fragment]] = {}
        #: Per name: the symbols its references were last linked to (sym, agent, block, program, skill).
        self._targets: dict[str, tuple[Symbol | None, ...]] = {}
        self._hoisters: dict[str, set[_Fragment]] = {}
        #: Per hoisted name: the symbols and diagnostics its definitions made, in order.
        self._hoisted: dict[str, tuple[list[Symbol], list[Diagnostic]]] = {}
        #: Per name: its root references, per fragment (`uses_of` puts them in program order).
        self._uses: dict[str, _Uses] = {}
        #: What the last call changed, for the layers above.
        self.walked: list[_Fragment] = []
        self.removed: list[_Fragment] = []
        self.relinked: set[str] = set()
        self.hoist_changed: set[tuple[str, str]] = set()
        #: Whether the set of names a statement could see (bindings, agents, blocks) may have changed.
        self.names_changed = False
        #: Fragments whose walk reported something, by id.
        self.noisy: dict[int, _Fragment] = {}

    def _tables(self) -> dict[str, dict[str, Symbol]]:
        return {"agent": self.agents, "block": self.blocks, "program": self.programs, "skill": self.skills}

    # ------------------------------------------------------------------ update

    def resolve(self, program: m.Program, changes: m.ModelChanges | None = None) -> "LiveResolution":
        """The resolution of ``program``; ``changes``: what its `ModelCache` build reported, if it came from one."""
        body = program.body
        fragments = self.fragments
        removed: list[_Fragment] | None = None
        if changes is not None and not changes.everything_new and fragments:
            removed = [fragments[id(s)] for s in changes.removed if id(s) in fragments]
            added = [_Fragment(s, _hoists(s)) for s in changes.added if id(s) not in fragments]
            if len(fragments) - len(removed) + len(added) != len(body):
                removed = None  # not the build this cache saw last: compare the whole body instead
        if removed is None:
            present = dict(zip(map(id, body), body))  # set operations run in C, not per statement
            removed = [fragments[key] for key in fragments.keys() - present.keys()]
            added = [_Fragment(present[key], _hoists(present[key])) for key in present.keys() - fragments.keys()]
        self.walked, self.removed, self.relinked, self.hoist_changed = [], removed, set(), set()
        names_moved = False
        dirty: set[str] = set()
        queue: list[tuple[int, int, _Fragment]] = []
        queued: set[int] = set()

        def push(frag: _Fragment) -> None:
            if id(frag) not in queued and id(frag.stmt) in fragments:
                queued.add(id(frag))
                heapq.heappush(queue, (frag.start, id(frag), frag))

        old_children = [s for f in removed for s in f.scopes]
        for frag in removed:
            del fragments[id(frag.stmt)]
            self.noisy.pop(id(frag), None)
        for frag in removed:
            for name in self._retract(frag):
                for reader in self._readers.get(name, ()):
                    push(reader)
            self._unindex(frag)
            dirty |= frag.names()
        for frag in added:
            fragments[id(frag.stmt)] = frag
            for _, name in frag.hoists:
                self._hoisters.setdefault(name, set()).add(frag)
        hoisted = {name for f in (*removed, *added) for _, name in f.hoists}
        for name in hoisted:
            for key, existed in self._rehoist(name, program):
                names_moved = names_moved or existed
                self.hoist_changed.add(key)
                for reader in self._table_readers.get(key, ()):
                    push(reader)
        dirty |= hoisted
        for frag in added:
            push(frag)

        while queue:
            _, _, frag = heapq.heappop(queue)
            if frag.walked and not self._stale(frag):
                continue
            if frag.walked:
                old_children.extend(frag.scopes)
                for name in self._retract(frag):
                    self._push_after(frag, name, push)
                dirty |= frag.names()
                self._unindex(frag, keep_hoists=True)
            self._walk(frag, program)
            for name in frag.made:
                self._push_after(frag, name, push)
            dirty |= frag.names()
            self.walked.append(frag)

        self._children(old_children, [f for f in self.walked if f.scopes])
        touched = {id(f) for f in (*removed, *self.walked)}
        walked_by_name: dict[str, list[_Fragment]] = {}
        for frag in self.walked:
            for name in frag.root_refs:
                walked_by_name.setdefault(name, []).append(frag)
        for name in dirty:
            self._link(name, touched, walked_by_name.get(name, []))
        self.relinked = dirty
        self.names_changed = self.root.variables.settle() or names_moved  # type: ignore[attr-defined]
        return LiveResolution(self, program)

    def _push_after(self, frag: _Fragment, name: str, push: Any) -> None:
        start = frag.start
        for reader in self._readers.get(name, ()):
            if reader is not frag and reader.start > start:
                push(reader)

    def _stale(self, frag: _Fragment) -> bool:
        """Whether a statement's walk would see something else now."""
        variables, start = self.root.variables, frag.start
        for name, seen in frag.reads.items():
            sym = dict.get(variables, name)
            now = sym if sym is not None and sym.span.start_byte < start else None
            if now is not seen:
                return True
        tables = self._tables()
        for (kind, name), decl in frag.table_reads.items():
            if _decl(tables[kind].get(name)) is not decl:
                return True
        return False

    def _retract(self, frag: _Fragment) -> list[str]:
        """Take a fragment's bindings out of the namespace; the names whose first binding went."""
        gone = []
        variables = self.root.variables
        for name, sym in frag.made.items():
            if dict.get(variables, name) is sym:
                variables.unbind(name)  # type: ignore[attr-defined]
                gone.append(name)
        return gone

    def _unindex(self, frag: _Fragment, keep_hoists: bool = False) -> None:
        for name in frag.reads:
            self._discard(self._readers, name, frag)
        for key in frag.table_reads:
            self._discard(self._table_readers, key, frag)
        for name in {*frag.root_refs, *frag.made, *frag.extras}:
            self._discard(self._holders, name, frag)
        for name in {*frag.made, *frag.extras}:
            self._discard(self._definers, name, frag)
        if not keep_hoists:
            for _, name in frag.hoists:
                self._discard(self._hoisters, name, frag)

    @staticmethod
    def _discard(index: dict[Any, set[_Fragment]], key: Any, frag: _Fragment) -> None:
        found = index.get(key)
        if found is not None:
            found.discard(frag)
            if not found:
                del index[key]

    def _walk(self, frag: _Fragment, program: m.Program) -> None:
        frag.walked = True
        frag.scopes, frag.symbols, frag.refs, frag.skill_refs = [], [], [], []
        frag.root_refs, frag.made, frag.extras, frag.reads, frag.table_reads = {}, {}, {}, {}, {}
        frag.diagnostics = []
        root = self.root
        variables: _Namespace = root.variables  # type: ignore[assignment]
        children, root.children = root.children, frag.scopes
        variables.walk = frag
        try:
            _StatementResolver(program, self, frag).visit(frag.stmt, root)
        finally:
            variables.walk = None
            root.children = children
        for ref in frag.refs:
            if ref.role is Role.VARIABLE:
                sym = _local(ref.scope, ref.name, root)
                if sym is not None:
                    ref.symbol = sym
                    sym.references.append(ref)
                    continue
            frag.root_refs.setdefault(ref.name, []).append(ref)
        for ref in frag.skill_refs:
            frag.root_refs.setdefault(ref.name, []).append(ref)
        if frag.diagnostics:
            self.noisy[id(frag)] = frag
        else:
            self.noisy.pop(id(frag), None)
        for name in frag.reads:
            self._readers.setdefault(name, set()).add(frag)
        for key in frag.table_reads:
            self._table_readers.setdefault(key, set()).add(frag)
        for name in {*frag.root_refs, *frag.made, *frag.extras}:
            self._holders.setdefault(name, set()).add(frag)
        for name in {*frag.made, *frag.extras}:
            self._definers.setdefault(name, set()).add(frag)

    def _children(self, old: list[Scope], walked: list[_Fragment]) -> None:
        """Keep the program scope's children (every statement's top scopes, in order) without rebuilding them."""
        children = self.root.children
        for at in sorted((children.index(s) for s in old), reverse=True):
            del children[at]
        for frag in walked:
            at = bisect_right(children, frag.start, key=lambda s: s.span.start_byte)
            children[at:at] = frag.scopes

    def _rehoist(self, name: str, program: m.Program) -> list[tuple[tuple[str, str], bool]]:
        """Declare the hoisted definitions of one name again, in order.

        Returns the (table, name) keys whose definition changed, each with
        whether the name came or went from that table.
        """
        fresh = _Resolver(program)
        fresh.root = self.root
        hoist = _Hoist(fresh)
        for frag in sorted(self._hoisters.get(name, ()), key=lambda f: f.start):
            hoist.visit(frag.stmt)
        block, agent = fresh.blocks.get(name), fresh.agents.get(name)
        if block is not None and agent is not None:
            fresh.report(codes.E112, f"block '{name}' has the same name as an agent", block.span,
                         (Related("agent defined here", agent.span),))
        if fresh.symbols or fresh.diagnostics:
            self._hoisted[name] = (fresh.symbols, fresh.diagnostics)
        else:
            self._hoisted.pop(name, None)
        changed = []
        for kind, table in self._tables().items():
            new = getattr(fresh, kind + "s").get(name)
            old = table.get(name)
            if new is None:
                table.pop(name, None)
            else:
                table[name] = new
            if _decl(old) is not _decl(new):
                changed.append(((kind, name), (old is None) != (new is None)))
        return changed

    def _link(self, name: str, touched: set[int], walked: list[_Fragment]) -> None:
        """Bind the references to a name again, and redo what its symbols know of their definitions and uses.

        While the name's symbols are the same objects, only the references of
        the fragments walked or removed (``touched``; ``walked``: those walked
        holding references to the name) change: the others keep their links,
        and are not looked at. The symbols' reference lists are made when read.
        """
        sym = dict.get(self.root.variables, name)
        targets = (sym, self.agents.get(name), self.blocks.get(name), self.programs.get(name), self.skills.get(name))
        _, agent, block, prog, skill = targets
        if sym is not None:
            definers = sorted(self._definers.get(name, ()), key=lambda f: f.start)
            sym.other_definitions = [span for f in definers for span in f.extras.get(name, ())]
        before = self._targets.get(name)
        uses = self._uses.get(name)
        if uses is not None and before is not None and all(a is b for a, b in zip(before, targets)):
            uses.drop(touched)
            fresh = walked
        else:
            uses = _Uses()
            fresh = list(self._holders.get(name, ()))
        for frag in fresh:
            refs = frag.root_refs.get(name)
            if not refs:
                continue
            for ref in refs:
                role = ref.role
                if role is Role.VARIABLE:
                    ref.symbol = sym if sym is not None else (agent if ref.in_context else None)
                elif role is Role.AGENT:
                    ref.symbol = agent
                elif role is Role.BLOCK:
                    ref.symbol = block
                elif role is Role.PROGRAM:
                    ref.symbol = prog
                else:
                    ref.symbol = skill
            uses.add(frag, refs)
        for target in {id(t): t for t in targets if t is not None}.values():
            if uses.holders:
                target.defer_references(functools.partial(self._references_to, name))
            else:
                target.references = []
        self._targets[name] = targets
        if uses.holders:
            self._uses[name] = uses
        else:
            self._uses.pop(name, None)

    def _references_to(self, name: str, target: Symbol) -> list[Reference]:
        """A symbol's references, as `resolve` lists them: in program order."""
        return [ref for _, refs in self.uses_of(name) for ref in refs if ref.symbol is target]

    # ------------------------------------------------------------- read side

    def uses_of(self, name: str, only: set[int] | None = None) -> list[tuple[_Fragment, list[Reference]]]:
        """A name's root references, per fragment in program order; only those of the fragments ``only`` (ids)."""
        uses = self._uses.get(name)
        if uses is None:
            return []
        if only is None:
            frags = uses.ordered()
        else:
            frags = sorted((uses.holders[key] for key in only if key in uses.holders), key=lambda f: f.start)
        return [(frag, frag.root_refs[name]) for frag in frags]

    def has_uses(self, name: str) -> bool:
        return name in self._uses

    def has_unbound(self, name: str, agents: bool = False) -> bool:
        """Whether a reference to the name binds nothing (``agents``: one naming an agent)."""
        uses = self._uses.get(name)
        return uses is not None and bool(uses.unbound_agents if agents else uses.unbound)

    def hoisted_diagnostics(self) -> Iterable[Diagnostic]:
        for _, found in self._hoisted.values():
            yield from found

    def hoisted_symbols(self) -> list[Symbol]:
        """The hoisted symbols in the order `resolve` makes them (statement by statement)."""
        out = [(sym.decl.span.start_byte, i, sym)  # type: ignore[attr-defined]
               for made, _ in self._hoisted.values() for i, sym in enumerate(made)]
        out.sort(key=lambda e: (e[0], e[1]))
        return [sym for _, _, sym in out]


class LiveResolution(Resolution):
    """A `Resolution` read from a `ResolutionCache`: lists are assembled on demand, lookups stay local."""

    def __init__(self, cache: ResolutionCache, program: m.Program) -> None:  # noqa: D107 (no dataclass init)
        self.program = program
        self.root = cache.root
        self.root.span = program.span
        self.agents, self.blocks = cache.agents, cache.blocks
        self.programs, self.skills = cache.programs, cache.skills
        self._cache = cache
        self._index = None
        self._diagnostics: list[Diagnostic] | None = None
        self._symbols: list[Symbol] | None = None
        self._references: list[Reference] | None = None

    def _fragments(self) -> Iterable[_Fragment]:
        fragments = self._cache.fragments
        for stmt in self.program.body:
            yield fragments[id(stmt)]

    @property  # type: ignore[override]
    def symbols(self) -> list[Symbol]:
        if self._symbols is None:
            self._symbols = [*self._cache.hoisted_symbols(), *(s for f in self._fragments() for s in f.symbols)]
        return self._symbols

    @property  # type: ignore[override]
    def references(self) -> list[Reference]:
        if self._references is None:
            self._references = [r for f in self._fragments() for r in f.refs]
        return self._references

    @property  # type: ignore[override]
    def diagnostics(self) -> list[Diagnostic]:
        if self._diagnostics is None:
            self._diagnostics = [*self._cache.hoisted_diagnostics(),
                                 *(d for f in self._cache.noisy.values() for d in f.diagnostics)]
        return self._diagnostics

    def fragments_at(self, offset: int) -> list[_Fragment]:
        """The top-level statements whose span holds a byte offset (ends included), in order.

        Two when one ends exactly where the next begins (text the parser could not separate).
        """
        body = self.program.body
        i = bisect_right(body, offset, key=lambda s: s.span.start_byte) - 1
        fragments = self._cache.fragments
        out = [fragments[id(body[j])] for j in (i - 1, i) if j >= 0 and offset <= body[j].span.end_byte]
        return out

    def scope_at(self, offset: int) -> Scope:
        for frag in self.fragments_at(offset):
            scope = next((c for c in frag.scopes if c.span.start_byte <= offset <= c.span.end_byte), None)
            if scope is not None:
                break
        else:
            return self.root
        return innermost_scope(scope, offset)

    def _names_at(self, offset: int) -> list[NameEntry]:
        entries: list[NameEntry] = []
        for frag in self.fragments_at(offset):
            self._names_of(frag, entries)
        entries.sort(key=lambda e: (e[0], e[1]))
        return names_at([e[0] for e in entries], entries, offset)

    def _names_of(self, frag: _Fragment, entries: list[NameEntry],
                  ) -> None:
        """Every written name of one statement, as `Resolution._name_index` lists them."""
        cache = self._cache
        tables = cache._tables()

        def add(sym: Symbol, spans: Iterable[Span]) -> None:
            for span in spans:
                entries.append((span.start_byte, 0, span.end_byte, sym, span, None))

        begin, end = frag.start, frag.stmt.span.end_byte
        for kind, name in frag.hoists:
            sym = tables[kind].get(name)
            if sym is not None:
                own = [sym.span] if sym.decl is frag.stmt else []
                add(sym, [*own, *(s for s in sym.other_definitions if begin <= s.start_byte <= end)])
        variables = cache.root.variables
        for name, spans in frag.extras.items():
            first = dict.get(variables, name)
            if first is not None and first.span.start_byte < begin:
                add(first, spans)  # its own symbols' other definitions are added with them below
        for sym in frag.symbols:
            add(sym, [*(() if sym.implicit else (sym.span,)),
                      *(s for s in sym.other_definitions if begin <= s.start_byte <= end)])
        for ref in frag.refs:
            entries.append((ref.span.start_byte, 1, ref.span.end_byte, ref.symbol, ref.span, ref))


__all__ = ["LiveResolution", "ResolutionCache"]
