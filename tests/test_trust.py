"""Runs a user can trust (issue 10), against the local Messages API with the real SDK.

AI-judged decisions as forced tool calls with reasons and one corrective retry, every
failure kind at every kind of model call ending the run cleanly, the context each
call sees, thinking budgets, truncation warnings, and accounting that equals what the
fake server billed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from openprose.backends import BackendConfig, make_backend
from openprose.interpreter import RunEvent, RunResult, run_program

from .fake_messages_api import FakeMessagesAPI, Reply

SECRET = "sk-ant-test-trust-0123456789"
FAST = BackendConfig(retry_initial_delay=0.0, retry_max_delay=0.0, retry_jitter=0.0, max_attempts=2)
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


async def run(api: FakeMessagesAPI, tmp_path: Path, program: str, *, resume: str | None = None,
              config: BackendConfig = FAST, inputs: dict[str, str] | None = None) -> tuple[RunResult, list[RunEvent]]:
    path = tmp_path / "p.prose"
    path.write_text(program)
    backend = make_backend("anthropic", config=config, env={"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url})
    events: list[RunEvent] = []
    try:
        result = await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append,
                                   resume=resume, inputs=inputs)
    finally:
        await backend.aclose()
    return result, events


def decision_requests(api: FakeMessagesAPI, tool: str) -> list[Any]:
    return [r for r in api.requests if (r.body.get("tool_choice") or {}).get("name") == tool]


def state_lines(result: RunResult) -> list[str]:
    return (result.run_dir / "state.md").read_text().splitlines()


# --------------------------------------------------------------------------- decisions


async def test_condition_answered_in_prose_is_corrected_and_its_reason_shown(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    api.route("<correction>", Reply.tool({"answer": True, "reason": "the draft says it is final"}))
    api.route("<condition>", Reply.ok("Looking at the context, it seems so, yes"), times=1)
    result, events = await run(api, tmp_path, 'let d = session "Write a draft"\nif **the draft is final**:\n'
                                               '  session "Publish it"\n')
    assert result.status == "ok", result.error
    asked = decision_requests(api, "decide")
    assert len(asked) == 2
    assert "<correction>" not in asked[0].user_text and "<correction>" in asked[1].user_text
    assert "prose instead of YES/NO" in asked[1].user_text
    [cond] = [e for e in events if e.type == "condition"]
    assert (cond.answer, cond.reason) == ("yes", "the draft says it is final")
    assert cond.to_json()["reason"] == "the draft says it is final"
    assert any(line.endswith("condition:yes · the draft says it is final") for line in state_lines(result))
    assert any(e.type == "session.end" and e.prompt == "Publish it" for e in events)
    # Both judge calls count.
    assert result.usage["calls"]["condition"] == 2


async def test_choice_answered_with_markdown_is_corrected(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("<correction>", Reply.tool({"option": 2, "reason": "only minor issues"}))
    api.route("<options>", Reply.ok("I would choose **2**."), times=1)
    program = ('choice **the severity**:\n  option "Critical":\n    session "Fix now"\n'
               '  option "Minor":\n    session "Add to backlog"\n')
    result, events = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    ran = [e.prompt for e in events if e.type == "session.end"]
    assert ran == ["Add to backlog"]
    [choice] = [e for e in events if e.type == "choice"]
    assert (choice.answer, choice.reason) == ("Minor", "only minor issues")
    assert any("choice:Minor · only minor issues" in line for line in state_lines(result))


async def test_forced_tool_call_request_shape(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    result, _ = await run(fake_messages_api, tmp_path, 'if **it holds**:\n  session "x"\n')
    assert result.status == "ok", result.error
    [sent] = decision_requests(fake_messages_api, "decide")
    assert sent.body["tool_choice"] == {"type": "tool", "name": "decide"}
    assert sent.body["thinking"] == {"type": "disabled"}  # forced tool use cannot think; bounded and cheap
    assert sent.body["max_tokens"] >= 512  # room for the reason
    schema = sent.body["tools"][0]["input_schema"]
    assert schema["required"] == ["answer", "reason"] and schema["properties"]["answer"]["type"] == "boolean"


@pytest.mark.parametrize("kind", ["condition", "choice"])
async def test_empty_decision_is_a_located_error_that_try_catches(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path, kind: str
) -> None:
    api = fake_messages_api
    api.route('"tool_choice"', Reply.ok(""))  # every decision request: an empty reply
    decision = ('if **ready**:\n      session "Ship"' if kind == "condition"
                else 'choice **which**:\n      option "A":\n        session "a"\n      option "B":\n        session "b"')
    program = f'try:\n  do:\n    {decision}\ncatch as err:\n  session "Recover from {{err}}"\n'
    result, events = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    recovered = [e.prompt for e in events if e.type == "session.end"]
    assert len(recovered) == 1 and recovered[0].startswith("Recover from could not read")
    assert "after 2 attempts: the reply was empty" in recovered[0]


async def test_http_400_on_a_condition_fails_cleanly_and_is_resumable(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    api.route("<condition>", Reply.error(400, "messages: bad request"), times=1)
    program = 'let a = session "Step one"\nif **step one worked**:\n  session "Step two"\noutput a = a\n'
    result, events = await run(api, tmp_path, program)
    assert result.status == "failed"
    assert "Anthropic API error 400" in (result.error or "")
    assert result.error_span is not None and result.error_span.start_row == 1  # the `if` line
    ends = [e for e in events if e.type == "run.end"]
    assert len(ends) == 1 and ends[0].status == "failed"
    assert state_lines(result)[-1].startswith("---error")
    # Resume: step one is not run again; the condition is asked again and succeeds.
    def step_one_sessions() -> int:
        return len([r for r in api.requests if "Step one" in r.raw and '"tool_choice"' not in r.raw])

    before = step_one_sessions()
    resumed, events = await run(api, tmp_path, program, resume=result.run_id)
    assert resumed.status == "ok", resumed.error
    assert step_one_sessions() == before == 1
    assert [e.prompt for e in events if e.type == "session.end"] == ["Step two"]


# ----------------------------------------------------------------- every failure at every call

FAULTS = ["http4xx", "http5xx", "empty", "malformed", "truncated", "cancelled"]
KINDS = ["session", "condition", "choice", "tool turn"]


def _fault(kind: str, fault: str) -> Reply:
    decision = kind in ("condition", "choice")
    if fault == "http4xx":
        return Reply.error(400, "invalid request")
    if fault == "http5xx":
        return Reply.error(500, "internal error")
    if fault == "empty":
        return Reply.ok("")
    if fault == "malformed":
        if decision:
            return Reply.tool({"answer": "maybe"} if kind == "condition" else {"option": "seven"})
        return Reply(text="a reply whose stream breaks", corrupt="bad-json")
    if fault == "truncated":
        return Reply.ok("The answer is cut o", stop="max_tokens")
    return Reply.ok("late", delay=30)  # cancelled: the run is stopped while waiting


_PROGRAMS = {
    "session": 'let a = session "Start"\nlet b = session "Faulty step"\noutput b = b\n',
    "condition": 'let a = session "Start"\nif **faulty check**:\n  session "After"\noutput a = a\n',
    "choice": ('let a = session "Start"\nchoice **faulty pick**:\n  option "One":\n    session "After"\n'
               '  option "Two":\n    session "Other"\noutput a = a\n'),
    "tool turn": 'let a = session "Start"\nlet b = session "Faulty step: look around"\noutput b = b\n',
}
_ROUTE = {"session": "Faulty step", "condition": "faulty check", "choice": "faulty pick", "tool turn": '"tool_result"'}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_every_failure_kind_at_every_call_ends_the_run_cleanly(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path, kind: str, fault: str
) -> None:
    api = fake_messages_api
    api.route(_ROUTE[kind], _fault(kind, fault))
    if kind == "tool turn":  # the first turn asks for a tool; the turn after the tool result gets the fault
        api.route("Faulty step", Reply.tools(("glob", {"pattern": "*.prose"})))
    program = _PROGRAMS[kind]
    events: list[RunEvent] = []
    path = tmp_path / "p.prose"
    path.write_text(program)
    backend = make_backend("anthropic", config=FAST, env={"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url})
    result: RunResult | None = None
    with trio.move_on_after(1.5 if fault == "cancelled" else 30) as scope:
        try:
            result = await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append)
        finally:
            await backend.aclose()
    ends = [e for e in events if e.type == "run.end"]
    assert len(ends) == 1, [e.type for e in events]
    run_dir = Path(ends[0].run_dir or "")
    last = (run_dir / "state.md").read_text().splitlines()[-1]
    assert last.startswith(("---end", "---error")), last  # state.md is closed
    line_of = {"session": 1, "tool turn": 1, "condition": 1, "choice": 1}[kind]
    if fault == "cancelled":
        assert scope.cancelled_caught and result is None
        assert ends[0].status == "cancelled"
    elif kind in ("session", "tool turn") and fault in ("empty", "truncated"):
        assert result is not None and result.status == "ok", result.error
        code = "EMPTY" if fault == "empty" else "TRUNCATED"
        assert any(e.type == "warning" and e.code == code for e in events)
    else:
        assert result is not None and result.status == "failed"
        assert result.error and "Traceback" not in result.error
        assert result.error_span is not None and result.error_span.start_row == line_of
    # Whatever happened, the run can be resumed and finishes once the fault is gone.
    api._routes.clear()
    resumed, _ = await run(api, tmp_path, program, resume=run_dir.name)
    assert resumed.status == "ok", resumed.error


_FAILING = [(k, f) for k in KINDS for f in FAULTS
            if f != "cancelled" and not (k in ("session", "tool turn") and f in ("empty", "truncated"))]


@pytest.mark.parametrize(("kind", "fault"), _FAILING)
async def test_every_failure_is_caught_by_try_catch(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path, kind: str, fault: str
) -> None:
    api = fake_messages_api
    api.route(_ROUTE[kind], _fault(kind, fault))
    if kind == "tool turn":
        api.route("Faulty step", Reply.tools(("glob", {"pattern": "*.prose"})))
    body = "\n".join("  " + line for line in _PROGRAMS[kind].splitlines() if not line.startswith("output"))
    program = f"try:\n{body}\ncatch as err:\n  session \"Handle the problem\"\n"
    result, events = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    assert [e.prompt for e in events if e.type == "session.end"][-1] == "Handle the problem"
    assert len([e for e in events if e.type == "run.end"]) == 1


# --------------------------------------------------------------------------- context


async def test_judge_sees_the_loop_bodys_latest_output(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Improve the essay", Reply.ok("ESSAY-VERSION-1"), times=1)
    api.route("Improve the essay", Reply.ok("ESSAY-VERSION-2"), times=1)
    api.route("<condition>", Reply.tool({"answer": False, "reason": "not yet"}), times=1)
    program = 'loop until **the essay is polished** (max: 3):\n  session "Improve the essay"\n'
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    judged = decision_requests(api, "decide")
    assert len(judged) == 3  # checked before each of the 2 iterations that ran, and once more
    assert "ESSAY-VERSION" not in judged[0].user_text
    assert "ESSAY-VERSION-1" in judged[1].user_text
    assert "ESSAY-VERSION-2" in judged[2].user_text
    # ... with a reference to where the whole value is stored.
    assert ".prose/runs/" in judged[2].user_text and "/bindings/" in judged[2].user_text


async def test_judge_context_is_bounded_with_the_rest_by_reference(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    api.route("Write a long report", Reply.ok("R" * 50_000))
    program = ('let report = session "Write a long report"\nlet notes = "short notes"\n'
               'if **the report is complete**:\n  session "x"\n')
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    [judged] = decision_requests(api, "decide")
    assert len(judged.user_text) < 30_000
    assert "shortened; the whole value is in .prose/runs/" in judged.user_text
    assert 'name="notes" file=".prose/runs/' in judged.user_text  # not named: by reference only


async def test_arrow_passes_the_output_on(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Plan the task", Reply.ok("PLAN-42"))
    result, _ = await run(api, tmp_path, 'session "Plan the task" -> session "Execute the plan" -> session "Review"\n')
    assert result.status == "ok", result.error
    execute = next(r for r in api.requests if "Execute the plan" in r.user_text)
    assert '<context name="previous"' in execute.user_text and "PLAN-42" in execute.user_text


async def test_implicit_context_and_fresh_start(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Write a first draft", Reply.ok("DRAFT-TEXT"))
    program = ('session "Write a first draft of the README"\n'
               'session "Review the README draft you just wrote"\n'
               'session "Start over on an unrelated topic"\n  context: []\n')
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    review = next(r for r in api.requests if "Review the README" in r.user_text)
    assert "DRAFT-TEXT" in review.user_text
    fresh = next(r for r in api.requests if "unrelated topic" in r.user_text)
    assert fresh.user_text == "Start over on an unrelated topic"


# ------------------------------------------------------------------------ thinking, truncation


async def test_thinking_is_explicit_per_call_kind_and_max_tokens_per_agent(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    program = ('agent writer:\n  max_tokens: 40000\n  effort: high\n  prompt: "You write"\n'
               'session: writer\n  prompt: "Write a book"\nsession "Say hi"\n  effort: none\nsession "Default"\n')
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    book = next(r for r in api.requests if "Write a book" in r.user_text)
    assert book.body["max_tokens"] == 40000
    assert book.body["thinking"] == {"type": "enabled", "budget_tokens": 16384}  # half or less: room for the answer
    hi = next(r for r in api.requests if "Say hi" in r.user_text)
    assert hi.body["thinking"] == {"type": "disabled"}
    default = next(r for r in api.requests if "<task>\nDefault" in r.user_text or r.user_text == "Default")
    assert default.body["thinking"]["budget_tokens"] < default.body["max_tokens"] // 2 + 1


async def test_effort_from_the_command_line(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    program = tmp_path / "p.prose"
    program.write_text('session "Think about it"\n')
    env = {**os.environ, "ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": fake_messages_api.base_url}
    proc = subprocess.run([sys.executable, "-m", "prose_cli", "run", "--json", "--backend", "anthropic",
                           "--effort", "medium", str(program)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    [sent] = fake_messages_api.requests
    assert sent.body["thinking"] == {"type": "enabled", "budget_tokens": 4096}


async def test_output_cut_at_max_tokens_is_a_warning_and_a_marker(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    api.route("Write everything", Reply.ok("A long text that stops mid", stop="max_tokens"))
    result, events = await run(api, tmp_path, 'let text = session "Write everything"\noutput text = text\n')
    assert result.status == "ok"
    [warning] = [e for e in events if e.type == "warning" and e.code == "TRUNCATED"]
    assert "max_tokens" in (warning.error or "") and warning.span is not None
    [end] = [e for e in events if e.type == "session.end"]
    assert end.truncated is True and end.to_json()["truncated"] is True
    binding = (result.run_dir / "bindings" / "text.md").read_text()
    assert "note: truncated" in binding.split("---")[0]
    assert any("truncated(max_tokens) text" in line for line in state_lines(result))


# --------------------------------------------------------------------------- accounting


def _assert_matches_bill(usage: dict[str, Any], api: FakeMessagesAPI) -> None:
    bill = api.tally()
    total = bill["total"]
    for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert usage[key] == total[key], key
    assert usage["calls"]["total"] == total["calls"]
    for model, row in bill.items():
        if model == "total":
            continue
        mine = usage["by_model"][model]
        assert {k: mine[k] for k in row if k != "calls"} == {k: v for k, v in row.items() if k != "calls"}
        assert sum(mine["calls"].values()) == row["calls"]


async def test_accounting_equals_what_the_server_billed(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("<correction>", Reply.tool({"answer": True, "reason": "fine"}, input_tokens=31, output_tokens=9))
    api.route("<condition>", Reply.ok("hmm, hard to say", input_tokens=30, output_tokens=8), times=1)
    api.route('"tool_result"', Reply.ok("looked around", input_tokens=50, output_tokens=6))
    api.route("Look around", Reply.tools(("glob", {"pattern": "*"}), input_tokens=40, output_tokens=12))
    api.route("<options>", Reply.tool({"option": 1, "reason": "first"}, input_tokens=22, output_tokens=7))
    api.route("Quick", Reply.ok("q", input_tokens=11, output_tokens=3, model="claude-haiku-5-5"))
    program = ('agent fast:\n  model: haiku\nlet seen = session "Look around"\nsession: fast\n  prompt: "Quick"\n'
               'if **it looks fine**:\n  choice **what next**:\n    option "Ship":\n      session "Ship it"\n'
               '    option "Wait":\n      session "Wait"\n')
    result, events = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    _assert_matches_bill(result.usage, api)
    calls = result.usage["calls"]
    assert (calls["session"], calls["tool_turn"], calls["condition"], calls["choice"]) == (3, 1, 2, 1)
    assert set(result.usage["by_model"]) == {"claude-sonnet-5-5", "claude-haiku-5-5"}
    assert isinstance(result.usage["cost_usd"], float) and result.usage["cost_usd"] > 0
    # Running totals ride on the events, ending at the run's totals.
    totals = [e.totals for e in events if e.totals is not None]
    assert totals and totals[-1]["calls"]["total"] == calls["total"]
    assert [t["calls"]["total"] for t in totals] == sorted(t["calls"]["total"] for t in totals)


async def test_agent_prompt_is_cached_and_savings_show(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    long_prompt = "You are a careful reviewer. " * 300  # well over the cacheable minimum
    program = (f'agent reviewer:\n  prompt: "{long_prompt}"\n'
               'session: reviewer\n  prompt: "Review part one"\nsession: reviewer\n  prompt: "Review part two"\n')
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    first, second = (r for r in api.requests if "Review part" in r.user_text)
    assert first.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    usage = result.usage
    assert usage["cache_write_tokens"] > 0 and usage["cache_read_tokens"] > 0
    assert usage["cache_savings_usd"] > 0
    _assert_matches_bill(usage, api)


def test_corpus_program_with_loops_and_choices_matches_the_bill(fake_messages_api: FakeMessagesAPI,
                                                                tmp_path: Path) -> None:
    api = fake_messages_api
    api.auto_answer = False  # conditions say no, so `loop until` runs to its max: many decisions
    program = CORPUS / "36-bug-hunter.prose"
    env = {**os.environ, "ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url}
    proc = subprocess.run(
        [sys.executable, "-m", "prose_cli", "run", "--json", "--backend", "anthropic",
         "--input", "bug_report=Saving a file twice crashes the editor", str(program)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    end = events[-1]
    assert end["type"] == "run.end" and end["status"] == "ok"
    usage = end["usage"]
    _assert_matches_bill(usage, api)
    assert usage["calls"]["condition"] > 0 and usage["calls"]["session"] > 0
    assert {e["type"] for e in events} >= {"condition", "session.end"}
    # The static estimate brackets what happened.
    est = subprocess.run([sys.executable, "-m", "prose_cli", "run", "--estimate", "--json", str(program)],
                         capture_output=True, text=True, timeout=60)
    bounds = json.loads(est.stdout)["calls"]
    assert bounds["min"] <= usage["calls"]["total"] <= (bounds["max"] or 10**9)


async def test_session_sees_the_bindings_its_prompt_names(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Write the draft", Reply.ok("DRAFT-X"))
    for step in ("<task>\none", "<task>\ntwo", "<task>\nthree", "<task>\nPolish"):
        api.route(json.dumps(step)[1:-1], Reply.ok("done"))
    program = ('let draft = session "Write the draft"\nsession "one"\nsession "two"\nsession "three"\n'
               'session "Polish the draft"\nsession "Show {draft} to the team"\n')
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    polish = next(r for r in api.requests if "Polish the draft" in r.user_text)
    assert '<context name="draft"' in polish.user_text and "DRAFT-X" in polish.user_text
    show = next(r for r in api.requests if "to the team" in r.user_text)
    assert '<context name="draft"' not in show.user_text and show.user_text.count("DRAFT-X") == 1


async def test_long_shared_context_is_cached(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Gather the facts", Reply.ok("fact. " * 1500))
    program = ('let facts = session "Gather the facts"\nsession "Summarise them"\n  context: facts\n'
               'session "List open questions"\n  context: facts\n')
    result, _ = await run(api, tmp_path, program)
    assert result.status == "ok", result.error
    summarise, questions = (r for r in api.requests if "<task>" in r.user_text)
    for sent in (summarise, questions):
        head = sent.body["messages"][0]["content"][0]
        assert head["cache_control"] == {"type": "ephemeral"} and head["text"].startswith('<context name="facts">')
    assert result.usage["cache_read_tokens"] >= len("fact. " * 1500) // 4
    _assert_matches_bill(result.usage, api)


async def test_unnamed_outputs_are_labelled_without_breaking_the_section(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    api.route("Write the intro", Reply.ok("INTRO"))
    result, _ = await run(api, tmp_path, 'session "Write the \\"intro\\""\nsession "Continue"\n')
    assert result.status == "ok", result.error
    cont = next(r for r in api.requests if "<task>\nContinue" in r.user_text)
    assert "<context name=\"output of session: Write the 'intro'\" file=\".prose/runs/" in cont.user_text
