"""The OpenProse interpreter, on trio.

Control flow is exact and deterministic; only sessions, `**conditions**` and
`choice` go to a backend. Parallel blocks are real concurrent tasks: each
branch runs in its own cancel scope inside a nursery, so `first`, `any` and
fail-fast cancel the losers for real and the record says which were
cancelled. The same `run_program` serves the CLI and the language server;
callers see progress through `on_event` and stop a run by cancelling the
trio scope around it.
"""

from __future__ import annotations

import contextvars
import dataclasses
import itertools
import json
import math
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import trio

from . import model as m
from .agents.limits import ToolLimits
from .agents.permissions import PermissionAsker
from .agents.session_tools import SessionSetupError, prepare_session_tools
from .agents.skills import listed_skills, use_name
from .agents.tools import Toolbox
from .analysis import Analysis, analyze, contract_of_program
from .accounting import Ledger, PriceError, PriceTable, load_prices
from .backends.base import Backend, BackendError, ContextItem, Decision, DecisionRequest, SessionRequest, decide_with
from .backends.base import SessionResult, Usage
from .context import DECISION_BUDGET, SESSION_BUDGET, Flow, Output, bounded, current_flow, named_in, reset_flow, set_flow
from .checker import is_local_program_path
from .diagnostics import Diagnostic, Severity, Span
from .files import confine, read_program
from .journal import CallJournal
from .resolve import program_alias
from .runlock import RunBusy, RunLock
from .state import RunStateError, RunStore
from .values import ErrorRecord, Value, as_list, encode, member, number, render, truthy

# ------------------------------------------------------------------ interface


