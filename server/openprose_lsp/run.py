"""Running programs from the editor, in-process, on trio in guest mode.

pygls owns an asyncio loop; the interpreter is written for trio. One
long-lived trio guest run shares the asyncio thread and holds a nursery;
each run is a task in it with its own cancel scope, so stopping a run is
cancelling that scope (from `openprose.stop` or from the client cancelling
the run's work-done progress). The `executeCommand` request returns as soon
as the run is scheduled: a cancelled request would not stop a handler that
waited, so the run's lifetime is tied to its own scope instead.

A tool call under a `prompt` permission asks the person with
`window/showMessageRequest` (see `PermissionQuestions`); the run waits for the
answer inside its own scope, so stopping the run also withdraws its question.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from openprose import codes
from openprose.agents.permissions import PermissionRequest
from openprose.diagnostics import Diagnostic
from openprose.events import EventType, RunEvent, RunStatus
from openprose.redact import redact
from openprose.text import shorten

from .documents import Document

if TYPE_CHECKING:  # at run time each function imports trio: the server starts without it
    import trio

log = logging.getLogger(__name__)

RUN_EVENT = "openprose/runEvent"
_ids = itertools.count(1)


def workspace_of(path: Path, folders: Iterable[Path]) -> Path:
    """The workspace a program runs in: the innermost folder that contains it.

    Tools are confined to this folder and the run state goes to its
    `.prose/`; a program outside every workspace folder runs in its own
    directory, like `prose run` started next to it.
    """
    program = _resolved(path)
    best: Path | None = None
    for folder in folders:
        root = _resolved(folder)
        if program.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best if best is not None else program.parent


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop or an unreadable parent: compare as written
        return Path(os.path.abspath(path))


@dataclass
class RunRequest:
    backend: str | None = None
    script: Path | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    #: Where `use` may read programs from (set by the server from the workspace folders).
    workspace: Path | None = None
    allow_outside_workspace: bool = False

    @classmethod
    def parse(cls, options: Any, base: Path | None) -> RunRequest:
        """`openprose.run`'s second argument; malformed options raise ValueError."""
        if options is None:
            return cls()
        if not isinstance(options, Mapping):
            raise ValueError("openprose.run takes [uri] or [uri, {backend, script, inputs}]")
        backend = options.get("backend")
        if backend is not None and not isinstance(backend, str):
            raise ValueError("'backend' must be a string")
        script = options.get("script")
        script_path = None
        if script is not None:
            if not isinstance(script, str):
                raise ValueError("'script' must be a path string")
            script_path = Path(script).expanduser()
            if not script_path.is_absolute() and base is not None:
                script_path = base / script_path
        inputs = options.get("inputs") or {}
        if not isinstance(inputs, Mapping):
            raise ValueError("'inputs' must be an object of name: value")
        return cls(backend, script_path, {str(k): str(v) for k, v in inputs.items()})


@dataclass(eq=False)
class ActiveRun:
    run_id: str
    uri: str
    doc: Document
    generation: int
    workdir: Path | None = None
    progress_token: str | None = None
    progress_ready: bool = False
    progress_task: asyncio.Future[None] | None = None
    scope: trio.CancelScope | None = None
    cancel_requested: bool = False
    allow_all: bool = False  # answered "Allow All This Run"
    finished: bool = False
    sessions_done: int = 0
    events_seen: bool = False
    last_message: str = "starting"


ALLOW = "Allow"
ALLOW_RUN = "Allow All This Run"
DENY = "Deny"


