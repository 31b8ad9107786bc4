"""A hostile repository for `prose check` and `prose run`: FIFO, devices, symlinks out,
a huge file, a NUL in a path, deep nesting (directories and program nesting).

Each command must finish within a bound (nothing blocks on a pipe or reads an
endless device), say what it refused with a location, print no traceback,
and never read or run a program outside the workspace unless told to.
The language server's side is in tests/lsp/test_hostile.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROSE = [sys.executable, "-m", "prose_cli"]
BOUND = 30.0  # seconds per command, generous for a loaded machine; the old failure mode was forever


def _prose(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = subprocess.run([*PROSE, *args], cwd=cwd, capture_output=True, text=True, timeout=BOUND * 2)
    assert time.monotonic() - started < BOUND, args
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture()
def hostile(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.prose").write_text('output pwned = session "this must never run"\n')
    ws = tmp_path / "repo"
    ws.mkdir()
    os.mkfifo(ws / "pipe.prose")
    (ws / "zero.prose").symlink_to("/dev/zero")
    (ws / "urandom.prose").symlink_to("/dev/urandom")
    (ws / "escape.prose").symlink_to(outside / "evil.prose")
    (ws / "loop").symlink_to(ws)  # a directory symlink loop
    with (ws / "huge.prose").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse 50 MB
    deep = ws
    for i in range(200):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "leaf.prose").write_text('session "deep leaf"\n')
    (ws / "nested.prose").write_text("".join("  " * i + "if **c**:\n" for i in range(400)) + "  " * 400 + 'session "x"\n')
    (ws / "main.prose").write_text(
        'use "./pipe.prose" as pipe\n'
        'use "./zero.prose" as zero\n'
        'use "./escape.prose" as escape\n'
        'use "../outside/evil.prose" as dotdot\n'
        f'use "{outside / "evil.prose"}" as absolute\n'
        'use "./huge.prose" as huge\n'
        'use "./a\x00b.prose" as nul\n'
        'session "main"\n'
    )
    (ws / "runner.prose").write_text('use "./escape.prose" as escape\nlet r = escape()\noutput r = r\n')
    return ws


def test_check_of_a_hostile_directory_finishes_and_refuses_what_it_must(hostile: Path) -> None:
    proc = _prose("check", "--format", "json", ".", cwd=hostile)
    assert proc.returncode == 2  # some files could not be read
    for name in ("pipe.prose", "zero.prose", "urandom.prose", "escape.prose", "huge.prose"):
        assert name in proc.stderr, (name, proc.stderr)
    records = json.loads(proc.stdout)
    files = {Path(str(r["file"])).name for r in records}
    assert "loop" not in proc.stdout + proc.stderr  # the directory symlink loop was not followed
    main = [r for r in records if str(r["file"]).endswith("main.prose")]
    lines = {r["line"] for r in main if r["code"] == "E117"}
    assert lines == {1, 2, 3, 4, 5, 6, 7}, main
    assert "nested.prose" not in files or all(r["code"] != "E117" for r in records if r["file"].endswith("nested.prose"))
    text = _prose("check", ".", cwd=hostile)
    assert "in 4 files" in text.stdout  # main, runner, nested and the leaf 200 directories down


def test_check_of_each_hostile_file_directly(hostile: Path) -> None:
    for name in ("pipe.prose", "zero.prose", "urandom.prose", "huge.prose"):
        proc = _prose("check", name, cwd=hostile)
        assert proc.returncode == 2 and "cannot read" in proc.stderr, (name, proc.stderr)
    proc = _prose("fmt", "--check", "pipe.prose", cwd=hostile)
    assert proc.returncode == 2


def test_run_never_reads_or_runs_outside_the_workspace(hostile: Path) -> None:
    proc = _prose("run", "--backend", "simulated", "--json", "runner.prose", cwd=hostile)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "this must never run" not in proc.stdout
    assert "outside the workspace" in proc.stdout
    proc = _prose("run", "--backend", "simulated", "--json", "main.prose", cwd=hostile)
    assert proc.returncode == 2 and "this must never run" not in proc.stdout
    # With explicit permission the symlinked program outside is read and run.
    proc = _prose("run", "--backend", "simulated", "--json", "--allow-outside-workspace", "runner.prose", cwd=hostile)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "this must never run" in proc.stdout


def test_run_of_a_fifo_or_device_program_is_refused(hostile: Path) -> None:
    for name in ("pipe.prose", "zero.prose", "huge.prose"):
        proc = _prose("run", "--backend", "simulated", name, cwd=hostile)
        assert proc.returncode == 2 and "cannot read" in proc.stderr, (name, proc.stderr)


def test_deeply_nested_program_is_an_answer_not_a_crash(hostile: Path) -> None:
    proc = _prose("check", "nested.prose", cwd=hostile)
    assert proc.returncode in (0, 1)
    proc = _prose("run", "--backend", "simulated", "nested.prose", cwd=hostile)
    assert proc.returncode in (0, 1, 2)
