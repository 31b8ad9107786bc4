"""Language facts, parsed once into typed values.

A parallel block's join strategy, a session's retry policy, an agent's `persist:`,
`permissions:` and `skills:` are each read by two passes: the checker, which
reports what is wrong with them, and the interpreter, which acts on them. When
each pass read the syntax itself they drifted apart (the interpreter ran a
strategy the checker had never heard of). Here each fact is parsed by one
function that returns the typed value and the located problems; the checker
turns the problems into diagnostics (the codes and wording are its business) and
the interpreter uses the value, so the two cannot disagree on what a program
means.

A problem of kind `too-large` is not a mistake in the program (the checker has no
rule for it): the number is well formed but beyond what a run can compute with,
so the interpreter fails on it when it gets there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from . import model as m
from .diagnostics import Span

if TYPE_CHECKING:
    from .agents.permissions import Permissions

__all__ = [
    "BACKOFFS", "MAX_BACKOFF_DELAY", "PERMISSION_TYPES", "PERMISSION_VALUES", "POLICIES", "STRATEGIES",
    "Backoff", "JoinPolicy", "MemoryScope", "OnFail", "PermissionRules", "Persist", "Problem",
    "RetryPolicy", "Skills", "Strategy", "join_policy", "permission_rules", "persist_of", "retry_policy", "skills_of",
]


class Strategy(StrEnum):
    """When a parallel block is done: every branch, the first to settle, or the first `count` successes."""

    ALL = "all"
    FIRST = "first"
    ANY = "any"
    #: Wait for every branch and never fail on a branch's failure.
    REGARDLESS = "regardless"


class OnFail(StrEnum):
    """What a branch's failure does to its block."""

    FAIL_FAST = "fail-fast"  # cancel the rest and fail the block
    CONTINUE = "continue"  # let the rest finish; failed branches' values are error records
    IGNORE = "ignore"  # let the rest finish; failed branches are left out of the value


class Backoff(StrEnum):
    NONE = "none"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


class MemoryScope(StrEnum):
    """Where a persistent agent's memory lives (docs: agent memory)."""

    RUN = "run"  # persist: true — this run's directory; dies with the run
    PROJECT = "project"  # .prose/agents/ of the project
    USER = "user"  # ~/.prose/agents/
    PATH = "path"  # persist: "some/dir" — a directory of the user's choosing


STRATEGIES: tuple[str, ...] = tuple(Strategy)
POLICIES: tuple[str, ...] = tuple(OnFail)
BACKOFFS: tuple[str, ...] = tuple(Backoff)
PERMISSION_TYPES = ("read", "write", "execute", "bash", "network")
PERMISSION_VALUES = ("allow", "deny", "prompt")

#: Longest wait between two attempts of a session, whatever `retry:`/`backoff:` say.
MAX_BACKOFF_DELAY = 600.0

