"""Prints how long `prose check` on one small file and `prose lsp`'s first diagnostics take.

Both are dominated by start-up, not by analysis: this measures the whole process
(fresh subprocesses), how much of it is spent importing (`python -X importtime`),
how many modules get loaded, and which heavy libraries each command loads.

Not a test: numbers vary with the machine; bench/README.md records them.

    python bench/startup_bench.py [--runs N] [--file PROGRAM] [--prose COMMAND] [--baseline COMMAND]

Wall time on a shared machine mostly measures the neighbours, so the CPU time of
the child process (user + system) is printed beside it, and the minimum beside the
median. `--baseline` measures a second command in alternation with the first (so
both see the same neighbours); leading NAME=VALUE words set its environment, e.g.
`--baseline "PYTHONPATH=old/runtime:old/server python -m openprose.cli"` for an
older checkout's sources.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "examples" / "agents.prose"
#: Libraries a one-file check or an idle language server has no use for.
HEAVY = ("anthropic", "httpx", "trio", "rich", "pygls", "lsprotocol", "openprose.interpreter")


@dataclass
class Subject:
    """One way of starting `prose`, and what was measured of it."""

    label: str
    argv: list[str]
    env: dict[str, str]
    samples: dict[str, list[float]] = field(default_factory=dict)
    profiles: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def add(self, what: str, value: float) -> None:
        self.samples.setdefault(what, []).append(value)


def subject(label: str, command: str | None) -> Subject:
    """The installed `prose` script (beside this Python, else on PATH), or COMMAND, run by this Python."""
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    if command is None:
        beside = Path(sys.executable).parent / "prose"
        found = beside if beside.exists() else shutil.which("prose")
        if found is None:
            sys.exit("startup_bench: no `prose` command; run `python -m pip install -e '.[dev]'` first")
        return Subject(label, [sys.executable, str(found)], env)
    words = shlex.split(command)
    while words and "=" in words[0] and not words[0].startswith("="):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words and words[0] in ("python", "python3"):
        words[0] = sys.executable
    return Subject(label, words, env)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_profile(stderr: str) -> tuple[float, dict[str, float]]:
    """Total import seconds (sum of the top-level entries) and each module's cumulative seconds."""
    total = 0.0
    cumulative: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum, name = line.split("|", 2)
        seconds = int(cum.strip()) / 1e6
        module = name.strip()
        cumulative[module] = max(cumulative.get(module, 0.0), seconds)
        if name.startswith(" ") and not name.startswith("  "):
            total += seconds
    return total, cumulative


# ---------------------------------------------------------------- prose check


def check_once(who: Subject, program: Path, *, traced: bool = False) -> None:
    argv = [*who.argv, "check", str(program)]
    env = dict(who.env, PYTHONPROFILEIMPORTTIME="1") if traced else who.env
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"startup_bench: {' '.join(argv)} failed:\n{proc.stderr}")
    if traced:
        total, profile = import_profile(proc.stderr)
        who.add("check import", total)
        who.add("check import share", total / wall)
        who.profiles.setdefault("check", []).append(profile)
    else:
        who.add("check wall", wall)
        who.add("check cpu", children_cpu() - cpu)


# ---------------------------------------------------------------- prose lsp over stdio


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def read_message(stream) -> dict[str, object]:  # noqa: ANN001 - a binary pipe
    length = None
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("the server closed stdout")
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    assert length is not None, "a message without Content-Length"
    return json.loads(stream.read(length))


def lsp_once(who: Subject, program: Path, *, traced: bool = False) -> None:
    """Spawn `prose lsp`, open one file, wait for its publishDiagnostics, shut down.

    Records the seconds from spawning to those diagnostics and the server's CPU
    seconds for the whole session; traced, the import profile instead.
    """
    uri = program.resolve().as_uri()
    env = dict(who.env, PYTHONPROFILEIMPORTTIME="1") if traced else who.env
    # A file, not a pipe: the import report is larger than a pipe's buffer and would block the server.
    log = tempfile.TemporaryFile()
    cpu = children_cpu()
    start = time.perf_counter()
    server = subprocess.Popen([*who.argv, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
    assert server.stdin is not None and server.stdout is not None
    try:
        for message in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "processId": os.getpid(), "rootUri": program.resolve().parent.as_uri(), "capabilities": {}}},
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri, "languageId": "openprose", "version": 1, "text": program.read_text(encoding="utf-8")}}},
        ):
            server.stdin.write(frame(message))
        server.stdin.flush()
        while True:
            message = read_message(server.stdout)
            params = message.get("params")
            if (message.get("method") == "textDocument/publishDiagnostics" and isinstance(params, dict)
                    and params.get("uri") == uri):
                elapsed = time.perf_counter() - start
                break
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.flush()
        server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    if traced:
        log.seek(0)
        total, profile = import_profile(log.read().decode("utf-8", "replace"))
        who.add("lsp import", total)
        who.profiles.setdefault("lsp", []).append(profile)
    else:
        who.add("lsp wall", elapsed)
        who.add("lsp cpu", children_cpu() - cpu)


