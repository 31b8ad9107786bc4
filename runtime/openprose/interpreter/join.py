"""The join of a parallel block, as a small state machine with no trio inside.

The branches of a `parallel` block, a `parallel for` or a `pmap` run as trio
tasks (see branches.py); every decision about them lives here instead: which
outcome settles the block, when the branches still running must be cancelled,
and what the block's value or error is. The driver reports each branch as it
ends — finished with a value, failed with an error, or cancelled — and asks
`stopped` / `to_cancel()` after each report and `failure()` / `value()` once all
have reported. Keeping the rules free of tasks and clocks means every strategy ×
policy, ties and all-failed cases are tested directly, and the timing tests of
the interpreter only need to show that the driver follows the answers.

The rules (docs: parallel execution):
- `all` (default) waits for every branch; with `on-fail: fail-fast` the first
  failure cancels the rest and is the block's error.
- `first` is settled by the first branch to finish, success or failure; under
  fail-fast a failing winner is the block's error.
- `any` succeeds once `count` branches have succeeded and cancels the rest; it
  fails as soon as too few branches are left to reach `count`.
- `regardless` waits for every branch and never fails on one.
- `continue` keeps failed branches' values (error records) in the block value,
  `ignore` leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ..language import JoinPolicy, OnFail, Strategy
from ..values import Value

__all__ = ["BranchStatus", "Join", "JoinFailure", "Outcome"]

E = TypeVar("E", bound=BaseException)


class BranchStatus(StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Outcome(Generic[E]):
    """How one branch ended; a failed branch's value is its error record."""

    status: BranchStatus = BranchStatus.PENDING
    value: Value = None
    error: E | None = None


@dataclass(frozen=True)
class JoinFailure(Generic[E]):
    """Why the block fails: a branch's own error (raised as it is), or `any`'s shortfall (`message`)."""

    error: E | None = None
    message: str | None = None


class Join(Generic[E]):
    """The state of one join: `n` branches under `policy`."""

    def __init__(self, n: int, policy: JoinPolicy) -> None:
        self.n = n
        self.policy = policy
        self.outcomes: list[Outcome[E]] = [Outcome() for _ in range(n)]
        #: Branches in the order they finished or failed (cancelled ones are not in it).
        self.order: list[int] = []
        self.successes = 0
        self.settled = 0
        #: The outcome is decided: the branches still pending are to be cancelled.
        self.stopped = False
        self._failure: Outcome[E] | None = None

    # -- reports ------------------------------------------------------------------------

    def finished(self, i: int, value: Value) -> bool:
        """Branch `i` returned `value`. True: cancel the branches still running."""
        self.outcomes[i] = Outcome(BranchStatus.OK, value)
        return self._settle(i)

    def failed(self, i: int, error: E, value: Value = None) -> bool:
        """Branch `i` failed with `error` (`value`: its error record). True: cancel the branches still running."""
        self.outcomes[i] = Outcome(BranchStatus.FAILED, value, error)
        return self._settle(i)

    def cancelled(self, i: int) -> None:
        """Branch `i` was stopped before it ended."""
        self.outcomes[i] = Outcome(BranchStatus.CANCELLED)

    # -- answers ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Every branch has reported."""
        return all(o.status is not BranchStatus.PENDING for o in self.outcomes)

    def to_cancel(self) -> list[int]:
        """The branches to cancel now: those still running once the outcome is decided."""
        if not self.stopped:
            return []
        return [i for i, o in enumerate(self.outcomes) if o.status is BranchStatus.PENDING]

    def failure(self) -> JoinFailure[E] | None:
        """Why the block fails, once every branch has reported; None when it succeeds."""
        policy = self.policy
        if policy.strategy is Strategy.ANY and not self.stopped and self.successes < policy.count:
            return JoinFailure(message=f"only {self.successes} of {self.n} branches succeeded; "
                                       f"`any` needed {policy.count}")
        if self._failure is None:
            return None
        if policy.strategy is Strategy.ANY:
            return JoinFailure(message=f"only {self.successes} of {self.n} branches can succeed; "
                                       f"`any` needed {policy.count}: {self._failure.error}")
        return JoinFailure(error=self._failure.error)

    def value(self) -> Value:
        """The value of `let r = parallel …`: the winner for `first` and `any` of one, else the branch values."""
        policy = self.policy
        if policy.strategy is Strategy.FIRST:
            if not self.order:
                return None
            winner = self.outcomes[self.order[0]]
            if winner.status is BranchStatus.FAILED:
                return winner.value if policy.on_fail is OnFail.CONTINUE else None
            return winner.value
        if policy.strategy is Strategy.ANY and policy.count == 1:
            return next((self.outcomes[i].value for i in self.order if self.outcomes[i].status is BranchStatus.OK), None)
        values = []
        for outcome in self.outcomes:
            if outcome.status is BranchStatus.OK:
                values.append(outcome.value)
            elif outcome.status is BranchStatus.FAILED and policy.on_fail is not OnFail.IGNORE:
                values.append(outcome.value)
        return values

    def successful_values(self) -> list[Value]:
        """The values of the branches that succeeded, in branch order (a `parallel for`)."""
        return [o.value for o in self.outcomes if o.status is BranchStatus.OK]

    # -- rules --------------------------------------------------------------------------

    def _settle(self, i: int) -> bool:
        self.order.append(i)
        self.settled += 1
        if self.stopped:
            return False  # decided already: a late branch changes nothing
        outcome = self.outcomes[i]
        strategy, on_fail = self.policy.strategy, self.policy.on_fail
        if strategy is Strategy.FIRST:
            if outcome.status is BranchStatus.FAILED and on_fail is OnFail.FAIL_FAST:
                self._failure = outcome
            return self._stop()
        if outcome.status is BranchStatus.OK:
            self.successes += 1
            if strategy is Strategy.ANY and self.successes >= self.policy.count:
                return self._stop()
            return False
        if strategy is Strategy.ANY:
            running = self.n - self.settled
            if self.successes + running < self.policy.count:
                self._failure = outcome
                return self._stop()
            return False
        if strategy is Strategy.ALL and on_fail is OnFail.FAIL_FAST:
            self._failure = outcome
            return self._stop()
        return False

    def _stop(self) -> bool:
        self.stopped = True
        return True
