"""Language facts parsed once: join policy, retry policy, persist, permissions and skills.

Each fact has one parser; the checker reports its problems and the interpreter
uses its value. These tests pin the values and problems down, and check that the
checker's diagnostics for each fact come from exactly those problems.
"""

from __future__ import annotations

import pytest

from openprose import model as m
from openprose.agents.permissions import DEFAULT_PERMISSIONS, PathRule
from openprose import walk
from openprose.analysis import analyze
from openprose.language import (
    Backoff, JoinPolicy, MemoryScope, OnFail, Persist, RetryPolicy, Strategy, join_policy, permission_rules,
    persist_of, retry_policy, skills_of,
)
from openprose.model import build_program
from openprose.syntax import parse


def program(text: str) -> m.Program:
    source = text.encode()
    return build_program(parse(source), source)


def parallel_modifiers(header: str) -> tuple[m.Modifier, ...]:
    stmt = program(f"{header}\n  a = session \"a\"\n  b = session \"b\"\n").body[0]
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Parallel)
    return stmt.expr.modifiers


def agent(text: str) -> m.AgentDef:
    stmt = program(text).body[0]
    assert isinstance(stmt, m.AgentDef)
    return stmt


def codes(text: str) -> list[str]:
    return [d.code for d in analyze(text.encode(), None).diagnostics]


# ------------------------------------------------------------------ joins


@pytest.mark.parametrize("header, expected", [
    ("parallel:", JoinPolicy()),
    ('parallel ("first"):', JoinPolicy(Strategy.FIRST)),
    ("parallel (first):", JoinPolicy(Strategy.FIRST)),
    ('parallel ("any", count: 2):', JoinPolicy(Strategy.ANY, count=2)),
    ('parallel (on-fail: "continue"):', JoinPolicy(on_fail=OnFail.CONTINUE)),
    ('parallel ("regardless", on-fail: "ignore"):', JoinPolicy(Strategy.REGARDLESS, OnFail.IGNORE)),
])
def test_join_policy_values(header: str, expected: JoinPolicy) -> None:
    policy, problems = join_policy(parallel_modifiers(header), 2)
    assert problems == () and policy == expected


@pytest.mark.parametrize("header, kinds, diagnostics", [
    ('parallel ("fist"):', ["unknown-strategy"], ["P001"]),
    ('parallel (on-fail: "retry"):', ["unknown-policy"], ["P002"]),
    ('parallel ("first", "any"):', ["duplicate-modifier"], ["P003"]),
    ("parallel (count: 2):", ["count-without-any"], ["P004"]),
    ('parallel ("any", count: 0):', ["bad-count"], ["P005"]),
    ('parallel ("any", count: 3):', ["count-exceeds-branches"], ["P006"]),
    ('parallel (retries: 2):', ["unknown-modifier"], ["P008"]),
    ("parallel (on-fail:):", ["missing-policy"], ["P009"]),
])
def test_join_problems_are_the_checker_diagnostics(header: str, kinds: list[str], diagnostics: list[str]) -> None:
    _, problems = join_policy(parallel_modifiers(header), 2)
    assert [p.kind for p in problems] == kinds
    text = f"{header}\n  a = session \"a\"\n  b = session \"b\"\n"
    assert [c for c in codes(text) if c.startswith("P")] == diagnostics


def test_a_repeated_modifier_keeps_the_last_value() -> None:
    policy, problems = join_policy(parallel_modifiers('parallel ("first", "any"):'), 2)
    assert policy.strategy is Strategy.ANY and [p.kind for p in problems] == ["duplicate-modifier"]
    assert problems[0].first is not None and problems[0].first.start_col < problems[0].span.start_col


def test_a_count_no_run_can_compute_with_is_no_checker_error() -> None:
    header = f'parallel ("any", count: {"9" * 400}):'
    policy, problems = join_policy(parallel_modifiers(header), 2)
    assert [p.kind for p in problems] == ["too-large", "count-exceeds-branches"]
    assert policy.count == int("9" * 400)