# ---------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def row(title: str, subjects: list[Subject], what: str, *, share: str | None = None) -> None:
    cells = []
    for who in subjects:
        values = who.samples.get(what, [])
        if not values:
            cells.append(" " * 34)
            continue
        cell = f"median {ms(statistics.median(values))}  min {ms(min(values))}"
        if share:
            cell = f"median {ms(statistics.median(values))} = {statistics.median(who.samples[share]):4.0%} of wall"
        cells.append(f"{cell:34}")
    print(f"  {title:28} " + " | ".join(cells))


def modules_row(subjects: list[Subject], kind: str) -> None:
    cells = []
    for who in subjects:
        profiles = who.profiles.get(kind, [])
        count = statistics.median(len(p) for p in profiles) if profiles else 0
        cells.append(f"{int(count):<34}")
    print(f"  {'modules imported':28} " + " | ".join(cells))
    cells = []
    for who in subjects:
        profiles = who.profiles.get(kind, [])
        heavy = sorted(h for h in HEAVY if any(h in p for p in profiles))
        cells.append(f"{', '.join(heavy) or 'none':34}")
    print(f"  {'heavy libraries loaded':28} " + " | ".join(cells))


def biggest_imports(who: Subject, kind: str, count: int = 8) -> None:
    profiles = who.profiles.get(kind, [])
    names = {n for p in profiles for n in p
             if n.split(".")[0] in ("openprose", "openprose_lsp", "prose_cli", "click", "lsprotocol", "pygls",
                                    "trio", "rich", "anthropic", "tree_sitter", "tree_sitter_openprose")}
    rows = sorted(((statistics.median(p.get(n, 0.0) for p in profiles), n) for n in names), reverse=True)
    print(f"  largest imports ({who.label}, cumulative, median):")
    for seconds, name in rows[:count]:
        print(f"    {name:32} {ms(seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="subprocesses per measurement (default 11)")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="the small program to check and open")
    parser.add_argument("--prose", default=None, help="command that runs prose (default: the script beside this Python)")
    parser.add_argument("--baseline", default=None, help="a second prose command to compare with, run in alternation")
    parser.add_argument("--skip-lsp", action="store_true", help="measure `prose check` only")
    args = parser.parse_args()
    subjects = [subject("this checkout", args.prose)]
    if args.baseline:
        subjects.insert(0, subject("baseline", args.baseline))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for who in subjects:
        print(f"  {who.label}: {' '.join(who.argv)}")
    steps = [check_once] + ([] if args.skip_lsp else [lsp_once])
    for step in steps:
        for who in subjects:
            step(who, args.file)  # warm-up: bytecode caches written, files in the page cache
        for _ in range(args.runs):
            for who in subjects:
                step(who, args.file)
                step(who, args.file, traced=True)
    header = " | ".join(f"{who.label:34}" for who in subjects)
    print(f"\nprose check {args.file.name} ({args.runs} runs each)\n  {'':28} {header}")
    row("wall time", subjects, "check wall")
    row("CPU time", subjects, "check cpu")
    row("importing (-X importtime)", subjects, "check import", share="check import share")
    modules_row(subjects, "check")
    for who in subjects:
        biggest_imports(who, "check")
    if not args.skip_lsp:
        print(f"\nprose lsp: spawn -> first publishDiagnostics for {args.file.name} ({args.runs} runs each)"
              f"\n  {'':28} {header}")
        row("wall time", subjects, "lsp wall")
        row("CPU time (whole session)", subjects, "lsp cpu")
        row("importing (-X importtime)", subjects, "lsp import")
        modules_row(subjects, "lsp")
        for who in subjects:
            biggest_imports(who, "lsp")


if __name__ == "__main__":
    main()
