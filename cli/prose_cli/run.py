"""`prose run`: the interpreter wired to a terminal.

Kept apart from the click definitions so that the whole flow (backend
choice, inputs, live display, Ctrl-C, exit codes) is one readable function.

Three ways to show a run: a live tree when stdout is a terminal, plain lines
and whole outputs when it is not (logs, pipes, files), and `--output NAME`,
which prints only that output's raw text on stdout (progress goes to stderr).
A missing input is asked for whenever stdin is a terminal.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
from dataclasses import replace
from pathlib import Path

import trio
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from openprose.accounting import PriceError, PriceTable, load_prices
from openprose.agents.limits import ToolLimits
from openprose.agents.permissions import PermissionAsker, PermissionRequest
from openprose.analysis import analyze, contract_of_program
from openprose.backends import BackendConfig, make_backend
from openprose.diagnostics import LineIndex
from openprose.estimate import estimate_program, format_estimate
from openprose.files import read_program
from openprose.interpreter import ProgramNotRunnable, ProseError, RunEvent, RunOptions, RunResult, run_program
from openprose.run_record import make_record, resume_settings
from openprose.state import RunStateError

from .progress import RunView, plain_line

EXIT_OK, EXIT_FAILED, EXIT_NOT_RUNNABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def run_command(
    file: Path | None,
    *,
    inputs: dict[str, str],
    backend_name: str | None,
    script: Path | None,
    aliases: dict[str, str],
    as_json: bool,
    resume: str | None,
    workdir: Path | None,
    simulated_delay: float | None = None,
    durable: bool | None = None,
    max_output: int | None = None,
    output_name: str | None = None,
    assume_yes: bool | None = None,
    max_tool_turns: int | None = None,
    tool_timeout: float | None = None,
    effort: str | None = None,
    prices_file: Path | None = None,
    allow_outside: bool = False,
    idle_timeout: float | None = None,
    call_deadline: float | None = None,
) -> int:
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    workdir = workdir or Path.cwd()
    started = None
    if resume is not None:
        # The run's record fills in whatever this command line leaves out.
        try:
            kept = resume_settings(workdir, resume)
        except RunStateError as exc:
            err.print(f"prose: {exc}", markup=False)
            return EXIT_NOT_RUNNABLE
        if file is None and kept.program is None:
            err.print(f"prose: run {resume} has no record of its program; give the program file too", markup=False)
            return EXIT_NOT_RUNNABLE
        file = file or kept.program
        inputs = {**kept.inputs, **inputs}
        if backend_name is None:
            backend_name = kept.backend
            script = script or (kept.script if kept.backend == "scripted" else None)
        aliases = {**kept.aliases, **aliases}
        simulated_delay = kept.simulated_delay if simulated_delay is None else simulated_delay
        durable = kept.durable if durable is None else durable
        assume_yes = kept.assume_yes if assume_yes is None else assume_yes
        max_tool_turns = kept.max_tool_turns if max_tool_turns is None else max_tool_turns
        tool_timeout = kept.tool_timeout if tool_timeout is None else tool_timeout
        started = kept.started
    if file is None:
        err.print("prose: give a program file to run (or --resume RUN_ID)", markup=False)
        return EXIT_NOT_RUNNABLE
    try:
        source = read_program(file)
    except OSError as exc:
        err.print(f"prose: {file}: cannot read: {exc.strerror or exc}", markup=False)
        return EXIT_NOT_RUNNABLE
    try:
        prices = load_prices(prices_file)
    except PriceError as exc:
        if prices_file is not None:
            err.print(f"prose: {exc}", highlight=False, markup=False)
            return EXIT_NOT_RUNNABLE
        prices = None  # the run warns that it has no cost estimate
    if output_name is not None:
        declared = contract_of_program(analyze(source, file.resolve()).program, str(file)).outputs
        if output_name not in declared:
            known = f"it declares: {', '.join(declared)}" if declared else "it declares no outputs"
            err.print(f"prose: {file.name} has no output {output_name!r}; {known}", markup=False)
            return EXIT_NOT_RUNNABLE
    delay = max(0.0, simulated_delay or 0.0)
    config = BackendConfig(simulated_delay=delay, effort=effort)
    if idle_timeout is not None:
        config = replace(config, read_timeout=idle_timeout, idle_timeout=idle_timeout)
    if call_deadline is not None:
        config = replace(config, call_deadline=call_deadline)
    if aliases:
        merged = dict(config.model_aliases)
        merged.update(aliases)
        config = replace(config, model_aliases=merged)
    try:
        backend = make_backend(backend_name, script=script, config=config)
    except ValueError as exc:
        err.print(f"prose: {exc}", markup=False)
        return EXIT_NOT_RUNNABLE
    limits = ToolLimits(
        max_turns=max_tool_turns if max_tool_turns is not None else ToolLimits.max_turns,
        call_timeout=tool_timeout if tool_timeout is not None else ToolLimits.call_timeout,
    )
    options = RunOptions(durable=bool(durable), tool_limits=limits, allow_outside_workspace=allow_outside)
    if not workdir.is_dir():
        err.print(f"prose: --workdir {workdir}: not a directory", markup=False)
        return EXIT_NOT_RUNNABLE
    record = make_record(program=file, backend=backend.name, script=script, aliases=aliases,
                         simulated_delay=delay, durable=bool(durable), started=started,
                         assume_yes=bool(assume_yes), max_tool_turns=limits.max_turns,
                         tool_timeout=limits.call_timeout)
    show = _Display(as_json=as_json, max_output=max_output, output_name=output_name,
                    explicit_workdir=workdir if workdir != Path.cwd() else None)
    return trio.run(_main, file, source, backend, inputs, resume, workdir, err, options, record, show,
                    bool(assume_yes), prices)


def estimate_command(file: Path, *, as_json: bool) -> int:
    """`prose run --estimate`: bounds on the model calls, from the program text; nothing runs."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        source = file.read_bytes()
    except OSError as exc:
        err.print(f"prose: {file}: cannot read: {exc.strerror or exc}")
        return EXIT_NOT_RUNNABLE
    analysis = analyze(source, file.resolve())
    if analysis.has_errors:
        _report_not_runnable(err, file, source, ProgramNotRunnable("the program has errors; fix them first",
                                                                   analysis.errors), as_json)
        return EXIT_NOT_RUNNABLE
    estimate = estimate_program(analysis.program, file.resolve())
    if as_json:
        sys.stdout.write(json.dumps({"type": "estimate", "file": str(file), **estimate.to_json()}) + "\n")
    else:
        for line in format_estimate(estimate):
            print(line)
    return EXIT_OK