# ------------------------------------------------------------------ retry


def session_props(text: str) -> dict[str, m.Property]:
    stmt = program(text).body[0]
    assert isinstance(stmt, m.ExprStmt) and isinstance(stmt.expr, m.Session)
    return {p.key: p for p in stmt.expr.properties}


@pytest.mark.parametrize("props, expected", [
    ("", RetryPolicy()),
    ("  retry: 3\n", RetryPolicy(3)),
    ("  retry: 3\n  backoff: exponential\n", RetryPolicy(3, Backoff.EXPONENTIAL)),
    ('  retry: 2\n  backoff: "linear"\n', RetryPolicy(2, Backoff.LINEAR)),
])
def test_retry_policy_values(props: str, expected: RetryPolicy) -> None:
    found = session_props(f'session "a"\n{props}')
    policy, problems = retry_policy(found.get("retry"), found.get("backoff"))
    assert problems == () and policy == expected


@pytest.mark.parametrize("props, kinds, diagnostics", [
    ("  retry: 0\n", ["bad-retry"], ["E110"]),
    ('  retry: "3"\n', ["bad-retry"], ["E110"]),
    ("  backoff: quadratic\n", ["unknown-backoff"], ["E111"]),
])
def test_retry_problems_are_the_checker_diagnostics(props: str, kinds: list[str], diagnostics: list[str]) -> None:
    text = f'session "a"\n{props}'
    found = session_props(text)
    _, problems = retry_policy(found.get("retry"), found.get("backoff"))
    assert [p.kind for p in problems] == kinds
    assert [c for c in codes(text) if c.startswith("E1")] == diagnostics


