"""`prose check`, `prose compile` and `prose fmt` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROSE = [sys.executable, "-m", "prose_cli"]


def prose(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROSE, *args], cwd=cwd, capture_output=True, text=True, input=stdin, timeout=60)


def test_check_text_format_summary_and_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "ok.prose").write_text('session "fine"\n')
    sub = tmp_path / "nested"
    sub.mkdir()
    (sub / "bad.prose").write_text('agent a:\n  model: sonet\nsession "x {nobody}"\n')
    proc = prose("check", "--no-snippets", ".", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert "nested/bad.prose:2:10: error[E008]: unknown model 'sonet': use sonnet, opus or haiku (did you mean 'sonnet'?)" in lines
    assert any(line.startswith("nested/bad.prose:3:13: warning[W113]") for line in lines)
    assert lines[-1] == "1 error, 1 warning in 2 files"
    assert prose("check", "ok.prose", cwd=tmp_path).returncode == 0
    assert prose("compile", "ok.prose", cwd=tmp_path).returncode == 0


def test_check_json_format(tmp_path: Path) -> None:
    (tmp_path / "p.prose").write_text('parallel ("frist"):\n  session "é {x}"\n')
    proc = prose("check", "--format", "json", "p.prose", cwd=tmp_path)
    assert proc.returncode == 1
    records = json.loads(proc.stdout)
    assert records[0] == {
        "file": "p.prose", "line": 1, "column": 11, "end_line": 1, "end_column": 18, "severity": "error",
        "code": "P001", "message": "unknown join strategy 'frist'; did you mean 'first'? (expected all, first, any, regardless)",
    }
    warn = records[1]
    assert (warn["code"], warn["line"], warn["column"]) == ("W113", 2, 15)  # columns count characters, not bytes


def test_check_unreadable_and_missing_paths_exit_2(tmp_path: Path) -> None:
    proc = prose("check", "nope.prose", cwd=tmp_path)
    assert proc.returncode == 2 and "nope.prose: cannot read" in proc.stderr
    (tmp_path / "empty").mkdir()
    assert prose("check", "empty", cwd=tmp_path).returncode == 2


def test_check_reports_invalid_utf8_with_location(tmp_path: Path) -> None:
    (tmp_path / "b.prose").write_bytes(b'session "ok"\nsession "\xff"\n')
    proc = prose("check", "--no-snippets", "b.prose", cwd=tmp_path)
    assert proc.returncode == 1
    assert "b.prose:2:10: error[E005]: the file is not valid UTF-8 (byte 0xff)" in proc.stdout


def test_fmt_in_place_check_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "p.prose"
    path.write_text('parallel(first ,on-fail:continue):\n    x=session "a"\n')
    check = prose("fmt", "--check", "p.prose", cwd=tmp_path)
    assert check.returncode == 1 and "would reformat p.prose" in check.stdout
    assert path.read_text().startswith("parallel(first")  # --check writes nothing
    assert prose("fmt", "p.prose", cwd=tmp_path).returncode == 0
    assert path.read_text() == 'parallel (first, on-fail: continue):\n  x = session "a"\n'
    assert prose("fmt", "--check", "p.prose", cwd=tmp_path).returncode == 0
    piped = prose("fmt", cwd=tmp_path, stdin='let  x=  session "a"\n')
    assert piped.returncode == 0 and piped.stdout == 'let x = session "a"\n'
    broken = prose("fmt", cwd=tmp_path, stdin='session "a" "b"\n')
    assert broken.returncode == 1 and "<stdin>:1:" in broken.stderr and broken.stdout == ""


def test_deeply_nested_program_is_handled_without_traceback(tmp_path: Path) -> None:
    lines = ["  " * i + "do:" for i in range(400)] + ["  " * 400 + 'session "deep"']
    (tmp_path / "deep.prose").write_text("\n".join(lines) + "\n")
    for args in (("check", "deep.prose"), ("fmt", "--check", "deep.prose"),
                 ("run", "--backend", "simulated", "deep.prose")):
        proc = prose(*args, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, (args, proc.stderr[-2000:])
        assert proc.returncode == 0, (args, proc.stdout[-500:], proc.stderr[-500:])
