"""Analysis of an edited document, redone only where the edit can change it.

The language server analyzes a program on every keystroke; nearly all of what
resolution and the checker find would be found exactly as last time.
`SemanticCache` (one per document, beside its `ModelCache`) keeps:

- the resolution, statement by statement (`incremental_resolve.ResolutionCache`);
- per top-level statement, the checker's diagnostics inside it and every
  whole-program question its walk asked (`_Checker.agent`, `block`,
  `has_skill`, `contract`, `contract_of`, `agent_names`,
  `definition_insertion_point`) with the answer it got;
- the reference rules' diagnostics (undefined names, use before binding,
  assignment to constants): for names bound inside a statement with the
  statement, for names of the program's namespace and its tables per name.

After an edit only these are redone: the checker's walk of the statements
whose text changed, and of those that asked about an agent, block, skill or
contract whose definition changed (and still get another answer when asked
again); the reference rules of the names the resolution relinked; the rules
whose answers hold positions elsewhere (insertion points, line numbers in
messages); the `use` statements and the once-per-body output rule over the
top-level outputs, which are few. So renaming an agent re-checks the agent
and its users, not the file.

Reuse never changes an answer: `tests/test_incremental.py` compares it with
a fresh analysis after random edits, and with the fresh diagnostics in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import model as m
from .checker import Contract, _Checker
from .diagnostics import Diagnostic, Fix, Related, Span, TextEdit
from .incremental_resolve import LiveResolution, ResolutionCache, _Fragment
from .resolve import Reference

#: One whole-program question a statement's walk asked: (accessor, argument, answer).
Question = tuple[str, Any, Any]

#: Kinds of top-level statements that rules over the whole program look for.
_TOP_KINDS = (m.Use, m.Import, m.AgentDef, m.Output)

#: Questions whose answer holds a position elsewhere in the program (or cannot be asked again):
#: their statements ask them again on every analysis.
_VOLATILE = frozenset({"agent", "contract_of", "definition_insertion_point", "use"})


@dataclass(eq=False)
class _Entry:
    stmt: m.Stmt
    start_byte: int
    end_byte: int
    start_row: int
    start_col: int
    diagnostics: tuple[Diagnostic, ...]
    questions: tuple[Question, ...]
    #: Whether a diagnostic has an absolute span inside the statement (which must be moved by hand).
    pinned: bool


def _key(kind: str, arg: Any) -> tuple[str, Any] | None:
    """What a question depends on, as the resolution reports its changes (None: volatile)."""
    if kind == "has_agent":
        return ("agent", arg)
    if kind == "block":
        return ("block", arg)
    if kind == "has_skill":
        return ("skill", arg)
    if kind == "contract":
        return ("contract", arg)
    if kind == "agent_names":
        return ("agents", None)
    return None


def _answer_key(kind: str, answer: Any) -> Any:
    """What of an answer decides the walk's outcome.

    For a symbol that is the model of its definition (the same object while
    its text is unchanged), not the Symbol, which every resolution makes anew;
    for an agent also where its name is, because `resume`'s quick fix is an
    absolute position right after it. A Span is compared with its rows and columns.
    """
    if kind == "block":
        return None if answer is None else _Same(answer.decl)
    if kind == "agent":
        if answer is None:
            return None
        name = answer.decl.name.span
        return (_Same(answer.decl), name.end_byte, name.end_row, name.end_col)
    if isinstance(answer, Span):
        return (answer.start_byte, answer.end_byte, answer.start_row, answer.start_col, answer.end_row,
                answer.end_col)
    return answer


class _Same:
    """Equal only to a wrapper of the very same object (model nodes compare by identity here)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


