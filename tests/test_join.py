"""The join of a parallel block, as a state machine: every strategy × on-fail policy, count, ties, all-failed.

The machine has no trio in it; these tests play branch endings to it in the
order they would happen and check what it answers: which branches to cancel,
whether the block fails (and with what), and the block's value. The
interpreter's timing tests (test_interpreter.py, under the autojump clock) show
that the trio driver follows these answers.
"""

from __future__ import annotations

import pytest

from openprose.interpreter.join import BranchStatus, Join
from openprose.language import JoinPolicy, OnFail, Strategy


class Boom(Exception):
    pass


def play(policy: JoinPolicy, n: int, script: list[tuple[int, str, str]]) -> tuple[Join[Boom], list[int]]:
    """Report `script` — (branch, "ok" | "fail", value or message) in the order branches end — to a join.

    A branch the join has asked to cancel reports `cancelled` instead of its scripted ending.
    Returns the join and the branches it cancelled, in the order it asked.
    """
    join: Join[Boom] = Join(n, policy)
    cancelled: list[int] = []
    for i, kind, text in script:
        if i in cancelled:
            continue
        assert not join.done
        if kind == "ok":
            join.finished(i, text)
        else:
            join.failed(i, Boom(text), f"error: {text}")
        cancelled += [j for j in join.to_cancel() if j not in cancelled]
    for j in cancelled:
        join.cancelled(j)
    assert join.done
    return join, cancelled


def policy(strategy: str = "all", on_fail: str = "fail-fast", count: int = 1) -> JoinPolicy:
    return JoinPolicy(Strategy(strategy), OnFail(on_fail), count)


ALL_OK = [(2, "ok", "c"), (0, "ok", "a"), (1, "ok", "b")]
ONE_FAILS = [(1, "ok", "b"), (0, "fail", "x"), (2, "ok", "c")]


# ------------------------------------------------------------------------- all


@pytest.mark.parametrize("on_fail", ["fail-fast", "continue", "ignore"])
def test_all_without_failures_is_every_value_in_branch_order(on_fail: str) -> None:
    join, cancelled = play(policy("all", on_fail), 3, ALL_OK)
    assert cancelled == [] and join.failure() is None
    assert join.value() == ["a", "b", "c"]
    assert join.order == [2, 0, 1]


def test_all_fail_fast_cancels_the_rest_and_fails_with_the_branch_error() -> None:
    join, cancelled = play(policy("all"), 3, ONE_FAILS)
    assert cancelled == [2]
    assert [o.status for o in join.outcomes] == [BranchStatus.FAILED, BranchStatus.OK, BranchStatus.CANCELLED]
    failure = join.failure()
    assert failure is not None and failure.message is None and str(failure.error) == "x"


def test_all_continue_keeps_the_error_record_in_the_value() -> None:
    join, cancelled = play(policy("all", "continue"), 3, ONE_FAILS)
    assert cancelled == [] and join.failure() is None
    assert join.value() == ["error: x", "b", "c"]


def test_all_ignore_leaves_failed_branches_out() -> None:
    join, cancelled = play(policy("all", "ignore"), 3, ONE_FAILS)
    assert cancelled == [] and join.failure() is None
    assert join.value() == ["b", "c"]


def test_all_fail_fast_when_every_branch_fails_reports_the_first_failure() -> None:
    join, cancelled = play(policy("all"), 3, [(1, "fail", "first"), (0, "fail", "second"), (2, "fail", "third")])
    assert cancelled == [0, 2]
    assert str(join.failure().error) == "first"  # type: ignore[union-attr]


@pytest.mark.parametrize("on_fail, value", [("continue", ["error: p", "error: q"]), ("ignore", [])])
def test_all_that_tolerates_failures_succeeds_when_every_branch_fails(on_fail: str, value: list[str]) -> None:
    join, _ = play(policy("all", on_fail), 2, [(0, "fail", "p"), (1, "fail", "q")])
    assert join.failure() is None and join.value() == value


def test_count_means_nothing_outside_any() -> None:
    join, cancelled = play(policy("all", count=3), 3, ALL_OK)
    assert cancelled == [] and join.value() == ["a", "b", "c"]


# ----------------------------------------------------------------------- first


@pytest.mark.parametrize("on_fail", ["fail-fast", "continue", "ignore"])
def test_first_success_wins_and_cancels_the_rest(on_fail: str) -> None:
    join, cancelled = play(policy("first", on_fail), 3, [(1, "ok", "fast"), (0, "ok", "slow"), (2, "fail", "late")])
    assert cancelled == [0, 2]
    assert join.failure() is None and join.value() == "fast"


def test_first_failure_under_fail_fast_fails_the_block() -> None:
    join, cancelled = play(policy("first"), 2, [(0, "fail", "boom"), (1, "ok", "b")])
    assert cancelled == [1]
    assert str(join.failure().error) == "boom"  # type: ignore[union-attr]


def test_first_failure_under_continue_is_the_value() -> None:
    join, cancelled = play(policy("first", "continue"), 2, [(0, "fail", "boom"), (1, "ok", "b")])
    assert cancelled == [1] and join.failure() is None
    assert join.value() == "error: boom"


