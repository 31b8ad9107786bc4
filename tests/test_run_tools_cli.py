"""`prose run` asking the person about `prompt` permissions, through a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from .tshelpers import process_alive

PROGRAM = (
    "agent fixer:\n"
    "  permissions:\n"
    "    bash: prompt\n"
    'output result = session: fixer\n  prompt: "Fix the build"\n'
)
SCRIPT = {"sessions": [{"match": "Fix the build", "output": "done",
                        "tools": [{"tool": "bash", "input": {"command": "touch made-by-bash"}}]}]}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\r")


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "p.prose").write_text(PROGRAM)
    (tmp_path / "s.json").write_text(json.dumps(SCRIPT))
    return tmp_path


def _run_in_pty(cwd: Path, answer: str, timeout: float = 90.0) -> tuple[int, str]:
    """Run prose in a pseudo-terminal, answer the first permission question, return (exit code, screen text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "prose_cli", "run", "--backend", "scripted", "--script", "s.json", "p.prose"],
        cwd=cwd, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            text = _ANSI.sub("", seen.decode(errors="replace"))
            if not answered and "lways this run" in " ".join(text.split()):
                os.write(master, answer.encode() + b"\r")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, _ANSI.sub("", seen.decode(errors="replace"))


@pytest.mark.parametrize(("answer", "created"), [("n", False), ("y", True)])
def test_terminal_question_names_agent_tool_and_command(tmp_path: Path, answer: str, created: bool) -> None:
    cwd = _setup(tmp_path)
    code, screen = _run_in_pty(cwd, answer)
    assert "Allow agent 'fixer' to use bash: touch made-by-bash?" in screen, screen[-2000:]
    assert code == 0, screen[-2000:]
    assert (cwd / "made-by-bash").exists() is created
    state = next((cwd / ".prose" / "runs").glob("*/state.md")).read_text()
    if created:
        assert "tool bash ok: touch made-by-bash" in state
    else:
        assert "tool bash denied (bash: prompt (refused by the user)): touch made-by-bash" in state
    assert "Traceback" not in screen


def test_without_a_terminal_the_answer_is_no_and_says_how_to_allow(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "prose_cli", "run", "--backend", "scripted", "--script", "s.json", "p.prose"],
        cwd=cwd, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert not (cwd / "made-by-bash").exists()
    assert "tool bash denied (bash: prompt (no one to ask)): touch made-by-bash" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "prose_cli", "run", "--yes", "--backend", "scripted", "--script", "s.json", "p.prose"],
        cwd=cwd, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert (cwd / "made-by-bash").exists()


@pytest.mark.parametrize("args", [["--max-tool-turns", "0"], ["--tool-timeout", "inf"], ["--tool-timeout", "-1"],
                                  ["--workdir", "no-such-dir"]])
def test_bad_tool_options_are_clear_errors(tmp_path: Path, args: list[str]) -> None:
    cwd = _setup(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "prose_cli", "run", *args, "--backend", "scripted",
                           "--script", "s.json", "p.prose"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip()


def test_ctrl_c_during_a_command_kills_the_shell_and_its_children(tmp_path: Path) -> None:
    import signal

    (tmp_path / "p.prose").write_text('agent w:\n  permissions:\n    bash: allow\nsession: w\n  prompt: "Build"\n')
    command = "(sleep 300 & echo $! > child.pid; wait)"
    (tmp_path / "s.json").write_text(json.dumps(
        {"sessions": [{"match": "Build", "output": "x", "tools": [{"tool": "bash", "input": {"command": command}}]}]}))
    proc = subprocess.Popen([sys.executable, "-m", "prose_cli", "run", "--backend", "scripted", "--script",
                             "s.json", "p.prose"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    pid_file = tmp_path / "child.pid"
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "tool bash cancelled" in (next((tmp_path / ".prose" / "runs").glob("*/state.md")).read_text())
    gone_by = time.monotonic() + 1.0
    while process_alive(child) and time.monotonic() < gone_by:
        time.sleep(0.02)
    assert not process_alive(child), "the command's child outlived the interrupted run"