class _Never:
    """An answer that equals nothing, for a read that cannot be asked again (`use` inside a statement)."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


class _Recording(_Checker):
    """The checker, noting each top-level statement's questions and reusing what it found before."""

    def __init__(self, program: m.Program, resolution: LiveResolution, contracts: dict[str, Contract],
                 cache: "SemanticCache") -> None:
        super().__init__(program, resolution, contracts)
        self.cache = cache
        self.asked: list[Question] | None = None
        #: (symbol, row) pairs the reference rules wrote into messages (as line numbers).
        self.rows: list[tuple[Any, int]] = []

    # Every whole-program read a statement makes, noted with its answer.
    def _note(self, kind: str, arg: Any, answer: Any) -> Any:
        if self.asked is not None:
            self.asked.append((kind, arg, _answer_key(kind, answer)))
        return answer

    def has_agent(self, name: str) -> bool:
        return self._note("has_agent", name, super().has_agent(name))  # type: ignore[no-any-return]

    def agent(self, name: str) -> Any:
        return self._note("agent", name, super().agent(name))

    def agent_names(self) -> tuple[str, ...]:
        return self._note("agent_names", None, super().agent_names())  # type: ignore[no-any-return]

    def block(self, name: str) -> Any:
        return self._note("block", name, super().block(name))

    def has_skill(self, name: str) -> bool:
        return self._note("has_skill", name, super().has_skill(name))  # type: ignore[no-any-return]

    def contract(self, name: str) -> Contract | None:
        return self._note("contract", name, super().contract(name))  # type: ignore[no-any-return]

    def contract_of(self, expr: object) -> Contract | None:
        asked, self.asked = self.asked, None  # one question, not the ones inside it
        try:
            answer = super().contract_of(expr)
        finally:
            self.asked = asked
        return self._note("contract_of", expr, answer)  # type: ignore[no-any-return]

    def definition_insertion_point(self) -> Span:
        return self._note("definition_insertion_point", None, super().definition_insertion_point())  # type: ignore[no-any-return]

    def use(self, stmt: m.Use, in_block: bool) -> None:
        if self.asked is not None:
            self.asked.append(("use", None, _Never()))  # reads the `use` statements before it
        super().use(stmt, in_block)

    def used_before_bound(self, ref: Reference, agents: list[Span]) -> None:
        before = len(self.out)
        super().used_before_bound(ref, agents)
        if len(self.out) > before and ref.symbol is not None:
            self.rows.append((ref.symbol, ref.symbol.span.start_row))

    def _ask(self, kind: str, arg: Any) -> Any:
        """The answer a question gets now (without noting it)."""
        asked, self.asked = self.asked, None
        try:
            if arg is None:
                return _answer_key(kind, getattr(_Checker, kind)(self))
            return _answer_key(kind, getattr(_Checker, kind)(self, arg))
        finally:
            self.asked = asked

    # ---------------------------------------------------------------- reuse

    def check(self, stmt: m.Stmt, entry: _Entry | None) -> tuple[_Entry, bool]:
        """The statement's entry now, and whether its walk ran (False: reused)."""
        if entry is not None and entry.stmt is stmt:
            found = self._reuse(entry)
            if found is not None:
                return (entry if found is entry.diagnostics else self._moved(entry, found)), False
        span = stmt.span
        self.out = []
        self.asked = []
        try:
            self.statement(stmt)
            asked = tuple(self.asked)
        finally:
            self.asked = None
        begin, end = span.start_byte, span.end_byte
        anchor = span._anchor  # noqa: SLF001
        found_now = tuple(_own(d, anchor, begin, end) for d in self.out)
        self.out = []
        return _Entry(stmt, begin, end, span.start_row, span.start_col, found_now, asked,
                      any(_pinned(d, begin, end) for d in found_now)), True

    def _reuse(self, entry: _Entry) -> tuple[Diagnostic, ...] | None:
        """The entry's diagnostics where the statement is now, or None if the walk must run again."""
        for kind, arg, answer in entry.questions:
            if kind == "use" or not _same(answer, self._ask(kind, arg)):
                return None
        if not entry.pinned:
            return entry.diagnostics  # every span in them follows the statement's anchor
        span = entry.stmt.span
        delta, rows = span.start_byte - entry.start_byte, span.start_row - entry.start_row
        if delta == 0 and rows == 0:
            return entry.diagnostics
        if span.start_col != entry.start_col:
            return None  # moved within its line: the columns inside it changed too (rare: walk again)
        return tuple(_move(d, entry.start_byte, entry.end_byte, delta, rows) for d in entry.diagnostics)

    def _moved(self, entry: _Entry, found: tuple[Diagnostic, ...]) -> _Entry:
        span = entry.stmt.span
        return _Entry(entry.stmt, span.start_byte, span.end_byte, span.start_row, span.start_col, found,
                      entry.questions, entry.pinned)

    def rules(self, frag: _Fragment, refs: list[Reference]) -> tuple[tuple[Diagnostic, ...], list[tuple[Any, int]]]:
        """The reference rules over some references of one statement, with the rows their messages quote."""
        self.out, self.rows = [], []
        agents = [frag.stmt.span] if isinstance(frag.stmt, m.AgentDef) else []
        for ref in refs:
            self.reference(ref, agents)
        found, rows = tuple(self.out), self.rows
        self.out, self.rows = [], []
        return found, rows