@dataclass(frozen=True)
class RunEvent:
    type: str  # run.start | session.start | session.end | tool.start | tool.end | branch.start | branch.end | run.end | warning | input
    #            | condition | choice (an AI decision: `answer` and its one-line `reason`)
    t: float
    prompt: str | None = None
    binding: str | None = None
    status: str | None = None  # ok | failed | cancelled
    error: str | None = None
    path: tuple[str, ...] = ()
    span: Span | None = None
    outputs: dict[str, str] | None = None
    run_dir: str | None = None
    usage: dict[str, Any] | None = None
    agent: str | None = None
    model: str | None = None
    code: str | None = None
    #: Identifies one session execution; its tool events carry the same id.
    session: str | None = None
    tool: str | None = None  # tool events: read | write | edit | glob | grep | bash | web_search | web_fetch
    summary: str | None = None  # tool events: the path, command or query, shortened
    duration: float | None = None  # tool.end: seconds the tool itself took
    rule: str | None = None  # tool.end with status "denied": the permission rule that refused it
    answer: str | None = None  # condition: "yes"/"no"; choice: the chosen option's label
    reason: str | None = None  # condition/choice: the judge's one-line reason
    #: Running totals of the whole run so far (tokens, calls, cost) after this event; see docs/accounting.md.
    totals: dict[str, Any] | None = None
    truncated: bool | None = None  # session.end: the output was cut off at max_tokens

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "t": round(self.t, 4),
            "prompt": self.prompt,
            "binding": self.binding,
            "status": self.status,
            "error": self.error,
        }
        if self.path:
            out["path"] = list(self.path)
        if self.span is not None:
            out["line"] = self.span.start_row + 1
            out["column"] = self.span.start_col + 1
        for key in ("outputs", "run_dir", "usage", "agent", "model", "code", "session", "tool", "summary", "duration", "rule",
                    "answer", "reason", "totals", "truncated"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class RunResult:
    status: str  # ok | failed | cancelled
    outputs: dict[str, str]
    run_dir: Path
    run_id: str
    error: str | None = None
    error_span: Span | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class ProgramNotRunnable(Exception):
    """Raised before anything runs: the program does not check, or an input is missing."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics or []


EventSink = Callable[[RunEvent], None]
InputAsker = Callable[[str, str], Awaitable[str]]


@dataclass(frozen=True)
class RunOptions:
    """Knobs a caller may tune; the defaults suit real runs."""

    retry_base_delay: float = 1.0  # seconds; linear backoff waits base*n, exponential base*2^(n-1)
    max_call_depth: int = 64  # nested block invocations before a run is stopped
    durable: bool = False  # fsync state files (power-loss safe); renames alone already survive a kill
    tool_limits: ToolLimits = ToolLimits()  # per-session tool turns, per-call timeout, output cap
    #: A context value longer than this (characters) reaches an acting session by reference: its binding file.
    inline_context_limit: int = 20_000
    #: Directory `use` may read programs from (default: the program's own directory).
    use_root: Path | None = None
    #: Let `use` read (and run) programs outside that directory, e.g. `../shared.prose` or a symlink out.
    allow_outside_workspace: bool = False


# -------------------------------------------------------------------- errors


class ProseError(Exception):
    """A failure the program can catch: a failed session, a `throw`, a bad value."""

    def __init__(self, message: str, span: Span | None = None, value: Value = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.value = value


class _Return(Exception):
    """`output` inside a block ends that invocation with a value."""

    def __init__(self, value: Value) -> None:
        self.value = value


# -------------------------------------------------------------------- frames


class Frame:
    """Bindings of one namespace (program or block invocation) or one body."""

    __slots__ = ("kind", "parent", "vars", "exec_id", "kinds")

    def __init__(self, kind: str, parent: "Frame | None", exec_id: int | str | None = None) -> None:
        # "iteration" is one iteration of a `parallel for` or `pmap`: its `let`s are its own,
        # so concurrent iterations never read each other's values.
        self.kind = kind  # "program" | "block" | "body" | "iteration"
        self.parent = parent
        self.vars: dict[str, Value] = {}
        self.kinds: dict[str, str] = {}
        self.exec_id = exec_id

    def find(self, name: str) -> "Frame | None":
        frame: Frame | None = self
        while frame is not None:
            if name in frame.vars:
                return frame
            frame = frame.parent
        return None

    def namespace(self) -> "Frame":
        """The program or block invocation this frame belongs to."""
        frame = self
        while frame.kind in ("body", "iteration") and frame.parent is not None:
            frame = frame.parent
        return frame

    def declarations(self) -> "Frame":
        """Where a `let` made here is bound: the nearest iteration, block or program frame."""
        frame = self
        while frame.kind == "body" and frame.parent is not None:
            frame = frame.parent
        return frame

    def root(self) -> "Frame":
        frame = self
        while frame.parent is not None:
            frame = frame.parent
        return frame

    def scope_id(self) -> int | str | None:
        return self.declarations().exec_id


# -------------------------------------------------------------- interpreter


class Interpreter:
    def __init__(
        self,
        analysis: Analysis,
        backend: Backend,
        store: RunStore,
        *,
        emit: Callable[..., None],
        inputs: Mapping[str, str],
        ask_input: InputAsker | None,
        options: RunOptions,
        path_prefix: tuple[str, ...] = (),
        ask_permission: PermissionAsker | None = None,
        workspace: Path | None = None,
        ledger: Ledger | None = None,
        journal: CallJournal | None = None,
        key_prefix: str = "",
    ) -> None:
        self.analysis = analysis
        self.program = analysis.program
        self.backend = backend
        self.store = store
        self.emit = emit
        self.inputs = dict(inputs)
        self.ask_input = ask_input
        self.ask_permission = ask_permission
        self.workspace = (workspace or Path.cwd()).resolve()
        self.program_dir = analysis.path.parent if analysis.path is not None else self.workspace
        #: Shared with imported programs' interpreters, so session ids are unique within the run.
        self.session_ids = itertools.count(1)
        self.options = options
        self.path_prefix = path_prefix
        self.agents = {s.name.name: s for s in self.program.body if isinstance(s, m.AgentDef)}
        self.blocks = {s.name.name: s for s in self.program.body if isinstance(s, m.BlockDef)}
        self.imports: dict[str, m.Use] = {}
        for stmt in self.program.body:
            if isinstance(stmt, m.Use):
                alias = stmt.alias.name if stmt.alias else program_alias(stmt.path.text)
                self.imports[alias] = stmt
        self.outputs: dict[str, Value] = {}
        self.ledger = ledger if ledger is not None else Ledger()
        self.anon = 0
        self.exec_ids = 0
        self.depth = 0
        self.root = Frame("program", None)
        self.current_error: ProseError | None = None
        #: Notes (e.g. "truncated") that follow a session's output into every binding file that holds it.
        self.value_notes: dict[str, str] = {}
        self.last_ref: str | None = None  # binding file of the latest session output
        self.journal = journal if journal is not None else CallJournal.for_run(
            store.run_dir, redact=store.redactor.value, durable=options.durable)
        self.key_prefix = key_prefix
        self._occurrences: dict[tuple[str, str], int] = {}
        self.reused = 0  # calls answered from the journal of a resumed run

    # ------------------------------------------------------------- state

    def bind(self, frame: Frame, name: str, value: Value, *, kind: str = "let", declare: bool = False,
             source: m.Stmt | None = None) -> None:
        """Set a binding in the frame that owns it and mirror it to disk."""
        if declare:
            target = frame.declarations()
        else:
            target = frame.find(name) or frame.root()
        target.vars[name] = value
        target.kinds[name] = kind
        self.persist(name, value, kind, target.scope_id(), source)

    def persist(self, name: str, value: Value, kind: str, scope: int | None, source: m.Stmt | None,
                note: str | None = None) -> None:
        tag, text = encode(value)
        if tag == "json":
            text = "```json\n" + text + "\n```\n"
        snippet = self.source_text(source.span) if source is not None else None
        if note is None and isinstance(value, str):
            note = self.value_notes.get(value)
        try:
            self.store.write_binding(name, text, kind=kind, scope=scope, source=snippet, note=note)
        except (ValueError, RunStateError) as exc:  # a name the store cannot represent must not kill the run
            self.warn(f"could not record binding '{name}': {exc}", None)
        except OSError as exc:
            # Disk full, read-only or deleted state directory: a value that is not on disk
            # must not be reported as done, so the statement fails (try/catch can see it).
            raise ProseError(f"could not write binding '{name}' to the run directory {self.store.run_dir}: "
                             f"{exc.strerror or exc}") from None

    def state_line(self, line: str) -> None:
        """Append to state.md; a write failure fails the statement instead of being lost."""
        try:
            self.store.append_state(line)
        except OSError as exc:
            raise ProseError(f"could not write to {self.store.state_path}: {exc.strerror or exc}") from None

    def call_key(self, kind: str, sid: str) -> str:
        """The journal key of the next `kind` call under statement `sid` (see journal.py)."""
        count = self._occurrences.get((kind, sid), 0) + 1
        self._occurrences[(kind, sid)] = count
        return f"{self.key_prefix}{kind}:{sid}:{count}"

    def journal_session(self, key: str, result: SessionResult) -> ProseError | None:
        """Record a finished session; the failure to do so, if any, for the caller to raise."""
        if not isinstance(result, SessionResult):
            return None  # a broken backend: the code after the call reports it
        try:
            self.journal_record(key, {"text": result.text, "model": result.model,
                                      "input_tokens": result.usage.input_tokens,
                                      "output_tokens": result.usage.output_tokens})
        except ProseError as exc:
            return exc
        return None

    def journal_record(self, key: str, result: dict[str, Any]) -> None:
        try:
            self.journal.record(key, result)
        except OSError as exc:
            raise ProseError(f"could not record a finished call in {self.journal.path}: {exc.strerror or exc}") from None

    def source_text(self, span: Span) -> str:
        text = self.program.source[span.start_byte : span.end_byte].decode("utf-8", errors="replace")
        first = text.split("\n", 3)
        return "\n".join(first[:3]) + ("\n…" if len(first) > 3 else "")

    def lookup(self, frame: Frame, name: str, span: Span | None) -> Value:
        owner = frame.find(name)
        if owner is not None:
            return owner.vars[name]
        if name in self.agents:
            return self.agent_memory_text(name)
        raise ProseError(f"'{name}' has no value yet at this point of the run", span)

    def warn(self, message: str, span: Span | None, code: str | None = None) -> None:
        self.emit("warning", error=message, span=span, code=code)

    # --------------------------------------------------------- statements

    async def run(self, resume_done: set[str]) -> None:
        for index, stmt in enumerate(self.program.body, start=1):
            sid = str(index)
            if sid in resume_done:
                continue
            await self.statement(stmt, self.root, sid, ())
            self.mark_done(sid, stmt)

    def mark_done(self, sid: str, stmt: m.Stmt) -> None:
        name = _bound_name(stmt)
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
        token = _SID.set(sid)
        try:
            return await self._statement(stmt, frame, sid, path)
        except ProseError as exc:
            if exc.span is None:
                exc.span = stmt.span
            raise
        finally:
            _SID.reset(token)

    async def _statement(self, stmt: m.Stmt, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        if isinstance(stmt, (m.AgentDef, m.BlockDef, m.Use, m.Import)):
            return None
        if isinstance(stmt, m.ExprStmt):
            return await self.expr(stmt.expr, frame, sid, path, binding=None)
        if isinstance(stmt, m.Let):
            value = await self.expr(stmt.value, frame, sid, path, binding=_first_name(stmt.names))
            if stmt.destructure:
                for name in stmt.names:
                    self.bind(frame, name.name, member(value, name.name), kind=stmt.kind, declare=True, source=stmt)
            else:
                for name in stmt.names:
                    self.bind(frame, name.name, value, kind=stmt.kind, declare=True, source=stmt)
            return value
        if isinstance(stmt, m.Assign):
            value = await self.expr(stmt.value, frame, sid, path, binding=stmt.name.name)
            owner = frame.find(stmt.name.name)
            kind = owner.kinds.get(stmt.name.name, "let") if owner is not None else "let"
            self.bind(frame, stmt.name.name, value, kind=kind, source=stmt)
            return value
        if isinstance(stmt, m.Output):
            name = stmt.name.name if stmt.name is not None else None
            value = await self.expr(stmt.value, frame, sid, path, binding=name)
            in_block = frame.namespace().kind == "block"
            if name is not None:
                self.bind(frame, name, value, kind="output", declare=True, source=stmt)
                if not in_block:
                    self.outputs[name] = value
            if in_block:
                raise _Return(value)
            return value
        if isinstance(stmt, m.Input):
            value = await self.input_value(stmt)
            self.bind(frame, stmt.name.name, value, kind="input", declare=True, source=stmt)
            return value
        if isinstance(stmt, m.If):
            for branch in stmt.branches:
                assert branch.condition is not None
                if await self.condition_value(branch.condition, frame, path, sid):
                    return await self.body(branch.body, frame, sid, path)
            if stmt.else_branch is not None:
                return await self.body(stmt.else_branch.body, frame, sid, path)
            return None
        if isinstance(stmt, m.Try):
            return await self.try_(stmt, frame, sid, path)
        if isinstance(stmt, m.Throw):
            if stmt.message is None:
                if self.current_error is not None:
                    raise self.current_error
                raise ProseError("error thrown", stmt.span)
            raise ProseError(self.interpolate(stmt.message, frame), stmt.span)
        if isinstance(stmt, m.Assert):
            if await self.condition_value(stmt.condition, frame):
                return None
            message = self.interpolate(stmt.message, frame) if stmt.message is not None else "assertion failed"
            raise ProseError(message, stmt.span)
        if isinstance(stmt, m.Choice):
            labels = tuple(option.label.text for option in stmt.options)
            criteria = self.interpolate_condition(stmt.criteria, frame)
            decision = await self.decide(
                DecisionRequest("choice", criteria, labels, self.decision_context(stmt.criteria, frame)),
                stmt.criteria.span, path)
            index = decision.value
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(stmt.options):
                raise ProseError(f"the backend chose option {index!r}, which does not exist", stmt.criteria.span)
            self.state_line(f"{sid}→ choice:{_state_word(labels[index])}{_state_reason(decision.reason)}")
            self.emit("choice", prompt=criteria, answer=labels[index], reason=decision.reason or None, path=path,
                      span=stmt.criteria.span, model=decision.model, usage=_usage_json(decision.usage),
                      totals=self.ledger.snapshot())
            return await self.body(stmt.options[index].body, frame, sid, path)
        raise ProseError(f"cannot run this statement ({type(stmt).__name__})", stmt.span)

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
        self.emit("input", prompt=question, binding=name, span=stmt.span)
        answer = await self.ask_input(name, question)
        self.inputs[name] = answer
        return answer

    async def try_(self, stmt: m.Try, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        try:
            return await self.body(stmt.body, frame, sid, path)
        except ProseError as exc:
            if stmt.catch is None:
                raise
            catch_frame = Frame("body", frame)
            if stmt.catch_name is not None:
                catch_frame.vars[stmt.catch_name.name] = exc.message
            saved, self.current_error = self.current_error, exc
            try:
                return await self.body(stmt.catch.body, catch_frame, sid, path)
            finally:
                self.current_error = saved
        finally:
            if stmt.finally_ is not None:
                await self.body(stmt.finally_.body, frame, sid, path)

    # -------------------------------------------------------- expressions

    async def expr(self, e: Any, frame: Frame, sid: str, path: tuple[str, ...], *, binding: str | None) -> Value:
        if isinstance(e, m.Session):
            return await self.session(e, frame, sid, path, binding)
        if isinstance(e, m.Parallel):
            return await self.parallel(e, frame, sid, path)
        if isinstance(e, m.DoBlock):
            return await self.body(e.body, frame, sid, path)
        if isinstance(e, m.DoCall):
            return await self.call_block(e, frame, sid, path)
        if isinstance(e, m.ForLoop):
            return await self.for_loop(e, frame, sid, path)
        if isinstance(e, m.Repeat):
            return await self.repeat(e, frame, sid, path)
        if isinstance(e, m.Loop):
            return await self.loop(e, frame, sid, path)
        if isinstance(e, m.Pipeline):
            return await self.pipeline(e, frame, sid, path)
        if isinstance(e, m.Sequence):
            # `a -> b`: each session of the chain is given the previous step's output.
            value: Value = None
            piped: ContextItem | None = None
            for item in e.items:
                if isinstance(item, m.Session):
                    value = await self.session(item, frame, sid, path, binding, piped=piped)
                else:
                    value = await self.expr(item, frame, sid, path, binding=binding)
                piped = ContextItem("previous", render(value), self.last_ref)
            return value
        if isinstance(e, m.Try):
            return await self.try_(e, frame, sid, path)
        if isinstance(e, m.Call):
            return await self.call_program(e, frame, sid, path)
        return await self.simple(e, frame)

    async def simple(self, e: Any, frame: Frame) -> Value:
        if isinstance(e, m.Name):
            return self.lookup(frame, e.name, e.span)
        if isinstance(e, m.Str):
            return self.interpolate(e, frame)
        if isinstance(e, m.Number):
            if not math.isfinite(e.value):
                raise ProseError(f"the number {_short_number(e.text)} is too large to compute with", e.span)
            return int(e.value) if e.is_integer else e.value
        if isinstance(e, m.Literal):
            return e.value
        if isinstance(e, m.Array):
            return [await self.simple(item, frame) for item in e.items]
        if isinstance(e, m.Object):
            return {entry.key: await self.simple(entry.value, frame) for entry in e.entries}
        if isinstance(e, m.Member):
            return member(await self.simple(e.object, frame), e.property)
        if isinstance(e, m.Condition):
            return await self.condition_value(e, frame)
        if isinstance(e, m.Unary):
            operand = await self.simple(e.operand, frame)
            if e.operator == "not":
                return not truthy(operand)
            n = number(operand)
            if n is None:
                raise ProseError(f"cannot negate {render(operand)[:40]!r}", e.span)
            return -n
        if isinstance(e, m.Binary):
            return await self.binary(e, frame)
        if isinstance(e, m.Call):
            raise ProseError("program calls cannot be nested inside other values", e.span)
        raise ProseError(f"cannot evaluate this expression ({type(e).__name__})", getattr(e, "span", None))

    async def binary(self, e: m.Binary, frame: Frame) -> Value:
        if e.operator in ("and", "or"):
            left = await self.condition_value(e.left, frame)
            if e.operator == "and" and not left:
                return False
            if e.operator == "or" and left:
                return True
            return await self.condition_value(e.right, frame)
        left = await self.simple(e.left, frame)
        right = await self.simple(e.right, frame)
        op = e.operator
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
                raise ProseError(f"'{op}' needs numbers, got {render(left)[:30]!r} and {render(right)[:30]!r}", e.span)
            if op == "-":
                return _tidy(ln - rn)
            if op == "*":
                return _tidy(ln * rn)
            if rn == 0:
                raise ProseError("division by zero", e.span)
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

    async def condition_value(self, e: Any, frame: Frame, path: tuple[str, ...] = (), sid: str | None = None,
                              since: int | None = None) -> bool:
        if isinstance(e, m.Condition):
            text = self.interpolate_condition(e, frame)
            decision = await self.decide(DecisionRequest("condition", text, (), self.decision_context(e, frame, since)),
                                         e.span, path)
            verdict = bool(decision.value)
            answer = "yes" if verdict else "no"
            self.state_line(f"{sid or f'L{e.span.start_row + 1}'}→ condition:{answer}{_state_reason(decision.reason)}")
            self.emit("condition", prompt=text, answer=answer, reason=decision.reason or None, path=path, span=e.span,
                      model=decision.model, usage=_usage_json(decision.usage), totals=self.ledger.snapshot())
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
        return truthy(await self.simple(e, frame))

    async def decide(self, request: DecisionRequest, span: Span, path: tuple[str, ...]) -> Decision:
        """One decision from the backend; every failure becomes a located, catchable ProseError."""
        what = "condition" if request.kind == "condition" else "choice"
        key = self.call_key(request.kind, _SID.get())
        recorded = self.journal.get(key)
        if recorded is not None:
            value = recorded.get("value")
            valid = isinstance(value, bool) if request.kind == "condition" else (
                isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(request.options))
            if valid:
                # Decided before the run was interrupted: the resumed run takes the same path.
                self.reused += 1
                reason = recorded.get("reason") if isinstance(recorded.get("reason"), str) else ""
                return Decision(value, reason, model=recorded.get("model"), calls=0)
        try:
            decision = await decide_with(self.backend, request)
        except BackendError as exc:
            self.ledger.charge(request.kind, exc.model, exc.usage, exc.calls)
            raise ProseError(str(exc), span) from None
        except trio.Cancelled:
            raise
        except Exception as exc:  # a backend bug must end the run cleanly, not in a traceback
            raise ProseError(f"the {what} could not be decided: {type(exc).__name__}: {exc}", span) from None
        self.ledger.charge(request.kind, decision.model, decision.usage, decision.calls)
        self.journal_record(key, {"value": decision.value, "reason": decision.reason, "model": decision.model})
        return decision

    def binding_ref(self, name: str, scope: int | None) -> str | None:
        """The binding file of a value, relative to the workspace when it is inside it."""
        try:
            path = self.store.binding_path(name, scope)
        except RunStateError:
            return None
        return path.relative_to(self.workspace).as_posix() if path.is_relative_to(self.workspace) else str(path)

    def visible_bindings(self, frame: Frame) -> list[tuple[str, Value, int | None]]:
        """Every binding in scope, innermost first: (name, value, scope id of its file)."""
        out: list[tuple[str, Value, int | None]] = []
        seen: set[str] = set()
        current: Frame | None = frame
        while current is not None:
            for name in reversed(list(current.vars)):
                if name not in seen:
                    seen.add(name)
                    out.append((name, current.vars[name], current.scope_id()))
            current = current.parent
        return out

    def decision_context(self, question: m.Condition, frame: Frame, since: int | None = None) -> tuple[ContextItem, ...]:
        """What a condition or choice is judged against (docs/context.md).

        In full, within DECISION_BUDGET: the bindings the question names, then the
        outputs it is about — the loop body's outputs of the latest iteration when
        judging a loop, else the latest outputs of this flow. Every other binding
        in scope is listed by its file only.
        """
        visible = self.visible_bindings(frame)
        flow = current_flow()
        interpolated = {ref.name for ref in question.references}
        named = set(named_in(question.text, [name for name, _, _ in visible])) - interpolated
        full: list[ContextItem] = []
        for name, value, scope in visible:
            if name in named:
                full.append(ContextItem(name, render(value), self.binding_ref(name, scope)))
        outputs = flow.since(since) if since is not None and flow.since(since) else flow.recent()
        for out in outputs:
            if out.binding not in named:
                full.append(ContextItem(out.label, out.text, out.ref))
        shown = {item.name for item in full}
        rest = [ContextItem(name, "", self.binding_ref(name, scope)) for name, _, scope in visible if name not in shown]
        return bounded(full, rest, DECISION_BUDGET)

    def implicit_context(self, prompt: list[m.Str], frame: Frame, piped: ContextItem | None) -> tuple[ContextItem, ...]:
        """What a session without `context:` sees (docs/context.md): the step it follows
        in an `a -> b` chain, the bindings its prompt names but does not interpolate, and
        the latest session outputs of its flow."""
        full: list[ContextItem] = [piped] if piped is not None else []
        visible = self.visible_bindings(frame)
        interpolated = {part.name for text in prompt for part in text.parts if not isinstance(part, str)}
        literal = " ".join(part for text in prompt for part in text.parts if isinstance(part, str))
        for name in named_in(literal, [name for name, _, _ in visible]):
            if name in interpolated:
                continue
            value, scope = next((v, sc) for n, v, sc in visible if n == name)
            full.append(ContextItem(name, render(value), self.binding_ref(name, scope)))
        shown = {item.name for item in full}
        for out in current_flow().recent():
            if out.label in shown or (out.binding is not None and out.binding in interpolated):
                continue
            if piped is not None and out.ref == piped.ref:
                continue
            full.append(ContextItem(out.label, out.text, out.ref))
        return bounded(full, [], SESSION_BUDGET)

    def interpolate(self, s: m.Str, frame: Frame) -> str:
        out = []
        for part in s.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            owner = frame.find(part.name)
            if owner is None:
                out.append("{" + ".".join((part.name, *part.path)) + "}")
                continue
            value = owner.vars[part.name]
            for attr in part.path:
                value = member(value, attr)
            out.append(render(value))
        return "".join(out)

    def interpolate_condition(self, c: m.Condition, frame: Frame) -> str:
        text = c.text
        for ref in c.references:
            owner = frame.find(ref.name)
            if owner is None:
                continue
            value = owner.vars[ref.name]
            for attr in ref.path:
                value = member(value, attr)
            text = text.replace("{" + ".".join((ref.name, *ref.path)) + "}", render(value))
        return text

    # ------------------------------------------------------------ sessions

    def agent_memory_text(self, agent: str) -> str:
        decl = self.agents.get(agent)
        persist = _persist_value(decl) if decl is not None else None
        if persist is None:
            return ""
        return self.store.read_memory(agent, persist) or ""

    async def session(self, s: m.Session, frame: Frame, sid: str, path: tuple[str, ...], binding: str | None,
                      piped: ContextItem | None = None) -> Value:
        agent = self.agents.get(s.agent.name) if s.agent is not None else None
        merged: dict[str, m.Property] = {}
        if agent is not None:
            for prop in agent.properties:
                merged[prop.key] = prop
        for prop in s.properties:
            merged[prop.key] = prop
        system = None
        if agent is not None and agent.property("prompt") is not None:
            system = await self.prop_text(agent.property("prompt"), frame)  # type: ignore[arg-type]
        task_prop = s.property("prompt")
        label = self.interpolate(s.prompt, frame) if s.prompt is not None else None
        if task_prop is not None:
            task = await self.prop_text(task_prop, frame)
        elif label is not None:
            task = label
        else:
            task = "Carry out your role as described in your instructions."
        model_prop = merged.get("model")
        model_name = _word(model_prop.value) if model_prop is not None and model_prop.value is not None else None
        context_prop = s.property("context")
        if context_prop is None:
            written = [p for p in (s.prompt, task_prop.value if task_prop is not None else None) if isinstance(p, m.Str)]
            context = self.implicit_context(written, frame, piped)
        else:
            context = await self.context_items(context_prop, frame)
            if piped is not None and not _empty_context(context_prop):
                context = (piped, *context)
        memory = None
        persist = _persist_value(agent) if agent is not None else None
        agent_name = agent.name.name if agent is not None else None
        if s.kind == "resume":
            assert agent_name is not None
            if persist is None:
                raise ProseError(f"resume needs a persistent agent, but '{agent_name}' has no persist:", s.span)
            memory = self.store.read_memory(agent_name, persist)
            if memory is None:
                raise ProseError(
                    f"E018: agent '{agent_name}' has no memory yet; use `session: {agent_name}` for its first task",
                    s.agent.span if s.agent else s.span,
                )
        elif persist is not None and agent_name is not None and self.store.read_memory(agent_name, persist) is not None:
            self.warn(
                f"W011: '{agent_name}' already has memory; `session:` starts fresh (use `resume:` to continue)",
                s.keyword_span,
                "W011",
            )
        retries, backoff = self.retry_policy(merged)
        request = SessionRequest(
            prompt=task,
            system=system,
            model=model_name,
            context=context,
            agent=agent_name,
            memory=memory,
            binding=binding,
            max_tokens=_int_prop(merged.get("max_tokens")),
            effort=_word(merged["effort"].value) if merged.get("effort") is not None and merged["effort"].value is not None else None,
        )
        title = label or task
        session_id = f"s{next(self.session_ids)}"
        tools = None
        if getattr(self.backend, "acts", False):
            request, tools = self.session_tools(request, s, merged, frame, agent_name, session_id, sid, path)
        self.emit("session.start", prompt=title, binding=binding, path=path, span=s.span, agent=agent_name,
                  model=model_name, session=session_id)
        key = self.call_key("session", sid)
        recorded = self.journal.get(key)
        unrecorded: ProseError | None = None
        attempt = 0
        while True:
            attempt += 1
            if recorded is not None and isinstance(recorded.get("text"), str):
                # Finished before the run was interrupted: reuse it (memory was written then too).
                result = SessionResult(
                    text=recorded["text"],
                    usage=Usage(int(recorded.get("input_tokens") or 0), int(recorded.get("output_tokens") or 0)),
                    model=recorded.get("model") if isinstance(recorded.get("model"), str) else None,
                    calls=0,  # no API call now: its cost was counted by the run that made it
                )
                self.reused += 1
                break
            try:
                # The journal entry is written the moment the reply is in (before the toolbox
                # closes), so a kill after that point never makes a resumed run ask again.
                try:
                    if tools is not None:
                        async with tools:
                            result = await self.backend.run_session(request, tools)
                            unrecorded = self.journal_session(key, result)
                    else:
                        result = await self.backend.run_session(request)
                        unrecorded = self.journal_session(key, result)
                except (BackendError, trio.Cancelled):
                    raise
                except Exception as exc:  # a backend bug must end the run cleanly, not in a traceback
                    raise BackendError(f"the session failed unexpectedly: {type(exc).__name__}: {exc}") from None
                break
            except BackendError as exc:
                self.ledger.charge("session", exc.model, exc.usage, exc.calls)
                if attempt <= retries:
                    self.state_line(f"{sid}→ retry:{attempt}/{retries}")
                    delay = _backoff_delay(backoff, attempt, self.options.retry_base_delay)
                    if delay:
                        await trio.sleep(delay)
                    continue
                self.emit("session.end", prompt=title, binding=binding, path=path, span=s.span,
                          status="failed", error=str(exc), agent=agent_name, session=session_id)
                self.state_line(f"{sid}→ ✗ {_state_word(str(exc))}")
                raise ProseError(str(exc), s.span) from exc
            except trio.Cancelled:
                self.emit("session.end", prompt=title, binding=binding, path=path, span=s.span,
                          status="cancelled", agent=agent_name, session=session_id)
                raise
        if tools is not None and tools.log_failure is not None:  # a tool call's state.md line was not written
            raise tools.log_failure
        usage = _usage_json(result.usage)
        self.ledger.charge("session", result.model, result.usage, result.calls)
        self.ledger.sessions += 1
        note = None
        if result.truncated:
            note = "truncated: the model stopped at max_tokens; this output is incomplete"
        text = result.text
        if note is not None:
            self.value_notes[text] = note
        try:
            if persist is not None and agent_name is not None and recorded is None:
                previous = memory or ""
                entry = f"## {task[:200]}\n\n{result.text}\n"
                try:
                    self.store.write_memory(agent_name, persist, (previous + "\n\n" + entry).strip() + "\n", prompt=task)
                except OSError as exc:
                    raise ProseError(f"could not write the memory of agent '{agent_name}': {exc.strerror or exc}",
                                     s.span) from None
            if unrecorded is not None:
                raise unrecorded
            if binding is None:
                self.anon += 1
                stored = f"anon_{self.anon:03d}"
                self.persist(stored, text, "let", frame.scope_id(), None, note=note)
            else:
                stored = binding
        except ProseError as exc:
            # The reply exists but is not on disk: the session failed, and says why.
            self.emit("session.end", prompt=title, binding=binding, path=path, span=s.span,
                      status="failed", error=exc.message, agent=agent_name, session=session_id)
            raise
        self.last_ref = self.binding_ref(stored, frame.scope_id() if binding is None else _scope_of(frame, binding))
        # The label goes into a `name="…"` attribute: no double quotes in it.
        label = binding or "output of session: " + _quote(title)[1:-1].replace('"', "'")
        current_flow().add(Output(label, result.text, self.last_ref, binding))
        if not result.text.strip():
            self.warn(f"session {_quote(title)} returned no text", s.span, "EMPTY")
        if note is not None:
            self.warn(f"session {_quote(title)} was cut off at max_tokens; its output is incomplete "
                      "(raise max_tokens: on the agent or session)", s.span, "TRUNCATED")
            self.state_line(f"{sid}→ truncated(max_tokens) {_state_word(binding or stored)}")
        self.emit("session.end", prompt=title, binding=binding, path=path, span=s.span, status="ok",
                  usage=usage, agent=agent_name, model=result.model, session=session_id,
                  truncated=True if note else None, totals=self.ledger.snapshot())
        return result.text

    def session_tools(self, request: SessionRequest, s: m.Session, merged: dict[str, m.Property], frame: Frame,
                      agent_name: str | None, session_id: str, sid: str,
                      path: tuple[str, ...]) -> tuple[SessionRequest, Toolbox]:
        """The toolbox of a session on a backend that acts, and the request with its skills and large context by reference."""
        def lookup(name: str) -> object:
            return self.lookup(frame, name, None)

        context, readable = self.context_by_reference(request.context, frame)
        try:
            prepared = prepare_session_tools(
                program=self.program, program_dir=self.program_dir, workspace=self.workspace, agent=agent_name,
                properties=merged, lookup=lookup, asker=self.ask_permission, limits=self.options.tool_limits,
                emit=self.emit, session=session_id, path=path, readable=readable,
                log=lambda line: self.state_line(f"{sid}→ {line}"), redactor=self.store.redactor,
            )
        except SessionSetupError as exc:
            raise ProseError(exc.message, exc.span or s.span) from None
        system = request.system
        if prepared.skills_section:
            system = f"{system}\n\n{prepared.skills_section}" if system else prepared.skills_section
        return replace(request, system=system, context=context), prepared.toolbox

    def context_by_reference(self, items: tuple[ContextItem, ...], frame: Frame) -> tuple[tuple[ContextItem, ...], list[Path]]:
        """Context too large to inline becomes a pointer to its binding file, which the session may read."""
        limit = self.options.inline_context_limit
        out: list[ContextItem] = []
        readable: list[Path] = []
        for item in items:
            owner = frame.find(item.name)
            if len(item.text) <= limit or owner is None:
                out.append(item)
                continue
            try:
                file = self.store.binding_path(item.name, owner.scope_id())
            except RunStateError:
                out.append(item)
                continue
            shown = file.relative_to(self.workspace).as_posix() if file.is_relative_to(self.workspace) else str(file)
            readable.append(file)
            out.append(ContextItem(item.name, f"[{len(item.text)} characters, too large to include here: read the "
                                              f"binding file {shown} with the read tool (view_range reads it in parts)]"))
        return tuple(out), readable

    async def prop_text(self, prop: m.Property, frame: Frame) -> str:
        if prop.value is None:
            return ""
        if isinstance(prop.value, m.Str):
            return self.interpolate(prop.value, frame)
        return render(await self.simple(prop.value, frame))

    async def context_items(self, prop: m.Property | None, frame: Frame) -> tuple[ContextItem, ...]:
        if prop is None or prop.value is None:
            return ()
        value = prop.value
        entries: list[tuple[str, Any]] = []
        if isinstance(value, m.Array):
            entries = [(_label(item), item) for item in value.items]
        elif isinstance(value, m.Object):
            entries = [(entry.key, entry.value) for entry in value.entries]
        else:
            entries = [(_label(value), value)]
        items = []
        for label, expr in entries:
            head = expr
            while isinstance(head, m.Member):
                head = head.object
            if isinstance(head, m.Name) and frame.find(head.name) is None and head.name not in self.agents:
                # A cancelled or skipped branch bound nothing; the session runs without it.
                self.warn(f"context '{label}' has no value (its branch was cancelled or has not run); left out",
                          head.span, "RUN")
                continue
            items.append(ContextItem(label, render(await self.simple(expr, frame))))
        return tuple(items)

    def retry_policy(self, props: dict[str, m.Property]) -> tuple[int, str]:
        retries = 0
        prop = props.get("retry")
        if prop is not None and isinstance(prop.value, m.Number):
            retries = max(0, _whole(prop.value.value, "retry", prop.value.text, prop.value.span))
        backoff = "none"
        prop = props.get("backoff")
        if prop is not None and prop.value is not None:
            backoff = _word(prop.value) or "none"
        return retries, backoff

    # ------------------------------------------------------------ parallel

    async def parallel(self, p: m.Parallel, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        strategy, policy, count = _join_options(p.modifiers)
        names = [_branch_name(stmt, i) for i, stmt in enumerate(p.body)]
        label = f"L{p.span.start_row + 1}"
        self.state_line(f"{sid}→ ∥start {','.join(_state_word(n) for n in names)}")

        async def run_branch(index: int, branch_path: tuple[str, ...]) -> Value:
            return await self.statement(p.body[index], frame, f"{sid}{_letter(index)}", branch_path)

        outcomes, order = await self.join(
            [lambda bp, i=i: run_branch(i, bp) for i in range(len(p.body))],
            names, strategy, policy, count, sid, path + (f"{label} parallel",), p.span,
        )
        # Named results of failed branches become error records under `continue`.
        for stmt, outcome in zip(p.body, outcomes):
            if outcome.status == "failed" and policy == "continue":
                target = _bound_name(stmt)
                if target is not None:
                    self.bind(frame, target, outcome.value, source=stmt)
        self.state_line(f"{sid}→ ∥done")
        return _block_value(outcomes, order, strategy, policy, count)

    async def join(
        self,
        thunks: list[Callable[[tuple[str, ...]], Awaitable[Value]]],
        names: list[str],
        strategy: str,
        policy: str,
        count: int,
        sid: str,
        path: tuple[str, ...],
        span: Span,
    ) -> tuple[list["_Outcome"], list[int]]:
        """Run branches concurrently and stop them as the strategy and policy say.

        Returns every branch's outcome and the order in which branches settled.
        """
        n = len(thunks)
        outcomes = [_Outcome("pending") for _ in range(n)]
        scopes = [trio.CancelScope() for _ in range(n)]
        state = {"successes": 0, "settled": 0, "failure": None, "done": False}
        order: list[int] = []

        def cancel_rest() -> None:
            state["done"] = True
            for i, scope in enumerate(scopes):
                if outcomes[i].status == "pending":
                    scope.cancel()

        def settle(i: int) -> None:
            order.append(i)
            state["settled"] += 1
            outcome = outcomes[i]
            if state["done"]:
                return
            if strategy == "first":
                if outcome.status == "failed" and policy == "fail-fast":
                    state["failure"] = outcome
                cancel_rest()
                return
            if outcome.status == "ok":
                state["successes"] += 1
                if strategy == "any" and state["successes"] >= count:
                    cancel_rest()
                return
            # a failure
            if strategy == "any":
                running = n - state["settled"]
                if state["successes"] + running < count:
                    state["failure"] = outcome
                    cancel_rest()
                return
            if strategy == "all" and policy == "fail-fast":
                state["failure"] = outcome
                cancel_rest()

        parent_flow = current_flow()
        forks: list[Flow | None] = [None] * n

        async def branch(i: int) -> None:
            forks[i] = parent_flow.fork()
            set_flow(forks[i])  # this task's own copy of the context: siblings are not disturbed
            branch_path = path + (names[i],)
            self.emit("branch.start", binding=names[i] if not names[i].startswith("branch ") else None, path=branch_path)
            with scopes[i]:
                try:
                    value = await thunks[i](branch_path)
                except ProseError as exc:
                    outcomes[i] = _Outcome("failed", ErrorRecord(exc.message, names[i]), exc)
                except trio.Cancelled:
                    if not scopes[i].cancel_called:
                        # The whole run is being cancelled (Ctrl-C): say so before unwinding.
                        self.emit("branch.end", binding=names[i] if not names[i].startswith("branch ") else None,
                                  path=branch_path, status="cancelled")
                    raise
                else:
                    outcomes[i] = _Outcome("ok", value)
            if outcomes[i].status == "pending":
                outcomes[i] = _Outcome("cancelled")
            self.emit(
                "branch.end",
                binding=names[i] if not names[i].startswith("branch ") else None,
                path=branch_path,
                status=outcomes[i].status,
                error=outcomes[i].error.message if outcomes[i].error else None,
            )
            try:
                if outcomes[i].status == "ok":
                    self.store.append_state(f"{sid}{_letter(i)}→ {_state_word(names[i])} ✓")
                elif outcomes[i].status == "cancelled":
                    self.store.append_state(f"{sid}{_letter(i)}→ cancelled")
                else:
                    self.store.append_state(f"{sid}{_letter(i)}→ ✗ {_state_word(outcomes[i].error.message)}")  # type: ignore[union-attr]
            except OSError as exc:
                if outcomes[i].status != "cancelled":
                    problem = ProseError(f"could not write to {self.store.state_path}: {exc.strerror or exc}")
                    outcomes[i] = _Outcome("failed", ErrorRecord(problem.message, names[i]), problem)
            if outcomes[i].status != "cancelled":
                settle(i)

        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(branch, i)
        for fork in forks:  # branch outputs join the parent's flow in branch order
            if fork is not None:
                for output in fork.own():
                    parent_flow.add(output)
        failure = state["failure"]
        if strategy == "any" and not state["done"] and state["successes"] < count:
            failure = failure or next((o for o in outcomes if o.status == "failed"), None)
            message = f"only {state['successes']} of {n} branches succeeded; `any` needed {count}"
            raise ProseError(message, span)
        if failure is not None:
            assert failure.error is not None
            if strategy == "any":
                raise ProseError(
                    f"only {state['successes']} of {n} branches can succeed; `any` needed {count}: {failure.error.message}",
                    span,
                )
            raise failure.error
        return outcomes, order

    # --------------------------------------------------------------- loops

    async def for_loop(self, loop: m.ForLoop, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        items = as_list(await self.simple(loop.collection, frame))

        async def one(i: int, item: Value, branch_path: tuple[str, ...]) -> Value:
            iteration_sid = f"{sid}.{i + 1}"
            body = Frame("iteration", frame, _scope_word(iteration_sid)) if loop.parallel else Frame("body", frame)
            body.vars[loop.item.name] = item
            if loop.index is not None:
                body.vars[loop.index.name] = i
            return await self.body(loop.body, body, iteration_sid, branch_path)

        if not loop.parallel:
            values = []
            for i, item in enumerate(items):
                values.append(await one(i, item, path))
            return values
        names = [f"{loop.item.name}[{i}]" for i in range(len(items))]
        strategy, policy, count = _join_options(loop.modifiers)
        outcomes, _ = await self.join(
            [lambda bp, i=i, item=item: one(i, item, bp) for i, item in enumerate(items)],
            names, strategy, policy, count, sid, path + (f"L{loop.span.start_row + 1} parallel for",), loop.span,
        )
        return [o.value for o in outcomes if o.status == "ok"]

    async def repeat(self, loop: m.Repeat, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        count_value = await self.simple(loop.count, frame)
        n = number(count_value)
        if n is None or n < 0 or not float(n).is_integer():
            raise ProseError(f"repeat needs a whole number, got {render(count_value)[:40]!r}", loop.count.span)
        values = []
        for i in range(int(n)):
            body = Frame("body", frame)
            if loop.index is not None:
                body.vars[loop.index.name] = i
            values.append(await self.body(loop.body, body, f"{sid}.{i + 1}", path))
        return values

    async def loop(self, loop: m.Loop, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        limit = math.inf
        for mod in loop.modifiers:
            if mod.key == "max" and mod.value is not None:
                limit = _whole(float(mod.value), "max", mod.value, mod.value_span or mod.span)
        shown = "∞" if limit == math.inf else str(int(limit))
        i = 0
        value: Value = None
        mark: int | None = None  # where the latest iteration's outputs start in the flow
        while i < limit:
            if loop.condition is not None:
                verdict = await self.condition_value(loop.condition, frame, path, sid, mark)
                stop = verdict if loop.kind == "until" else not verdict
                if stop:
                    self.state_line(f"{sid}→ loop:{i}/{shown} exit(condition)")
                    return value
            body = Frame("body", frame)
            if loop.index is not None:
                body.vars[loop.index.name] = i
            i += 1
            self.state_line(f"{sid}→ loop:{i}/{shown}")
            mark = current_flow().mark()
            value = await self.body(loop.body, body, f"{sid}.{i}", path)
            await trio.lowlevel.checkpoint()
        self.state_line(f"{sid}→ loop:{i}/{shown} exit(max)")
        return value

    async def pipeline(self, p: m.Pipeline, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        current: Value = as_list(await self.simple(p.input, frame))
        for stage_index, stage in enumerate(p.stages, start=1):
            items = as_list(current)
            stage_sid = f"{sid}|{stage_index}"

            async def apply(i: int, item: Value, branch_path: tuple[str, ...], stage: m.PipeStage = stage,
                            stage_sid: str = stage_sid) -> Value:
                # pmap iterations run concurrently: each binds its own `let`s.
                concurrent = stage.operator == "pmap"
                body = Frame("iteration", frame, _scope_word(f"{stage_sid}.{i + 1}")) if concurrent else Frame("body", frame)
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
                outcomes, _ = await self.join(
                    [lambda bp, i=i, item=item: apply(i, item, bp) for i, item in enumerate(items)],
                    names, "all", "fail-fast", 1, stage_sid, path + (f"L{stage.span.start_row + 1} pmap",), stage.span,
                )
                current = [o.value for o in outcomes]
            elif stage.operator == "reduce":
                assert stage.parameters is not None and len(stage.parameters) == 2
                if not items:
                    current = None
                    continue
                acc_name, item_name = stage.parameters[0].name, stage.parameters[1].name
                acc = items[0]
                for i, item in enumerate(items[1:], start=1):
                    body = Frame("body", frame)
                    body.vars[acc_name] = acc
                    body.vars[item_name] = item
                    acc = await self.body(stage.body, body, f"{stage_sid}.{i}", path)
                current = acc
            else:
                raise ProseError(f"unknown pipeline operation '{stage.operator}'", stage.operator_span)
        return current

    # -------------------------------------------------------------- calls

    async def call_block(self, call: m.DoCall, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        block = self.blocks.get(call.block.name)
        if block is None:
            raise ProseError(f"block '{call.block.name}' is not defined", call.block.span)
        if self.depth >= self.options.max_call_depth:
            raise ProseError(
                f"block calls nested {self.depth} deep; stopping (is '{call.block.name}' recursing without end?)",
                call.span,
            )
        args = [await self.simple(arg.value, frame) for arg in call.arguments]
        self.exec_ids += 1
        exec_id = self.exec_ids
        inner = Frame("block", self.root, exec_id)
        for param, value in zip(block.parameters, args):
            inner.vars[param.name] = value
            inner.kinds[param.name] = "const"
        self.state_line(f"{sid}→ block:{_state_word(block.name.name)}#{exec_id}")
        # The body's statement ids come from the call site, not from exec_id (a counter that
        # concurrent branches advance in any order), so resume finds the same calls again.
        occurrence = self.call_key("block", sid).rsplit(":", 1)[1]
        self.depth += 1
        try:
            value = await self.body(block.body, inner, f"{sid}#{occurrence}", path + (f"do {block.name.name}",))
        except _Return as ret:
            value = ret.value
        finally:
            self.depth -= 1
        self.state_line(f"{sid}→ #{exec_id} done")
        return value

    async def call_program(self, call: m.Call, frame: Frame, sid: str, path: tuple[str, ...]) -> Value:
        use = self.imports.get(call.function.name)
        if use is None:
            raise ProseError(f"'{call.function.name}' is not an imported program", call.function.span)
        target = use.path.text
        if not is_local_program_path(target):
            raise ProseError(f"cannot fetch '{target}': this runtime runs local .prose programs only", use.path.span)
        base = self.analysis.path.parent if self.analysis.path is not None else Path.cwd()
        try:
            file = confine(base / target, self.analysis.workspace, target)
            source = read_program(file)
        except OSError as exc:
            raise ProseError(f"cannot read program '{target}': {exc.strerror or exc}", use.path.span) from None
        sub = analyze(source, file, workspace=self.analysis.workspace, allow_outside=self.analysis.workspace is None)
        if sub.has_errors:
            first = sub.errors[0]
            raise ProseError(f"'{target}' does not check: line {first.span.start_row + 1}: {first.message}", use.path.span)
        inputs = {}
        for arg in call.arguments:
            if arg.name is not None:
                inputs[arg.name] = render(await self.simple(arg.value, frame))
        contract = contract_of_program(sub.program, str(file))
        missing = [name for name in contract.inputs if name not in inputs]
        if missing:
            raise ProseError(f"'{call.function.name}' needs input(s) {', '.join(missing)}", call.span)
        slug = program_alias(target)
        child_store = self.store.import_store("local", _state_slug(slug), source.decode("utf-8", errors="replace"))
        child = Interpreter(
            sub, self.backend, child_store, emit=self.emit, inputs=inputs, ask_input=self.ask_input,
            options=self.options, path_prefix=path + (f"call {call.function.name}",),
            ask_permission=self.ask_permission, workspace=self.workspace, ledger=self.ledger,
            journal=self.journal, key_prefix=self.call_key("call", sid) + "/",
        )
        child.depth = self.depth + 1
        child.session_ids = self.session_ids
        if child.depth > self.options.max_call_depth:
            raise ProseError("program calls nested too deep", call.span)
        token = set_flow(Flow())  # an imported program starts fresh, like a function call
        try:
            await child.run(set())
        finally:
            reset_flow(token)
        self.reused += child.reused
        try:
            child_store.finish()
        except OSError as exc:
            raise ProseError(f"could not record the end of '{target}': {exc.strerror or exc}", call.span) from None
        return dict(child.outputs)


# ------------------------------------------------------------------ helpers


@dataclass
class _Outcome:
    status: str  # pending | ok | failed | cancelled
    value: Value = None
    error: ProseError | None = None


def _block_value(outcomes: list[_Outcome], order: list[int], strategy: str, policy: str, count: int) -> Value:
    """The value of `let r = parallel …`: the winner for first / any-1, else the branch values."""
    if strategy == "first":
        if not order:
            return None
        winner = outcomes[order[0]]
        if winner.status == "failed":
            return winner.value if policy == "continue" else None
        return winner.value
    if strategy == "any" and count == 1:
        return next((outcomes[i].value for i in order if outcomes[i].status == "ok"), None)
    values = []
    for outcome in outcomes:
        if outcome.status == "ok":
            values.append(outcome.value)
        elif outcome.status == "failed" and policy != "ignore":
            values.append(outcome.value)
    return values


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def _bound_name(stmt: Any) -> str | None:
    if isinstance(stmt, m.Assign):
        return stmt.name.name
    if isinstance(stmt, m.Let) and not stmt.destructure and stmt.names:
        return stmt.names[0].name
    if isinstance(stmt, m.Output) and stmt.name is not None:
        return stmt.name.name
    if isinstance(stmt, m.Input):
        return stmt.name.name
    return None


def _join_options(modifiers: tuple[m.Modifier, ...]) -> tuple[str, str, int]:
    """Strategy, on-fail policy and count of a parallel block or `parallel for`."""
    strategy, policy, count = "all", "fail-fast", 1
    for mod in modifiers:
        if mod.key is None and mod.value:
            strategy = mod.value
        elif mod.key == "on-fail" and mod.value:
            policy = mod.value
        elif mod.key == "count" and mod.value:
            count = _whole(float(mod.value), "count", mod.value, mod.value_span or mod.span)
    return strategy, policy, count


def _branch_name(stmt: Any, index: int) -> str:
    return _bound_name(stmt) or f"branch {index + 1}"


def _first_name(names: tuple[m.Name, ...]) -> str | None:
    return names[0].name if names else None


def _word(expr: Any) -> str | None:
    """`m.word`, plus `true` (as in `persist: true`)."""
    if isinstance(expr, m.Literal):
        return "true" if expr.value is True else None
    return m.word(expr)


def _persist_value(agent: m.AgentDef | None) -> str | None:
    if agent is None:
        return None
    prop = agent.property("persist")
    if prop is None or prop.value is None:
        return None
    word = _word(prop.value)
    if word in (None, "", "false"):
        return None
    return word


def _label(expr: Any) -> str:
    if isinstance(expr, m.Name):
        return expr.name
    if isinstance(expr, m.Member):
        return f"{_label(expr.object)}.{expr.property}"
    return "context"


def _same(a: Value, b: Value) -> bool:
    na, nb = number(a), number(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and na is not None and nb is not None:
        return na == nb
    return render(a).strip() == render(b).strip()


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


#: Longest wait between two attempts of a session, whatever `retry:`/`backoff:` say.
MAX_BACKOFF_DELAY = 600.0


def _backoff_delay(kind: str, attempt: int, base: float) -> float:
    if kind == "linear":
        return min(MAX_BACKOFF_DELAY, base * attempt)
    if kind == "exponential":
        return min(MAX_BACKOFF_DELAY, base * (2 ** min(attempt - 1, 30)))
    return 0.0


def _short_number(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"


def _whole(value: float, what: str, text: str, span: Span | None) -> int:
    """A whole-number setting (retry, count, max); a literal too large for a float is an error."""
    if not math.isfinite(value):
        raise ProseError(f"{what} {_short_number(text)} is too large", span)
    return int(value)


def _state_reason(reason: str) -> str:
    """A decision's reason for its state.md line: one line, never ending in the done mark."""
    flat = " ".join(reason.replace("✓", "").split())
    if not flat:
        return ""
    return " · " + (flat if len(flat) <= 200 else flat[:199] + "…")


def _usage_json(usage: Any) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }


