"""The checker's results per top-level statement, kept across edits.

The language server analyzes the whole program on every keystroke; most of
the checker's walk would find exactly what it found last time. `CheckCache`
keeps, for each top-level statement the model cache handed back unchanged
(the same object), what the checker reported inside it and every
whole-program question the walk asked on the way (`_Checker.agent`, `block`,
`has_skill`, `contract`, `contract_of`, `agent_names`,
`definition_insertion_point`) with the answer it got. On the next run the
questions are asked again; when every answer is the same, the walk would
report the same diagnostics, so they are reused (moved with the statement)
instead of recomputed. Renaming an agent changes the answer to `agent(name)`
only for the statements that use it, so only those are walked again.

What stays whole-program: name resolution (`resolve`) and the checker's
reference rules (undefined names, use before binding, assignment to
constants: one loop over the resolved references), the once-per-body
output rule over the top-level statements, and `use` statements (which
compare themselves with the earlier ones).

Reuse never changes an answer: `tests/test_incremental.py` compares it with
a fresh analysis after random edits, and with the fresh diagnostics in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import model as m
from .checker import Contract, _Checker
from .diagnostics import Diagnostic, Fix, Related, Span, TextEdit
from .resolve import Resolution

#: One whole-program question a statement's walk asked: (accessor, argument, answer).
Question = tuple[str, Any, Any]


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
    """The checker, asking each top-level statement's questions through the cache."""

    def __init__(self, program: m.Program, resolution: Resolution, contracts: dict[str, Contract],
                 cache: "CheckCache") -> None:
        super().__init__(program, resolution, contracts)
        self.cache = cache
        self.kept: dict[int, _Entry] = {}
        self.asked: list[Question] | None = None
        self.reused = 0
        self.walked = 0

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

    def statement(self, stmt: m.Stmt) -> None:
        if isinstance(stmt, m.Use):
            super().statement(stmt)  # compares itself with the earlier `use` statements
            return
        entry = self.cache.entries.get(id(stmt))
        if entry is not None and entry.stmt is stmt:
            found = self._reuse(entry)
            if found is not None:
                self.out.extend(found)
                self.kept[id(stmt)] = entry if found is entry.diagnostics else self._moved(entry, found)
                self.reused += 1
                return
        self.walked += 1
        span = stmt.span
        start = len(self.out)
        self.asked = []
        try:
            super().statement(stmt)
            asked = tuple(self.asked)
        finally:
            self.asked = None
        begin, end = span.start_byte, span.end_byte
        anchor = span._anchor  # noqa: SLF001
        found_now = tuple(_own(d, anchor, begin, end) for d in self.out[start:])
        self.out[start:] = found_now
        self.kept[id(stmt)] = _Entry(stmt, begin, end, span.start_row, span.start_col, found_now, asked,
                                     any(_pinned(d, begin, end) for d in found_now))

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


class CheckCache:
    """Per-statement checker results of one document, reused by the next analysis of it.

    Keep one per document beside its `ModelCache`: entries are found by the
    identity of the statement objects that cache hands back.
    """

    def __init__(self) -> None:
        self.entries: dict[int, _Entry] = {}
        #: Statements reused / walked by the last run (for benchmarks and tests).
        self.reused = 0
        self.walked = 0

    def check(self, program: m.Program, resolution: Resolution,
              contracts: dict[str, Contract] | None = None) -> list[Diagnostic]:
        """The checker's diagnostics (not the resolver's), as `check_program` reports them."""
        checker = _Recording(program, resolution, contracts or {}, self)
        out = checker.run()
        self.entries = checker.kept
        self.reused, self.walked = checker.reused, checker.walked
        return out


__all__ = ["CheckCache"]
