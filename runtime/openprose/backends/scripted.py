"""A backend driven by a JSON script, for reproducible tests of whole programs.

Tests need control over timing (who wins a `parallel (first)` race), failures (does
`retry:` or `try/catch` behave) and decisions (which `choice` branch runs) without
a live model. The script format::

    {
      "sessions":   [{"match": "substring of the prompt", "delay": 0.2, "output": "text"},
                     {"match": "...", "delay": 0.1, "fail": "message", "times": 2},
                     {"match": "...", "tools": [{"tool": "bash", "input": {"command": "pytest -q"}}],
                      "output": "text"}],
      "conditions": [{"match": "...", "answers": [false, true], "reason": "why"}],
      "choices":    [{"match": "...", "option": "Label", "reason": "why"},
                     {"match": "...", "fail": "the judge gave up"}],
      "default":    {"delay": 0, "output": "ok"},
      "call_log":   "calls.jsonl"
    }

The first session rule whose ``match`` occurs in the prompt applies; a rule with
``times`` is used for its first N matching sessions only, after which later rules
or the default apply. A rule's ``tools`` are tool calls made, in order, before its
output: they run for real in the workspace, through the session's permissions,
exactly as a model's calls would (inputs follow the SDK agent-toolset schemas, e.g.
``read {file_path}``, ``write {file_path, content}``, ``bash {command}``), so
programs' tool use can be tested offline. Condition answers are consumed in order
per rule and the last one repeats. A decision rule may give a ``reason`` (shown
like a model's reason; by default it names the rule) or, instead of an answer,
``fail`` with a message, which makes that decision fail as a broken model reply
would. A session no rule matches, with no ``default``, is an error: a test script
should not silently answer something it did not anticipate.

``call_log`` (a path, relative to the script file) makes the backend append one
JSON line per call it completes (``{"kind": "session", "prompt": ...}``), so a
test that kills and resumes a run in separate processes can count exactly how
often each session really ran.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from ..agents.tools import Toolbox, ToolOutcome
from ..text import shorten
from .base import BackendError, ContextItem, Decision, DecisionRequest, SessionRequest, SessionResult

__all__ = ["ScriptError", "ScriptedBackend", "load_script"]


#: Longest scripted delay: an hour is far more than any test needs.
MAX_DELAY = 3600.0


class ScriptError(ValueError):
    """The script file is unreadable or malformed; the message names file and problem."""


@dataclass
class _SessionRule:
    match: str
    delay: float
    output: str | None
    fail: str | None
    times: int | None
    used: int = 0
    tools: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass
class _ConditionRule:
    match: str
    answers: list[bool]
    reason: str | None = None
    fail: str | None = None
    used: int = 0


@dataclass(frozen=True)
class _ChoiceRule:
    match: str
    option: str
    reason: str | None = None
    fail: str | None = None


@dataclass
class Script:
    sessions: list[_SessionRule]
    conditions: list[_ConditionRule]
    choices: list[_ChoiceRule]
    default: _SessionRule | None
    source: str
    call_log: Path | None = None


class _Checker:
    """Collects the location of a problem (e.g. ``sessions[2].delay``) for messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> ScriptError:
        return ScriptError(f"{self.source}: {where}: {problem}")

    def obj(self, value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_kind(value)}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return value

    def string(self, d: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
        if key not in d:
            if required:
                raise self.fail(where, f"missing required key {key!r}")
            return None
        if not isinstance(d[key], str):
            raise self.fail(f"{where}.{key}", f"expected a string, got {_kind(d[key])}")
        return d[key]

    def delay(self, d: dict[str, Any], where: str) -> float:
        value = d.get("delay", 0)
        # json.loads reads 1e999 as inf (and NaN/Infinity literally): a delay must be a real, bounded wait.
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or not 0 <= value <= MAX_DELAY):
            raise self.fail(f"{where}.delay", f"expected a non-negative, finite number of seconds (at most {MAX_DELAY:g}), got {value!r}")
        return float(value)

    def rules(self, data: dict[str, Any], key: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _session_rule(c: _Checker, raw: Any, where: str, *, is_default: bool) -> _SessionRule:
    keys = {"delay", "output", "fail", "tools"} | (set() if is_default else {"match", "times"})
    d = c.obj(raw, where, keys)
    match = "" if is_default else c.string(d, "match", where)
    output = c.string(d, "output", where, required=False)
    fail = c.string(d, "fail", where, required=False)
    if (output is None) == (fail is None):
        raise c.fail(where, "needs exactly one of 'output' or 'fail'")
    times = d.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise c.fail(f"{where}.times", f"expected a positive integer, got {times!r}")
    tools = []
    raw_tools = d.get("tools", [])
    if not isinstance(raw_tools, list):
        raise c.fail(f"{where}.tools", f"expected a list, got {_kind(raw_tools)}")
    for i, call in enumerate(raw_tools):
        here = f"{where}.tools[{i}]"
        entry = c.obj(call, here, {"tool", "input"})
        name = c.string(entry, "tool", here) or ""
        args = entry.get("input", {})
        if not isinstance(args, dict):
            raise c.fail(f"{here}.input", f"expected an object, got {_kind(args)}")
        tools.append((name, args))
    return _SessionRule(match=match or "", delay=c.delay(d, where), output=output, fail=fail, times=times,
                        tools=tuple(tools))


def parse_script(text: str, source: str) -> Script:
    """Validate a script's text; `source` names it in error messages."""
    c = _Checker(source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    data = c.obj(data, "top level", {"sessions", "conditions", "choices", "default", "call_log"})
    sessions = [
        _session_rule(c, raw, f"sessions[{i}]", is_default=False) for i, raw in enumerate(c.rules(data, "sessions"))
    ]
    conditions = []
    for i, raw in enumerate(c.rules(data, "conditions")):
        where = f"conditions[{i}]"
        d = c.obj(raw, where, {"match", "answers", "reason", "fail"})
        match = c.string(d, "match", where)
        reason = c.string(d, "reason", where, required=False)
        fail = c.string(d, "fail", where, required=False)
        answers = d.get("answers")
        if fail is not None and answers is None:
            answers = [False]
        elif fail is not None:
            raise c.fail(where, "needs exactly one of 'answers' or 'fail'")
        if not isinstance(answers, list) or not answers or not all(isinstance(a, bool) for a in answers):
            raise c.fail(f"{where}.answers", "expected a non-empty list of true/false")
        conditions.append(_ConditionRule(match=match or "", answers=list(answers), reason=reason, fail=fail))
    choices = []
    for i, raw in enumerate(c.rules(data, "choices")):
        where = f"choices[{i}]"
        d = c.obj(raw, where, {"match", "option", "reason", "fail"})
        fail = c.string(d, "fail", where, required=False)
        if (fail is None) == ("option" not in d):
            raise c.fail(where, "needs exactly one of 'option' or 'fail'")
        choices.append(_ChoiceRule(
            match=c.string(d, "match", where) or "",
            option=c.string(d, "option", where, required=fail is None) or "",
            reason=c.string(d, "reason", where, required=False),
            fail=fail,
        ))
    default = None
    if "default" in data:
        default = _session_rule(c, data["default"], "default", is_default=True)
    call_log = c.string(data, "call_log", "top level", required=False)
    log_path = None
    if call_log is not None:
        log_path = Path(call_log)
        if not log_path.is_absolute():
            log_path = Path(source).parent / log_path
    return Script(sessions=sessions, conditions=conditions, choices=choices, default=default, source=source,
                  call_log=log_path)


def load_script(path: Path) -> Script:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScriptError(f"{path}: script file not found") from None
    except UnicodeDecodeError:
        raise ScriptError(f"{path}: script file is not UTF-8 text") from None
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read script file ({exc.strerror})") from None
    return parse_script(text, str(path))


class ScriptedBackend:
    name = "scripted"
    #: Sessions get a toolbox, and a rule's scripted tool calls run through it.
    acts = True

    def __init__(self, script: Script) -> None:
        self._script = script
        self.sessions_run = 0
        #: What each scripted tool call returned (what a model would have seen), for tests and debugging.
        self.tool_results: list[tuple[str, ToolOutcome]] = []

    @classmethod
    def from_file(cls, path: Path) -> ScriptedBackend:
        return cls(load_script(path))

    def __repr__(self) -> str:
        return f"ScriptedBackend({self._script.source!r})"

    def _session_rule(self, prompt: str) -> _SessionRule:
        for rule in self._script.sessions:
            if rule.match in prompt and (rule.times is None or rule.used < rule.times):
                return rule
        if self._script.default is not None:
            return self._script.default
        raise BackendError(
            f"script {self._script.source}: no session rule matches prompt {shorten(prompt)!r} and there is no 'default'"
        )

    async def run_session(self, request: SessionRequest, toolbox: Toolbox | None = None) -> SessionResult:
        # Select and count the rule before sleeping so that concurrently started
        # branches consume `times` in the order they started.
        rule = self._session_rule(request.prompt)
        rule.used += 1
        self.sessions_run += 1
        if rule.tools and toolbox is None:
            raise BackendError(f"script {self._script.source}: rule {rule.match!r} makes tool calls, but this session has no tools")
        for name, args in rule.tools:
            outcome = await toolbox.call(name, dict(args))  # type: ignore[union-attr]
            self.tool_results.append((name, outcome))
        if rule.delay > 0:
            await trio.sleep(rule.delay)
        else:
            await trio.lowlevel.checkpoint()
        if rule.fail is not None:
            raise BackendError(rule.fail)
        self._log("session", request.prompt)
        return SessionResult(text=rule.output or "", model="scripted")

    def _log(self, kind: str, text: str) -> None:
        if self._script.call_log is None:
            return
        line = (json.dumps({"kind": kind, "prompt": text, "pid": os.getpid()}, ensure_ascii=False) + "\n").encode()
        fd = os.open(self._script.call_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    async def judge(self, condition: str, context: tuple[ContextItem, ...]) -> bool:
        return bool((await self.decide(DecisionRequest("condition", condition, (), context))).value)

    async def choose(self, criteria: str, options: tuple[str, ...], context: tuple[ContextItem, ...]) -> int:
        return int((await self.decide(DecisionRequest("choice", criteria, options, context))).value)

    async def decide(self, request: DecisionRequest) -> Decision:
        await trio.lowlevel.checkpoint()
        src = self._script.source
        if request.kind == "condition":
            for i, rule in enumerate(self._script.conditions):
                if rule.match in request.question:
                    answer = rule.answers[min(rule.used, len(rule.answers) - 1)]
                    rule.used += 1
                    if rule.fail is not None:
                        raise BackendError(rule.fail)
                    reason = rule.reason or f"scripted: conditions[{i}] answers {'yes' if answer else 'no'}"
                    self._log("judge", request.question)
                    return Decision(answer, reason, model="scripted", calls=0)
            raise BackendError(f"script {src}: no condition rule matches **{shorten(request.question)}**")
        for i, rule in enumerate(self._script.choices):
            if rule.match in request.question:
                if rule.fail is not None:
                    raise BackendError(rule.fail)
                if rule.option not in request.options:
                    listed = ", ".join(repr(o) for o in request.options)
                    raise BackendError(
                        f"script {src}: choice rule {rule.match!r} picks option {rule.option!r}, "
                        f"which is not among the options ({listed})"
                    )
                self._log("choose", request.question)
                reason = rule.reason or f"scripted: choices[{i}] picks {rule.option!r}"
                return Decision(request.options.index(rule.option), reason, model="scripted", calls=0)
        raise BackendError(f"script {src}: no choice rule matches **{shorten(request.question)}**")

    async def aclose(self) -> None:
        return None
