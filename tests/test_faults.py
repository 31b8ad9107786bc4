"""Fault injection: every way the Messages API can fail ends a run cleanly and quickly.

The real SDK talks to the local fake API (tests/fake_messages_api.py), which
answers each request with one fault from `FAULTS`: error statuses, an
overloaded event mid-stream, a dropped connection, bad JSON in an event, a
delta for a block that never started, an HTML / empty / non-message 200, a
stream that stalls, one that only sends pings, and headers that never come.
For each, the run must return (no exception, so no traceback), emit `run.end`,
fail with a message (never "ok" with nothing), and finish within a bound set
by the configured timeouts, not the production ones (600 s per attempt).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openprose.backends import BackendConfig, make_backend
from openprose.interpreter import RunEvent, run_program

from .fake_messages_api import FAULTS, FakeMessagesAPI, Reply

KEY = "sk-ant-fault-0123456789-secret"
#: Short limits so that stalls fail in about a second instead of minutes.
CONFIG = dict(max_attempts=2, retry_initial_delay=0.01, retry_max_delay=0.02, retry_after_cap=0.05,
              read_timeout=1.0, idle_timeout=1.0, call_deadline=4.0)
PER_FAULT_BOUND = 8.0


def _backend(api: FakeMessagesAPI):  # type: ignore[no-untyped-def]
    return make_backend("anthropic", config=BackendConfig(base_url=api.base_url, **CONFIG), env={"ANTHROPIC_API_KEY": KEY})


async def _run(api: FakeMessagesAPI, tmp_path: Path, program: str) -> tuple[object, list[RunEvent], float]:
    path = tmp_path / "p.prose"
    path.write_text(program)
    backend = _backend(api)
    events: list[RunEvent] = []
    began = time.monotonic()
    try:
        result = await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append)
    finally:
        await backend.aclose()
    return result, events, time.monotonic() - began


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_every_fault_ends_the_run_with_a_clear_failure(fault: str, fake_messages_api: FakeMessagesAPI,
                                                             tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Summarize", FAULTS[fault])
    result, events, elapsed = await _run(api, tmp_path, 'let s = session "Summarize the findings"\noutput s = s\n')
    assert events[-1].type == "run.end"
    assert result.status == "failed", (fault, result)  # type: ignore[attr-defined]
    error = result.error or ""  # type: ignore[attr-defined]
    assert error and "Traceback" not in error and KEY not in error
    assert elapsed < PER_FAULT_BOUND, (fault, elapsed)
    assert (result.run_dir / "state.md").read_text().rstrip().splitlines()[-1].startswith("---error")  # type: ignore[attr-defined]


@pytest.mark.parametrize("fault", ["bad-json-event", "wrong-content-index", "html-200", "stalled-stream"])
async def test_retry_in_the_program_sees_the_fault_and_recovers(fault: str, fake_messages_api: FakeMessagesAPI,
                                                                tmp_path: Path) -> None:
    api = fake_messages_api
    # The backend tries twice (CONFIG), so two faults, then a good reply for the program's retry.
    api.route("Summarize", FAULTS[fault], times=2)
    api.route("Summarize", Reply(text="a fine summary"))
    program = 'let s = session "Summarize the findings"\n  retry: 2\noutput s = s\n'
    result, events, elapsed = await _run(api, tmp_path, program)
    assert result.status == "ok" and result.outputs == {"s": "a fine summary"}, result  # type: ignore[attr-defined]
    assert "retry:1/2" in (result.run_dir / "state.md").read_text()  # type: ignore[attr-defined]
    assert elapsed < PER_FAULT_BOUND


async def test_try_catch_sees_a_malformed_response(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Risky", FAULTS["wrong-content-index"])
    api.route("Fallback", Reply(text="plan b"))
    program = 'try:\n  let r = session "Risky step"\ncatch as err:\n  let r = session "Fallback step"\noutput r = r\n'
    result, _, _ = await _run(api, tmp_path, program)
    assert result.status == "ok" and result.outputs == {"r": "plan b"}  # type: ignore[attr-defined]


def test_cli_reports_faults_without_traceback_in_bounded_time(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    """The whole CLI, for the faults that used to end in a traceback or a 40-minute wait."""
    api = fake_messages_api
    program = tmp_path / "p.prose"
    program.write_text('session "Summarize the findings"\n')
    env = dict(os.environ, ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=api.base_url)
    for fault in ("html-200", "bad-json-event", "pings-only"):
        api._routes.clear()
        api.route("Summarize", FAULTS[fault])
        proc = subprocess.run(
            [sys.executable, "-m", "prose_cli", "run", "--json", "--backend", "anthropic",
             "--idle-timeout", "1", "--call-deadline", "3", str(program)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 1, (fault, proc.stderr)
        assert "Traceback" not in proc.stderr and KEY not in proc.stdout + proc.stderr
        end = json.loads(proc.stdout.splitlines()[-1])
        assert end["type"] == "run.end" and end["status"] == "failed" and end["error"], (fault, end)
        assert end["t"] < PER_FAULT_BOUND, (fault, end)  # run time, without interpreter start-up
