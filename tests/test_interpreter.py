"""The interpreter, driven by the scripted backend under trio's autojump clock.

Scripted delays run in virtual time, so "`first` returns right after the
fastest branch" is asserted exactly rather than with sleeps and slack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio.testing

from openprose.backends.base import ContextItem, SessionRequest, SessionResult
from openprose.backends.scripted import ScriptedBackend, parse_script
from openprose.interpreter import ProgramNotRunnable, RunEvent, RunOptions, RunResult, run_program


@dataclass
class Recorder:
    """Wraps a backend and keeps every request, so tests can see prompts and context."""

    inner: ScriptedBackend
    requests: list[SessionRequest] = field(default_factory=list)
    name: str = "recorder"

    async def run_session(self, request: SessionRequest) -> SessionResult:
        self.requests.append(request)
        return await self.inner.run_session(request)

    async def judge(self, condition: str, context: tuple[ContextItem, ...]) -> bool:
        return await self.inner.judge(condition, context)

    async def choose(self, criteria: str, options: tuple[str, ...], context: tuple[ContextItem, ...]) -> int:
        return await self.inner.choose(criteria, options, context)

    async def aclose(self) -> None:
        return None


def scripted(**script: object) -> Recorder:
    script.setdefault("default", {"delay": 0, "output": "ok"})
    return Recorder(ScriptedBackend(parse_script(json.dumps(script), "test-script")))


async def run(
    tmp_path: Path, program: str, backend: Recorder, *, inputs: dict[str, str] | None = None, resume: str | None = None,
    name: str = "main.prose",
) -> tuple[RunResult, list[RunEvent]]:
    path = tmp_path / name
    path.write_text(program)
    events: list[RunEvent] = []
    result = await run_program(
        program.encode(), path, backend=backend, inputs=inputs or {}, workdir=tmp_path, on_event=events.append,
        resume=resume, options=RunOptions(retry_base_delay=1.0),
    )
    return result, events


def session_ends(events: list[RunEvent]) -> dict[str, tuple[str, float]]:
    return {e.prompt: (e.status, e.t) for e in events if e.type == "session.end" and e.prompt}


def binding_text(result: RunResult, name: str) -> str | None:
    path = result.run_dir / "bindings" / f"{name}.md"
    return path.read_text() if path.exists() else None


THREE = '''parallel {mods}:
  a = session "A"
  b = session "B"
  c = session "C"
let r = session "after"
  context: {{ a, b, c }}
output r = r
'''


def three(mods: str) -> str:
    return THREE.format(mods=mods)


# ------------------------------------------------------------ strategies


async def test_all_waits_for_every_branch(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "output": "a!"},
        {"match": "B", "delay": 0.3, "output": "b!"},
        {"match": "C", "delay": 0.2, "output": "c!"},
    ])
    result, events = await run(tmp_path, three(""), backend)
    ends = session_ends(events)
    assert result.status == "ok"
    assert {k: v[0] for k, v in ends.items()} == {"A": "ok", "B": "ok", "C": "ok", "after": "ok"}
    assert ends["after"][1] == pytest.approx(0.3, abs=0.01)
    assert [c.name for c in backend.requests[-1].context] == ["a", "b", "c"]


async def test_first_returns_after_fastest_and_cancels_the_rest(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.5, "output": "a!"},
        {"match": "B", "delay": 0.1, "output": "b!"},
        {"match": "C", "delay": 0.9, "output": "c!"},
    ])
    program = 'let w = parallel (first):\n  a = session "A"\n  b = session "B"\n  c = session "C"\noutput w = w\n'
    result, events = await run(tmp_path, program, backend)
    ends = session_ends(events)
    assert result.status == "ok"
    assert ends["B"] == ("ok", pytest.approx(0.1, abs=0.01))
    assert ends["A"][0] == "cancelled" and ends["C"][0] == "cancelled"
    assert ends["A"][1] == pytest.approx(0.1, abs=0.01)
    assert result.outputs == {"w": "b!"}
    assert binding_text(result, "b") is not None
    assert binding_text(result, "a") is None and binding_text(result, "c") is None
    branch_status = {e.path[-1]: e.status for e in events if e.type == "branch.end"}
    assert branch_status == {"a": "cancelled", "b": "ok", "c": "cancelled"}


@dataclass
class NurseryBackend(Recorder):
    """Sessions named "Slow" wait inside a nursery, as HTTP clients and tool runners do."""

    async def run_session(self, request: SessionRequest) -> SessionResult:
        if "Slow" not in request.prompt:
            return await super().run_session(request)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_cancelled_session_ends_as_cancelled_when_its_backend_cancels_in_a_nursery(
    tmp_path: Path, autojump_clock
) -> None:
    """Cancellation out of a nursery is an exception group of Cancelled; the session still says it was cancelled."""
    backend = NurseryBackend(scripted().inner)
    program = 'let w = parallel (first):\n  session "Fast"\n  session "Slow"\noutput w = w\n'
    result, events = await run(tmp_path, program, backend)
    assert result.status == "ok" and result.outputs == {"w": "ok"}
    assert {k: v[0] for k, v in session_ends(events).items()} == {"Fast": "ok", "Slow": "cancelled"}
    assert sorted(e.status for e in events if e.type == "branch.end") == ["cancelled", "ok"]


async def test_first_decided_by_a_failure_fails_fast(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "fail": "A broke"},
        {"match": "B", "delay": 0.3, "output": "b!"},
    ])
    program = 'parallel (first):\n  session "A"\n  session "B"\nsession "never"\n'
    result, events = await run(tmp_path, program, backend)
    assert result.status == "failed" and result.error == "A broke"
    assert result.error_span is not None and result.error_span.start_row == 1
    ends = session_ends(events)
    assert ends["B"][0] == "cancelled" and "never" not in ends


async def test_first_with_continue_takes_the_failure_as_value(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "fail": "A broke"},
        {"match": "B", "delay": 0.3, "output": "b!"},
    ])
    program = 'let w = parallel ("first", on-fail: "continue"):\n  session "A"\n  session "B"\noutput w = w\n'
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "ok"
    assert "A broke" in result.outputs["w"]


async def test_any_takes_first_success_skipping_failures(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "fail": "no"},
        {"match": "B", "delay": 0.2, "output": "b!"},
        {"match": "C", "delay": 0.6, "output": "c!"},
    ])
    program = 'let w = parallel (any):\n  a = session "A"\n  b = session "B"\n  c = session "C"\noutput w = w\n'
    result, events = await run(tmp_path, program, backend)
    ends = session_ends(events)
    assert result.status == "ok" and result.outputs == {"w": "b!"}
    assert ends["C"] == ("cancelled", pytest.approx(0.2, abs=0.01))


async def test_any_count_waits_for_n_successes(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "output": "a!"},
        {"match": "B", "delay": 0.4, "output": "b!"},
        {"match": "C", "delay": 0.2, "output": "c!"},
        {"match": "D", "delay": 0.9, "output": "d!"},
    ])
    program = ('let w = parallel ("any", count: 2):\n  session "A"\n  session "B"\n  session "C"\n  session "D"\n'
               'output w = w\n')
    result, events = await run(tmp_path, program, backend)
    ends = session_ends(events)
    assert result.status == "ok"
    assert json.loads(result.outputs["w"]) == ["a!", "c!"]
    assert ends["B"] == ("cancelled", pytest.approx(0.2, abs=0.01))
    assert ends["D"][0] == "cancelled"


async def test_any_fails_once_enough_successes_are_impossible(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "fail": "a no"},
        {"match": "B", "delay": 0.2, "fail": "b no"},
        {"match": "C", "delay": 5.0, "output": "c!"},
    ])
    program = 'parallel (any, count: 2):\n  session "A"\n  session "B"\n  session "C"\n'
    result, events = await run(tmp_path, program, backend)
    assert result.status == "failed"
    assert "any" in (result.error or "")
    assert session_ends(events)["C"] == ("cancelled", pytest.approx(0.2, abs=0.01))


async def test_regardless_waits_for_all_and_never_fails(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "fail": "a no"},
        {"match": "B", "delay": 0.3, "output": "b!"},
    ])
    program = 'let w = parallel (regardless):\n  session "A"\n  session "B"\nsession "after"\noutput w = w\n'
    result, events = await run(tmp_path, program, backend)
    assert result.status == "ok"
    assert session_ends(events)["after"][1] == pytest.approx(0.3, abs=0.01)
    values = json.loads(result.outputs["w"])
    assert values[1] == "b!" and "a no" in json.dumps(values[0])


# --------------------------------------------------------------- policies


async def test_fail_fast_stops_block_at_first_failure(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "output": "a!"},
        {"match": "B", "delay": 0.2, "fail": "B broke"},
        {"match": "C", "delay": 0.7, "output": "c!"},
    ])
    result, events = await run(tmp_path, three(""), backend)
    ends = session_ends(events)
    assert result.status == "failed" and result.error == "B broke"
    assert ends["C"] == ("cancelled", pytest.approx(0.2, abs=0.01))
    assert "after" not in ends
    run_end = events[-1]
    assert run_end.type == "run.end" and run_end.status == "failed"


async def test_continue_runs_next_statement_with_error_record(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "output": "a!"},
        {"match": "B", "delay": 0.2, "fail": "B broke"},
        {"match": "C", "delay": 0.7, "output": "c!"},
    ])
    result, events = await run(tmp_path, three("(on-fail: continue)"), backend)
    ends = session_ends(events)
    assert result.status == "ok"
    assert ends["C"][0] == "ok" and ends["after"][1] == pytest.approx(0.7, abs=0.01)
    context = {c.name: c.text for c in backend.requests[-1].context}
    assert context["a"] == "a!" and "B broke" in context["b"] and context["c"] == "c!"
    assert "B broke" in (binding_text(result, "b") or "")


async def test_ignore_drops_failures(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "A", "delay": 0.1, "output": "a!"},
        {"match": "B", "delay": 0.2, "fail": "B broke"},
    ])
    program = 'let w = parallel (on-fail: "ignore"):\n  a = session "A"\n  b = session "B"\noutput w = w\n'
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "ok"
    assert json.loads(result.outputs["w"]) == ["a!"]
    assert binding_text(result, "b") is None


async def test_try_catch_inside_a_branch(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "Risky", "delay": 0.1, "fail": "boom"},
        {"match": "Recover", "output": "recovered"},
    ])
    program = ('parallel:\n  x = try:\n    session "Risky"\n  catch as err:\n    session "Recover {err}"\n'
               '  y = session "Other"\noutput x = x\n')
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "ok" and result.outputs == {"x": "recovered"}
    assert any("Recover boom" == r.prompt for r in backend.requests)


async def test_nested_parallel_and_parallel_of_one(tmp_path: Path, autojump_clock) -> None:
    backend = scripted()
    program = 'parallel:\n  parallel:\n    session "A"\n    session "B"\n  session "C"\nparallel:\n  session "only"\n'
    result, events = await run(tmp_path, program, backend)
    assert result.status == "ok"
    assert sorted(session_ends(events)) == ["A", "B", "C", "only"]


# ------------------------------------------------------- other constructs


async def test_retry_with_exponential_backoff(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "Flaky", "fail": "try again", "times": 2},
        {"match": "Flaky", "output": "finally"},
    ])
    program = 'let x = session "Flaky"\n  retry: 3\n  backoff: exponential\noutput x = x\n'
    start = trio.current_time()
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "ok" and result.outputs == {"x": "finally"}
    assert trio.current_time() - start == pytest.approx(1.0 + 2.0, abs=0.01)
    state = (result.run_dir / "state.md").read_text()
    assert "retry:1/3" in state and "retry:2/3" in state


async def test_retry_exhausted_fails(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[{"match": "Flaky", "fail": "still down"}])
    result, _ = await run(tmp_path, 'session "Flaky"\n  retry: 2\n  backoff: linear\n', backend)
    assert result.status == "failed" and result.error == "still down"
    assert len(backend.requests) == 3


async def test_loop_until_checks_before_each_iteration(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(conditions=[{"match": "polished", "answers": [False, False, True]}])
    program = 'loop until **the draft is polished** (max: 10) as i:\n  session "Revise {i}"\n'
    result, _ = await run(tmp_path, program, backend)
    assert [r.prompt for r in backend.requests] == ["Revise 0", "Revise 1"]
    backend = scripted(conditions=[{"match": "polished", "answers": [True]}])
    await run(tmp_path, program, backend)
    assert backend.requests == []


async def test_loop_max_and_while(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(conditions=[{"match": "items", "answers": [True]}])
    result, _ = await run(tmp_path, 'loop while **there are items** (max: 3):\n  session "Next"\n', backend)
    assert result.status == "ok" and len(backend.requests) == 3


async def test_choice_and_conditionals(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(
        choices=[{"match": "severity", "option": "Minor"}],
        conditions=[{"match": "secure", "answers": [False]}, {"match": "minor", "answers": [True]}],
    )
    program = (
        'choice **the severity**:\n  option "Critical":\n    session "Stop"\n  option "Minor":\n    session "Log"\n'
        'if **the code is secure**:\n  session "Ship"\nelif **minor issues** or 1 > 2:\n  session "Fix"\nelse:\n  session "Else"\n'
    )
    result, _ = await run(tmp_path, program, backend)
    assert [r.prompt for r in backend.requests] == ["Log", "Fix"]


async def test_pipelines(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[
        {"match": "Keep? b", "output": "no"},
        {"match": "Keep?", "output": "yes"},
        {"match": "Merge", "output": "merged"},
    ], default={"output": "ok"})
    program = (
        'let items = ["a", "b", "c"]\n'
        'let kept = items | filter:\n  session "Keep? {item}"\n'
        'let shouted = kept | map:\n  session "Shout {item}"\n'
        'let fast = kept | pmap:\n  session "Fast {item}"\n'
        'let total = kept | reduce(acc, x):\n  session "Merge {acc} {x}"\n'
        'output kept = kept\noutput total = total\n'
    )
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "ok"
    assert json.loads(result.outputs["kept"]) == ["a", "c"]
    assert result.outputs["total"] == "merged"
    prompts = [r.prompt for r in backend.requests]
    assert "Shout a" in prompts and "Fast c" in prompts and "Merge a c" in prompts


async def test_blocks_arguments_and_output_return(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[{"match": "Review x", "output": "reviewed x"}])
    program = (
        'block review(topic):\n  let result = session "Review {topic}"\n  output result\n  session "unreachable"\n'
        'let r = do review("x")\noutput r = r\n'
    )
    result, _ = await run(tmp_path, program, backend)
    assert result.outputs == {"r": "reviewed x"}
    assert [r.prompt for r in backend.requests] == ["Review x"]


async def test_for_loops_and_expressions(tmp_path: Path, autojump_clock) -> None:
    backend = scripted()
    program = (
        'let n = 0\nfor x, i in ["p", "q"]:\n  n = n + 1\n  session "Item {x} {i}"\n'
        'parallel for y in ["r", "s"]:\n  session "Par {y}"\noutput n = n\n'
    )
    result, _ = await run(tmp_path, program, backend)
    assert result.outputs["n"] == "2"
    assert sorted(r.prompt for r in backend.requests) == ["Item p 0", "Item q 1", "Par r", "Par s"]


async def test_throw_and_rethrow(tmp_path: Path, autojump_clock) -> None:
    backend = scripted()
    program = 'try:\n  throw "inner"\ncatch as e:\n  session "Saw {e}"\n  throw\n'
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "failed" and result.error == "inner"
    assert backend.requests[0].prompt == "Saw inner"


async def test_agent_defaults_merge_with_session_overrides(tmp_path: Path, autojump_clock) -> None:
    backend = scripted()
    program = (
        'agent writer:\n  model: opus\n  prompt: "You write"\n'
        'let notes = session "Notes"\n'
        'session: writer\n  model: haiku\n  prompt: "Write it"\n  context: notes\n'
    )
    await run(tmp_path, program, backend)
    req = backend.requests[-1]
    assert (req.system, req.model, req.prompt, req.agent) == ("You write", "haiku", "Write it", "writer")
    assert req.context == (ContextItem("notes", "ok"),)


async def test_persistent_agent_memory_and_resume(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[{"match": "Plan", "output": "the plan"}])
    agent = 'agent captain:\n  model: opus\n  persist: project\n  prompt: "Lead"\n'
    result, _ = await run(tmp_path, agent + 'session: captain\n  prompt: "Plan"\nresume: captain\n  prompt: "Next"\n', backend)
    assert result.status == "ok"
    assert "the plan" in (backend.requests[1].memory or "")
    assert (tmp_path / ".prose" / "agents" / "captain" / "memory.md").exists()
    # A second run: project memory survives, so `session:` warns (W011).
    result, events = await run(tmp_path, agent + 'session: captain\n  prompt: "Again"\n', backend)
    assert any(e.type == "warning" and e.code == "W011" for e in events)


async def test_resume_without_memory_is_e018(tmp_path: Path, autojump_clock) -> None:
    backend = scripted()
    program = 'agent keeper:\n  persist: true\n  prompt: "Keep"\nresume: keeper\n  prompt: "Go on"\n'
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "failed" and (result.error or "").startswith("E018")
    assert result.error_span is not None and result.error_span.start_row == 3


async def test_missing_input_fails_before_anything_runs(tmp_path: Path, autojump_clock) -> None:
    backend = scripted()
    with pytest.raises(ProgramNotRunnable) as info:
        await run(tmp_path, 'input topic: "What"\nsession "About {topic}"\n', backend)
    assert "topic" in info.value.message
    assert [d.code for d in info.value.diagnostics] == ["RUN"]
    assert not (tmp_path / ".prose").exists()
    result, _ = await run(tmp_path, 'input topic: "What"\nsession "About {topic}"\n', backend, inputs={"topic": "AI"})
    assert backend.requests[0].prompt == "About AI"


async def test_program_that_does_not_check_does_not_run(tmp_path: Path, autojump_clock) -> None:
    with pytest.raises(ProgramNotRunnable) as info:
        await run(tmp_path, 'parallel (frist):\n  session "a"\n', scripted())
    assert [d.code for d in info.value.diagnostics] == ["P001"]


async def test_registry_program_fails_clearly_offline(tmp_path: Path, autojump_clock) -> None:
    with pytest.raises(ProgramNotRunnable) as info:
        await run(tmp_path, 'use "@alice/research" as research\nlet r = research(topic: "x")\n', scripted())
    assert "cannot fetch '@alice/research'" in info.value.message


async def test_local_program_call(tmp_path: Path, autojump_clock) -> None:
    (tmp_path / "lib.prose").write_text('input topic: "T"\noutput summary = session "Summarize {topic}"\n')
    backend = scripted(sessions=[{"match": "Summarize", "output": "short"}])
    program = 'use "./lib.prose" as lib\nlet r = lib(topic: "trio")\nsession "Use {r.summary}"\n'
    result, _ = await run(tmp_path, program, backend)
    assert result.status == "ok"
    assert [r.prompt for r in backend.requests] == ["Summarize trio", "Use short"]
    assert (result.run_dir / "imports").is_dir()


async def test_cancel_leaves_resumable_state(tmp_path: Path, autojump_clock) -> None:
    backend = scripted(sessions=[{"match": "Slow", "delay": 100, "output": "slow"}])
    program = 'let first = session "Fast"\nlet second = session "Slow"\noutput second = second\n'
    path = tmp_path / "main.prose"
    path.write_text(program)
    events: list[RunEvent] = []
    with trio.move_on_after(5):
        await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append)
    assert events[-1].type == "run.end" and events[-1].status == "cancelled"
    run_id = Path(events[0].run_dir or "").name
    state = (tmp_path / ".prose" / "runs" / run_id / "state.md").read_text()
    assert "1→ first ✓" in state and "---error" in state
    resumed = scripted(sessions=[{"match": "Slow", "output": "done now"}])
    result, _ = await run(tmp_path, program, resumed, resume=run_id)
    assert result.status == "ok" and result.outputs == {"second": "done now"}
    assert [r.prompt for r in resumed.requests] == ["Slow"]  # the finished statement was not run again


async def test_resume_rejects_changed_program(tmp_path: Path, autojump_clock) -> None:
    result, _ = await run(tmp_path, 'session "one"\n', scripted())
    with pytest.raises(ProgramNotRunnable):
        await run(tmp_path, 'session "two"\n', scripted(), resume=result.run_id)


async def test_anonymous_sessions_are_recorded(tmp_path: Path, autojump_clock) -> None:
    result, _ = await run(tmp_path, 'session "one"\nsession "two"\n', scripted())
    assert sorted(p.name for p in (result.run_dir / "bindings").iterdir()) == ["anon_001.md", "anon_002.md"]