def _empty_context(prop: m.Property) -> bool:
    return isinstance(prop.value, m.Array) and not prop.value.items


def _int_prop(prop: m.Property | None) -> int | None:
    if prop is None or not isinstance(prop.value, m.Number) or not prop.value.is_integer or prop.value.value <= 0:
        return None
    return int(prop.value.value)


def _scope_of(frame: Frame, name: str) -> int | None:
    owner = frame.find(name)
    return owner.scope_id() if owner is not None else frame.scope_id()


def _quote(text: str, limit: int = 50) -> str:
    flat = " ".join(text.split())
    return '"' + (flat if len(flat) <= limit else flat[: limit - 1] + "…") + '"'


def _state_word(text: str) -> str:
    """One-line, space-free text for a state.md marker."""
    word = "_".join(text.split())
    return word[:80] or "-"


def _scope_word(sid: str) -> str:
    """A statement id as a binding-file scope (letters, digits, dashes)."""
    return "i" + (re.sub(r"[^A-Za-z0-9]+", "-", sid).strip("-") or "0")


#: The statement being run in the current task; conditions key their journal entries by it.
_SID: contextvars.ContextVar[str] = contextvars.ContextVar("openprose_sid", default="0")


def _state_slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "program"


# --------------------------------------------------------------- entry point


