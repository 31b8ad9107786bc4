"""The run-event schema: the one definition of what a run reports while it runs.

The interpreter emits events; the terminal tree, `--json` lines, the language
server's `openprose/runEvent` and the VS Code and Neovim run views consume them.
Those consumers are written in three languages, so the schema cannot live only
in Python code: this module is the typed definition (an `EventType` per kind,
status enums, and for each kind the fields it carries, with their types and
whether they are always there), and `json_schema()` turns it into a JSON Schema
(draft 2020-12) committed as docs/run-events.schema.json, which the editor tests
read. Regenerate the committed file with

    python -m openprose.events > docs/run-events.schema.json

(tests/test_events.py fails while it is stale).

On the wire an event is `RunEvent.to_json()`: `type`, `t`, `prompt`, `binding`,
`status` and `error` are always present (null when the kind has no such field);
every other field appears only when it has a value; a source span becomes
1-based `line` and `column`, and a branch path a non-empty list of names.
"""

# No `from __future__ import annotations`: on Python 3.11 a TypedDict only sees
# `NotRequired` in annotations that are evaluated, and the schema is built from them.
import json
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

from .diagnostics import Span

__all__ = [
    "Accounting",
    "EVENTS",
    "EventSink",
    "EventSpec",
    "EventType",
    "FieldSpec",
    "RunEvent",
    "RunStatus",
    "SchemaError",
    "TokenUsage",
    "ToolStatus",
    "Verdict",
    "json_schema",
    "schema_problems",
]

SCHEMA_ID = "https://github.com/openprose/openprose-tooling/blob/main/docs/run-events.schema.json"


class EventType(StrEnum):
    """Every kind of event a run emits (a StrEnum: `event.type == "run.start"` keeps working)."""

    RUN_START = "run.start"
    RUN_END = "run.end"
    SESSION_START = "session.start"
    SESSION_END = "session.end"
    TOOL_START = "tool.start"
    TOOL_END = "tool.end"
    BRANCH_START = "branch.start"
    BRANCH_END = "branch.end"
    CONDITION = "condition"
    CHOICE = "choice"
    INPUT = "input"
    WARNING = "warning"


class RunStatus(StrEnum):
    """How a run, a session or a parallel branch ended."""

    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ToolStatus(StrEnum):
    """How one tool call ended: `error` is the tool's failure (the model sees it), `denied` a permission refusal."""

    OK = "ok"
    ERROR = "error"
    DENIED = "denied"
    CANCELLED = "cancelled"


#: A condition's verdict as events show it.
Verdict = Literal["yes", "no"]


class TokenUsage(TypedDict):
    """Tokens of one model call (a session's, a condition's or a choice's)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class CallCounts(TypedDict):
    """Model calls by kind (accounting.CALL_KINDS)."""

    session: int
    tool_turn: int
    condition: int
    choice: int


class CallTotals(CallCounts):
    total: int


class ModelUsage(TokenUsage):
    """One model's line of the accounting; `cost_usd` only when a price table was loaded (null: unknown model)."""

    calls: CallCounts
    cost_usd: NotRequired[float | None]


class PriceSource(TypedDict):
    file: str
    as_of: str


class Accounting(TokenUsage):
    """What the run has used so far (accounting.Ledger.snapshot; see docs/accounting.md).

    Costs are null when no price is known: a run without a price table, or a model
    the table does not list, has no estimate rather than a made-up one.
    """

    sessions: int
    calls: CallTotals
    by_model: dict[str, ModelUsage]
    cost_usd: float | None
    cache_savings_usd: float | None
    prices: NotRequired[PriceSource]


@dataclass(frozen=True)
class FieldSpec:
    """One field of one event kind: its Python type (as `RunEvent` holds it) and whether it is always set."""

    type: Any
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class EventSpec:
    doc: str
    fields: Mapping[str, FieldSpec]


def _req(tp: Any, doc: str = "") -> FieldSpec:
    return FieldSpec(tp, True, doc)


def _opt(tp: Any, doc: str = "") -> FieldSpec:
    return FieldSpec(tp, False, doc)


_PATH = "where in the program: the enclosing parallel branches, blocks and calls, outermost first"
_SPAN = "the statement or condition the event is about (line and column on the wire)"
_SESSION = "the session's id within the run (s1, s2, …); its tool events carry the same id"
_TOTALS = "running totals of the whole run after this event"