def _own(d: Diagnostic, anchor: object, begin: int, end: int) -> Diagnostic:
    """`d` with every span inside the statement either on the statement's anchor or absolute.

    A rule may hand back a span of another model object equal to this one's
    (any memo keyed on equal nodes: model objects compare by value), whose anchor
    does not move with this statement: such a span is frozen where it is now,
    and then moved by hand like any absolute span.
    """
    def own(span: Span) -> Span:
        if span._anchor is None or span._anchor is anchor or not begin <= span.start_byte <= end:  # noqa: SLF001
            return span
        return span.frozen()

    if all(own(s) is s for s in _spans(d)):
        return d
    return Diagnostic(
        d.code, d.severity, d.message, own(d.span),
        tuple(Related(r.message, own(r.span)) for r in d.related),
        tuple(Fix(f.title, tuple(TextEdit(own(e.span), e.new_text) for e in f.edits)) for f in d.fixes),
    )


def _spans(d: Diagnostic) -> list[Span]:
    return [d.span, *(r.span for r in d.related), *(e.span for f in d.fixes for e in f.edits)]


def _inside(span: Span, begin: int, end: int) -> bool:
    return span._anchor is None and begin <= span.start_byte <= end  # noqa: SLF001 (anchored spans move by themselves)


def _pinned(d: Diagnostic, begin: int, end: int) -> bool:
    return any(_inside(s, begin, end) for s in _spans(d))


def _move(d: Diagnostic, begin: int, end: int, delta: int, rows: int) -> Diagnostic:
    """`d` for its statement moved by `delta` bytes and `rows` lines, its first column unchanged.

    The statement's text is the same, so every position in it keeps its column.
    An absolute span outside the statement came from a question whose answer
    was checked to be unchanged, so it stays.
    """
    def move(span: Span) -> Span:
        if not _inside(span, begin, end):
            return span
        return Span(span.start_byte + delta, span.end_byte + delta, span.start_row + rows, span.start_col,
                    span.end_row + rows, span.end_col)

    return Diagnostic(
        d.code, d.severity, d.message, move(d.span),
        tuple(Related(r.message, move(r.span)) for r in d.related),
        tuple(Fix(f.title, tuple(TextEdit(move(e.span), e.new_text) for e in f.edits)) for f in d.fixes),
    )