def program_parameters(program: m.Program) -> list[m.Input]:
    """Inputs declared before the first executable statement: the caller must supply them."""
    params = []
    for stmt in program.body:
        if isinstance(stmt, m.Input):
            params.append(stmt)
        elif not isinstance(stmt, (m.Use, m.Import, m.AgentDef, m.BlockDef)):
            break
    return params


def declared_inputs(program: m.Program) -> list[str]:
    """Every `input` name the program declares, wherever it is, in source order."""
    found: list[str] = []
    stack: list[object] = [program.body]  # iterative: programs may nest hundreds of levels deep
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(reversed(node))
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            if isinstance(node, m.Input) and node.name.name not in found:
                found.append(node.name.name)
            stack.extend(reversed([getattr(node, f.name) for f in dataclasses.fields(node)]))
    return found


def check_missing_inputs(analysis: Analysis, inputs: Mapping[str, str]) -> None:
    """Raise ProgramNotRunnable naming every leading input that has no value."""
    missing = [p for p in program_parameters(analysis.program) if p.name.name not in inputs]
    if missing:
        diags = [
            Diagnostic("RUN", Severity.ERROR, f"input '{p.name.name}' is required: pass --input {p.name.name}=…", p.name.span)
            for p in missing
        ]
        names = ", ".join(p.name.name for p in missing)
        raise ProgramNotRunnable(f"missing input{'s' if len(missing) > 1 else ''}: {names}", diags)


