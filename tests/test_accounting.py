"""Accounting, prices, the static call estimate, offline decisions with reasons, and the live tree.

Offline parts of issue 10: everything here runs without the fake API (the scripted and
simulated backends, real files, real subprocesses for the CLI).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from openprose.accounting import Ledger, PriceError, load_prices
from openprose.analysis import analyze
from openprose.backends import ScriptedBackend, SimulatedBackend, Usage
from openprose.backends.scripted import parse_script
from openprose.estimate import estimate_program
from openprose.interpreter import RunEvent, run_program
from prose_cli.progress import RunView

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _estimate(text: str) -> dict:
    analysis = analyze(text.encode(), Path("p.prose"))
    assert not analysis.has_errors, analysis.errors
    return estimate_program(analysis.program).to_json()


# ---------------------------------------------------------------------------- prices, ledger


def test_bundled_prices_cover_the_default_models() -> None:
    from openprose.backends import DEFAULT_MODEL_ALIASES

    prices = load_prices(env={})
    for model in DEFAULT_MODEL_ALIASES.values():
        assert prices.price_of(model) is not None, model
    assert prices.cost("simulated:sonnet", Usage(1000, 1000)) == 0.0
    assert prices.price_of("some-other-model") is None


def test_price_file_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text('{"models": {"claude": {"input": 1, "output": "cheap", "cache_write": 1, "cache_read": 1}}}')
    with pytest.raises(PriceError, match=r"prices.json: models.claude.output: expected a non-negative number"):
        load_prices(bad)
    with pytest.raises(PriceError, match="price file not found"):
        load_prices(env={"OPENPROSE_PRICES": str(tmp_path / "missing.json")})


def test_ledger_counts_per_model_and_kind_and_prices_it(tmp_path: Path) -> None:
    table = tmp_path / "p.json"
    table.write_text(json.dumps({"per": 1000, "models": {
        "m-big": {"input": 10, "output": 20, "cache_write": 12.5, "cache_read": 1},
        "m": {"input": 1, "output": 2, "cache_write": 1.25, "cache_read": 0.1}}}))
    ledger = Ledger(load_prices(table))
    ledger.charge("session", "m-big-1", Usage(100, 10, cache_read_tokens=1000), calls=3)  # 1 session + 2 tool turns
    ledger.charge("condition", "m-1", Usage(50, 5), calls=2)
    snap = ledger.snapshot()
    assert snap["calls"] == {"session": 1, "tool_turn": 2, "condition": 2, "choice": 0, "total": 5}
    assert snap["by_model"]["m-big-1"]["cost_usd"] == pytest.approx((100 * 10 + 10 * 20 + 1000 * 1) / 1000)
    assert snap["by_model"]["m-1"]["cost_usd"] == pytest.approx((50 * 1 + 5 * 2) / 1000)  # the longest prefix wins
    assert snap["cache_savings_usd"] == pytest.approx(1000 * (10 - 1) / 1000)
    ledger.charge("choice", "unpriced", Usage(1, 1))
    assert ledger.snapshot()["cost_usd"] is None  # never a made-up cost


def test_prices_option_on_the_cli(tmp_path: Path) -> None:
    program = tmp_path / "p.prose"
    program.write_text('session "hello"\n')
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "prose_cli", "run", "--backend", "simulated", "--prices", str(bad),
                           str(program)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "bad.json:1:2: invalid JSON" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "prose_cli", "run", "--backend", "simulated", str(program)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "model calls: 1 (1 session)" in proc.stdout and "estimated cost: ≈ $0.0000" in proc.stdout


# ------------------------------------------------------------------------------- estimate


def test_estimate_counts_loops_at_max_branches_and_retries() -> None:
    got = _estimate(
        'loop until **done** (max: 4):\n  session "step"\n'
        'if **a**:\n  session "x"\nelif **b**:\n  session "y"\n  session "z"\n'
        'session "flaky"\n  retry: 2\n'
        'choice **which**:\n  option "A":\n    session "a"\n  option "B":\n    repeat 3:\n      session "b"\n'
    )
    assert got["sessions"] == {"min": 0 + 0 + 1 + 1, "max": 4 + 2 + 3 + 3}
    assert got["conditions"] == {"min": 1 + 1, "max": 4 + 2}
    assert got["choices"] == {"min": 1, "max": 1}
    assert got["unknown"] == []


def test_estimate_marks_what_it_cannot_know() -> None:
    got = _estimate('let xs = session "list"\nparallel for x in xs:\n  session "each"\n'
                    'loop while **more**:\n  session "again"\n')
    assert got["calls"]["max"] is None
    assert [u["line"] for u in got["unknown"]] == [2, 4]
    assert "parallel for over 'xs'" in got["unknown"][0]["what"]


def test_estimate_brackets_real_runs_of_corpus_programs(tmp_path: Path) -> None:
    """On the simulated backend (deterministic answers) the actual counts fall within the bounds."""
    import trio

    for name in ("24-choice-blocks.prose", "25-conditionals.prose", "20-fixed-loops.prose", "22-error-handling.prose"):
        path = CORPUS / name
        source = path.read_bytes()
        est = estimate_program(analyze(source, path).program, path)
        events: list[RunEvent] = []
        result = trio.run(lambda: run_program(source, path, backend=SimulatedBackend(), workdir=tmp_path,
                                              on_event=events.append))
        sessions = len([e for e in events if e.type == "session.start"])
        conditions = len([e for e in events if e.type == "condition"])
        choices = len([e for e in events if e.type == "choice"])
        c = est.counts
        for got, bound in ((sessions, c.sessions), (conditions, c.conditions), (choices, c.choices)):
            assert bound.lo <= got <= (bound.hi if bound.hi is not None else got), (name, got, bound, result.status)


def test_estimate_on_the_cli_runs_nothing(tmp_path: Path) -> None:
    program = tmp_path / "p.prose"
    program.write_text('repeat 2:\n  session "x"\n')
    proc = subprocess.run([sys.executable, "-m", "prose_cli", "run", "--estimate", str(program)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("model calls: 2  (sessions 2, conditions 0, choices 0)")
    assert not (tmp_path / ".prose").exists()


# ------------------------------------------------------------------ offline decisions with reasons


async def test_scripted_decisions_give_reasons_and_failures_are_catchable(tmp_path: Path) -> None:
    script = parse_script(json.dumps({
        "conditions": [{"match": "ready", "answers": [True], "reason": "all checks are green"},
                       {"match": "broken", "fail": "the judge could not answer"}],
        "choices": [{"match": "which", "option": "B"}],
        "default": {"output": "ok"},
    }), "script.json")
    program = ('if **ready**:\n  session "go"\nchoice **which**:\n  option "A":\n    session "a"\n'
               '  option "B":\n    session "b"\ntry:\n  if **broken**:\n    session "never"\ncatch as e:\n'
               '  session "recover: {e}"\n')
    path = tmp_path / "p.prose"
    path.write_text(program)
    events: list[RunEvent] = []
    result = await run_program(program.encode(), path, backend=ScriptedBackend(script), workdir=tmp_path,
                               on_event=events.append)
    assert result.status == "ok", result.error
    decisions = [(e.type, e.answer, e.reason) for e in events if e.type in ("condition", "choice")]
    assert decisions == [("condition", "yes", "all checks are green"),
                         ("choice", "B", "scripted: choices[0] picks 'B'")]
    assert [e.prompt for e in events if e.type == "session.end"] == ["go", "b", "recover: the judge could not answer"]


async def test_simulated_decisions_say_they_are_simulated(tmp_path: Path) -> None:
    program = 'if **it holds**:\n  session "x"\n'
    path = tmp_path / "p.prose"
    path.write_text(program)
    events: list[RunEvent] = []
    await run_program(program.encode(), path, backend=SimulatedBackend(), workdir=tmp_path, on_event=events.append)
    [cond] = [e for e in events if e.type == "condition"]
    assert cond.reason and cond.reason.startswith("simulated:")


# --------------------------------------------------------------------------------- live tree


def test_live_tree_shows_reasons_and_running_totals() -> None:
    view = RunView("p.prose")
    totals = {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 900, "cache_write_tokens": 0,
              "calls": {"session": 1, "tool_turn": 0, "condition": 1, "choice": 0, "total": 2}, "cost_usd": 0.0123}
    view.feed(RunEvent("run.start", 0.0, run_dir="/tmp/r"))
    view.feed(RunEvent("condition", 0.5, prompt="the tests pass", answer="no", reason="2 tests [still] fail",
                       usage={"input_tokens": 10, "output_tokens": 3}, totals=totals))
    console = Console(width=120, record=True)
    console.print(view.render())
    text = console.export_text()
    assert "◆ **the tests pass** → no  2 tests [still] fail" in text  # one renderer for decisions: answer, then reason
    assert "2 model calls · 1,200 in / 80 out tokens · 900 from cache · ≈ $0.0123" in text


async def test_a_broken_backend_still_ends_the_run_cleanly(tmp_path: Path) -> None:
    """A backend that returns nonsense makes the run fail with run.end and a closed state.md, not a traceback."""

    class Broken(SimulatedBackend):
        async def run_session(self, request):  # type: ignore[no-untyped-def, override]
            return None  # not a SessionResult

    program = 'session "hello"\n'
    path = tmp_path / "p.prose"
    path.write_text(program)
    events: list[RunEvent] = []
    result = await run_program(program.encode(), path, backend=Broken(), workdir=tmp_path, on_event=events.append)
    assert result.status == "failed" and (result.error or "").startswith("internal error: AttributeError")
    assert [e.type for e in events][-1] == "run.end"
    assert (result.run_dir / "state.md").read_text().splitlines()[-1].startswith("---error")