def _decision(question: str, answer: FieldSpec) -> dict[str, FieldSpec]:
    """The fields of a condition or a choice: both are one judged call to the backend."""
    return {
        "prompt": _req(str, question),
        "answer": answer,
        "reason": _opt(str, "the judge's one-line reason"),
        "path": _opt(tuple[str, ...], _PATH),
        "span": _req(Span, _SPAN),
        "model": _opt(str),
        "usage": _req(TokenUsage),
        "totals": _req(Accounting, _TOTALS),
    }


#: Every event kind and its fields (names are `RunEvent` attributes). This is the schema.
EVENTS: Mapping[EventType, EventSpec] = {
    EventType.RUN_START: EventSpec("The run began.", {
        "prompt": _req(str, "the program's file name"),
        "run_dir": _req(str, "the run's directory under .prose/runs/"),
    }),
    EventType.RUN_END: EventSpec("The run ended, for whatever reason (always the last event).", {
        "status": _req(RunStatus),
        "error": _opt(str, "why it did not end ok"),
        "span": _opt(Span, "where it failed, when a statement is to blame"),
        "outputs": _opt(dict[str, str], "the program's outputs, rendered"),
        "run_dir": _opt(str, "absent when the run never started (the editor's own run.end)"),
        "usage": _opt(Accounting, "the run's accounting"),
    }),
    EventType.SESSION_START: EventSpec("A session was sent to the backend.", {
        "prompt": _req(str, "the session's label or task"),
        "binding": _opt(str, "the variable it is bound to"),
        "path": _opt(tuple[str, ...], _PATH),
        "span": _req(Span, _SPAN),
        "agent": _opt(str),
        "model": _opt(str, "the model asked for, when the program names one"),
        "session": _req(str, _SESSION),
    }),
    EventType.SESSION_END: EventSpec("A session finished, failed (after its retries) or was cancelled.", {
        "prompt": _req(str),
        "binding": _opt(str),
        "path": _opt(tuple[str, ...], _PATH),
        "span": _req(Span, _SPAN),
        "status": _req(RunStatus),
        "error": _opt(str),
        "agent": _opt(str),
        "model": _opt(str, "the model that answered"),
        "session": _req(str, _SESSION),
        "usage": _opt(TokenUsage, "set when the session ended ok"),
        "truncated": _opt(Literal[True], "the output was cut off at max_tokens"),
        "totals": _opt(Accounting, _TOTALS),
    }),
    EventType.TOOL_START: EventSpec("A session's tool call began (before the permission gate).", {
        "session": _req(str, _SESSION),
        "tool": _req(str, "read | write | edit | glob | grep | bash | web_search | web_fetch | web, or a name the model made up"),
        "summary": _req(str, "the path, command or query, redacted and shortened"),
        "path": _opt(tuple[str, ...], _PATH),
        "agent": _opt(str),
    }),
    EventType.TOOL_END: EventSpec("A tool call ended.", {
        "session": _req(str, _SESSION),
        "tool": _req(str),
        "summary": _req(str),
        "path": _opt(tuple[str, ...], _PATH),
        "agent": _opt(str),
        "status": _req(ToolStatus),
        "duration": _req(float, "seconds the tool itself took (not a permission question's wait)"),
        "error": _opt(str, "the error or refusal, on one line"),
        "rule": _opt(str, "with status denied: the permission rule that refused the call"),
    }),
    EventType.BRANCH_START: EventSpec("One branch of a parallel block began.", {
        "binding": _opt(str, "the branch's name, when it has one"),
        "path": _req(tuple[str, ...], "the branch's path; its last element names the branch"),
    }),
    EventType.BRANCH_END: EventSpec("A parallel branch ended (cancelled: a race was won or the run stopped).", {
        "binding": _opt(str),
        "path": _req(tuple[str, ...]),
        "status": _req(RunStatus),
        "error": _opt(str),
    }),
    EventType.CONDITION: EventSpec("The backend judged a **condition**.",
                                   _decision("the condition's text", _req(Verdict))),
    EventType.CHOICE: EventSpec("The backend chose an option of a `choice`.",
                                _decision("the criteria", _req(str, "the chosen option's label"))),
    EventType.INPUT: EventSpec("The run asks the person for an input it was not given.", {
        "prompt": _req(str, "the question (may be empty)"),
        "binding": _req(str, "the input's name"),
        "span": _req(Span, _SPAN),
    }),
    EventType.WARNING: EventSpec("Something the person should know; the run goes on.", {
        "error": _req(str, "the message"),
        "span": _opt(Span),
        "code": _opt(str, "EMPTY, TRUNCATED, PRICES, W0xx, …"),
    }),
}

#: Always on the wire, null when the kind has no such field (RunEvent.to_json).
BASE_KEYS = ("prompt", "binding", "status", "error")
_OPTIONAL_KEYS = ("outputs", "run_dir", "usage", "agent", "model", "code", "session", "tool", "summary", "duration",
                  "rule", "answer", "reason", "totals", "truncated")