def prepare(source: bytes, path: Path, inputs: Mapping[str, str], options: RunOptions | None = None, *,
            can_ask: bool = False) -> Analysis:
    """Check a program and its inputs before anything runs.

    An input the program does not declare is an error (a typo would otherwise be
    ignored silently). A missing input is an error too, unless `can_ask` says the
    caller will ask for it when the run reaches it.
    """
    options = options or RunOptions()
    analysis = analyze(source, path, workspace=options.use_root, allow_outside=options.allow_outside_workspace)
    if analysis.has_errors:
        count = len(analysis.errors)
        raise ProgramNotRunnable(f"the program has {count} error{'s' if count != 1 else ''}; fix them before running",
                                 analysis.errors)
    declared = declared_inputs(analysis.program)
    unknown = [name for name in inputs if name not in declared]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        known = f"it declares: {', '.join(declared)}" if declared else "it declares no inputs"
        raise ProgramNotRunnable(f"{path.name} has no input {names}; {known}")
    if not can_ask:
        check_missing_inputs(analysis, inputs)
    skills = listed_skills(analysis.program)
    for stmt in analysis.program.body:
        if isinstance(stmt, m.Use) and not is_local_program_path(stmt.path.text) and use_name(stmt) not in skills:
            raise ProgramNotRunnable(
                f"cannot fetch '{stmt.path.text}': registry and URL programs need the network, and this runtime "
                "runs local .prose programs only",
                [Diagnostic("RUN", Severity.ERROR, f"'{stmt.path.text}' cannot be fetched offline", stmt.path.span)],
            )
    return analysis


