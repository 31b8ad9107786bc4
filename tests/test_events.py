"""The run-event schema: its definition, the committed JSON Schema, real runs against it, and the recorded stream.

Every consumer of run events (the terminal tree, `--json`, the language server, the
VS Code and Neovim run views) is tested against tests/fixtures/run_events.jsonl, a
stream recorded from a real scripted run; this file checks that the stream is still
what the runtime sends, that the events of many real runs fit the typed definition
in openprose/events.py, and replays the stream through the Python views.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import trio
from rich.console import Console

from openprose.backends.scripted import ScriptedBackend, load_script, parse_script
from openprose.events import EVENTS, EventType, RunEvent, RunStatus, ToolStatus, json_schema, schema_problems
from openprose.interpreter import RunOptions, run_program
from prose_cli.progress import RunView, plain_line

from .fixtures import run_events as recording

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "docs" / "run-events.schema.json"
EXAMPLES = REPO / "examples"
REGENERATE = "python -m openprose.events > docs/run-events.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fixture_events() -> list[dict[str, Any]]:
    return recording.load_fixture()


# ------------------------------------------------------------------ the definition and the schema


def test_committed_schema_is_generated_from_the_definition(schema: dict[str, Any]) -> None:
    assert schema == json_schema(), f"docs/run-events.schema.json is stale: regenerate it with `{REGENERATE}`"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def test_every_event_type_has_a_definition_and_a_schema(schema: dict[str, Any]) -> None:
    assert set(EVENTS) == set(EventType)
    assert schema["$defs"]["EventType"]["enum"] == [kind.value for kind in EventType]
    assert schema["$defs"]["RunStatus"]["enum"] == ["ok", "failed", "cancelled"]
    assert schema["$defs"]["ToolStatus"]["enum"] == ["ok", "error", "denied", "cancelled"]
    for kind in EventType:
        assert schema["$defs"][kind.value]["properties"]["type"] == {"const": kind.value}


def test_run_events_take_their_types_from_the_enums() -> None:
    event = RunEvent("tool.end", 1.0, status="denied", session="s1", tool="bash", summary="ls", duration=0.0)
    assert event.type is EventType.TOOL_END and event.type == "tool.end"
    assert event.status is ToolStatus.DENIED
    assert RunEvent(EventType.BRANCH_END, 0.0, status="cancelled", path=("p", "a")).status is RunStatus.CANCELLED
    wire = event.to_json()
    assert type(wire["type"]) is str and type(wire["status"]) is str  # plain strings on the wire
    with pytest.raises(ValueError):
        RunEvent("session.begin", 0.0)
    with pytest.raises(ValueError):
        RunEvent("session.end", 0.0, status="denied")  # a tool status is not a session's


def test_the_validator_rejects_what_the_schema_forbids(schema: dict[str, Any]) -> None:
    good = {"type": "tool.end", "t": 0.5, "prompt": None, "binding": None, "status": "denied", "error": "no",
            "session": "s1", "tool": "write", "summary": "x", "duration": 0.0, "rule": "write: []"}
    assert schema_problems(good, schema) == []
    bad = {
        "unknown kind": {**good, "type": "tool.finish"},
        "missing field": {k: v for k, v in good.items() if k != "session"},
        "a run status on a tool": {**good, "status": "failed"},
        "an unknown field": {**good, "colour": "red"},
        "a wrong type": {**good, "duration": "fast"},
        "a negative time": {**good, "t": -1},
        "a field of another kind": {**good, "prompt": "hello"},
        "an empty path": {**good, "path": []},
    }
    for what, event in bad.items():
        assert schema_problems(event, schema), f"{what} was accepted"
    condition = {"type": "condition", "t": 1, "prompt": "ok?", "binding": None, "status": None, "error": None,
                 "line": 1, "column": 1, "answer": "maybe", "usage": {}, "totals": {}}
    found = " ".join(schema_problems(condition, schema))
    assert "'yes', 'no'" in found and "missing 'input_tokens'" in found


# ------------------------------------------------------------------ real runs against the schema

TOOLS = '''agent worker:
  permissions:
    read: allow
    write: ["out/"]
    bash: allow
let made = session: worker
  prompt: "Make the files"
output made = made
'''
TOOLS_SCRIPT = {"sessions": [{"match": "Make the files", "output": "made", "tools": [
    {"tool": "write", "input": {"file_path": "out/a.txt", "content": "a"}},
    {"tool": "glob", "input": {"pattern": "out/*"}},
    {"tool": "grep", "input": {"pattern": "a", "path": "out"}},
    {"tool": "edit", "input": {"file_path": "out/a.txt", "old_string": "a", "new_string": "b"}},
    {"tool": "bash", "input": {"command": "cat out/a.txt"}},
    {"tool": "write", "input": {"file_path": "elsewhere.txt", "content": "x"}},
    {"tool": "read", "input": {"file_path": "no-such-file"}},
    {"tool": "fly", "input": {"to": "the moon"}}]}]}

RACES = '''let fastest = parallel (first):
  a = session "Fast one"
  b = session "Slow one"
let some = parallel (any):
  session "Broken one"
  session "Working one"
let all = parallel (on-fail: "continue"):
  x = session "Broken two"
  y = session "Fine two"
output fastest = fastest
'''
RACES_SCRIPT = {"sessions": [{"match": "Fast", "delay": 0.01, "output": "fast"},
                             {"match": "Slow", "delay": 3, "output": "slow"},
                             {"match": "Broken", "fail": "it broke"}]}

CONTROL = '''input who: "Who is it for?"
let n = 0
loop until **the text is done** (max: 5) as i:
  session "Revise {i} for {who}"
choice **the tone**:
  option "Formal":
    session "Write formally"
  option "Casual":
    session "Write casually"
try:
  let x = session "Unreliable"
    retry: 1
catch as err:
  session "Explain {err}"
if **the reader is an expert**:
  session "Add details"
session "Silent"
output done = session "Finish"
'''
CONTROL_SCRIPT = {"sessions": [{"match": "Unreliable", "fail": "timed out"}, {"match": "Silent", "output": ""}],
                  "conditions": [{"match": "text is done", "answers": [False, False, True]},
                                 {"match": "expert", "answers": [True]}],
                  "choices": [{"match": "tone", "option": "Casual"}]}

FAILS = 'session "Fine"\nthrow "the program gave up"\n'

CANCELLED = '''agent runner:
  permissions:
    bash: allow
parallel:
  a = session: runner
    prompt: "Run a long command"
  b = session "Wait a long time"
'''
CANCELLED_SCRIPT = {"sessions": [{"match": "long command", "tools": [{"tool": "bash", "input": {"command": "sleep 30"}}],
                                  "output": "never"},
                                 {"match": "long time", "delay": 30, "output": "never"}]}


async def _run(tmp_path: Path, program: str, script: dict[str, Any], *, cancel_after: float | None = None,
               inputs: dict[str, str] | None = None) -> list[RunEvent]:
    tmp_path.mkdir(parents=True)
    path = tmp_path / "main.prose"
    path.write_text(program)
    script.setdefault("default", {"output": "ok"})
    events: list[RunEvent] = []

    async def ask_input(name: str, question: str) -> str:
        return f"an answer for {name}"

    with trio.move_on_after(cancel_after if cancel_after is not None else 120):
        await run_program(program.encode(), path, backend=ScriptedBackend(parse_script(json.dumps(script), "s")),
                          workdir=tmp_path, on_event=events.append, ask_input=ask_input, inputs=inputs,
                          options=RunOptions(retry_base_delay=0.0))
    return events


def _example_runs() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.prose") if (EXAMPLES / "scripts" / f"{p.stem}.json").is_file())


async def _run_example(tmp_path: Path, program: Path) -> list[RunEvent]:
    work = tmp_path / program.stem
    shutil.copytree(EXAMPLES, work)
    events: list[RunEvent] = []

    async def ask_input(name: str, question: str) -> str:
        return "owls"

    backend = ScriptedBackend(load_script(work / "scripts" / f"{program.stem}.json"))
    await run_program((work / program.name).read_bytes(), work / program.name, backend=backend, workdir=work,
                      on_event=events.append, ask_input=ask_input, options=RunOptions(retry_base_delay=0.0))
    return events


async def test_events_of_real_runs_fit_the_schema_and_cover_every_kind(
        tmp_path: Path, schema: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    runs: dict[str, list[RunEvent]] = {
        "tools": await _run(tmp_path / "tools", TOOLS, TOOLS_SCRIPT),
        "races": await _run(tmp_path / "races", RACES, RACES_SCRIPT),
        "control": await _run(tmp_path / "control", CONTROL, CONTROL_SCRIPT),
        "fails": await _run(tmp_path / "fails", FAILS, {}),
        "cancelled": await _run(tmp_path / "cancelled", CANCELLED, CANCELLED_SCRIPT, cancel_after=1.5),
    }
    # Without a price table there is no cost estimate: the run says so and its costs are null.
    monkeypatch.setenv("OPENPROSE_PRICES", str(tmp_path / "no-prices.json"))
    runs["no prices"] = await _run(tmp_path / "no-prices", 'output x = session "Hello"\n', {})
    monkeypatch.delenv("OPENPROSE_PRICES")
    for program in _example_runs():
        runs[f"examples/{program.name}"] = await _run_example(tmp_path / "examples", program)
    assert len(runs) > 10

    kinds: set[str] = set()
    statuses: dict[str, set[str]] = {"tool": set(), "run": set()}
    for name, events in runs.items():
        assert events and events[0].type == "run.start" and events[-1].type == "run.end", name
        for event in events:
            wire = event.to_json()
            assert schema_problems(wire, schema) == [], (name, wire)
            assert RunEvent.from_json(wire).to_json() == wire, (name, wire)  # what the replays rely on
            kinds.add(event.type)
            if event.status is not None:
                statuses["tool" if event.type.startswith("tool.") else "run"].add(event.status)
    assert kinds == set(EventType), f"never emitted: {set(EventType) - kinds}"
    assert statuses == {"tool": set(ToolStatus), "run": set(RunStatus)}

    run_end = {name: events[-1] for name, events in runs.items()}
    assert run_end["fails"].status == "failed" and run_end["fails"].span is not None
    assert run_end["cancelled"].status == "cancelled"
    assert any(e.type == "tool.end" and e.status == "cancelled" for e in runs["cancelled"])
    warning = next(e for e in runs["no prices"] if e.type == "warning")
    assert warning.code == "PRICES" and run_end["no prices"].usage["cost_usd"] is None
    denied = next(e for e in runs["tools"] if e.type == "tool.end" and e.status == "denied")
    assert denied.rule == "write: ['out/']" and denied.summary == "elsewhere.txt"


# ------------------------------------------------------------------ the recorded stream


def test_the_fixture_is_still_what_a_fresh_run_records(fixture_events: list[dict[str, Any]]) -> None:
    fresh = recording.record_normalized()
    assert recording.lanes(fresh) == recording.lanes(fixture_events), (
        "tests/fixtures/run_events.jsonl no longer matches a fresh recording; "
        "re-record it with `.venv/bin/python -m tests.fixtures.run_events --write` and review the diff")


def test_the_fixture_fits_the_schema_and_has_every_kind(fixture_events: list[dict[str, Any]],
                                                       schema: dict[str, Any]) -> None:
    for event in fixture_events:
        assert schema_problems(event, schema) == [], event
    assert {event["type"] for event in fixture_events} == set(EventType)
    assert {e["status"] for e in fixture_events if e["type"] == "tool.end"} == {"ok", "error", "denied"}
    assert {e["status"] for e in fixture_events if e["type"] == "branch.end"} == {"ok", "cancelled"}
    assert {e["status"] for e in fixture_events if e["type"] == "session.end"} == {"ok", "failed", "cancelled"}


def _events(fixture_events: list[dict[str, Any]]) -> list[RunEvent]:
    return [RunEvent.from_json(event) for event in fixture_events]


def test_the_terminal_tree_shows_every_event_of_the_fixture(fixture_events: list[dict[str, Any]]) -> None:
    view = RunView("run_events.prose", max_finished=50)
    console = Console(record=True, width=200, color_system=None)
    for event in _events(fixture_events):
        view.feed(event)
    console.print(view.render())
    screen = console.export_text()
    lines = screen.splitlines()

    def line_with(*parts: str) -> str:
        found = [line for line in lines if all(part in line for part in parts)]
        assert found, f"no line with {parts} in:\n{screen}"
        return found[0]

    assert "run_events.prose" in lines[0] and recording.WORKDIR in lines[0]
    assert "✓" in line_with("plan = Plan the work on the tests", "(builder)")
    assert "✓" in line_with("write", "notes/plan.md")
    assert "✓" in line_with("read", "notes/plan.md")
    assert "✗" in line_with("read", "missing.txt", "no such file")
    assert "⊘" in line_with("write", "secret.txt", "write: ['notes/']")
    assert "✓" in line_with("quick = Write a quick draft")
    assert "⊘" in line_with("slow = Write a slow draft", "cancelled")
    assert "✗" in line_with("Run the flaky step", "the step broke")
    assert "✓" in line_with("Recover from the step broke")
    assert "checked 2×: no, yes" in line_with("**the draft is good** → yes", "good after one more pass")
    assert "the draft is early" in line_with("choice **which reviewer fits the draft** → Gentle")
    assert "✓" in line_with("Review gently")
    assert "✓" in line_with("result = Summarize")
    assert 'warning: session "Say nothing" returned no text' in screen
    assert "7 sessions done" in screen and "4 tool calls, 1 denied" in screen
    assert "run ok in" in screen and "run directory: " + recording.WORKDIR in screen
    assert "output result" in screen and "the plan, drafted and reviewed" in screen


def test_plain_progress_lines_of_the_fixture(fixture_events: list[dict[str, Any]]) -> None:
    lines = [line for line in map(plain_line, _events(fixture_events)) if line is not None]
    text = "\n".join(lines)
    wanted = [
        "tool write ok: notes/plan.md",
        "tool read ok: notes/plan.md",
        "tool read error: missing.txt",
        "tool write denied (write: ['notes/']): secret.txt",
        "ok        plan = Plan the work on the tests",
        "ok        quick = Write a quick draft  (L14 parallel / quick)",
        "cancelled slow = Write a slow draft  (L14 parallel / slow)",
        "branch L14 parallel / slow cancelled",
        "failed    Run the flaky step: the step broke",
        "condition **the draft is good** -> no",
        "condition **the draft is good** -> yes",
        "choice **which reviewer fits the draft** -> Gentle",
        'warning: session "Say nothing" returned no text',
        "ok        result = Summarize",
    ]
    position = -1
    for part in wanted:  # each once, in the order of the run (the slow branch ends after the quick one)
        index = next((i for i, line in enumerate(lines) if part in line), None)
        assert index is not None, f"no line with {part!r}:\n{text}"
        assert index > position or part.startswith("branch"), f"{part!r} out of order:\n{text}"
        position = max(position, index)
    session_ends = sum(1 for e in fixture_events if e["type"] == "session.end")
    tool_ends = sum(1 for e in fixture_events if e["type"] == "tool.end")
    assert sum(1 for line in lines if "  tool " in line) == tool_ends
    assert len(lines) == session_ends + tool_ends + 2 + 1 + 1 + 1  # conditions, choice, warning, a cancelled branch


class _Protocol:
    """What the run manager talks to: the notifications and progress reports it sends, recorded."""

    def __init__(self) -> None:
        self.notified: list[tuple[str, Any]] = []
        self.progress = self
        self.reports: list[str] = []

    def notify(self, method: str, params: Any) -> None:
        self.notified.append((method, params))

    def report(self, token: str, value: Any) -> None:
        self.reports.append(value.message)


def test_the_server_forwards_every_event_of_the_fixture(fixture_events: list[dict[str, Any]],
                                                       schema: dict[str, Any]) -> None:
    from openprose_lsp.documents import Document
    from openprose_lsp.run import RUN_EVENT, ActiveRun, RunManager

    protocol = _Protocol()
    manager = RunManager(protocol, publish=lambda doc: None, show=lambda kind, message: None)
    doc = Document("file:///tmp/openprose-fixture/run_events.prose", 1, recording.PROGRAM.read_bytes())
    run = ActiveRun("run-1", doc.uri, doc, doc.generation, progress_token="t", progress_ready=True)
    ended = [manager.forward(run, event) for event in _events(fixture_events)]
    assert ended == [event["type"] == "run.end" for event in fixture_events]
    assert [method for method, _ in protocol.notified] == [RUN_EVENT] * len(fixture_events)
    sent = [params for _, params in protocol.notified]
    assert all(params["uri"] == doc.uri and params["runId"] == "run-1" for params in sent)
    assert [params["event"] for params in sent] == fixture_events  # the wire form, field for field
    progress = "\n".join(protocol.reports)
    for expected in ("running: plan", "ok: plan (1 session done)", "running: write: notes/plan.md",
                     "running: read: missing.txt", "running: slow", "cancelled: slow", "failed: Run the flaky step",
                     "ok: result (9 sessions done)"):  # every session.end counts, as before
        assert expected in progress, f"{expected!r} not in the progress messages:\n{progress}"
    assert run.sessions_done == sum(1 for e in fixture_events if e["type"] == "session.end")


def test_the_servers_own_run_end_fits_the_schema(schema: dict[str, Any]) -> None:
    from openprose_lsp.run import _run_end

    for status in RunStatus:
        assert schema_problems(_run_end(status, "why"), schema) == []
