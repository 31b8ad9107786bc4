"""`prose run` with the real anthropic SDK against a local Messages API server.

Covers the interpreter and the anthropic backend together: streamed replies,
a 429 then success, a slow reply cancelled mid-flight when a `first` race is
won, token usage in events, and the API key never reaching disk or output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from openprose.backends import BackendConfig, make_backend
from openprose.backends.anthropic_agent import TOOLS_PREAMBLE
from openprose.interpreter import RunEvent, run_program

from .fake_messages_api import FakeMessagesAPI, Reply

SECRET = "sk-ant-test-0123456789-do-not-leak"


def _env(api: FakeMessagesAPI) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url})
    return env


def test_cli_run_streams_through_sdk_and_keeps_key_secret(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Research", Reply(text=f"findings (echo {SECRET})", input_tokens=12, output_tokens=7))
    api.route("Summarize", Reply(status=429, headers=(("retry-after", "0"),)), times=1)
    api.route("Summarize", Reply(text="summary", input_tokens=5, output_tokens=3))
    program = tmp_path / "p.prose"
    program.write_text(
        'agent writer:\n  model: haiku\n  prompt: "You write briefly"\n'
        'let research = session "Research trio"\n'
        'output summary = session: writer\n  prompt: "Summarize"\n  context: research\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "prose_cli", "run", "--json", "--backend", "anthropic", str(program)],
        cwd=tmp_path, env=_env(api), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    end = events[-1]
    assert end["type"] == "run.end" and end["status"] == "ok"
    assert end["outputs"] == {"summary": "summary"}
    assert end["usage"]["input_tokens"] >= 17 and end["usage"]["output_tokens"] >= 10
    summarize = [r for r in api.requests if "Summarize" in r.raw and r.reply_status == 200][-1]
    # The agent prompt, then what every acting session is told about its workspace.
    assert summarize.body["system"] == "You write briefly\n\n" + TOOLS_PREAMBLE.format(workspace=tmp_path.resolve())
    assert summarize.body["stream"] is True
    assert "research" in summarize.user_text and "findings" in summarize.user_text
    assert summarize.body["model"] != "haiku"  # the alias became a model id
    assert any(r.reply_status == 429 for r in api.requests)
    # The key never appears in output or in any file of the run.
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    for path in (tmp_path / ".prose").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


async def test_first_race_cancels_slow_reply_mid_flight(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    api = fake_messages_api
    api.route("Slow path", Reply.slow("s" * 200, chunks=200, chunk_delay=0.05))
    api.route("Fast path", Reply(text="fast wins"))
    program = 'let w = parallel (first):\n  session "Fast path"\n  session "Slow path"\noutput w = w\n'
    path = tmp_path / "race.prose"
    path.write_text(program)
    backend = make_backend(
        "anthropic", config=BackendConfig(base_url=api.base_url), env={"ANTHROPIC_API_KEY": SECRET}
    )
    events: list[RunEvent] = []
    started = time.monotonic()
    try:
        result = await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append)
    finally:
        await backend.aclose()
    elapsed = time.monotonic() - started
    assert result.status == "ok" and result.outputs == {"w": "fast wins"}
    # Waiting for the slow stream would take its full 10 s; anything less means it was cut off
    # (a tighter bound only measured how loaded the machine was).
    assert elapsed < 10.0
    ends = {e.prompt: e.status for e in events if e.type == "session.end"}
    assert ends == {"Fast path": "ok", "Slow path": "cancelled"}
    assert api.wait_for(lambda a: any("Slow path" in r.raw and r.client_disconnected for r in a.requests), timeout=10)
    slow = next(r for r in api.requests if "Slow path" in r.raw)
    assert not slow.finished


def test_corpus_programs_run_on_simulated_backend_cli(tmp_path: Path) -> None:
    """One real program end to end through the CLI with live (non-TTY) progress lines."""
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "16-parallel-reviews.prose"
    proc = subprocess.run(
        [sys.executable, "-m", "prose_cli", "run", "--backend", "simulated", str(corpus)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "run ok" in proc.stdout and "run directory:" in proc.stdout
