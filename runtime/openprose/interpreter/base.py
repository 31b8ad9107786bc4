"""The state one interpreter holds for a program, and the bookkeeping every concern shares.

`InterpreterBase` owns what the dispatch, the sessions, the branches and the
calls all touch: the frames' bindings and their files, state.md, the call
journal, name lookup and string interpolation. The concerns are mixins on top
of it (sessions.py, branches.py, calls.py), and dispatch.py's `Interpreter`
combines them with the walker.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import model as m
from ..accounting import Ledger
from ..agents.permissions import PermissionAsker
from ..analysis import Analysis
from ..backends.base import Backend, SessionResult
from ..codes import Code
from ..diagnostics import Span
from ..journal import CallJournal
from ..language import persist_of
from ..resolve import program_alias
from ..state import RunStateError, RunStore
from ..values import Value, encode, member, render
from .errors import ProseError
from .events import Emit, InputAsker
from .frames import Frame, FrameKind
from .options import RunOptions
from ..events import EventType

__all__ = ["CURRENT_SID", "InterpreterBase"]

#: The statement being run in the current task; conditions key their journal entries by it.
CURRENT_SID: contextvars.ContextVar[str] = contextvars.ContextVar("openprose_sid", default="0")


class InterpreterBase:
    def __init__(
        self,
        analysis: Analysis,
        backend: Backend,
        store: RunStore,
        *,
        emit: Emit,
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
        #: The program's syntax model (not `program`: that is the walker's method for a Program node).
        self.tree = analysis.program
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
        self.agents = {s.name.name: s for s in self.tree.body if isinstance(s, m.AgentDef)}
        self.blocks = {s.name.name: s for s in self.tree.body if isinstance(s, m.BlockDef)}
        self.imports: dict[str, m.Use] = {}
        for stmt in self.tree.body:
            if isinstance(stmt, m.Use):
                alias = stmt.alias.name if stmt.alias else program_alias(stmt.path.text)
                self.imports[alias] = stmt
        self.outputs: dict[str, Value] = {}
        self.ledger = ledger if ledger is not None else Ledger()
        self.anon = 0
        self.exec_ids = 0
        self.depth = 0
        self.root = Frame(FrameKind.PROGRAM, None)
        self.current_error: ProseError | None = None
        #: Notes (e.g. "truncated") that follow a session's output into every binding file that holds it.
        self.value_notes: dict[str, str] = {}
        self.last_ref: str | None = None  # binding file of the latest session output
        self.journal = journal if journal is not None else CallJournal.for_run(
            store.run_dir, redact=store.redactor.value, durable=options.durable)
        self.key_prefix = key_prefix
        self._occurrences: dict[tuple[str, str], int] = {}
        self.reused = 0  # calls answered from the journal of a resumed run

    # ------------------------------------------------------------- bindings

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

    def persist(self, name: str, value: Value, kind: str, scope: int | str | None, source: m.Stmt | None,
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

    def binding_ref(self, name: str, scope: int | str | None) -> str | None:
        """The binding file of a value, relative to the workspace when it is inside it."""
        try:
            path = self.store.binding_path(name, scope)
        except RunStateError:
            return None
        return path.relative_to(self.workspace).as_posix() if path.is_relative_to(self.workspace) else str(path)

    def visible_bindings(self, frame: Frame) -> list[tuple[str, Value, int | str | None]]:
        """Every binding in scope, innermost first: (name, value, scope id of its file)."""
        out: list[tuple[str, Value, int | str | None]] = []
        seen: set[str] = set()
        current: Frame | None = frame
        while current is not None:
            for name in reversed(list(current.vars)):
                if name not in seen:
                    seen.add(name)
                    out.append((name, current.vars[name], current.scope_id()))
            current = current.parent
        return out

    def lookup(self, frame: Frame, name: str, span: Span | None) -> Value:
        owner = frame.find(name)
        if owner is not None:
            return owner.vars[name]
        if name in self.agents:
            return self.agent_memory_text(name)
        raise ProseError(f"'{name}' has no value yet at this point of the run", span)

    def agent_memory_text(self, agent: str) -> str:
        """An agent named as a value: its memory so far ("" when it has none)."""
        decl = self.agents.get(agent)
        persist = persist_of(decl.property("persist"))[0] if decl is not None else None
        if persist is None:
            return ""
        return self.store.read_memory(agent, persist.setting) or ""

    # ------------------------------------------------------- state and journal

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

    def warn(self, message: str, span: Span | None, code: Code | None = None) -> None:
        self.emit(EventType.WARNING, error=message, span=span, code=code.id if code is not None else None)

    # ---------------------------------------------------------------- text

    def source_text(self, span: Span) -> str:
        text = self.tree.source[span.start_byte : span.end_byte].decode("utf-8", errors="replace")
        first = text.split("\n", 3)
        return "\n".join(first[:3]) + ("\n…" if len(first) > 3 else "")

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