class PermissionQuestions:
    """Asks the person, through the client, whether a tool call may go ahead.

    One `window/showMessageRequest` at a time for the whole server: parallel
    branches (and other runs) that need an answer wait their `turn()` instead
    of stacking dialogs. The answer is the chosen action's title; a dismissed
    message (null), an error answer or a client that has gone away answer
    None, which refuses. The waiting side is a trio task: cancelling it (the
    run was stopped) withdraws the question with `$/cancelRequest` and never
    waits for the client.
    """

    ACTIONS = (ALLOW, ALLOW_RUN, DENY)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._lock: trio.Lock | None = None
        self._ids = itertools.count(1)

    def turn(self) -> trio.Lock:
        """Hold it around a question and whatever decides whether to ask it."""
        import trio

        if self._lock is None:
            self._lock = trio.Lock()
        return self._lock

    async def ask(self, message: str) -> str | None:
        import trio

        msg_id = f"openprose-permission-{next(self._ids)}"
        params = lsp.ShowMessageRequestParams(
            type=lsp.MessageType.Warning,
            message=message,
            actions=[lsp.MessageActionItem(title=title) for title in self.ACTIONS],
        )
        answered = trio.Event()
        token = trio.lowlevel.current_trio_token()

        def wake(_: Any) -> None:  # runs on the asyncio side when the answer (or an error) arrives
            try:
                token.run_sync_soon(answered.set)
            except trio.RunFinishedError:
                pass

        try:
            future = self._protocol.send_request(lsp.WINDOW_SHOW_MESSAGE_REQUEST, params, msg_id=msg_id)
        except Exception as exc:  # noqa: BLE001 - no way to ask is a refusal, not a crash
            log.warning("could not ask for permission: %s", exc)
            return None
        future.add_done_callback(wake)
        try:
            await answered.wait()
        except trio.Cancelled:
            if not future.done():
                try:
                    self._protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=msg_id))
                except Exception:  # noqa: BLE001 - the client may be gone already
                    pass
            raise
        try:
            answer = future.result()
        except Exception as exc:  # noqa: BLE001 - an error answer refuses the call
            log.warning("the client answered the permission question with an error: %s", exc)
            return None
        title = getattr(answer, "title", None)
        if title is None and isinstance(answer, Mapping):
            title = answer.get("title")
        return title if title in self.ACTIONS else None