def test_first_failure_under_ignore_gives_no_value() -> None:
    join, cancelled = play(policy("first", "ignore"), 2, [(0, "fail", "boom"), (1, "ok", "b")])
    assert cancelled == [1] and join.failure() is None
    assert join.value() is None


def test_first_with_a_tie_keeps_the_branch_reported_first() -> None:
    # Two branches end in the same instant: the one reported first wins; the other changes nothing.
    join: Join[Boom] = Join(2, policy("first"))
    assert join.finished(1, "one") is True
    assert join.to_cancel() == [0]
    assert join.finished(0, "zero") is False  # it finished before its cancellation took effect
    assert join.order == [1, 0]
    assert join.failure() is None and join.value() == "one"


def test_first_of_no_branches_is_none() -> None:
    join: Join[Boom] = Join(0, policy("first"))
    assert join.done and join.failure() is None and join.value() is None


# ------------------------------------------------------------------------- any


def test_any_waits_past_failures_for_the_first_success() -> None:
    join, cancelled = play(policy("any"), 3, [(0, "fail", "x"), (2, "ok", "c"), (1, "ok", "b")])
    assert cancelled == [1]
    assert join.failure() is None and join.value() == "c"


def test_any_with_count_succeeds_at_the_count_and_cancels_the_rest() -> None:
    join, cancelled = play(policy("any", count=2), 4, [(3, "ok", "d"), (0, "fail", "x"), (1, "ok", "b"), (2, "ok", "c")])
    assert cancelled == [2]
    assert join.failure() is None
    # A count above one gives the settled branches' values, in branch order (a failure's record too).
    assert join.value() == ["error: x", "b", "d"]


def test_any_with_count_and_ignore_leaves_failures_out_of_the_value() -> None:
    join, _ = play(policy("any", "ignore", count=2), 3, [(0, "fail", "x"), (1, "ok", "b"), (2, "ok", "c")])
    assert join.failure() is None and join.value() == ["b", "c"]


def test_any_fails_as_soon_as_the_count_is_out_of_reach() -> None:
    join, cancelled = play(policy("any", count=2), 3, [(0, "fail", "x"), (1, "fail", "y"), (2, "ok", "c")])
    assert cancelled == [2]
    failure = join.failure()
    assert failure is not None and failure.error is None
    assert failure.message == "only 0 of 3 branches can succeed; `any` needed 2: y"


def test_any_when_every_branch_fails() -> None:
    join, cancelled = play(policy("any"), 2, [(1, "fail", "p"), (0, "fail", "q")])
    assert cancelled == []
    assert join.failure().message == "only 0 of 2 branches can succeed; `any` needed 1: q"  # type: ignore[union-attr]


def test_any_with_a_count_above_the_branches_fails_once_all_have_succeeded() -> None:
    join, cancelled = play(policy("any", count=3), 2, [(0, "ok", "a"), (1, "ok", "b")])
    assert cancelled == []  # successes never make `any` give up early
    assert join.failure().message == "only 2 of 2 branches succeeded; `any` needed 3"  # type: ignore[union-attr]


def test_any_of_no_branches_fails() -> None:
    join: Join[Boom] = Join(0, policy("any"))
    assert join.failure().message == "only 0 of 0 branches succeeded; `any` needed 1"  # type: ignore[union-attr]


def test_any_with_a_tie_counts_only_the_successes_before_it_was_settled() -> None:
    join: Join[Boom] = Join(3, policy("any", count=1))
    assert join.finished(2, "two") is True
    assert join.finished(0, "zero") is False
    join.cancelled(1)
    assert join.successes == 1 and join.value() == "two"


# ------------------------------------------------------------------ regardless


@pytest.mark.parametrize("on_fail, value", [("fail-fast", ["error: x", "b", "c"]), ("continue", ["error: x", "b", "c"]),
                                            ("ignore", ["b", "c"])])
def test_regardless_never_fails_and_never_cancels(on_fail: str, value: list[str]) -> None:
    join, cancelled = play(policy("regardless", on_fail), 3, ONE_FAILS)
    assert cancelled == [] and join.failure() is None
    assert join.value() == value


# ---------------------------------------------------------------------- answers


def test_nothing_is_cancelled_before_the_outcome_is_decided() -> None:
    join: Join[Boom] = Join(3, policy("all"))
    assert join.finished(0, "a") is False
    assert join.to_cancel() == [] and not join.stopped and not join.done


def test_a_cancelled_branch_is_not_in_the_settle_order_nor_the_value() -> None:
    join: Join[Boom] = Join(2, policy("all", "continue"))
    join.finished(1, "b")
    join.cancelled(0)  # the whole run is being stopped
    assert join.done and join.order == [1] and join.value() == ["b"]


def test_parallel_for_values_are_the_successes_in_branch_order() -> None:
    join, _ = play(policy("all", "continue"), 3, ONE_FAILS)
    assert join.successful_values() == ["b", "c"]