class SemanticCache:
    """Resolution and checker results of one document, reused by the next analysis of it.

    Keep one per document beside its `ModelCache` and give it the programs
    that cache builds, in order: entries are found by the identity of the
    statement objects it hands back.
    """

    def __init__(self) -> None:
        self.names = ResolutionCache()
        self.entries: dict[int, _Entry] = {}
        #: Question key -> ids of the statements that asked it.
        self._askers: dict[tuple[str, Any], set[int]] = {}
        #: Ids of statements with a volatile question or a pinned span: looked at on every analysis.
        self._restless: set[int] = set()
        #: Non-empty results, so that assembling them costs what they hold, not the file.
        self._found: dict[int, tuple[Diagnostic, ...]] = {}
        self._local: dict[int, tuple[Diagnostic, ...]] = {}
        #: Per name, per fragment id holding uses of it: what the reference rules found there.
        self._named: dict[str, dict[int, tuple[Diagnostic, ...]]] = {}
        #: Per name, what its rules read of its definitions (compared by identity) when last run.
        self._defs: dict[str, tuple[object, ...]] = {}
        #: Rows quoted in messages, per owner (a fragment's id, or a name with one), with how to redo them.
        self._rows: dict[Any, tuple[_Fragment | tuple[str, int], list[tuple[Any, int]]]] = {}
        #: Names with a reference that binds nothing (their hints read every name of the program).
        self._unbound: set[str] = set()
        self._contracts: dict[str, Contract] = {}
        #: Top-level statements of the kinds a few program-wide rules look at (`top_level`), by id.
        self._tops: dict[int, m.Stmt] = {}
        self._current: tuple[m.Program, LiveResolution] | None = None
        #: Statements reused / walked by the checker in the last analysis (for benchmarks and tests).
        self.reused = 0
        self.walked = 0

    def analyze(self, program: m.Program, contracts: dict[str, Contract] | None = None,
                changes: m.ModelChanges | None = None) -> tuple[LiveResolution, list[Diagnostic]]:
        """The resolution and every model-level diagnostic, as `check_program` reports them."""
        resolution = self.resolve(program, changes)
        return resolution, self.check(contracts)

    def resolve(self, program: m.Program, changes: m.ModelChanges | None = None) -> LiveResolution:
        """The first half of `analyze`: resolution, and what `top_level` answers, for this program.

        ``changes``: what the `ModelCache` build of ``program`` reported (then the
        body is not compared statement by statement).

        A failure part-way (a program nested too deep for the walk) leaves the
        cache empty rather than half updated: the next call starts afresh.
        """
        try:
            return self._resolve(program, changes)
        except BaseException:
            self.__init__()  # type: ignore[misc]
            raise

    def _resolve(self, program: m.Program, changes: m.ModelChanges | None) -> LiveResolution:
        names = self.names
        resolution = names.resolve(program, changes)
        for frag in names.removed:
            self._forget(id(frag.stmt))
            self._local.pop(id(frag), None)
            self._rows.pop(id(frag), None)
        for frag in names.walked:
            if isinstance(frag.stmt, _TOP_KINDS):
                self._tops[id(frag.stmt)] = frag.stmt
        self._current = (program, resolution)
        return resolution

    def top_level(self, *kinds: type) -> list[m.Stmt]:
        """The program's top-level statements of some kinds (uses, imports, agents, outputs), in order."""
        assert all(kind in _TOP_KINDS for kind in kinds), kinds
        return sorted((s for s in self._tops.values() if isinstance(s, kinds)), key=lambda s: s.span.start_byte)

    def check(self, contracts: dict[str, Contract] | None = None) -> list[Diagnostic]:
        """The second half of `analyze`: every model-level diagnostic of the program last resolved."""
        assert self._current is not None, "resolve() first"
        try:
            return self._check(contracts)
        except BaseException:
            self.__init__()  # type: ignore[misc]
            raise

    def _check(self, contracts: dict[str, Contract] | None) -> list[Diagnostic]:
        assert self._current is not None
        program, resolution = self._current
        contracts = contracts or {}
        names = self.names
        checker = _Recording(program, resolution, contracts, self)
        changed = self._changed_keys(contracts)
        self._contracts = dict(contracts)
        todo: set[int] = set(self._restless)
        for key in changed:
            todo |= self._askers.get(key, set())
        stmts: dict[int, m.Stmt] = {key: self.entries[key].stmt for key in todo if key in self.entries}
        for frag in names.walked:
            stmt = frag.stmt
            if id(stmt) not in self.entries and not isinstance(stmt, m.Use):
                stmts[id(stmt)] = stmt
            self._local_rules(checker, frag)
        walked = 0
        for key, stmt in stmts.items():
            entry, ran = checker.check(stmt, self.entries.get(key))
            walked += ran
            if ran or entry is not self.entries.get(key):
                self._remember(key, entry)
        self.walked, self.reused = walked, len(self.entries) - walked

        touched = {id(f) for f in (*names.walked, *names.removed)}
        whole = set(self._unbound) if names.names_changed or names.hoist_changed else {
            name for name in self._unbound
            if names.has_unbound(name, agents=True)}
        for name in names.relinked - whole:
            self._name_rules(checker, name, touched)
        for name in whole:
            self._name_rules(checker, name, None)
        for owner, rows in list(self._rows.values()):
            if any(sym.span.start_row != row for sym, row in rows):
                if isinstance(owner, tuple):
                    self._name_rules(checker, owner[0], {owner[1]})
                else:
                    self._local_rules(checker, owner)

        semantic = [*resolution.diagnostics]
        for found in (self._found, self._local):
            for diagnostics in found.values():
                semantic.extend(diagnostics)
        for per in self._named.values():
            for diagnostics in per.values():
                semantic.extend(diagnostics)
        semantic.extend(self._program_rules(checker))
        return semantic

    # ------------------------------------------------------------- internals

    def _changed_keys(self, contracts: dict[str, Contract]) -> set[tuple[str, Any]]:
        changed: set[tuple[str, Any]] = set(self.names.hoist_changed)
        if any(kind == "agent" for kind, _ in changed):
            changed.add(("agents", None))
        for alias in {*contracts, *self._contracts}:
            if contracts.get(alias) != self._contracts.get(alias):
                changed.add(("contract", alias))
        return changed

    def _forget(self, key: int) -> None:
        entry = self.entries.pop(key, None)
        self._found.pop(key, None)
        self._restless.discard(key)
        self._tops.pop(key, None)
        if entry is not None:
            for kind, arg, _ in entry.questions:
                found = _key(kind, arg)
                askers = self._askers.get(found) if found is not None else None
                if askers is not None:
                    askers.discard(key)
                    if not askers:
                        del self._askers[found]  # type: ignore[arg-type]

    def _remember(self, key: int, entry: _Entry) -> None:
        self._forget(key)
        stmt = entry.stmt
        if isinstance(stmt, _TOP_KINDS):
            self._tops[key] = stmt
        self.entries[key] = entry
        if entry.diagnostics:
            self._found[key] = entry.diagnostics
        if entry.pinned or any(kind in _VOLATILE for kind, _, _ in entry.questions):
            self._restless.add(key)
        for kind, arg, _ in entry.questions:
            found = _key(kind, arg)
            if found is not None:
                self._askers.setdefault(found, set()).add(key)

    def _local_rules(self, checker: _Recording, frag: _Fragment) -> None:
        """The reference rules for the names a statement binds itself."""
        root = self.names.root
        local = [r for r in frag.refs if r.symbol is not None and r.symbol.scope is not root]
        found, rows = checker.rules(frag, local)
        key = id(frag)
        if found:
            self._local[key] = found
        else:
            self._local.pop(key, None)
        if rows:
            self._rows[key] = (frag, rows)
        else:
            self._rows.pop(key, None)

    def _definitions(self, name: str) -> tuple[object, ...]:
        """What the reference rules read of a name's definitions: its symbols and where else it is defined."""
        names = self.names
        sym = dict.get(names.root.variables, name)
        tables = (names.agents, names.blocks, names.programs, names.skills)
        return (sym, *(() if sym is None else sym.other_definitions), None, *(t.get(name) for t in tables))

    def _name_rules(self, checker: _Recording, name: str, only: set[int] | None) -> None:
        """The reference rules for the uses of one name of the program's namespace or tables.

        Only in the fragments ``only`` (those walked again or gone) while the
        name's definitions are the same objects; everywhere when they changed.
        """
        names = self.names
        defs = self._definitions(name)
        per = self._named.get(name, {})
        before = self._defs.get(name)  # None: never run for this name (or it had no uses)
        if only is None or before is None or len(before) != len(defs) or any(
                a is not b for a, b in zip(before, defs)):
            only = None
            for key in per:
                self._rows.pop((name, key), None)
            per = {}
        else:
            for key in only:
                per.pop(key, None)
                self._rows.pop((name, key), None)
        for frag, refs in names.uses_of(name, only):
            key = id(frag)
            found, rows = checker.rules(frag, refs)
            if found:
                per[key] = found
            if rows:
                self._rows[(name, key)] = ((name, key), rows)
        if per:
            self._named[name] = per
        else:
            self._named.pop(name, None)
        self._defs[name] = defs
        if not names.has_uses(name):
            self._defs.pop(name, None)
        if names.has_unbound(name):
            self._unbound.add(name)
        else:
            self._unbound.discard(name)

    def _program_rules(self, checker: _Recording) -> list[Diagnostic]:
        """`use` statements (each compared with the earlier ones) and outputs set twice at the top level."""
        checker.out = []
        for stmt in self.top_level(m.Use):
            checker.statement(stmt)
        outputs: dict[str, m.Output] = {}
        for stmt in self.top_level(m.Output):
            checker.output_once(stmt, outputs)
        found, checker.out = checker.out, []
        return found


__all__ = ["SemanticCache"]
