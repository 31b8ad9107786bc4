"""Starting and resuming a run: check the program and its inputs, open its state, run it, record how it ended.

`run_program` serves the CLI and the language server alike; callers see
progress through `on_event` and stop a run by cancelling the trio scope around
it. A killed run is resumed from its run directory: statements recorded as done
are skipped, their bindings reloaded, and calls that finished are answered from
the journal.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from .. import codes
from .. import model as m
from ..accounting import Ledger, PriceError, PriceTable, load_prices
from ..agents.permissions import PermissionAsker
from ..agents.skills import listed_skills, use_name
from ..analysis import Analysis, analyze
from ..backends.base import Backend, BackendError
from ..checker import is_local_program_path
from ..context import Flow, reset_flow, set_flow
from ..diagnostics import Span
from ..recursion import deeper_recursion
from ..runlock import RunBusy, RunLock
from ..state import RunStateError, RunStore
from ..values import Value, render
from .dispatch import Interpreter
from .errors import ProgramNotRunnable, ProseError, Return, is_cancellation
from .events import Emit, EventSink, InputAsker, RunStatus, make_emit
from .options import RunOptions
from ..events import EventType

__all__ = ["RunResult", "check_missing_inputs", "declared_inputs", "prepare", "program_parameters", "run_program"]


@dataclass(frozen=True)
class RunResult:
    status: RunStatus  # ok | failed | cancelled
    outputs: dict[str, str]
    run_dir: Path
    run_id: str
    error: str | None = None
    error_span: Span | None = None
    usage: dict[str, Any] = field(default_factory=dict)


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
            codes.RUN.at(p.name.span, f"input '{p.name.name}' is required: pass --input {p.name.name}=…")
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
                [codes.RUN.at(stmt.path.span, f"'{stmt.path.text}' cannot be fetched offline")],
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
    emit = make_emit(on_event, trio.current_time(), store.redactor)

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
    emit(EventType.RUN_START, run_dir=str(store.run_dir), prompt=path.name)
    if price_problem is not None:
        interp.warn(price_problem, None, codes.PRICES)
    flow_token = set_flow(Flow())
    status, error, error_span = RunStatus.OK, None, None
    try:
        with deeper_recursion():  # nested bodies are nested coroutine calls
            await interp.run(done)
    except ProseError as exc:
        status, error, error_span = RunStatus.FAILED, exc.message, exc.span
    except Return:
        status = RunStatus.OK
    except RecursionError:
        status, error = RunStatus.FAILED, "the program is nested too deeply to run; flatten it (for example with blocks)"
    except BackendError as exc:  # a backend error that escaped its call site still ends the run cleanly
        status, error = RunStatus.FAILED, str(exc)
    except Exception as exc:  # a bug (ours or a backend's) still ends the run cleanly: run.end, state.md closed
        status, error = RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
    except BaseException as exc:
        if not is_cancellation(exc):
            raise
        # Ctrl-C or Stop: trio.Cancelled, or (inside a `parallel`) a group of them from the nursery.
        status, error = RunStatus.CANCELLED, "the run was cancelled"
        with trio.CancelScope(shield=True):
            _finish(store, interp, status, error, error_span, emit)
        raise
    finally:
        reset_flow(flow_token)
    return _finish(store, interp, status, error, error_span, emit)


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


def _finish(store: RunStore, interp: Interpreter, status: RunStatus, error: str | None, error_span: Span | None,
            emit: Emit) -> RunResult:
    outputs = {name: render(value) for name, value in interp.outputs.items()}
    try:
        if status is RunStatus.OK:
            store.finish()
        else:
            store.finish(error or status)
    except OSError as exc:
        # The end marker could not be written (disk full, state directory gone): the run
        # is not on disk as finished, so it must not be reported as ok either.
        problem = f"could not record the end of the run in {store.state_path}: {exc.strerror or exc}"
        status, error = RunStatus.FAILED, problem if status is RunStatus.OK else f"{error}; {problem}"
    redact = store.redactor.value
    outputs, error = redact(outputs), redact(error)
    emit(EventType.RUN_END, status=status, error=error, span=error_span, outputs=outputs, run_dir=str(store.run_dir),
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
    for stmt in interp.tree.body:
        if isinstance(stmt, m.Output) and stmt.name is not None and stmt.name.name in interp.root.vars:
            interp.outputs[stmt.name.name] = interp.root.vars[stmt.name.name]
