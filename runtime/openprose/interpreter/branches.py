"""Running branches at the same time: the trio side of a join.

Each branch of a `parallel` block, a `parallel for` or a `pmap` runs as a task
in its own cancel scope inside one nursery, so `first`, `any` and fail-fast
cancel the losers for real and the record says which were cancelled. What to
cancel and how the block ends is not decided here: `join.Join` answers that
from the outcomes this driver reports to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from .. import model as m
from ..context import Flow, current_flow, set_flow
from ..diagnostics import Span
from ..language import JoinPolicy, OnFail, join_policy
from ..values import ErrorRecord, Value
from .base import InterpreterBase
from .errors import ProseError
from .frames import Frame
from .join import BranchStatus, Join
from .naming import bound_name, branch_name, letter, short_number, state_word
from ..events import EventType

__all__ = ["Branches", "checked_policy"]

#: One branch: given its path in the run tree, run it to its value.
Thunk = Callable[[tuple[str, ...]], Awaitable[Value]]


def checked_policy(modifiers: tuple[m.Modifier, ...]) -> JoinPolicy:
    """The join policy of a block about to run; a count no run can compute with fails it."""
    policy, problems = join_policy(modifiers)
    for problem in problems:
        if problem.kind == "too-large":
            raise ProseError(f"count {short_number(problem.node.value)} is too large", problem.span)
    return policy


class Branches(InterpreterBase):
    """Concurrent branches (a mixin of the interpreter: `self.statement` is the dispatch's)."""

    async def run_parallel(self, p: m.Parallel, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        policy = checked_policy(p.modifiers)
        names = [branch_name(stmt, i) for i, stmt in enumerate(p.body)]
        label = f"L{p.span.start_row + 1}"
        self.state_line(f"{sid}→ ∥start {','.join(state_word(n) for n in names)}")

        async def run_branch(index: int, branch_path: tuple[str, ...]) -> Value:
            return await self.statement(p.body[index], frame, f"{sid}{letter(index)}", branch_path)

        join = await self.join(
            [lambda bp, i=i: run_branch(i, bp) for i in range(len(p.body))],
            names, policy, sid, path + (f"{label} parallel",), p.span,
        )
        # Named results of failed branches become error records under `continue`.
        if policy.on_fail is OnFail.CONTINUE:
            for stmt, outcome in zip(p.body, join.outcomes):
                target = bound_name(stmt)
                if outcome.status is BranchStatus.FAILED and target is not None:
                    self.bind(frame, target, outcome.value, source=stmt)
        self.state_line(f"{sid}→ ∥done")
        return join.value()

    async def join(self, thunks: list[Thunk], names: list[str], policy: JoinPolicy, sid: str,
                   path: tuple[str, ...], span: Span) -> Join[ProseError]:
        """Run branches concurrently and stop them as the policy says; the settled join, or its error raised."""
        n = len(thunks)
        join: Join[ProseError] = Join(n, policy)
        scopes = [trio.CancelScope() for _ in range(n)]
        parent_flow = current_flow()
        forks: list[Flow | None] = [None] * n

        def shown(i: int) -> str | None:
            return names[i] if not names[i].startswith("branch ") else None

        async def branch(i: int) -> None:
            forks[i] = parent_flow.fork()
            set_flow(forks[i])  # this task's own copy of the context: siblings are not disturbed
            branch_path = path + (names[i],)
            self.emit(EventType.BRANCH_START, binding=shown(i), path=branch_path)
            status, value, error = BranchStatus.CANCELLED, None, None
            with scopes[i]:
                try:
                    value = await thunks[i](branch_path)
                except ProseError as exc:
                    status, value, error = BranchStatus.FAILED, ErrorRecord(exc.message, names[i]), exc
                except trio.Cancelled:
                    if not scopes[i].cancel_called:
                        # The whole run is being cancelled (Ctrl-C): say so before unwinding.
                        self.emit(EventType.BRANCH_END, binding=shown(i), path=branch_path, status=BranchStatus.CANCELLED)
                    raise
                else:
                    status = BranchStatus.OK
            self.emit(EventType.BRANCH_END, binding=shown(i), path=branch_path, status=status,
                      error=error.message if error is not None else None)
            try:
                if status is BranchStatus.OK:
                    self.store.append_state(f"{sid}{letter(i)}→ {state_word(names[i])} ✓")
                elif status is BranchStatus.CANCELLED:
                    self.store.append_state(f"{sid}{letter(i)}→ cancelled")
                else:
                    assert error is not None
                    self.store.append_state(f"{sid}{letter(i)}→ ✗ {state_word(error.message)}")
            except OSError as exc:
                if status is not BranchStatus.CANCELLED:
                    error = ProseError(f"could not write to {self.store.state_path}: {exc.strerror or exc}")
                    status, value = BranchStatus.FAILED, ErrorRecord(error.message, names[i])
            if status is BranchStatus.CANCELLED:
                join.cancelled(i)
            elif status is BranchStatus.OK:
                join.finished(i, value)
            else:
                assert error is not None
                join.failed(i, error, value)
            for other in join.to_cancel():
                scopes[other].cancel()

        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(branch, i)
        for fork in forks:  # branch outputs join the parent's flow in branch order
            if fork is not None:
                for output in fork.own():
                    parent_flow.add(output)
        failure = join.failure()
        if failure is not None:
            if failure.error is not None:
                raise failure.error
            assert failure.message is not None
            raise ProseError(failure.message, span)
        return join
