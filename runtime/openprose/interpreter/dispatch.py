"""The interpreter's dispatch: every statement and expression, reached through the one walker.

Control flow is exact and deterministic; only sessions, `**conditions**` and
`choice` go to a backend (sessions.py). `Interpreter` is a `walk.Visitor` whose
methods are coroutines: `await self.visit(node, frame, site)` runs a node, where
`site` says which statement it belongs to, its path in the run tree and the name
its value is bound to — or is None for a node inside a value (an array item, an
argument), where sessions, blocks and calls cannot run.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any

import trio

from .. import model as m
from ..backends.base import ContextItem, DecisionRequest
from ..context import current_flow
from ..diagnostics import Span
from ..language import ALL_FAIL_FAST
from ..values import Value, as_list, member, number, render, truthy
from ..walk import Node, Visitor
from .base import CURRENT_SID
from .branches import Branches, checked_policy
from .calls import Calls
from .errors import ProseError, Return
from .events import usage_json
from .frames import Frame, FrameKind, scope_word
from .naming import bound_name, short_number, state_reason, state_word
from .sessions import Sessions
from ..events import EventType

__all__ = ["Interpreter", "Site"]


@dataclass(frozen=True, slots=True)
class Site:
    """Where a node runs: its statement id, its path in the run tree, and the name its value is bound to."""

    sid: str
    path: tuple[str, ...]
    binding: str | None = None

    def bound(self, binding: str | None) -> "Site":
        return replace(self, binding=binding)


class Interpreter(Visitor[Awaitable[Value]], Sessions, Branches, Calls):
    """Runs one program (an imported program gets an interpreter of its own)."""

    # -------------------------------------------------------------- walking

    def visit(self, node: Node | None, *args: Any) -> Awaitable[Value]:
        if node is None:  # a part the parser could not read (a program that checks has none)
            return self.default(node, *args)
        return super().visit(node, *args)

    async def run(self, resume_done: set[str]) -> None:
        for index, stmt in enumerate(self.tree.body, start=1):
            sid = str(index)
            if sid in resume_done:
                continue
            await self.statement(stmt, self.root, sid, ())
            self.mark_done(sid, stmt)

    def mark_done(self, sid: str, stmt: m.Stmt) -> None:
        name = bound_name(stmt)
        try:
            try:
                self.store.mark_statement_done(sid, name)
            except ValueError:
                self.store.mark_statement_done(sid, None)
        except OSError as exc:
            raise ProseError(f"could not record statement {sid} as done in {self.store.state_path}: "
                             f"{exc.strerror or exc}", stmt.span) from None

    async def body(self, stmts: tuple[m.Stmt, ...], frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        value: Value = None
        for index, stmt in enumerate(stmts, start=1):
            value = await self.statement(stmt, frame, f"{sid}.{index}", path)
        return value

    async def statement(self, stmt: m.Stmt, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        token = CURRENT_SID.set(sid)
        try:
            return await self.visit(stmt, frame, Site(sid, path))
        except ProseError as exc:
            if exc.span is None:
                exc.span = stmt.span
            raise
        finally:
            CURRENT_SID.reset(token)

    async def value(self, e: Any, frame: Frame) -> Value:
        """The value of an expression inside another value (no sessions, blocks or calls there)."""
        return await self.visit(e, frame, None)

    async def default(self, node: Node, frame: Frame, site: Site | None) -> Value:
        raise ProseError(f"cannot evaluate this expression ({type(node).__name__})", getattr(node, "span", None))

    async def unknown(self, node: m.Unknown, frame: Frame, site: Site | None) -> Value:
        return await self.default(node, frame, site)  # text the parser could not read cannot run

    # ----------------------------------------------------------- statements

    async def agent_def(self, node: m.AgentDef, frame: Frame, site: Site) -> Value:
        return None  # definitions were read when the interpreter was made

    async def block_def(self, node: m.BlockDef, frame: Frame, site: Site) -> Value:
        return None

    async def use(self, node: m.Use, frame: Frame, site: Site) -> Value:
        return None

    async def import_(self, node: m.Import, frame: Frame, site: Site) -> Value:
        return None

    async def orphan(self, node: m.Orphan, frame: Frame, site: Site) -> Value:
        raise ProseError(f"cannot run this statement ({type(node).__name__})", node.span)

    async def expr_stmt(self, node: m.ExprStmt, frame: Frame, site: Site) -> Value:
        return await self.visit(node.expr, frame, site.bound(None))

    async def let(self, node: m.Let, frame: Frame, site: Site) -> Value:
        value = await self.visit(node.value, frame, site.bound(node.names[0].name if node.names else None))
        for name in node.names:
            bound = member(value, name.name) if node.destructure else value
            self.bind(frame, name.name, bound, kind=node.kind, declare=True, source=node)
        return value

    async def assign(self, node: m.Assign, frame: Frame, site: Site) -> Value:
        value = await self.visit(node.value, frame, site.bound(node.name.name))
        owner = frame.find(node.name.name)
        kind = owner.kinds.get(node.name.name, "let") if owner is not None else "let"
        self.bind(frame, node.name.name, value, kind=kind, source=node)
        return value

    async def output(self, node: m.Output, frame: Frame, site: Site) -> Value:
        name = node.name.name if node.name is not None else None
        value = await self.visit(node.value, frame, site.bound(name))
        in_block = frame.namespace().kind == FrameKind.BLOCK
        if name is not None:
            self.bind(frame, name, value, kind="output", declare=True, source=node)
            if not in_block:
                self.outputs[name] = value
        if in_block:
            raise Return(value)
        return value

    async def input(self, node: m.Input, frame: Frame, site: Site) -> Value:
        value = await self.input_value(node)
        self.bind(frame, node.name.name, value, kind="input", declare=True, source=node)
        return value

    async def if_(self, node: m.If, frame: Frame, site: Site) -> Value:
        for branch in node.branches:
            assert branch.condition is not None
            if await self.condition_value(branch.condition, frame, site.path, site.sid):
                return await self.body(branch.body, frame, site.sid, site.path)
        if node.else_branch is not None:
            return await self.body(node.else_branch.body, frame, site.sid, site.path)
        return None

    async def try_(self, node: m.Try, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        try:
            return await self.body(node.body, frame, site.sid, site.path)
        except ProseError as exc:
            if node.catch is None:
                raise
            catch_frame = Frame(FrameKind.BODY, frame)
            if node.catch_name is not None:
                catch_frame.vars[node.catch_name.name] = exc.message
            saved, self.current_error = self.current_error, exc
            try:
                return await self.body(node.catch.body, catch_frame, site.sid, site.path)
            finally:
                self.current_error = saved
        finally:
            if node.finally_ is not None:
                await self.body(node.finally_.body, frame, site.sid, site.path)

    async def throw(self, node: m.Throw, frame: Frame, site: Site) -> Value:
        if node.message is None:
            if self.current_error is not None:
                raise self.current_error
            raise ProseError("error thrown", node.span)
        raise ProseError(self.interpolate(node.message, frame), node.span)

    async def assert_(self, node: m.Assert, frame: Frame, site: Site) -> Value:
        if await self.condition_value(node.condition, frame):
            return None
        message = self.interpolate(node.message, frame) if node.message is not None else "assertion failed"
        raise ProseError(message, node.span)

    async def choice(self, node: m.Choice, frame: Frame, site: Site) -> Value:
        labels = tuple(option.label.text for option in node.options)
        criteria = self.interpolate_condition(node.criteria, frame)
        decision = await self.decide(
            DecisionRequest("choice", criteria, labels, self.decision_context(node.criteria, frame)),
            node.criteria.span, site.path)
        index = decision.value
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(node.options):
            raise ProseError(f"the backend chose option {index!r}, which does not exist", node.criteria.span)
        self.state_line(f"{site.sid}→ choice:{state_word(labels[index])}{state_reason(decision.reason)}")
        self.emit(EventType.CHOICE, prompt=criteria, answer=labels[index], reason=decision.reason or None, path=site.path,
                  span=node.criteria.span, model=decision.model, usage=usage_json(decision.usage),
                  totals=self.ledger.snapshot())
        return await self.body(node.options[index].body, frame, site.sid, site.path)

    async def input_value(self, stmt: m.Input) -> Value:
        name = stmt.name.name
        if name in self.inputs:
            return self.inputs[name]
        question = ""
        if isinstance(stmt.description, m.Str):
            question = self.interpolate(stmt.description, self.root)
        elif isinstance(stmt.description, m.Condition):
            question = self.interpolate_condition(stmt.description, self.root)
        if self.ask_input is None:
            raise ProseError(f"input '{name}' was not provided (pass --input {name}=…)", stmt.name.span)
        self.emit(EventType.INPUT, prompt=question, binding=name, span=stmt.span)
        answer = await self.ask_input(name, question)
        self.inputs[name] = answer
        return answer

    # ------------------------------------------------ expressions that run

    async def session(self, node: m.Session, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        return await self.run_session(node, frame, site.sid, site.path, site.binding)

    async def parallel(self, node: m.Parallel, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        return await self.run_parallel(node, frame, site.sid, site.path)

    async def do_block(self, node: m.DoBlock, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        return await self.body(node.body, frame, site.sid, site.path)

    async def do_call(self, node: m.DoCall, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        return await self.call_block(node, frame, site.sid, site.path)

    async def call(self, node: m.Call, frame: Frame, site: Site | None) -> Value:
        if site is None:
            raise ProseError("program calls cannot be nested inside other values", node.span)
        return await self.call_program(node, frame, site.sid, site.path)

    async def sequence(self, node: m.Sequence, frame: Frame, site: Site | None) -> Value:
        # `a -> b`: each session of the chain is given the previous step's output.
        site = _runnable(node, site)
        value: Value = None
        piped: ContextItem | None = None
        for item in node.items:
            if isinstance(item, m.Session):
                value = await self.run_session(item, frame, site.sid, site.path, site.binding, piped=piped)
            else:
                value = await self.visit(item, frame, site)
            piped = ContextItem("previous", render(value), self.last_ref)
        return value

    async def for_loop(self, node: m.ForLoop, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        sid, path = site.sid, site.path
        items = as_list(await self.value(node.collection, frame))

        async def one(i: int, item: Value, branch_path: tuple[str, ...]) -> Value:
            iteration_sid = f"{sid}.{i + 1}"
            if node.parallel:
                body = Frame(FrameKind.ITERATION, frame, scope_word(iteration_sid))
            else:
                body = Frame(FrameKind.BODY, frame)
            body.vars[node.item.name] = item
            if node.index is not None:
                body.vars[node.index.name] = i
            return await self.body(node.body, body, iteration_sid, branch_path)

        if not node.parallel:
            values = []
            for i, item in enumerate(items):
                values.append(await one(i, item, path))
            return values
        names = [f"{node.item.name}[{i}]" for i in range(len(items))]
        policy = checked_policy(node.modifiers)
        join = await self.join(
            [lambda bp, i=i, item=item: one(i, item, bp) for i, item in enumerate(items)],
            names, policy, sid, path + (f"L{node.span.start_row + 1} parallel for",), node.span,
        )
        return join.successful_values()

    async def repeat(self, node: m.Repeat, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        count_value = await self.value(node.count, frame)
        n = number(count_value)
        if n is None or n < 0 or not float(n).is_integer():
            raise ProseError(f"repeat needs a whole number, got {render(count_value)[:40]!r}", node.count.span)
        values = []
        for i in range(int(n)):
            body = Frame(FrameKind.BODY, frame)
            if node.index is not None:
                body.vars[node.index.name] = i
            values.append(await self.body(node.body, body, f"{site.sid}.{i + 1}", site.path))
        return values

    async def loop(self, node: m.Loop, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        sid, path = site.sid, site.path
        limit = math.inf
        for mod in node.modifiers:
            if mod.key == "max" and mod.value is not None:
                limit = _whole(float(mod.value), "max", mod.value, mod.value_span or mod.span)
        shown = "∞" if limit == math.inf else str(int(limit))
        i = 0
        value: Value = None
        mark: int | None = None  # where the latest iteration's outputs start in the flow
        while i < limit:
            if node.condition is not None:
                verdict = await self.condition_value(node.condition, frame, path, sid, mark)
                stop = verdict if node.kind == "until" else not verdict
                if stop:
                    self.state_line(f"{sid}→ loop:{i}/{shown} exit(condition)")
                    return value
            body = Frame(FrameKind.BODY, frame)
            if node.index is not None:
                body.vars[node.index.name] = i
            i += 1
            self.state_line(f"{sid}→ loop:{i}/{shown}")
            mark = current_flow().mark()
            value = await self.body(node.body, body, f"{sid}.{i}", path)
            await trio.lowlevel.checkpoint()
        self.state_line(f"{sid}→ loop:{i}/{shown} exit(max)")
        return value

    async def pipeline(self, node: m.Pipeline, frame: Frame, site: Site | None) -> Value:
        site = _runnable(node, site)
        sid, path = site.sid, site.path
        current: Value = as_list(await self.value(node.input, frame))
        for stage_index, stage in enumerate(node.stages, start=1):
            items = as_list(current)
            stage_sid = f"{sid}|{stage_index}"

            async def apply(i: int, item: Value, branch_path: tuple[str, ...], stage: m.PipeStage = stage,
                            stage_sid: str = stage_sid) -> Value:
                # pmap iterations run concurrently: each binds its own `let`s.
                if stage.operator == "pmap":
                    body = Frame(FrameKind.ITERATION, frame, scope_word(f"{stage_sid}.{i + 1}"))
                else:
                    body = Frame(FrameKind.BODY, frame)
                body.vars["item"] = item
                return await self.body(stage.body, body, f"{stage_sid}.{i + 1}", branch_path)

            if stage.operator == "map":
                current = [await apply(i, item, path) for i, item in enumerate(items)]
            elif stage.operator == "filter":
                kept = []
                for i, item in enumerate(items):
                    if truthy(await apply(i, item, path)):
                        kept.append(item)
                current = kept
            elif stage.operator == "pmap":
                names = [f"item[{i}]" for i in range(len(items))]
                join = await self.join(
                    [lambda bp, i=i, item=item: apply(i, item, bp) for i, item in enumerate(items)],
                    names, ALL_FAIL_FAST, stage_sid, path + (f"L{stage.span.start_row + 1} pmap",), stage.span,
                )
                current = [o.value for o in join.outcomes]
            elif stage.operator == "reduce":
                assert stage.parameters is not None and len(stage.parameters) == 2
                if not items:
                    current = None
                    continue
                acc_name, item_name = stage.parameters[0].name, stage.parameters[1].name
                acc = items[0]
                for i, item in enumerate(items[1:], start=1):
                    body = Frame(FrameKind.BODY, frame)
                    body.vars[acc_name] = acc
                    body.vars[item_name] = item
                    acc = await self.body(stage.body, body, f"{stage_sid}.{i}", path)
                current = acc
            else:
                raise ProseError(f"unknown pipeline operation '{stage.operator}'", stage.operator_span)
        return current

    # ------------------------------------------------------------- values

    async def name(self, node: m.Name, frame: Frame, site: Site | None) -> Value:
        return self.lookup(frame, node.name, node.span)

    async def string(self, node: m.Str, frame: Frame, site: Site | None) -> Value:
        return self.interpolate(node, frame)

    async def number(self, node: m.Number, frame: Frame, site: Site | None) -> Value:
        if not math.isfinite(node.value):
            raise ProseError(f"the number {short_number(node.text)} is too large to compute with", node.span)
        return int(node.value) if node.is_integer else node.value

    async def literal(self, node: m.Literal, frame: Frame, site: Site | None) -> Value:
        return node.value

    async def array(self, node: m.Array, frame: Frame, site: Site | None) -> Value:
        return [await self.value(item, frame) for item in node.items]

    async def object(self, node: m.Object, frame: Frame, site: Site | None) -> Value:
        return {entry.key: await self.value(entry.value, frame) for entry in node.entries}

    async def member(self, node: m.Member, frame: Frame, site: Site | None) -> Value:
        return member(await self.value(node.object, frame), node.property)

    async def condition(self, node: m.Condition, frame: Frame, site: Site | None) -> Value:
        return await self.condition_value(node, frame)

    async def unary(self, node: m.Unary, frame: Frame, site: Site | None) -> Value:
        operand = await self.value(node.operand, frame)
        if node.operator == "not":
            return not truthy(operand)
        n = number(operand)
        if n is None:
            raise ProseError(f"cannot negate {render(operand)[:40]!r}", node.span)
        return -n

    async def binary(self, node: m.Binary, frame: Frame, site: Site | None) -> Value:
        if node.operator in ("and", "or"):
            left = await self.condition_value(node.left, frame)
            if node.operator == "and" and not left:
                return False
            if node.operator == "or" and left:
                return True
            return await self.condition_value(node.right, frame)
        left = await self.value(node.left, frame)
        right = await self.value(node.right, frame)
        return _arithmetic(node.operator, left, right, node.span)

    async def condition_value(self, e: Any, frame: Frame, path: tuple[str, ...] = (), sid: str | None = None,
                              since: int | None = None) -> bool:
        """An expression as a yes/no: `**conditions**` go to the backend, `and`/`or`/`not` short-circuit."""
        if isinstance(e, m.Condition):
            text = self.interpolate_condition(e, frame)
            decision = await self.decide(DecisionRequest("condition", text, (), self.decision_context(e, frame, since)),
                                         e.span, path)
            verdict = bool(decision.value)
            answer = "yes" if verdict else "no"
            self.state_line(f"{sid or f'L{e.span.start_row + 1}'}→ condition:{answer}{state_reason(decision.reason)}")
            self.emit(EventType.CONDITION, prompt=text, answer=answer, reason=decision.reason or None, path=path, span=e.span,
                      model=decision.model, usage=usage_json(decision.usage), totals=self.ledger.snapshot())
            return verdict
        if isinstance(e, m.Binary) and e.operator in ("and", "or"):
            left = await self.condition_value(e.left, frame, path, sid, since)
            if e.operator == "and" and not left:
                return False
            if e.operator == "or" and left:
                return True
            return await self.condition_value(e.right, frame, path, sid, since)
        if isinstance(e, m.Unary) and e.operator == "not":
            return not await self.condition_value(e.operand, frame, path, sid, since)
        return truthy(await self.value(e, frame))


def _runnable(node: Any, site: Site | None) -> Site:
    """The site of a node that runs (a session, a block, a loop); inside a value there is none."""
    if site is None:
        raise ProseError(f"cannot evaluate this expression ({type(node).__name__})", getattr(node, "span", None))
    return site


def _arithmetic(op: str, left: Value, right: Value, span: Span) -> Value:
    if op == "+":
        if isinstance(left, list) or isinstance(right, list):
            return (left if isinstance(left, list) else [left]) + (right if isinstance(right, list) else [right])
        ln, rn = number(left), number(right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)) and ln is not None and rn is not None:
            return _tidy(ln + rn)
        return render(left) + render(right)
    if op in ("-", "*", "/"):
        ln, rn = number(left), number(right)
        if ln is None or rn is None:
            raise ProseError(f"'{op}' needs numbers, got {render(left)[:30]!r} and {render(right)[:30]!r}", span)
        if op == "-":
            return _tidy(ln - rn)
        if op == "*":
            return _tidy(ln * rn)
        if rn == 0:
            raise ProseError("division by zero", span)
        return _tidy(ln / rn)
    if op in ("==", "!=", "is", "is not"):
        equal = _same(left, right)
        return equal if op in ("==", "is") else not equal
    ln, rn = number(left), number(right)
    if ln is None or rn is None:
        a, b = render(left), render(right)
    else:
        a, b = ln, rn  # type: ignore[assignment]
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]


def _same(a: Value, b: Value) -> bool:
    na, nb = number(a), number(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and na is not None and nb is not None:
        return na == nb
    return render(a).strip() == render(b).strip()


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _whole(value: float, what: str, text: str, span: Span | None) -> int:
    """A whole-number setting (such as a loop's max); a literal too large for a float is an error."""
    if not math.isfinite(value):
        raise ProseError(f"{what} {short_number(text)} is too large", span)
    return int(value)
