"""`prose run` as a person or a script uses it: exit codes, JSON events, Ctrl-C, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

PROSE = [sys.executable, "-m", "prose_cli"]


def _write(tmp_path: Path, program: str, script: dict | None = None) -> tuple[Path, Path | None]:
    path = tmp_path / "p.prose"
    path.write_text(program)
    script_path = None
    if script is not None:
        script_path = tmp_path / "script.json"
        script_path.write_text(json.dumps(script))
    return path, script_path


def test_json_events_and_exit_codes(tmp_path: Path) -> None:
    path, script = _write(
        tmp_path,
        'let a = session "A"\noutput b = session "B"\n  context: a\n',
        {"sessions": [{"match": "A", "output": "alpha"}], "default": {"output": "beta"}},
    )
    proc = subprocess.run([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types == ["run.start", "session.start", "session.end", "session.start", "session.end", "run.end"]
    assert events[2]["binding"] == "a" and events[2]["status"] == "ok"
    assert all(isinstance(e["t"], (int, float)) for e in events)
    assert events[-1]["outputs"] == {"b": "beta"} and Path(events[-1]["run_dir"]).is_dir()


def test_failing_program_exits_1_and_not_checking_exits_2(tmp_path: Path) -> None:
    path, script = _write(tmp_path, 'session "A"\n', {"sessions": [{"match": "A", "fail": "A is down"}]})
    proc = subprocess.run([*PROSE, "run", "--backend", "scripted", "--script", str(script), str(path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "A is down" in proc.stdout
    bad = tmp_path / "bad.prose"
    bad.write_text('parallel (frist):\n  session "x"\n')
    proc = subprocess.run([*PROSE, "run", str(bad)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "bad.prose:1:11: error[P001]" in proc.stderr
    proc = subprocess.run([*PROSE, "run", str(tmp_path / "missing.prose")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_ctrl_c_cancels_cleanly_and_run_resumes(tmp_path: Path) -> None:
    path, script = _write(
        tmp_path,
        'let first = session "Quick"\nlet second = session "Slow"\noutput second = second\n',
        {"sessions": [{"match": "Quick", "output": "q"}, {"match": "Slow", "delay": 60, "output": "s"}]},
    )
    proc = subprocess.Popen([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(path)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    run_dir = None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        event = json.loads(line)
        run_dir = event.get("run_dir") or run_dir
        if event["type"] == "session.start" and event["prompt"] == "Slow":
            break
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    last = json.loads(rest.splitlines()[-1])
    assert last["type"] == "run.end" and last["status"] == "cancelled"
    assert run_dir is not None
    state = (Path(run_dir) / "state.md").read_text()
    assert "1→ first ✓" in state and "---error" in state
    resume_script = tmp_path / "resume.json"
    resume_script.write_text(json.dumps({"sessions": [{"match": "Slow", "output": "finished"}]}))
    proc = subprocess.run([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(resume_script),
                           "--resume", Path(run_dir).name, str(path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["prompt"] for e in events if e["type"] == "session.start"] == ["Slow"]
    assert events[-1]["outputs"] == {"second": "finished"}


def test_unknown_resume_id_is_clear(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, 'session "A"\n')
    proc = subprocess.run([*PROSE, "run", "--resume", "20260101-000000-abcdef", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no run" in proc.stderr