@dataclass(frozen=True)
class RunEvent:
    """One event as the interpreter emits it; `EVENTS[type]` says which fields a kind sets.

    `type` and `status` are coerced to their enums, so a kind the schema does not know
    fails where it is built, not in some editor's run view.
    """

    type: EventType
    t: float  # seconds since the run started
    prompt: str | None = None
    binding: str | None = None
    status: RunStatus | ToolStatus | None = None
    error: str | None = None
    path: tuple[str, ...] = ()
    span: Span | None = None
    outputs: dict[str, str] | None = None
    run_dir: str | None = None
    usage: dict[str, Any] | None = None
    agent: str | None = None
    model: str | None = None
    code: str | None = None
    session: str | None = None
    tool: str | None = None
    summary: str | None = None
    duration: float | None = None
    rule: str | None = None
    answer: str | None = None
    reason: str | None = None
    totals: dict[str, Any] | None = None
    truncated: bool | None = None

    def __post_init__(self) -> None:
        kind = EventType(self.type)
        object.__setattr__(self, "type", kind)
        if self.status is not None:
            status_type = ToolStatus if kind in (EventType.TOOL_START, EventType.TOOL_END) else RunStatus
            object.__setattr__(self, "status", status_type(self.status))

    def to_json(self) -> dict[str, Any]:
        """The wire form (see the module docstring); enums become their plain strings."""
        out: dict[str, Any] = {
            "type": self.type.value,
            "t": round(self.t, 4),
            "prompt": self.prompt,
            "binding": self.binding,
            "status": None if self.status is None else self.status.value,
            "error": self.error,
        }
        if self.path:
            out["path"] = list(self.path)
        if self.span is not None:
            out["line"] = self.span.start_row + 1
            out["column"] = self.span.start_col + 1
        for key in _OPTIONAL_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RunEvent":
        """An event back from its wire form (a recorded stream replayed into a run view).

        The span keeps only what the wire has: its start line and column.
        """
        fields = {key: data[key] for key in (*BASE_KEYS, *_OPTIONAL_KEYS) if data.get(key) is not None}
        span = None
        if isinstance(data.get("line"), int) and isinstance(data.get("column"), int):
            row, col = data["line"] - 1, data["column"] - 1
            span = Span(0, 0, row, col, row, col)
        return cls(data["type"], float(data.get("t") or 0.0), path=tuple(data.get("path") or ()), span=span, **fields)


#: What a caller of `run_program` passes as `on_event`.
EventSink = Callable[[RunEvent], None]


# ------------------------------------------------------------------ JSON Schema


class SchemaError(ValueError):
    """The definition uses a type the generator cannot express (a bug in this module)."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one wire event, generated from `EVENTS`."""
    defs: dict[str, Any] = {}
    kinds: list[dict[str, Any]] = []
    for kind, spec in EVENTS.items():
        defs[kind.value] = _kind_schema(kind, spec, defs)
        kinds.append({"if": {"properties": {"type": {"const": kind.value}}, "required": ["type"]},
                      "then": {"$ref": f"#/$defs/{kind.value}"}})
    for enum in (EventType, RunStatus, ToolStatus):
        defs[enum.__name__] = {"description": _doc(enum), "enum": [member.value for member in enum]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "OpenProse run event",
        "description": "One event of a running OpenProse program (`openprose/runEvent`, `prose run --json`). "
                       "Generated by `python -m openprose.events` from runtime/openprose/events.py; do not edit.",
        "type": "object",
        "properties": {"type": {"$ref": "#/$defs/EventType"}},
        "required": ["type"],
        "allOf": kinds,
        "$defs": dict(sorted(defs.items())),
    }