class RunManager:
    """Owns the trio guest run and every program run in it."""

    def __init__(
        self,
        protocol: Any,
        publish: Callable[[Document], None],
        show: Callable[[lsp.MessageType, str], None],
    ) -> None:
        self._protocol = protocol
        self._publish = publish
        self._show = show
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._ready: asyncio.Future[None] | None = None
        self._done: asyncio.Future[None] | None = None
        self.runs: dict[str, ActiveRun] = {}
        self.supports_progress = False
        self.questions = PermissionQuestions(protocol)

    # ------------------------------------------------------------ guest run

    async def start(self) -> None:
        """Start the trio guest run once; later calls wait until it is ready."""
        import trio

        if self._ready is None:
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            self._done = loop.create_future()
            trio.lowlevel.start_guest_run(
                self._trio_main,
                run_sync_soon_threadsafe=loop.call_soon_threadsafe,
                run_sync_soon_not_threadsafe=loop.call_soon,
                done_callback=self._trio_done,
                host_uses_signal_set_wakeup_fd=True,
            )
        await self._ready

    async def _trio_main(self) -> None:
        import trio

        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._token = trio.lowlevel.current_trio_token()
            assert self._ready is not None
            if not self._ready.done():
                self._ready.set_result(None)
            await trio.sleep_forever()

    def _trio_done(self, outcome: Any) -> None:
        import trio

        try:
            outcome.unwrap()
        except BaseException as exc:  # noqa: BLE001 - report whatever ended the guest run
            if not isinstance(exc, trio.Cancelled):
                log.error("the run loop stopped: %r", exc)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(RuntimeError("the run loop stopped"))
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every run and end the guest run (the shutdown request waits for it)."""
        if self._token is None or self._done is None or self._nursery is None:
            return
        import trio

        nursery = self._nursery
        try:
            self._token.run_sync_soon(nursery.cancel_scope.cancel)
        except trio.RunFinishedError:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except TimeoutError:
            log.error("runs did not stop within %.0f s of shutdown", timeout)

    # ---------------------------------------------------------------- runs

    async def launch(self, doc: Document, request: RunRequest, backend: Any, workdir: Path | None = None) -> ActiveRun:
        """Schedule a run and return at once; progress and events follow.

        `workdir` is the run's workspace (see `workspace_of`); without one the
        program's directory is used.
        """
        await self.start()
        run = ActiveRun(f"run-{next(_ids)}", doc.uri, doc, doc.generation, workdir)
        self.runs[run.run_id] = run
        if self.supports_progress:
            run.progress_token = f"openprose-{run.run_id}"
            run.progress_task = asyncio.ensure_future(self._create_progress(run))  # keep a strong reference
        assert self._token is not None and self._nursery is not None
        nursery = self._nursery
        self._token.run_sync_soon(lambda: nursery.start_soon(self._execute, run, request, backend))
        return run

    def stop(self, uri: str | None = None, *, token: Any = None) -> int:
        """Cancel runs of a document (or the one behind a progress token)."""
        count = 0
        for run in list(self.runs.values()):
            if run.finished:
                continue
            if (uri is not None and run.uri == uri) or (token is not None and run.progress_token == token):
                self._cancel(run)
                count += 1
        return count

    def _cancel(self, run: ActiveRun) -> None:
        import trio

        run.cancel_requested = True
        if run.scope is not None and self._token is not None:
            scope = run.scope
            try:
                self._token.run_sync_soon(scope.cancel)
            except trio.RunFinishedError:
                pass

    async def _execute(self, run: ActiveRun, request: RunRequest, backend: Any) -> None:
        import trio  # like every trio name here: imported when a run needs it, not with the server
        from openprose.interpreter import ProgramNotRunnable, RunOptions, run_program

        doc = run.doc
        path = doc.path or Path(tempfile.gettempdir()) / "openprose-untitled" / "untitled.prose"
        workdir = run.workdir or path.parent  # tools work here; runs are kept in its .prose/runs/

        async def ask_permission(question: PermissionRequest) -> bool:
            return await self._ask_permission(run, question)

        ended = False

        def on_event(event: RunEvent) -> None:
            nonlocal ended
            ended = self.forward(run, event) or ended

        result = None
        try:
            with trio.CancelScope() as scope:
                run.scope = scope
                if run.cancel_requested:
                    scope.cancel()
                try:
                    # Inside the guard: an exception escaping this task would end the trio
                    # guest run, and with it Run for every later request.
                    workdir.mkdir(parents=True, exist_ok=True)
                    result = await run_program(
                        doc.source, path, backend=backend, inputs=request.inputs, workdir=workdir, on_event=on_event,
                        ask_permission=ask_permission,
                        options=RunOptions(use_root=request.workspace,
                                           allow_outside_workspace=request.allow_outside_workspace),
                    )
                except ProgramNotRunnable as exc:
                    message = redact(exc.message)
                    self._attach(run, [d for d in exc.diagnostics if d.code == codes.RUN.id])
                    self._notify(run, _run_end(RunStatus.FAILED, message))
                    ended = True
                    self._show(lsp.MessageType.Error, f"OpenProse: the program did not run: {message}")
                    return
                except OSError as exc:
                    message = redact(f"cannot use {workdir} for the run state: {exc.strerror or exc}")
                    self._notify(run, _run_end(RunStatus.FAILED, message))
                    ended = True
                    self._show(lsp.MessageType.Error, f"OpenProse: the program did not run: {message}")
                    return
                except Exception as exc:  # noqa: BLE001 - a runtime bug must not take the server down
                    log.exception("run %s crashed", run.run_id)
                    message = redact(f"{type(exc).__name__}: {exc}")
                    self._notify(run, _run_end(RunStatus.FAILED, message))
                    ended = True
                    self._show(lsp.MessageType.Error, f"OpenProse: the run stopped with an internal error: {message}")
                    return
            if result is None:
                if not ended:
                    self._notify(run, _run_end(RunStatus.CANCELLED, "the run was cancelled"))
                    ended = True
                self._show(lsp.MessageType.Info, "OpenProse: the run was cancelled")
                return
            self._report(run, result)
        except Exception:  # noqa: BLE001 - reporting must not end the guest run either
            log.exception("reporting run %s failed", run.run_id)
        finally:
            run.finished = True
            self._end_progress(run)
            try:
                await backend.aclose()
            except BaseException:  # noqa: BLE001 - closing is best effort, also when cancelled
                pass

    async def _ask_permission(self, run: ActiveRun, question: PermissionRequest) -> bool:
        """The run's `ask_permission`: one question to the person, in turn with the others.

        "Allow All This Run" allows this call and every later one of the same
        run without asking, like `[a]lways this run` at the terminal; the
        questions of that run already waiting their turn are not asked either.
        """
        async with self.questions.turn():
            if run.cancel_requested or run.finished:
                return False
            if run.allow_all:
                return True
            where = run.doc.path.name if run.doc.path else "untitled"
            asked = redact(question.question())  # before any shortening, which could cut a secret in two
            before = run.last_message
            self._set_progress(run, "waiting for your answer: " + shorten(asked, 80))
            try:
                answer = await self.questions.ask(f"OpenProse ({where}): {asked}")
            finally:
                self._set_progress(run, before)
        if answer == ALLOW_RUN:
            run.allow_all = True
        return answer in (ALLOW, ALLOW_RUN) and not run.cancel_requested

    def _report(self, run: ActiveRun, result: Any) -> None:
        if result.status == "failed" and result.error_span is not None:
            message = redact(result.error or "the run failed here")
            self._attach(run, [codes.RUN.at(result.error_span, message)])
        outputs = ", ".join(f"{name} = {shorten(value)}" for name, value in result.outputs.items()) or "no outputs"
        summary = f"OpenProse: run {result.status}: {outputs}.{_cost(result.usage)} Run directory: {result.run_dir}"
        if result.status == "failed":
            summary = f"OpenProse: run failed: {redact(result.error or 'unknown error')}. Run directory: {result.run_dir}"
        kind = lsp.MessageType.Info if result.status == "ok" else lsp.MessageType.Error
        self._show(kind, redact(summary))

    def _attach(self, run: ActiveRun, diagnostics: list[Diagnostic]) -> None:
        """Show run failures on the document until its next edit or run."""
        doc = run.doc
        if doc.generation != run.generation:
            return  # edited since the run started: the spans no longer fit
        doc.run_diagnostics = diagnostics
        self._publish(doc)

    def forward(self, run: ActiveRun, event: RunEvent) -> bool:
        """Send one event of the run to the client and follow it in the progress message; True for run.end."""
        self._notify(run, event.to_json())
        self._progress_from_event(run, event)
        return event.type == EventType.RUN_END

    def _notify(self, run: ActiveRun, event: dict[str, Any]) -> None:
        self._protocol.notify(RUN_EVENT, {"uri": run.uri, "runId": run.run_id, "event": event_payload(event)})

    # ------------------------------------------------------------ progress

    async def _create_progress(self, run: ActiveRun) -> None:
        token = run.progress_token
        assert token is not None
        try:
            await self._protocol.progress.create_async(token)
        except Exception as exc:  # noqa: BLE001 - no progress UI is not a reason to stop the run
            log.warning("work done progress unavailable: %s", exc)
            run.progress_token = None
            return
        self._protocol.progress.begin(
            token,
            lsp.WorkDoneProgressBegin(title=f"OpenProse run {run.run_id}", cancellable=True, message=run.last_message),
        )
        run.progress_ready = True
        if run.events_seen:
            # Events that came before the client accepted the token: say where the run is now.
            self._protocol.progress.report(token, lsp.WorkDoneProgressReport(message=run.last_message))
        if run.finished:
            self._end_progress(run)

    def _progress_from_event(self, run: ActiveRun, event: RunEvent) -> None:
        if event.type == EventType.SESSION_END:
            run.sessions_done += 1
        if event.type == EventType.TOOL_START:
            label = f"{event.tool}: {shorten(redact(event.summary), 50)}" if event.summary else str(event.tool)
            verb = "running"
        elif event.type in _STEP_EVENTS:
            label = event.binding or shorten(redact(event.prompt or ""), 50)
            verb = "running" if event.type in (EventType.SESSION_START, EventType.BRANCH_START) else (event.status or "done")
        else:
            return
        done = f"{run.sessions_done} session{'s' if run.sessions_done != 1 else ''} done"
        self._set_progress(run, f"{verb}: {label} ({done})")

    def _set_progress(self, run: ActiveRun, message: str) -> None:
        message = redact(message)  # callers redact before shortening too; this catches whatever they did not
        run.events_seen = True
        run.last_message = message
        if run.progress_ready and run.progress_token is not None and not run.finished:
            self._protocol.progress.report(run.progress_token, lsp.WorkDoneProgressReport(message=message))

    def _end_progress(self, run: ActiveRun) -> None:
        if run.progress_ready and run.progress_token is not None:
            token, run.progress_token = run.progress_token, None
            self._protocol.progress.end(token, lsp.WorkDoneProgressEnd(message="finished"))
            self._protocol.progress.tokens.pop(token, None)
        if run.finished:
            self.runs.pop(run.run_id, None)


_STEP_EVENTS = (EventType.SESSION_START, EventType.SESSION_END, EventType.BRANCH_START, EventType.BRANCH_END)


def event_payload(event: dict[str, Any]) -> dict[str, Any]:
    """What the client receives for one event: every string, at any depth (outputs, paths, tool errors), redacted.

    The runtime redacts with the run's secrets already; this pass also removes the server
    process's own, for the events the server makes itself.
    """
    return redact(event)


def _run_end(status: RunStatus, error: str) -> dict[str, Any]:
    """The run.end the server sends itself when a run never started or was stopped before its own run.end."""
    return RunEvent(EventType.RUN_END, 0.0, status=status, error=error).to_json()


def _cost(usage: dict[str, Any]) -> str:
    """" 7 model calls, ≈ $0.0123." for the end-of-run message (empty without accounting)."""
    calls = (usage.get("calls") or {}).get("total")
    if not calls:
        return ""
    cost = usage.get("cost_usd")
    price = f", ≈ ${cost:.4f}" if isinstance(cost, (int, float)) else ", cost unknown"
    return f" {calls} model call{'' if calls == 1 else 's'}{price}."