async def run_program(
    source: bytes,
    path: Path,
    *,
    backend: Backend,
    inputs: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    on_event: EventSink | None = None,
    resume: str | None = None,
    ask_input: InputAsker | None = None,
    options: RunOptions | None = None,
    record: Mapping[str, Any] | None = None,
    ask_permission: PermissionAsker | None = None,
    prices: PriceTable | None = None,
) -> RunResult:
    """Run a program to the end (or until the surrounding trio scope is cancelled).

    `prices` prices the accounting in `run.end`; by default the bundled price file
    (or $OPENPROSE_PRICES) is used.

    Raises ProgramNotRunnable before anything runs when the program does not
    check, an input is missing or unknown, or a resumed run cannot be found.
    `record` (how the run was started: backend, options, ...) is stored in the
    run directory together with the inputs, so a resume can reuse it.
    """
    inputs = dict(inputs or {})
    options = options or RunOptions()
    workdir = Path(workdir) if workdir is not None else Path.cwd()
    store: RunStore | None = None
    try:
        if resume is not None:
            store = RunStore.open(workdir, resume, durable=options.durable)
            stored = (store.run_dir / "program.prose").read_bytes()
            if stored != source:
                raise ProgramNotRunnable(
                    f"run {resume} was started from a different version of {path.name}; resume needs the same program"
                )
    except RunStateError as exc:
        raise ProgramNotRunnable(str(exc)) from exc
    except OSError as exc:
        where = workdir / ".prose" / "runs"
        raise ProgramNotRunnable(f"cannot write the run state under {where}: {exc.strerror or exc}") from None
    analysis = prepare(source, path, inputs, options, can_ask=True)
    if store is not None:
        # Inputs answered interactively before the kill are in the run's bindings.
        for param in program_parameters(analysis.program):
            name = param.name.name
            if name not in inputs:
                try:
                    kept = store.read_binding(name)
                except RunStateError:
                    kept = None
                if kept is not None:
                    inputs[name] = kept
    if ask_input is None:
        check_missing_inputs(analysis, inputs)
    try:
        if store is None:
            store = RunStore.create(workdir, source.decode("utf-8", errors="replace"), path.name, durable=options.durable)
        if record is not None:
            store.write_record({**record, "inputs": inputs})
    except RunStateError as exc:
        raise ProgramNotRunnable(f"cannot record the run under {workdir}: {exc}") from exc
    except OSError as exc:
        where = workdir / ".prose" / "runs"
        raise ProgramNotRunnable(f"cannot write the run state under {where}: {exc.strerror or exc}") from None
    try:
        lock = RunLock.acquire(store.run_dir)  # held until this run returns; the kernel drops it if we die
    except RunBusy as exc:
        raise ProgramNotRunnable(f"run {store.run_id} is already running ({exc}); wait for it to end or stop it") from None
    except OSError as exc:
        raise ProgramNotRunnable(f"cannot lock run {store.run_id}: {exc.strerror or exc}") from None
    try:
        return await _execute(store, analysis, path, backend, inputs, on_event, resume, ask_input, options,
                              ask_permission, workdir, prices, record)
    finally:
        lock.release()