class _Display:
    """How this invocation shows the run (chosen from the flags and whether stdout is a terminal)."""

    def __init__(self, *, as_json: bool, max_output: int | None, output_name: str | None,
                 explicit_workdir: Path | None) -> None:
        self.as_json = as_json
        self.max_output = max_output
        self.output_name = output_name
        self.explicit_workdir = explicit_workdir
        # With --output, stdout carries the output's text only; progress goes to stderr.
        self.progress = sys.stderr if output_name is not None else sys.stdout
        self.live = not as_json and self.progress.isatty()


async def _main(file: Path, source: bytes, backend, inputs, resume, workdir: Path, err: Console,
                options: RunOptions, record: dict, show: _Display, assume_yes: bool = False,
                prices: PriceTable | None = None) -> int:
    as_json = show.as_json
    out = Console(file=show.progress, soft_wrap=not show.live, highlight=False)
    view = RunView(file.name, simulated=backend.name == "simulated", max_output=show.max_output)
    live = Live(view.render(), console=out, auto_refresh=False, transient=False) if show.live else None
    can_ask = sys.stdin.isatty()
    interactive = not as_json and can_ask and out.is_terminal  # permission questions need a terminal both ways
    result: RunResult | None = None
    interrupted = False

    def on_event(event: RunEvent) -> None:
        if as_json:
            sys.stdout.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        view.feed(event)
        if live is None and show.output_name is None:
            line = plain_line(event)
            if line is not None:
                show.progress.write(line + "\n")
                show.progress.flush()

    async def ask(name: str, question: str) -> str:
        if live is not None:
            live.update(view.render(), refresh=True)  # show what finished before the question
            live.stop()
        prompt = f"input {name}" + (f": {question}" if question and question != name else "") + "\n> "
        try:
            answer = await trio.to_thread.run_sync(_read_answer, prompt, live is not None)
        finally:
            if live is not None:
                live.start()
        if answer is None:
            raise ProseError(f"no value for input '{name}' (stdin closed); pass --input {name}=…")
        return answer

    ask_permission = _permission_asker(out, live, view, interactive, assume_yes)

    async with trio.open_nursery() as nursery:
        run_scope = trio.CancelScope()

        async def watch_interrupt(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            nonlocal interrupted
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                task_status.started()
                async for _ in signals:
                    interrupted = True
                    run_scope.cancel()
                    return

        async def refresh() -> None:
            assert live is not None
            while True:
                live.update(view.render(), refresh=True)
                await trio.sleep(0.1)

        await nursery.start(watch_interrupt)  # Ctrl-C cancels the run from here on
        if live is not None:
            live.start()
            nursery.start_soon(refresh)
        try:
            with run_scope:
                result = await run_program(
                    source, file.resolve(), backend=backend, inputs=inputs, workdir=workdir, on_event=on_event,
                    resume=resume, ask_input=ask if can_ask else None, options=options, record=record, prices=prices,
                    ask_permission=ask_permission,
                )
        except ProgramNotRunnable as exc:
            nursery.cancel_scope.cancel()
            if live is not None:
                live.stop()
            _report_not_runnable(err, file, source, exc, as_json)
            return EXIT_NOT_RUNNABLE
        finally:
            with trio.CancelScope(shield=True):
                await backend.aclose()
        nursery.cancel_scope.cancel()
    final = view.final
    if live is not None:
        live.update(view.render(), refresh=True)
        live.stop()
    elif not as_json and final is not None and show.output_name is None:
        show.progress.write(view.plain_summary(final))
        show.progress.flush()
    if show.output_name is not None and final is not None and not as_json:
        if live is None:
            # The summary without outputs, so stderr still says how the run went.
            err.print(view.plain_summary(replace(final, outputs=None)).rstrip("\n"), markup=False)
        text = (final.outputs or {}).get(show.output_name)
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
    if interrupted or result is None:
        if not as_json:
            run_id = Path(view.run_dir).name if view.run_dir else None
            where = f" --workdir {shlex.quote(str(show.explicit_workdir))}" if show.explicit_workdir else ""
            hint = f"; continue with: prose run --resume {run_id}{where}" if run_id else ""
            err.print(f"[yellow]interrupted{hint}[/]")
        return EXIT_INTERRUPTED
    return EXIT_OK if result.status == "ok" else EXIT_FAILED


def _read_answer(prompt: str, on_stdout: bool) -> str | None:
    """Ask on the terminal (runs in a worker thread: reading stdin blocks). None when stdin is closed."""
    stream = sys.stdout if on_stdout and sys.stdout.isatty() else sys.stderr
    stream.write(prompt)
    stream.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\n").rstrip("\r")


def _permission_asker(out: Console, live: Live | None, view: RunView, interactive: bool,
                      assume_yes: bool) -> PermissionAsker | None:
    """How `prompt` permissions are answered: --yes, a y/n question at the terminal, or (no terminal) no."""
    if assume_yes:
        async def yes(request: PermissionRequest) -> bool:
            return True

        return yes
    if not interactive:
        return None  # the gate refuses, telling the model and the events how the user can allow it
    lock = trio.Lock()  # parallel branches take turns at the terminal
    always = False

    async def ask(request: PermissionRequest) -> bool:
        nonlocal always
        async with lock:
            if always:
                return True
            if live is not None:
                live.update(view.render(), refresh=True)
                live.stop()
            try:
                choices = escape("[y]es / [n]o / [a]lways this run")
                prompt = Text.from_markup(f"[bold yellow]{escape(request.question())}[/] [dim]{choices}[/] ")
                answer = await trio.to_thread.run_sync(lambda: out.input(prompt), abandon_on_cancel=True)
            except EOFError:
                answer = ""
            finally:
                if live is not None:
                    live.start()
            choice = answer.strip().lower()
            if choice in ("a", "always"):
                always = True
            return choice in ("y", "yes", "a", "always")

    return ask


def _report_not_runnable(err: Console, file: Path, source: bytes, exc: ProgramNotRunnable, as_json: bool) -> None:
    index = LineIndex(source)
    if as_json:
        records = []
        for diag in exc.diagnostics:
            records.append({
                "type": "run.error", "file": str(file), "line": diag.span.start_row + 1,
                "column": index.char_col(diag.span.start_row, diag.span.start_col) + 1,
                "code": diag.code, "message": diag.message,
            })
        records.append({"type": "run.end", "status": "not-runnable", "error": exc.message})
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    for diag in exc.diagnostics:
        col = index.char_col(diag.span.start_row, diag.span.start_col) + 1
        err.print(f"{file}:{diag.span.start_row + 1}:{col}: {diag.severity.value}[{diag.code}]: {diag.message}",
                  highlight=False, markup=False)
    err.print(f"prose: {exc.message}", highlight=False, markup=False)
