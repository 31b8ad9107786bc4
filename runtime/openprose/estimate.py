"""How many model calls a program makes, from its text alone (`prose run --estimate`).

Before spending money a user wants bounds: the fewest calls the program can make
and the most, with loops at their `max:` and every `retry:` used. Counts are kept
per kind (sessions, conditions, choices); each kind's bounds are exact for that
kind (the minimum of one kind and the minimum of another may come from different
paths). What cannot be known statically — a loop without `max:`, a `for` over a
collection computed at run time — makes the upper bound unknown and is listed with
its line, so the number is never a guess presented as a fact. Tool-using sessions
may make several calls each (one per tool turn); those turns are not counted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import model as m
from .analysis import analyze
from .checker import is_local_program_path
from .resolve import program_alias

__all__ = ["Estimate", "Range", "estimate_program", "format_estimate"]

KINDS = ("sessions", "conditions", "choices")


@dataclass(frozen=True)
class Range:
    lo: int = 0
    hi: int | None = 0  # None: no static upper bound

    def __add__(self, other: Range) -> Range:
        hi = None if self.hi is None or other.hi is None else self.hi + other.hi
        return Range(self.lo + other.lo, hi)

    def either(self, other: Range) -> Range:
        hi = None if self.hi is None or other.hi is None else max(self.hi, other.hi)
        return Range(min(self.lo, other.lo), hi)

    def times(self, lo: int, hi: int | None) -> Range:
        """This range repeated between `lo` and `hi` times (None: no bound); zero of anything is zero."""
        if hi == 0 or self.hi == 0:
            top: int | None = 0
        elif hi is None or self.hi is None:
            top = None
        else:
            top = self.hi * hi
        return Range(self.lo * lo, top)

    def text(self) -> str:
        if self.hi is None:
            return f"at least {self.lo}"
        return str(self.lo) if self.lo == self.hi else f"{self.lo}–{self.hi}"


@dataclass(frozen=True)
class Counts:
    sessions: Range = Range()
    conditions: Range = Range()
    choices: Range = Range()

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, k) + getattr(other, k) for k in KINDS))

    def either(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, k).either(getattr(other, k)) for k in KINDS))

    def times(self, lo: int, hi: int | None) -> Counts:
        return Counts(*(getattr(self, k).times(lo, hi) for k in KINDS))


_ONE_CONDITION = Counts(conditions=Range(1, 1))
_ONE_CHOICE = Counts(choices=Range(1, 1))


@dataclass(frozen=True)
class Estimate:
    counts: Counts
    #: (line, what is unknown) for every construct whose count is not static.
    unknowns: tuple[tuple[int, str], ...] = ()

    @property
    def total(self) -> Range:
        return self.counts.sessions + self.counts.conditions + self.counts.choices

    def to_json(self) -> dict[str, Any]:
        def r(x: Range) -> dict[str, int | None]:
            return {"min": x.lo, "max": x.hi}

        return {
            "calls": r(self.total),
            **{kind: r(getattr(self.counts, kind)) for kind in KINDS},
            "unknown": [{"line": line, "what": what} for line, what in self.unknowns],
        }


@dataclass
class _Walker:
    blocks: dict[str, m.BlockDef]
    agents: dict[str, m.AgentDef]
    base: Path | None
    depth: int = 0
    arrays: dict[str, int] = field(default_factory=dict)  # names bound to array literals
    unknowns: list[tuple[int, str]] = field(default_factory=list)
    calling: set[str] = field(default_factory=set)
    imported: dict[str, Counts] = field(default_factory=dict)  # alias -> the imported program's counts

    def unknown(self, node: Any, what: str) -> None:
        line = node.span.start_row + 1
        if (line, what) not in self.unknowns:
            self.unknowns.append((line, what))

    def body(self, stmts: Iterable[m.Stmt]) -> Counts:
        total = Counts()
        for stmt in stmts:
            total = total + self.stmt(stmt)
        return total

    def stmt(self, s: Any) -> Counts:
        if isinstance(s, (m.AgentDef, m.BlockDef, m.Use, m.Import, m.Input, m.Throw)):
            return Counts()
        if isinstance(s, m.Let):
            if isinstance(s.value, m.Array) and not s.destructure:
                for name in s.names:
                    self.arrays[name.name] = len(s.value.items)
            return self.expr(s.value)
        if isinstance(s, (m.Assign, m.Output)):
            return self.expr(s.value)
        if isinstance(s, m.ExprStmt):
            return self.expr(s.expr)
        if isinstance(s, m.If):
            total, path = Counts(), Counts()
            outcome: Counts | None = None
            for branch in s.branches:
                # Reaching this branch costs every earlier condition; taking it adds its body.
                cond = self.expr(branch.condition) if branch.condition is not None else Counts()
                path = path + cond
                taken = path + self.body(branch.body)
                outcome = taken if outcome is None else outcome.either(taken)
            rest = path + (self.body(s.else_branch.body) if s.else_branch is not None else Counts())
            total = rest if outcome is None else outcome.either(rest)
            return total
        if isinstance(s, m.Try):
            tried = self.body(s.body)
            caught = self.body(s.catch.body) if s.catch is not None else Counts()
            final = self.body(s.finally_.body) if s.finally_ is not None else Counts()
            failed = Counts(*(Range(0, getattr(tried, k).hi) for k in KINDS)) + caught
            return tried.either(failed) + final
        if isinstance(s, m.Choice):
            outcome = None
            for option in s.options:
                cost = self.body(option.body)
                outcome = cost if outcome is None else outcome.either(cost)
            return _ONE_CHOICE + (outcome or Counts())
        return self.expr(s)

    def expr(self, e: Any) -> Counts:
        if e is None:
            return Counts()
        if isinstance(e, m.Session):
            retries = self.retries(e)
            return Counts(sessions=Range(1, 1 + retries))
        if isinstance(e, m.Condition):
            return _ONE_CONDITION
        if isinstance(e, m.Binary):
            left, right = self.expr(e.left), self.expr(e.right)
            if e.operator in ("and", "or"):  # short-circuit: the right side may not run
                return left + Counts(*(Range(0, getattr(right, k).hi) for k in KINDS))
            return left + right
        if isinstance(e, m.Unary):
            return self.expr(e.operand)
        if isinstance(e, m.Sequence):
            return self.body(e.items)
        if isinstance(e, m.DoBlock):
            return self.body(e.body)
        if isinstance(e, m.DoCall):
            block = self.blocks.get(e.block.name)
            if block is None:
                return Counts()
            if e.block.name in self.calling:
                self.unknown(e, f"block '{e.block.name}' calls itself (recursion depth unknown)")
                return Counts(*(Range(0, None) for _ in KINDS))
            self.calling.add(e.block.name)
            try:
                return self.body(block.body)
            finally:
                self.calling.discard(e.block.name)
        if isinstance(e, m.Parallel):
            return self.parallel(e)
        if isinstance(e, m.ForLoop):
            n = self.count_of(e.collection)
            each = self.body(e.body)
            if n is None:
                kind = "parallel for" if e.parallel else "for"
                self.unknown(e, f"{kind} over {self.describe(e.collection)}: number of items unknown")
                return each.times(0, None)
            return each.times(n, n)
        if isinstance(e, m.Repeat):
            n = self.count_of(e.count, number=True)
            each = self.body(e.body)
            if n is None:
                self.unknown(e, "repeat count is computed at run time")
                return each.times(0, None)
            return each.times(n, n)
        if isinstance(e, m.Loop):
            return self.loop(e)
        if isinstance(e, m.Pipeline):
            return self.pipeline(e)
        if isinstance(e, m.Try):
            return self.stmt(e)
        if isinstance(e, m.Call):
            return self.call(e)
        return Counts()

    def parallel(self, p: m.Parallel) -> Counts:
        strategy, count = "all", 1
        for mod in p.modifiers:
            if mod.key is None and mod.value:
                strategy = mod.value
            elif mod.key == "count" and mod.value:
                try:
                    count = int(float(mod.value))
                except ValueError:
                    count = 1
        branches = [self.stmt(stmt) for stmt in p.body]
        most = Counts()
        for b in branches:
            most = most + b
        if strategy not in ("first", "any") or not branches:
            return most
        # The winners may be the cheapest branches; the losers are cancelled, maybe before any call.
        winners = max(1, count) if strategy == "any" else 1
        ranges = []
        for kind in KINDS:
            least = sum(sorted(getattr(b, kind).lo for b in branches)[:winners])
            ranges.append(Range(least, getattr(most, kind).hi))
        return Counts(*ranges)

    def loop(self, loop: m.Loop) -> Counts:
        limit: int | None = None
        for mod in loop.modifiers:
            if mod.key == "max" and mod.value is not None:
                try:
                    limit = int(float(mod.value))
                except ValueError:
                    limit = None
        each = self.body(loop.body)
        if loop.condition is None:
            if limit is None:
                self.unknown(loop, "loop without max: runs until an error stops it")
                return each.times(1, None)
            return each.times(limit, limit)
        check = self.expr(loop.condition)
        if limit is None:
            self.unknown(loop, f"loop {loop.kind} without max: number of iterations unknown")
            return check + (check + each).times(0, None)
        # The condition is checked before each iteration; at the max the loop ends unchecked.
        return check.times(1, limit) + each.times(0, limit)

    def pipeline(self, p: m.Pipeline) -> Counts:
        n = self.count_of(p.input)
        lo, hi = (n, n) if n is not None else (0, None)
        if n is None:
            self.unknown(p, f"pipeline over {self.describe(p.input)}: number of items unknown")
        total = Counts()
        for stage in p.stages:
            each = self.body(stage.body)
            if stage.operator == "reduce":
                total = total + each.times(max(0, lo - 1), None if hi is None else max(0, hi - 1))
                lo, hi = 1, 1
            else:
                total = total + each.times(lo, hi)
                if stage.operator == "filter":
                    lo = 0
        return total

    def call(self, call: m.Call) -> Counts:
        return self.imported.get(call.function.name, Counts())

    def retries(self, s: m.Session) -> int:
        props = {}
        agent = self.agents.get(s.agent.name) if s.agent is not None else None
        if agent is not None:
            props.update({p.key: p for p in agent.properties})
        props.update({p.key: p for p in s.properties})
        prop = props.get("retry")
        if prop is not None and isinstance(prop.value, m.Number):
            return max(0, int(prop.value.value))
        return 0

    def count_of(self, e: Any, *, number: bool = False) -> int | None:
        if number and isinstance(e, m.Number) and e.is_integer and e.value >= 0:
            return int(e.value)
        if isinstance(e, m.Array):
            return len(e.items)
        if isinstance(e, m.Name) and e.name in self.arrays:
            return self.arrays[e.name]
        return None

    @staticmethod
    def describe(e: Any) -> str:
        if isinstance(e, m.Name):
            return f"'{e.name}'"
        return "a value computed at run time"


def estimate_program(program: m.Program, path: Path | None = None, *, _depth: int = 0) -> Estimate:
    """Bounds on the model calls of `program`; imported local programs are counted from their files."""
    blocks = {s.name.name: s for s in program.body if isinstance(s, m.BlockDef)}
    agents = {s.name.name: s for s in program.body if isinstance(s, m.AgentDef)}
    walker = _Walker(blocks, agents, path.parent if path is not None else None)
    for stmt in program.body:
        if isinstance(stmt, m.Use):
            alias = stmt.alias.name if stmt.alias else program_alias(stmt.path.text)
            sub = _imported(stmt, walker.base, _depth)
            if isinstance(sub, str):
                walker.unknown(stmt, sub)
                walker.imported[alias] = Counts(*(Range(0, None) for _ in KINDS))
            else:
                walker.imported[alias] = sub.counts
                walker.unknowns.extend(sub.unknowns)
    counts = walker.body(program.body)
    return Estimate(counts, tuple(walker.unknowns))


def _imported(use: m.Use, base: Path | None, depth: int) -> Estimate | str:
    target = use.path.text
    if not is_local_program_path(target) or base is None:
        return f"program '{target}' is not a local file; its calls are not counted"
    if depth >= 8:
        return f"program '{target}' is imported too deeply to count"
    file = (base / target).resolve()
    try:
        source = file.read_bytes()
    except OSError:
        return f"program '{target}' cannot be read; its calls are not counted"
    sub = analyze(source, file)
    return estimate_program(sub.program, file, _depth=depth + 1)


def format_estimate(estimate: Estimate) -> list[str]:
    """Human-readable lines: the total, the split by kind, then what is unknown."""
    c = estimate.counts
    lines = [
        f"model calls: {estimate.total.text()}  "
        f"(sessions {c.sessions.text()}, conditions {c.conditions.text()}, choices {c.choices.text()})",
    ]
    for line, what in estimate.unknowns:
        lines.append(f"  line {line}: {what}")
    lines.append("loops are counted at their max; tool turns inside sessions are not counted")
    return lines


def lens_title(estimate: Estimate) -> str:
    """A short title for the editor's code lens."""
    unknown = " (some counts unknown)" if estimate.unknowns else ""
    total = estimate.total
    noun = "model call" if total.lo == total.hi == 1 else "model calls"
    return f"≈ {total.text()} {noun}{unknown}"