def _kind_schema(kind: EventType, spec: EventSpec, defs: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"type": {"const": kind.value},
                             "t": {"description": "seconds since the run started", "type": "number", "minimum": 0}}
    required = ["type", "t", *BASE_KEYS]
    for key in BASE_KEYS:
        field = spec.fields.get(key)
        if field is None:
            props[key] = {"type": "null"}
        else:
            schema = _type_schema(field.type, defs)
            props[key] = _described(schema if field.required else {"anyOf": [schema, {"type": "null"}]}, field.doc)
    for name, field in spec.fields.items():
        if name in BASE_KEYS:
            continue
        if name == "span":
            for key in ("line", "column"):
                props[key] = _described({"type": "integer", "minimum": 1}, field.doc)
                if field.required:
                    required.append(key)
            continue
        schema = _type_schema(field.type, defs)
        if name == "path":
            schema = {**schema, "minItems": 1}  # an empty path is left out
        props[name] = _described(schema, field.doc)
        if field.required:
            required.append(name)
    return {"description": spec.doc, "type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def _described(schema: dict[str, Any], doc: str) -> dict[str, Any]:
    return {"description": doc, **schema} if doc else schema


def _doc(obj: Any) -> str:
    return " ".join((obj.__doc__ or "").split())


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of a Python type annotation, for the few kinds of type `EVENTS` uses."""
    origin = typing.get_origin(tp)
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is type(None):
        return {"type": "null"}
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if typing.is_typeddict(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # reserve the name: a nested reference to it does not recurse
            defs[tp.__name__] = _typeddict_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if origin is Literal:
        values = list(typing.get_args(tp))
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    if origin in (types.UnionType, typing.Union):
        return {"anyOf": [_type_schema(arg, defs) for arg in typing.get_args(tp)]}
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin is dict:
        key, value = typing.get_args(tp)
        if key is str:
            return {"type": "object", "additionalProperties": _type_schema(value, defs)}
    raise SchemaError(f"no JSON Schema for the annotation {tp!r}")


def _typeddict_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(tp)
    props = {name: _type_schema(hint, defs) for name, hint in hints.items()}
    schema: dict[str, Any] = {"type": "object", "properties": props,
                              "required": [name for name in hints if name in tp.__required_keys__],
                              "additionalProperties": False}
    doc = _doc(tp)
    return {"description": doc, **schema} if doc and not doc.startswith(tp.__name__ + "(") else schema


# ------------------------------------------------------------------ validation

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}


def schema_problems(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None,
                    where: str = "$") -> list[str]:
    """Why `instance` does not fit `schema` (empty when it does).

    Covers exactly the keywords `json_schema()` writes, and refuses any other, so the
    validation cannot silently skip part of a schema: the tests need no new dependency.
    """
    root = schema if root is None else root
    problems: list[str] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "$ref":
            target: Any = root
            for part in value.removeprefix("#/").split("/"):
                target = target[part]
            problems += schema_problems(instance, target, root, where)
        elif keyword == "type":
            names = value if isinstance(value, list) else [value]
            if not any(_TYPES[name](instance) for name in names):
                problems.append(f"{where}: expected {' or '.join(names)}, got {json.dumps(instance)[:80]}")
        elif keyword == "enum":
            if instance not in value:
                problems.append(f"{where}: {json.dumps(instance)[:80]} is not one of {value}")
        elif keyword == "const":
            if instance != value or type(instance) is not type(value):
                problems.append(f"{where}: expected {json.dumps(value)}, got {json.dumps(instance)[:80]}")
        elif keyword == "minimum":
            if _TYPES["number"](instance) and instance < value:
                problems.append(f"{where}: {instance} is less than {value}")
        elif keyword == "minItems":
            if isinstance(instance, list) and len(instance) < value:
                problems.append(f"{where}: fewer than {value} items")
        elif keyword == "required":
            if isinstance(instance, dict):
                problems += [f"{where}: missing {key!r}" for key in value if key not in instance]
        elif keyword == "properties":
            if isinstance(instance, dict):
                for key, sub in value.items():
                    if key in instance:
                        problems += schema_problems(instance[key], sub, root, f"{where}.{key}")
        elif keyword == "additionalProperties":
            if isinstance(instance, dict):
                known = schema.get("properties", {})
                for key, item in instance.items():
                    if key in known:
                        continue
                    if value is False:
                        problems.append(f"{where}: unexpected field {key!r}")
                    elif value is not True:
                        problems += schema_problems(item, value, root, f"{where}.{key}")
        elif keyword == "items":
            if isinstance(instance, list):
                for i, item in enumerate(instance):
                    problems += schema_problems(item, value, root, f"{where}[{i}]")
        elif keyword == "anyOf":
            attempts = [schema_problems(instance, sub, root, where) for sub in value]
            if all(attempts):
                problems.append(f"{where}: fits none of the alternatives ({'; '.join(a[0] for a in attempts)})")
        elif keyword == "allOf":
            for sub in value:
                problems += schema_problems(instance, sub, root, where)
        elif keyword == "if":
            branch = "then" if not schema_problems(instance, value, root, where) else "else"
            if branch in schema:
                problems += schema_problems(instance, schema[branch], root, where)
        elif keyword in ("then", "else"):
            continue  # applied by "if"
        else:
            raise SchemaError(f"schema_problems does not implement the keyword {keyword!r}")
    return problems


def main() -> int:
    """Print the schema (the committed docs/run-events.schema.json)."""
    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
