"""Sessions and decisions: what goes to a backend, with its context, memory, retries and tools.

Everything a model turn needs passes through here: the prompt and system
prompt, the context a session or a decision sees (docs/context.md), an agent's
memory, the retry policy, the toolbox of a backend that acts, and the journal
that lets a resumed run reuse calls that finished before it was stopped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import trio

from .. import codes
from .. import model as m
from ..agents.session_tools import SessionSetupError, prepare_session_tools
from ..agents.tools import Toolbox
from ..backends.base import BackendError, ContextItem, Decision, DecisionRequest, SessionRequest, SessionResult, Usage
from ..backends.base import decide_with
from ..context import DECISION_BUDGET, SESSION_BUDGET, Output, bounded, current_flow, named_in
from ..diagnostics import Span
from ..language import persist_of, retry_policy
from ..state import RunStateError
from ..values import Value, render
from .base import CURRENT_SID, InterpreterBase
from .errors import ProseError, is_cancellation
from .events import RunStatus, usage_json
from .frames import Frame, scope_of
from .naming import quote, short_number, state_word
from ..events import EventType

__all__ = ["Sessions"]


class Sessions(InterpreterBase):
    """Sessions and AI decisions (a mixin of the interpreter: `self.value` is the dispatch's)."""

    # ------------------------------------------------------------ decisions

    async def decide(self, request: DecisionRequest, span: Span, path: tuple[str, ...]) -> Decision:
        """One decision from the backend; every failure becomes a located, catchable ProseError."""
        what = "condition" if request.kind == "condition" else "choice"
        key = self.call_key(request.kind, CURRENT_SID.get())
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

    # ------------------------------------------------------------- context

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
                          head.span, codes.W116)
                continue
            items.append(ContextItem(label, render(await self.value(expr, frame))))
        return tuple(items)

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
        return render(await self.value(prop.value, frame))

    # ------------------------------------------------------------ sessions

    async def run_session(self, s: m.Session, frame: Frame, sid: str, path: tuple[str, ...], binding: str | None,
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
        persist = persist_of(agent.property("persist"))[0] if agent is not None else None
        agent_name = agent.name.name if agent is not None else None
        if s.kind == "resume":
            assert agent_name is not None
            if persist is None:
                raise ProseError(f"resume needs a persistent agent, but '{agent_name}' has no persist:", s.span)
            memory = self.store.read_memory(agent_name, persist.setting)
            if memory is None:
                raise ProseError(
                    f"{codes.E018.id}: agent '{agent_name}' has no memory yet; use `session: {agent_name}` for its first task",
                    s.agent.span if s.agent else s.span,
                )
        elif persist is not None and agent_name is not None and self.store.read_memory(agent_name, persist.setting) is not None:
            self.warn(
                f"{codes.W011.id}: '{agent_name}' already has memory; `session:` starts fresh (use `resume:` to continue)",
                s.keyword_span,
                codes.W011,
            )
        retry, problems = retry_policy(merged.get("retry"), merged.get("backoff"))
        for problem in problems:
            if problem.kind == "too-large":
                raise ProseError(f"retry {short_number(problem.node.text)} is too large", problem.span)
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
        self.emit(EventType.SESSION_START, prompt=title, binding=binding, path=path, span=s.span, agent=agent_name,
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
                if attempt <= retry.retries:
                    self.state_line(f"{sid}→ retry:{attempt}/{retry.retries}")
                    delay = retry.delay(attempt, self.options.retry_base_delay)
                    if delay:
                        await trio.sleep(delay)
                    continue
                self.emit(EventType.SESSION_END, prompt=title, binding=binding, path=path, span=s.span,
                          status=RunStatus.FAILED, error=str(exc), agent=agent_name, session=session_id)
                self.state_line(f"{sid}→ ✗ {state_word(str(exc))}")
                raise ProseError(str(exc), s.span) from exc
            except BaseException as exc:
                # Cancelled, or a group of them from a nursery inside the backend or the toolbox.
                if is_cancellation(exc):
                    self.emit(EventType.SESSION_END, prompt=title, binding=binding, path=path, span=s.span,
                              status=RunStatus.CANCELLED, agent=agent_name, session=session_id)
                raise
        if tools is not None and tools.log_failure is not None:  # a tool call's state.md line was not written
            raise tools.log_failure
        usage = usage_json(result.usage)
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
                    self.store.write_memory(agent_name, persist.setting, (previous + "\n\n" + entry).strip() + "\n",
                                            prompt=task)
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
            self.emit(EventType.SESSION_END, prompt=title, binding=binding, path=path, span=s.span,
                      status=RunStatus.FAILED, error=exc.message, agent=agent_name, session=session_id)
            raise
        self.last_ref = self.binding_ref(stored, frame.scope_id() if binding is None else scope_of(frame, binding))
        # The label goes into a `name="…"` attribute: no double quotes in it.
        label = binding or "output of session: " + quote(title)[1:-1].replace('"', "'")
        current_flow().add(Output(label, result.text, self.last_ref, binding))
        if not result.text.strip():
            self.warn(f"session {quote(title)} returned no text", s.span, codes.EMPTY)
        if note is not None:
            self.warn(f"session {quote(title)} was cut off at max_tokens; its output is incomplete "
                      "(raise max_tokens: on the agent or session)", s.span, codes.TRUNCATED)
            self.state_line(f"{sid}→ truncated(max_tokens) {state_word(binding or stored)}")
        self.emit(EventType.SESSION_END, prompt=title, binding=binding, path=path, span=s.span, status=RunStatus.OK,
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
                program=self.tree, program_dir=self.program_dir, workspace=self.workspace, agent=agent_name,
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


def _word(expr: Any) -> str | None:
    """`m.word`, plus `true` (as in `persist: true`)."""
    if isinstance(expr, m.Literal):
        return "true" if expr.value is True else None
    return m.word(expr)


def _label(expr: Any) -> str:
    if isinstance(expr, m.Name):
        return expr.name
    if isinstance(expr, m.Member):
        return f"{_label(expr.object)}.{expr.property}"
    return "context"


def _empty_context(prop: m.Property) -> bool:
    return isinstance(prop.value, m.Array) and not prop.value.items


def _int_prop(prop: m.Property | None) -> int | None:
    if prop is None or not isinstance(prop.value, m.Number) or not prop.value.is_integer or prop.value.value <= 0:
        return None
    return int(prop.value.value)