ProblemKind = Literal[
    # join modifiers
    "unknown-strategy", "missing-policy", "unknown-policy", "missing-count", "bad-count", "unknown-modifier",
    "duplicate-modifier", "count-without-any", "count-exceeds-branches",
    # retry / backoff
    "bad-retry", "unknown-backoff",
    # persist
    "bad-persist",
    # permissions
    "permissions-not-block", "duplicate-permission", "unknown-permission", "bad-pattern", "unknown-permission-value",
    "missing-permission-value",
    # skills
    "skills-not-array", "skills-empty", "skill-not-string",
    # a well-formed number no run can compute with
    "too-large",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a fact as written, where it is, and the node at fault."""

    kind: ProblemKind
    span: Span
    #: The modifier, property or value at fault (the checker builds its fixes from it).
    node: Any = None
    #: For a duplicate: where the first one is.
    first: Span | None = None


# ------------------------------------------------------------------ joins


@dataclass(frozen=True, slots=True)
class JoinPolicy:
    """How a `parallel` block or `parallel for` joins its branches (docs: parallel execution)."""

    strategy: Strategy = Strategy.ALL
    on_fail: OnFail = OnFail.FAIL_FAST
    #: Successes `any` waits for (the other strategies ignore it).
    count: int = 1


#: The policy of a `pmap` stage: every item, failing fast.
ALL_FAIL_FAST = JoinPolicy()


def join_policy(modifiers: tuple[m.Modifier, ...], branches: int | None = None) -> tuple[JoinPolicy, tuple[Problem, ...]]:
    """The join policy of a parallel block (with its branch count) or a `parallel for` (branches None).

    A modifier given twice is a problem; the value kept is the last one, as written.
    """
    problems: list[Problem] = []
    seen: dict[str, m.Modifier] = {}
    strategy, on_fail, count = Strategy.ALL, OnFail.FAIL_FAST, 1
    strategy_mod: m.Modifier | None = None
    count_mod: m.Modifier | None = None
    for mod in modifiers:
        if mod.key is None:
            slot = "strategy"
            if mod.value in STRATEGIES:
                strategy = Strategy(mod.value)
            else:
                problems.append(Problem("unknown-strategy", mod.value_span or mod.span, mod))
            strategy_mod = mod
        elif mod.key == "on-fail":
            slot = "on-fail"
            if mod.value is None:
                problems.append(Problem("missing-policy", mod.key_span or mod.span, mod))
            elif mod.value in POLICIES:
                on_fail = OnFail(mod.value)
            else:
                problems.append(Problem("unknown-policy", mod.value_span or mod.span, mod))
        elif mod.key == "count":
            slot = "count"
            count_mod = mod
            if mod.value is None:
                problems.append(Problem("missing-count", mod.key_span or mod.span, mod))
            elif mod.value_kind != "number" or "." in mod.value or int(mod.value) < 1:
                problems.append(Problem("bad-count", mod.value_span or mod.span, mod))
            else:
                count = int(mod.value)
                if not math.isfinite(float(mod.value)):
                    problems.append(Problem("too-large", mod.value_span or mod.span, mod))
        else:
            slot = mod.key
            problems.append(Problem("unknown-modifier", mod.key_span or mod.span, mod))
        if slot in seen:
            problems.append(Problem("duplicate-modifier", mod.span, mod, first=seen[slot].span))
        seen.setdefault(slot, mod)
    if count_mod is not None and count_mod.value_kind == "number" and (strategy_mod is None or strategy_mod.value != "any"):
        problems.append(Problem("count-without-any", count_mod.span, count_mod))
    elif count_mod is not None and count_mod.value_kind == "number" and "." not in (count_mod.value or "") and branches:
        if int(count_mod.value or 0) > branches:
            problems.append(Problem("count-exceeds-branches", count_mod.value_span or count_mod.span, count_mod))
    return JoinPolicy(strategy, on_fail, count), tuple(problems)


# ------------------------------------------------------------------ retry


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failed session is tried again, and how long to wait in between."""

    retries: int = 0
    backoff: Backoff = Backoff.NONE

    def delay(self, attempt: int, base: float) -> float:
        """Seconds to wait after failed attempt `attempt` (1, 2, …), from the run's base delay."""
        if self.backoff is Backoff.LINEAR:
            return min(MAX_BACKOFF_DELAY, base * attempt)
        if self.backoff is Backoff.EXPONENTIAL:
            return min(MAX_BACKOFF_DELAY, base * (2 ** min(attempt - 1, 30)))
        return 0.0


def retry_policy(retry: m.Property | None, backoff: m.Property | None) -> tuple[RetryPolicy, tuple[Problem, ...]]:
    """The policy from a `retry:` and a `backoff:` property (either may be absent).

    `retry: name` is accepted as written (the checker does not flag it) but a run
    does not look the name up: it retries as if `retry:` were absent.
    """
    problems: list[Problem] = []
    retries = 0
    value = retry.value if retry is not None else None
    if retry is not None and value is not None:
        if isinstance(value, m.Number):
            if not math.isfinite(value.value):
                problems.append(Problem("too-large", value.span, value))
            else:
                retries = max(0, int(value.value))
            if not (value.is_integer and value.value >= 1):
                problems.append(Problem("bad-retry", value.span, value))
        elif not isinstance(value, m.Name):
            problems.append(Problem("bad-retry", value.span, value))  # type: ignore[union-attr]
    kind = Backoff.NONE
    value = backoff.value if backoff is not None else None
    if backoff is not None and value is not None:
        word = m.word(value)
        if word in BACKOFFS:
            kind = Backoff(word)
        else:
            problems.append(Problem("unknown-backoff", value.span, value))  # type: ignore[union-attr]
    return RetryPolicy(retries, kind), tuple(problems)


# ---------------------------------------------------------------- persist


@dataclass(frozen=True, slots=True)
class Persist:
    """An agent's memory: where it lives."""

    scope: MemoryScope
    path: str | None = None  # for MemoryScope.PATH, as written (trimmed)

    @property
    def setting(self) -> str:
        """The `persist:` value as the run store takes it (`true`, `project`, `user` or a path)."""
        if self.scope is MemoryScope.PATH:
            assert self.path is not None
            return self.path
        return "true" if self.scope is MemoryScope.RUN else self.scope.value


def persist_of(prop: m.Property | None) -> tuple[Persist | None, tuple[Problem, ...]]:
    """An agent's `persist:` (None: no memory).

    `true`, `project`, `user` and a non-empty "path" string are valid; a string that
    reads `true`, `project`, `user` or `false` (any case) means that word.
    """
    if prop is None or prop.value is None:
        return None, ()
    value = prop.value
    if isinstance(value, m.Literal) and value.value is True:
        return Persist(MemoryScope.RUN), ()
    if isinstance(value, m.Name) and value.name in ("project", "user"):
        return Persist(MemoryScope(value.name)), ()
    if isinstance(value, m.Str) and value.text.strip() != "":
        text = value.text.strip()
        word = text.lower()
        if word == "false":
            return None, ()
        if word == "true":
            return Persist(MemoryScope.RUN), ()
        if word in ("project", "user"):
            return Persist(MemoryScope(word)), ()
        return Persist(MemoryScope.PATH, text), ()
    return None, (Problem("bad-persist", value.span, value),)  # type: ignore[union-attr]


# ------------------------------------------------------------ permissions

#: A pattern as written: a string, or the name of a string binding (looked up when the session runs).
Pattern = str | m.Name


@dataclass(frozen=True)
class PermissionRules:
    """A `permissions:` block as written: each type's policy word or pattern list (None: no value).

    The patterns may name bindings, so the effective `Permissions` exist only
    once a session runs (`resolve`).
    """

    rules: Mapping[str, str | tuple[Pattern, ...] | None] = field(default_factory=dict)
    #: False when the program has no `permissions:` at all (the defaults apply).
    present: bool = True

    def resolve(self, lookup: Callable[[str], object]) -> tuple[Permissions, list[str]]:
        """The effective permissions (agents.permissions), with names in patterns replaced by their values."""
        # Imported here: checking a program reads the rules but never loads the permission gate.
        from .agents.permissions import DEFAULT_PERMISSIONS, parse_permissions

        if not self.present:
            return DEFAULT_PERMISSIONS, []
        resolved: dict[str, object] = {}
        for key, value in self.rules.items():
            if isinstance(value, tuple):
                resolved[key] = [item if isinstance(item, str) else str(lookup(item.name)) for item in value]
            else:
                resolved[key] = value
        return parse_permissions(resolved)


def permission_rules(prop: m.Property | None) -> tuple[PermissionRules, tuple[Problem, ...]]:
    """A `permissions:` property: an indented block of `type: value` lines (None: the defaults)."""
    if prop is None:
        return PermissionRules(present=False), ()
    if not prop.has_block or prop.value is not None:
        return PermissionRules({}), (Problem("permissions-not-block", prop.key_span, prop),)
    problems: list[Problem] = []
    rules: dict[str, str | tuple[Pattern, ...] | None] = {}
    seen: dict[str, m.Property] = {}
    for rule in prop.children:
        if rule.key in seen:
            problems.append(Problem("duplicate-permission", rule.key_span, rule, first=seen[rule.key].key_span))
        seen.setdefault(rule.key, rule)
        value = rule.value
        known = rule.key in PERMISSION_TYPES
        if not known:
            problems.append(Problem("unknown-permission", rule.key_span, rule))
        if isinstance(value, m.Array):
            patterns: list[Pattern] = []
            for item in value.items:
                if isinstance(item, m.Str):
                    patterns.append(item.text)
                elif isinstance(item, m.Name):
                    patterns.append(item)
                elif known:
                    problems.append(Problem("bad-pattern", item.span, item))  # type: ignore[union-attr]
            rules[rule.key] = tuple(patterns)
        else:
            word = m.word(value) if value is not None else None
            rules[rule.key] = word
            if not known:
                continue
            if isinstance(value, (m.Name, m.Str)):
                if (word or "") not in PERMISSION_VALUES:
                    problems.append(Problem("unknown-permission-value", value.span, value))
            elif value is None:
                problems.append(Problem("missing-permission-value", rule.key_span, rule))
    return PermissionRules(rules), tuple(problems)


# ----------------------------------------------------------------- skills


@dataclass(frozen=True, slots=True)
class Skills:
    """The skills an agent or session lists, by name, with where each is written."""

    names: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()


def skills_of(prop: m.Property | None) -> tuple[Skills, tuple[Problem, ...]]:
    """A `skills:` property: an array of skill-name strings (None: no skills)."""
    if prop is None or prop.value is None:
        return Skills(), ()
    value = prop.value
    if not isinstance(value, m.Array):
        return Skills(), (Problem("skills-not-array", value.span, value),)  # type: ignore[union-attr]
    problems: list[Problem] = []
    if not value.items:
        problems.append(Problem("skills-empty", value.span, value))
    names: list[str] = []
    spans: list[Span] = []
    for item in value.items:
        if isinstance(item, m.Str):
            names.append(item.text)
            spans.append(item.span)
        else:
            problems.append(Problem("skill-not-string", item.span, item))  # type: ignore[union-attr]
    return Skills(tuple(names), tuple(spans)), tuple(problems)
