"""Regression tests for the hardening issue (#14): each one failed before its fix.

Secrets at any depth and in common encodings, cancellation inside `parallel`,
`let` inside `parallel for`, run-state write failures (disk full, read-only,
deleted), crashes in the model/checker, numeric limits and huge inputs.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import trio

from openprose.analysis import analyze
from openprose.backends.scripted import ScriptedBackend, parse_script
from openprose.interpreter import RunEvent, run_program

PROSE = [sys.executable, "-m", "prose_cli"]
SECRET = "sk-ant-hardening-0123456789abcdef-XYZ"


def _scripted(rules: list[dict], **extra: object) -> ScriptedBackend:
    return ScriptedBackend(parse_script(json.dumps({"sessions": rules, **extra}), "script.json"))


async def _run(tmp_path: Path, program: str, backend: ScriptedBackend, **kw: object):  # type: ignore[no-untyped-def]
    path = tmp_path / "p.prose"
    path.write_text(program)
    events: list[RunEvent] = []
    result = await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append, **kw)
    return result, events


# ----------------------------------------------------------------- 2. secrets


def _variants(secret: str) -> list[str]:
    raw = secret.encode()
    out = [secret, quote(secret, safe=""), json.dumps(secret)[1:-1]]
    for prefix in ("", "x", "xy"):  # the three base64 alignments
        out.append(base64.b64encode((prefix + secret).encode()).decode()[4 if prefix else 0 :][:20])
    out.append(base64.urlsafe_b64encode(raw).decode()[:20])
    return out


def test_redactor_cleans_nested_values_and_encodings() -> None:
    from openprose.redact import Redactor

    redactor = Redactor([SECRET])
    b64 = {p: base64.b64encode((p + SECRET + " tail").encode()).decode() for p in ("", "x", "xy")}
    value = {
        "outputs": {"deep": [f"key={SECRET}", ("tuple", f"url={quote(SECRET, safe='')}")]},
        SECRET: "the key as a key",
        "b64": list(b64.values()),
        "json": json.dumps({"k": SECRET + "\u00e9"}, ensure_ascii=True),
        "short": "sk-ant",
    }
    cleaned = json.dumps(redactor.value(value))
    assert SECRET not in cleaned and quote(SECRET, safe="") not in cleaned
    for encoded in b64.values():
        assert encoded[4:28] not in cleaned  # the part that encodes only secret bytes is gone
    assert '"short": "sk-ant"' in cleaned and cleaned.count("[redacted]") >= 7


def test_cli_json_run_end_and_state_never_show_the_key(tmp_path: Path) -> None:
    encoded = base64.b64encode(f"ANTHROPIC_API_KEY={SECRET}\n".encode()).decode()
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"sessions": [
        {"match": "env", "output": f"HOME=/root\nANTHROPIC_API_KEY={SECRET}\n"},
        {"match": "b64", "output": f"dump: {encoded}"},
        {"match": "url", "output": f"https://x.test/?k={quote(SECRET, safe='')}"},
    ]}))
    program = tmp_path / "p.prose"
    program.write_text('let a = session "print env"\nlet b = session "print b64"\nlet c = session "print url"\n'
                       'output all = [a, b, c]\n')
    env = dict(os.environ, ANTHROPIC_API_KEY=SECRET)
    proc = subprocess.run([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(program)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["type"] == "run.end" and "[redacted]" in json.dumps(end)
    for leaked in _variants(SECRET):
        assert leaked not in proc.stdout + proc.stderr, leaked
        for path in (tmp_path / ".prose").rglob("*"):
            if path.is_file():
                assert leaked not in path.read_text(errors="replace"), (leaked, path)


def test_server_run_events_are_redacted_at_any_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    from openprose_lsp.run import event_payload as _redacted

    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    event = {"type": "run.end", "outputs": {"x": f"value {SECRET}"}, "path": [f"p {SECRET}"]}
    assert SECRET not in json.dumps(_redacted(event))


# ----------------------------------------------------------- 3. cancellation


async def test_cancel_inside_parallel_still_ends_the_run(tmp_path: Path) -> None:
    backend = _scripted([{"match": "slow", "delay": 5, "output": "x"}])
    program = 'parallel:\n  a = session "slow a"\n  b = session "slow b"\nsession "slow after"\n'
    events: list[RunEvent] = []
    path = tmp_path / "p.prose"
    path.write_text(program)
    with trio.move_on_after(0.3):
        await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=events.append)
    ends = [e for e in events if e.type == "run.end"]
    assert len(ends) == 1 and ends[0].status == "cancelled"
    run_dir = Path(ends[0].run_dir or "")
    assert (run_dir / "state.md").read_text().rstrip().splitlines()[-1].startswith("---error")


def test_ctrl_c_in_parallel_prints_run_end(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"default": {"delay": 30, "output": "x"}}))
    program = tmp_path / "p.prose"
    program.write_text('parallel:\n  a = session "one"\n  b = session "two"\n')
    proc = subprocess.Popen([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(program)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    while json.loads(proc.stdout.readline())["type"] != "session.start":
        pass
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    end = json.loads(out.splitlines()[-1])
    assert end["type"] == "run.end" and end["status"] == "cancelled"


# ------------------------------------------------------ 9. let in parallel for


async def test_let_inside_parallel_for_binds_per_iteration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "calls.jsonl"
    backend = _scripted([
        {"match": "Work on a", "delay": 0.05, "output": "A"},
        {"match": "Work on b", "delay": 0.1, "output": "B"},
        {"match": "Work on c", "delay": 0.15, "output": "C"},
        {"match": "Pause a", "delay": 0.4, "output": "-"},
        {"match": "Pause", "delay": 0.02, "output": "-"},
        {"match": "Check", "output": "ok"},
    ], call_log=str(log))
    program = ('let results = parallel for t in ["a", "b", "c"]:\n'
               '  let mine = session "Work on {t}"\n'
               '  session "Pause {t}"\n'
               '  session "Check {t}: {mine}"\n'
               'output results = results\n')
    result, _ = await _run(tmp_path, program, backend)
    assert result.status == "ok"
    checks = sorted(e["prompt"] for e in map(json.loads, log.read_text().splitlines()) if e["prompt"].startswith("Check"))
    assert checks == ["Check a: A", "Check b: B", "Check c: C"]
    stored = sorted(p.name for p in (result.run_dir / "bindings").glob("mine__*.md"))
    assert len(stored) == 3  # one file per iteration, none overwritten


# ------------------------------------------------------- 13. state write failures


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal, as a full disk gives ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_binding_that_cannot_be_written_fails_the_run(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"sessions": [{"match": "big", "output": "x" * 200_000},
                                               {"match": "small", "output": "fine"}]}))
    program = tmp_path / "p.prose"
    program.write_text('let a = session "small one"\nlet b = session "big one"\noutput b = b\n')
    (tmp_path / ".prose" / "runs").mkdir(parents=True)
    proc = subprocess.run([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(program)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          preexec_fn=_limit_file_size(100_000))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["type"] == "run.end" and end["status"] == "failed"
    # The session's result does not fit on disk (journal and binding alike): said, not hidden.
    assert "could not" in end["error"] and "File too large" in end["error"]
    assert not any(e.get("binding") == "b" and e.get("status") == "ok"
                   for e in map(json.loads, proc.stdout.splitlines()) if e["type"] == "session.end")


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_full_disk_fails_the_run_and_reports_nothing_unwritten_as_done(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "256k"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        script = tmp_path / "s.json"
        script.write_text(json.dumps({"default": {"output": "y" * 30_000}}))
        program = disk / "p.prose"
        program.write_text("".join(f'let v{i} = session "step {i}"\n' for i in range(12)))
        proc = subprocess.run([*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(program)],
                              cwd=disk, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        end = json.loads(proc.stdout.splitlines()[-1])
        assert end["status"] == "failed" and "No space left" in end["error"]
        written = {p.stem for p in Path(end["run_dir"]).glob("bindings/v*.md")}
        done = [json.loads(line) for line in proc.stdout.splitlines() if '"session.end"' in line]
        assert {e["binding"] for e in done if e["status"] == "ok"} - {"v" + str(i) for i in range(12)} == set()
        assert len(written) < 12
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_read_only_state_directory_is_a_clear_error(tmp_path: Path) -> None:
    disk = tmp_path / "ro"
    if not _mount_tmpfs(disk, "1m"):
        pytest.skip("needs root to mount a tmpfs")
    try:
        (disk / "p.prose").write_text('session "hello"\n')
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        proc = subprocess.run([*PROSE, "run", "--backend", "simulated", str(disk / "p.prose")], cwd=disk,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr and "Read-only file system" in proc.stderr
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_deleted_run_directory_fails_the_run_cleanly(tmp_path: Path) -> None:
    backend = _scripted([{"match": "slow", "delay": 0.3, "output": "x"}])
    program = 'let a = session "slow a"\nlet b = session "slow b"\n'
    path = tmp_path / "p.prose"
    path.write_text(program)
    events: list[RunEvent] = []

    def on_event(event: RunEvent) -> None:
        events.append(event)
        if event.type == "session.start" and event.prompt == "slow a":
            shutil.rmtree(event_run_dir[0])

    event_run_dir: list[str] = []

    def capture(event: RunEvent) -> None:
        if event.type == "run.start":
            event_run_dir.append(event.run_dir or "")
        on_event(event)

    result = await run_program(program.encode(), path, backend=backend, workdir=tmp_path, on_event=capture)
    assert result.status == "failed" and result.error and "could not" in result.error
    assert events[-1].type == "run.end" and events[-1].status == "failed"


# ---------------------------------------------------------------- 6. crashes


@pytest.mark.parametrize("source", [
    b"agent a:\n  model:\n    x\n",
    b"agent a:\n  model:\n    x:\n      x:\n",
    b'session "x"\n  retry:\n    x\n  backoff:\n    [a, b]\n  skills:\n    - a\n',
    b'use "./a\x00b.prose"\nsession "x"\n',
])
def test_model_and_checker_answer_instead_of_crashing(source: bytes, tmp_path: Path) -> None:
    analysis = analyze(source, tmp_path / "p.prose")
    assert analysis.has_errors
    (tmp_path / "p.prose").write_bytes(source)
    proc = subprocess.run([*PROSE, "check", str(tmp_path / "p.prose")], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr


# ----------------------------------------------------------- 14. numeric limits


@pytest.mark.parametrize("args", [["--simulated-delay", "inf"], ["--simulated-delay", "nan"],
                                  ["--simulated-delay", "-1"]])
def test_unbounded_delays_are_rejected(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "p.prose").write_text('session "x"\n')
    proc = subprocess.run([*PROSE, "run", "--backend", "simulated", *args, str(tmp_path / "p.prose")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--simulated-delay" in proc.stderr


def test_scripted_delay_must_be_finite(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text('{"default": {"delay": 1e999, "output": "x"}}')
    (tmp_path / "p.prose").write_text('session "x"\n')
    proc = subprocess.run([*PROSE, "run", "--backend", "scripted", "--script", str(script), str(tmp_path / "p.prose")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "default.delay" in proc.stderr


@pytest.mark.parametrize("program", [
    "loop (max: {big}):\n  session \"a\"\n",
    "repeat {big}:\n  session \"a\"\n",
    "session \"a\"\n  retry: {big}\n",
    "parallel (\"any\", count: {big}):\n  a = session \"a\"\n  b = session \"b\"\n",
])
async def test_huge_numbers_fail_with_a_message(program: str, tmp_path: Path) -> None:
    text = program.format(big="9" * 400)
    result, events = await _run(tmp_path, text, _scripted([], default={"output": "x"}))
    assert result.status == "failed" and "too large" in (result.error or "")
    assert events[-1].type == "run.end"


def test_huge_file_is_refused_quickly_and_small(tmp_path: Path) -> None:
    big = tmp_path / "big.prose"
    line = 'session "' + "w" * 1000 + '"\n'
    with big.open("w") as fh:
        for _ in range(50_000):  # ~50 MB
            fh.write(line)
    for command in (["check"], ["fmt", "--check"]):
        started = time.monotonic()
        # Measured in a process of its own: this test process's RUSAGE_CHILDREN also holds every
        # child it reaped before (a browser of the editor tests is far above the bound).
        proc = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILD, *PROSE, *command, str(big)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "limited to 4.0 MiB" in proc.stderr
        assert time.monotonic() - started < 20
        peak_kb = int(proc.stdout.strip().splitlines()[-1])
        assert peak_kb < 400_000  # kilobytes: the check used to take 0.9 GB


#: Runs argv[1:], passes its exit status on, and prints its peak resident memory in KB.
_PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def test_long_line_snippet_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "long.prose"
    path.write_text('session "' + "z" * 200_000 + '" oops\n')
    proc = subprocess.run([*PROSE, "check", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert max(len(line) for line in proc.stdout.splitlines()) < 400
    assert "…" in proc.stdout
