"""Prints how long `prose check` on one small file and `prose lsp`'s first diagnostics take.

Both are dominated by start-up, not by analysis: this measures the whole process
(median of N fresh subprocesses), how much of it is spent importing (from
`python -X importtime`), and which heavy libraries each command loads.

Not a test: numbers vary with the machine; bench/README.md records them.

    python bench/startup_bench.py [--runs N] [--file PROGRAM] [--prose COMMAND]

Wall time on a shared machine mostly measures the neighbours, so the CPU time of
the child process (user + system) is printed beside it. To compare with an older
checkout, point PYTHONPATH at its sources and name its entry point, e.g.
`PYTHONPATH=old/runtime:old/server python bench/startup_bench.py --prose "python -m openprose.cli"`.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "examples" / "agents.prose"
#: Libraries a one-file check or an idle language server has no use for.
HEAVY = ("anthropic", "httpx", "trio", "rich", "pygls", "lsprotocol", "openprose.interpreter")


def prose_executable(given: str | None) -> list[str]:
    """The installed `prose` script (beside this Python, else on PATH), run by this Python."""
    if given:
        argv = shlex.split(given)
        return [sys.executable, *argv[1:]] if argv[0] in ("python", "python3") else argv
    beside = Path(sys.executable).parent / "prose"
    found = beside if beside.exists() else shutil.which("prose")
    if found is None:
        sys.exit("startup_bench: no `prose` command; run `python -m pip install -e '.[dev]'` first")
    return [sys.executable, str(found)]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], **kwargs: object) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds of one run of ``argv`` (CPU: the child's user + system time)."""
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start, children_cpu() - cpu, proc


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


def bench_check(prose: list[str], program: Path, runs: int) -> None:
    argv = [*prose, "check", str(program)]
    timed(argv)  # warm-up: bytecode caches written, files in the page cache
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, proc = timed(argv)
        if proc.returncode not in (0, 1):
            sys.exit(f"startup_bench: {' '.join(argv)} failed:\n{proc.stderr}")
        walls.append(wall)
        cpus.append(cpu)
    shares, imports, profiles = [], [], []
    traced = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    for _ in range(runs):
        wall, _, proc = timed(argv, env=traced)
        total, profile = import_profile(proc.stderr)
        shares.append(total / wall)
        imports.append(total)
        profiles.append(profile)
    print(f"prose check {program.name} ({runs} runs)")
    print(f"  wall time            median {ms(statistics.median(walls))}  min {ms(min(walls))}")
    print(f"  CPU time             median {ms(statistics.median(cpus))}  min {ms(min(cpus))}")
    print(f"  importing (-X importtime) median {ms(statistics.median(imports))}"
          f" = {statistics.median(shares):.0%} of that run's wall time")
    top_level_report(profiles)
    loaded = sorted(h for h in HEAVY if any(h in p for p in profiles))
    print(f"  heavy libraries loaded: {', '.join(loaded) or 'none'}")


def top_level_report(profiles: list[dict[str, float]]) -> None:
    names = {n for p in profiles for n in p if n.startswith("openprose") or n.startswith("prose_cli")
             or n in ("click", "lsprotocol", "lsprotocol.types", "pygls", "pygls.lsp.server", "trio", "rich",
                      "anthropic", "tree_sitter", "tree_sitter_openprose")}
    rows = sorted(((statistics.median(p.get(n, 0.0) for p in profiles), n) for n in names), reverse=True)
    for seconds, name in rows[:10]:
        print(f"    {name:32} {ms(seconds)} cumulative (median)")


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


def first_diagnostics(prose: list[str], program: Path, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning `prose lsp` to the first publishDiagnostics for an opened file, and
    the server's CPU seconds for the whole session (start, that file, shutdown)."""
    uri = program.resolve().as_uri()
    cpu = children_cpu()
    start = time.perf_counter()
    server = subprocess.Popen([*prose, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env)
    assert server.stdin is not None and server.stdout is not None
    try:
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": os.getpid(), "rootUri": program.resolve().parent.as_uri(), "capabilities": {}}}))
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "openprose", "version": 1, "text": program.read_text(encoding="utf-8")}}}))
        server.stdin.flush()
        while True:
            message = read_message(server.stdout)
            if (message.get("method") == "textDocument/publishDiagnostics"
                    and message.get("params", {}).get("uri") == uri):  # type: ignore[union-attr]
                elapsed = time.perf_counter() - start
                break
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.flush()
        server.wait(timeout=10)
        return elapsed, children_cpu() - cpu
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def lsp_imports(prose: list[str], program: Path, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Import profile of a server that started, published one file's diagnostics and exited."""
    traced = dict(env, PYTHONPROFILEIMPORTTIME="1")
    uri = program.resolve().as_uri()
    # A file, not a pipe: the import report is larger than a pipe's buffer and would block the server.
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([*prose, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=log, env=traced)
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "openprose", "version": 1, "text": program.read_text(encoding="utf-8")}}},
    ]
    assert server.stdin is not None and server.stdout is not None
    for message in messages:
        server.stdin.write(frame(message))
    server.stdin.flush()
    while True:
        message = read_message(server.stdout)
        if message.get("method") == "textDocument/publishDiagnostics":
            break
    server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    server.stdin.flush()
    server.communicate(timeout=10)
    log.seek(0)
    return import_profile(log.read().decode("utf-8", "replace"))


def bench_lsp(prose: list[str], program: Path, runs: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    first_diagnostics(prose, program, env)  # warm-up
    sessions = [first_diagnostics(prose, program, env) for _ in range(runs)]
    times, cpus = [t for t, _ in sessions], [c for _, c in sessions]
    profiles = [lsp_imports(prose, program, env) for _ in range(max(1, runs // 2))]
    imports = [total for total, _ in profiles]
    print(f"prose lsp: spawn -> first publishDiagnostics for {program.name} ({runs} runs)")
    print(f"  wall time            median {ms(statistics.median(times))}  min {ms(min(times))}")
    print(f"  CPU time (session)   median {ms(statistics.median(cpus))}  min {ms(min(cpus))}")
    print(f"  importing (-X importtime) median {ms(statistics.median(imports))}")
    top_level_report([p for _, p in profiles])
    loaded = sorted(h for h in HEAVY if any(h in p for _, p in profiles))
    print(f"  heavy libraries loaded before the first diagnostics: {', '.join(loaded) or 'none'}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="subprocesses per measurement (default 11)")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="the small program to check and open")
    parser.add_argument("--prose", default=None, help="path of the `prose` script (default: beside this Python)")
    parser.add_argument("--skip-lsp", action="store_true", help="measure `prose check` only")
    args = parser.parse_args()
    prose = prose_executable(args.prose)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {' '.join(prose[1:])}")
    bench_check(prose, args.file, args.runs)
    if not args.skip_lsp:
        bench_lsp(prose, args.file, args.runs)


if __name__ == "__main__":
    main()