async def _execute(store: RunStore, analysis: Analysis, path: Path, backend: Backend, inputs: dict[str, str],
                   on_event: EventSink | None, resume: str | None, ask_input: InputAsker | None,
                   options: RunOptions, ask_permission: PermissionAsker | None, workdir: Path,
                   prices: PriceTable | None, record: Mapping[str, Any] | None) -> RunResult:
    start = trio.current_time()
    redactor = store.redactor

    def emit(kind: str, **fields: Any) -> None:
        if on_event is None:
            return
        # The one point every event passes through: secrets go, at any depth, in any common encoding.
        event = RunEvent(kind, trio.current_time() - start, **redactor.value(fields))
        try:
            on_event(event)
        except Exception:  # a broken listener must not break the run
            pass

    asker = ask_input
    if ask_input is not None and record is not None:
        asker = _recording_asker(ask_input, store, record, inputs, set(declared_inputs(analysis.program)))

    price_problem = None
    if prices is None:
        try:
            prices = load_prices()
        except PriceError as exc:
            price_problem = f"no cost estimate: {exc}"
    interp = Interpreter(analysis, backend, store, emit=emit, inputs=inputs, ask_input=asker, options=options,
                         ask_permission=ask_permission, workspace=workdir, ledger=Ledger(prices))
    done: set[str] = set()
    if resume is not None:
        done = store.completed_statements()
        _restore_bindings(interp, store)
    emit("run.start", run_dir=str(store.run_dir), prompt=path.name)
    if price_problem is not None:
        interp.warn(price_problem, None, "PRICES")
    flow_token = set_flow(Flow())
    status, error, error_span = "ok", None, None
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))  # nested bodies are nested coroutine calls
    try:
        await interp.run(done)
    except ProseError as exc:
        status, error, error_span = "failed", exc.message, exc.span
    except _Return:
        status = "ok"
    except RecursionError:
        status, error = "failed", "the program is nested too deeply to run; flatten it (for example with blocks)"
    except BackendError as exc:  # a backend error that escaped its call site still ends the run cleanly
        status, error = "failed", str(exc)
    except Exception as exc:  # a bug (ours or a backend's) still ends the run cleanly: run.end, state.md closed
        status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
    except BaseException as exc:
        if not _is_cancellation(exc):
            raise
        # Ctrl-C or Stop: trio.Cancelled, or (inside a `parallel`) a group of them from the nursery.
        status, error = "cancelled", "the run was cancelled"
        with trio.CancelScope(shield=True):
            _finish(store, interp, status, error, error_span, emit)
        raise
    finally:
        sys.setrecursionlimit(limit)
        reset_flow(flow_token)
    return _finish(store, interp, status, error, error_span, emit)


