"""`prose run`: the interpreter wired to a terminal.

Kept apart from the click definitions so that the whole flow (backend
choice, inputs, live display, Ctrl-C, exit codes) is one readable function.
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import replace
from pathlib import Path

import trio
from rich.console import Console
from rich.live import Live

from rich.markup import escape
from rich.text import Text

from .agents.limits import ToolLimits
from .agents.permissions import PermissionAsker, PermissionRequest
from .accounting import PriceError, PriceTable, load_prices
from .analysis import analyze
from .backends import BackendConfig, make_backend
from .estimate import estimate_program, format_estimate
from .diagnostics import LineIndex
from .files import read_program
from .interpreter import ProgramNotRunnable, RunEvent, RunOptions, RunResult, run_program
from .progress import RunView

EXIT_OK, EXIT_FAILED, EXIT_NOT_RUNNABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def run_command(
    file: Path,
    *,
    inputs: dict[str, str],
    backend_name: str | None,
    script: Path | None,
    aliases: dict[str, str],
    as_json: bool,
    resume: str | None,
    workdir: Path | None,
    simulated_delay: float = 0.0,
    durable: bool = False,
    assume_yes: bool = False,
    tool_limits: ToolLimits | None = None,
    effort: str | None = None,
    prices_file: Path | None = None,
    allow_outside: bool = False,
    idle_timeout: float | None = None,
    call_deadline: float | None = None,
) -> int:
    err = Console(stderr=True, soft_wrap=True)
    try:
        source = read_program(file)
    except OSError as exc:
        err.print(f"prose: {file}: cannot read: {exc.strerror or exc}")
        return EXIT_NOT_RUNNABLE
    try:
        prices = load_prices(prices_file)
    except PriceError as exc:
        if prices_file is not None:
            err.print(f"prose: {exc}", highlight=False, markup=False)
            return EXIT_NOT_RUNNABLE
        prices = None  # the run warns that it has no cost estimate
    config = BackendConfig(simulated_delay=max(0.0, simulated_delay), effort=effort)
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
        err.print(f"prose: {exc}")
        return EXIT_NOT_RUNNABLE
    options = RunOptions(durable=durable, tool_limits=tool_limits or ToolLimits(),
                         allow_outside_workspace=allow_outside)
    workspace = workdir or Path.cwd()
    if not workspace.is_dir():
        err.print(f"prose: --workdir {workspace}: not a directory")
        return EXIT_NOT_RUNNABLE
    return trio.run(_main, file, source, backend, inputs, as_json, resume, workspace, err, options, assume_yes, prices)


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


async def _main(file: Path, source: bytes, backend, inputs, as_json: bool, resume, workdir: Path, err: Console,
                options: RunOptions, assume_yes: bool = False, prices: PriceTable | None = None) -> int:
    out = Console(soft_wrap=not sys.stdout.isatty())
    view = RunView(file.name)
    interactive = not as_json and sys.stdin.isatty() and out.is_terminal
    live = Live(view.render(), console=out, auto_refresh=False, transient=False) if interactive else None
    result: RunResult | None = None
    interrupted = False

    def on_event(event: RunEvent) -> None:
        if as_json:
            sys.stdout.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        view.feed(event)
        if live is None and event.type in ("session.end", "branch.end", "warning", "tool.end", "condition", "choice"):
            _print_line(out, event)

    async def ask(name: str, question: str) -> str:
        if live is not None:
            live.update(view.render(), refresh=True)  # show what finished before the question
            live.stop()
        try:
            answer = await trio.to_thread.run_sync(lambda: out.input(f"[bold]{question or name}[/]\n> "))
        finally:
            if live is not None:
                live.start()
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
                    resume=resume, ask_input=ask if interactive else None, options=options, prices=prices,
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
    if live is not None:
        live.update(view.render(), refresh=True)
        live.stop()
    elif not as_json:
        final = view.final
        if final is not None:
            out.print(view.summary(final))
    if interrupted or result is None:
        if not as_json:
            run_id = Path(view.run_dir).name if view.run_dir else None
            hint = f"; continue with: prose run --resume {run_id} {file}" if run_id else ""
            err.print(f"[yellow]interrupted{hint}[/]")
        return EXIT_INTERRUPTED
    return EXIT_OK if result.status == "ok" else EXIT_FAILED


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


def _print_line(out: Console, event: RunEvent) -> None:
    """Plain progress lines when stdout is not a terminal (logs, CI)."""
    where = " / ".join(event.path)
    prefix = f"[{event.t:7.2f}s]"
    if event.type == "warning":
        out.print(f"{prefix} warning: {event.error}", highlight=False)
    elif event.type == "session.end":
        title = " ".join((event.prompt or "").split())[:70]
        bind = f"{event.binding} = " if event.binding else ""
        tail = f": {event.error}" if event.error else ""
        out.print(f"{prefix} {event.status:9} {bind}{title}{'  (' + where + ')' if where else ''}{tail}", highlight=False)
    elif event.type in ("condition", "choice"):
        reason = f" · {event.reason}" if event.reason else ""
        out.print(f"{prefix} {event.type:9} **{' '.join((event.prompt or '').split())[:60]}** → {event.answer}{reason}",
                  highlight=False, markup=False)
    elif event.type == "tool.end":
        rule = f" ({event.rule})" if event.status == "denied" and event.rule else ""
        out.print(f"{prefix}   tool {event.tool} {event.status}{rule}: {event.summary or ''}", highlight=False)
    elif event.type == "branch.end" and event.status != "ok":
        out.print(f"{prefix} branch {where} {event.status}{': ' + event.error if event.error else ''}", highlight=False)


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