def test_backoff_delays_grow_as_named_and_are_capped() -> None:
    assert [RetryPolicy(5, Backoff.LINEAR).delay(n, 2.0) for n in (1, 2, 3)] == [2.0, 4.0, 6.0]
    assert [RetryPolicy(5, Backoff.EXPONENTIAL).delay(n, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert RetryPolicy(5).delay(3, 1.0) == 0.0
    assert RetryPolicy(99, Backoff.EXPONENTIAL).delay(99, 1.0) == 600.0


def test_a_retry_too_large_to_compute_with_is_its_own_problem() -> None:
    found = session_props(f'session "a"\n  retry: {"9" * 400}\n')
    policy, problems = retry_policy(found["retry"], None)
    assert [p.kind for p in problems] == ["too-large"] and policy.retries == 0


# ---------------------------------------------------------------- persist


@pytest.mark.parametrize("value, expected", [
    ("true", Persist(MemoryScope.RUN)),
    ("project", Persist(MemoryScope.PROJECT)),
    ("user", Persist(MemoryScope.USER)),
    ('"project"', Persist(MemoryScope.PROJECT)),
    ('".prose/custom/reviewer/"', Persist(MemoryScope.PATH, ".prose/custom/reviewer/")),
    ('"false"', None),
])
def test_persist_values(value: str, expected: Persist | None) -> None:
    persist, problems = persist_of(agent(f"agent a:\n  persist: {value}\n").property("persist"))
    assert problems == () and persist == expected


@pytest.mark.parametrize("value", ["false", "everywhere", '"  "'])
def test_bad_persist_values_are_e116(value: str) -> None:
    text = f"agent a:\n  persist: {value}\n"
    persist, problems = persist_of(agent(text).property("persist"))
    assert persist is None and [p.kind for p in problems] == ["bad-persist"]
    assert "E116" in codes(text)


def test_persist_settings_are_what_the_run_store_takes() -> None:
    assert [Persist(s).setting for s in (MemoryScope.RUN, MemoryScope.PROJECT, MemoryScope.USER)] == ["true", "project", "user"]
    assert Persist(MemoryScope.PATH, "mem/").setting == "mem/"


def test_no_persist_is_no_memory() -> None:
    assert persist_of(agent('agent a:\n  model: sonnet\n').property("persist")) == (None, ())


# ------------------------------------------------------------ permissions


def test_permission_rules_resolve_to_typed_permissions() -> None:
    text = 'agent a:\n  permissions:\n    read: ["src/", docs]\n    write: deny\n    bash: prompt\n'
    rules, problems = permission_rules(agent(text).property("permissions"))
    assert problems == ()
    permissions, notes = rules.resolve(lambda name: {"docs": "docs/**"}[name])
    assert notes == []
    assert permissions.read == PathRule("allow", ("src/", "docs/**"))
    assert permissions.write == PathRule("deny") and permissions.bash == "prompt"
    assert permissions.explicit == frozenset({"read", "write", "bash"})


def test_no_permissions_are_the_defaults() -> None:
    rules, problems = permission_rules(None)
    assert problems == () and rules.resolve(lambda name: "") == (DEFAULT_PERMISSIONS, [])


@pytest.mark.parametrize("block, kinds, diagnostics", [
    ("    read: allow\n    read: deny\n", ["duplicate-permission"], ["E009"]),
    ("    fly: allow\n", ["unknown-permission"], ["W008"]),
    ("    read: [1]\n", ["bad-pattern"], ["E016"]),
    ("    write: sometimes\n", ["unknown-permission-value"], ["W009"]),
])
def test_permission_problems_are_the_checker_diagnostics(block: str, kinds: list[str], diagnostics: list[str]) -> None:
    text = f"agent a:\n  permissions:\n{block}"
    _, problems = permission_rules(agent(text).property("permissions"))
    assert [p.kind for p in problems] == kinds
    assert [c for c in codes(text) if c in ("E009", "W008", "E016", "W009", "E005", "E015")] == diagnostics


def test_permissions_written_as_a_value_are_e015() -> None:
    text = "agent a:\n  permissions: allow\n"
    _, problems = permission_rules(agent(text).property("permissions"))
    assert [p.kind for p in problems] == ["permissions-not-block"]
    assert "E015" in codes(text)


# ----------------------------------------------------------------- skills


def test_skills_are_names_with_their_spans() -> None:
    skills, problems = skills_of(agent('agent a:\n  skills: ["web-search", "pdf"]\n').property("skills"))
    assert problems == () and skills.names == ("web-search", "pdf") and len(skills.spans) == 2


@pytest.mark.parametrize("value, kinds, diagnostics", [
    ('"web-search"', ["skills-not-array"], ["E013"]),
    ("[]", ["skills-empty"], ["W010"]),
    ('["web-search", 3]', ["skill-not-string"], ["E014"]),
])
def test_skill_problems_are_the_checker_diagnostics(value: str, kinds: list[str], diagnostics: list[str]) -> None:
    text = f'import "web-search" from "./skills/web-search"\nagent a:\n  skills: {value}\n'
    prop = program(text).body[1].property("skills")  # type: ignore[union-attr]
    _, problems = skills_of(prop)
    assert [p.kind for p in problems] == kinds
    assert [c for c in codes(text) if c in ("E013", "W010", "E014")] == diagnostics


def test_join_problems_point_into_the_text_they_came_from() -> None:
    """Equal modifiers in two texts (same bytes, other lines) each get problems on their own nodes and rows."""
    block = 'parallel (count: 2, count: 3):\n  session "a"\n  session "b"\n'
    rows = []
    for prefix in ("#abc\n", "#a\n#\n"):
        source = (prefix + block).encode()
        parallel = next(n for n in walk.walk(m.build_program(parse(source), source)) if isinstance(n, m.Parallel))
        _, problems = join_policy(parallel.modifiers, 2)
        assert problems and all(any(p.node is mod for mod in parallel.modifiers) for p in problems)
        rows.append(sorted({p.node.span.start_row for p in problems}))
    assert rows == [[1], [2]]