def _is_cancellation(exc: BaseException) -> bool:
    """`trio.Cancelled`, or an exception group made only of them (from a nursery)."""
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(trio.Cancelled)
        return rest is None
    return False


#: Enough for programs nested several hundred levels deep.
_RECURSION_LIMIT = 8000


def _recording_asker(ask_input: InputAsker, store: RunStore, record: Mapping[str, Any], inputs: dict[str, str],
                     declared: set[str]) -> InputAsker:
    """An input asker that keeps each answer in the run's record: it is part of how the run was started (--resume)."""
    async def ask(name: str, question: str) -> str:
        answer = await ask_input(name, question)
        if name in declared:
            inputs[name] = answer
            store.write_record({**record, "inputs": inputs})
        return answer

    return ask


def _finish(store: RunStore, interp: Interpreter, status: str, error: str | None, error_span: Span | None,
            emit: Callable[..., None]) -> RunResult:
    outputs = {name: render(value) for name, value in interp.outputs.items()}
    try:
        if status == "ok":
            store.finish()
        else:
            store.finish(error or status)
    except OSError as exc:
        # The end marker could not be written (disk full, state directory gone): the run
        # is not on disk as finished, so it must not be reported as ok either.
        problem = f"could not record the end of the run in {store.state_path}: {exc.strerror or exc}"
        status, error = "failed", problem if status == "ok" else f"{error}; {problem}"
    redact = store.redactor.value
    outputs, error = redact(outputs), redact(error)
    emit("run.end", status=status, error=error, span=error_span, outputs=outputs, run_dir=str(store.run_dir),
         usage=interp.ledger.snapshot())
    return RunResult(status, outputs, store.run_dir, store.run_id, error, error_span, interp.ledger.snapshot())


def _restore_bindings(interp: Interpreter, store: RunStore) -> None:
    """Reload root-scope bindings of a killed run so skipped statements' values are there."""
    for key, text in store.bindings().items():
        if "__" in key or key.startswith("anon_"):
            continue
        value: Value = text
        stripped = text.strip()
        if stripped.startswith("```json\n") and stripped.endswith("```"):
            try:
                value = json.loads(stripped[len("```json\n") : -3])
            except ValueError:
                value = text
        interp.root.vars[key] = value
    for stmt in interp.program.body:
        if isinstance(stmt, m.Output) and stmt.name is not None and stmt.name.name in interp.root.vars:
            interp.outputs[stmt.name.name] = interp.root.vars[stmt.name.name]


__all__ = [
    "ProgramNotRunnable",
    "ProseError",
    "RunEvent",
    "RunOptions",
    "RunResult",
    "declared_inputs",
    "program_parameters",
    "run_program",
]
