"""Prints interpreter numbers: a 1,000-way `parallel for`, per-session overhead, `first` cancel latency.

Real time on this machine with the scripted backend (its delays are trio sleeps);
not a test. Results are recorded in bench/README.md.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import trio

from openprose.backends.scripted import ScriptedBackend, parse_script
from openprose.interpreter import RunEvent, run_program


def backend(script: dict) -> ScriptedBackend:
    return ScriptedBackend(parse_script(json.dumps(script), "bench"))


async def timed_run(program: str, script: dict, workdir: Path, events: list[RunEvent] | None = None) -> float:
    path = workdir / "bench.prose"
    path.write_text(program)
    start = time.perf_counter()
    result = await run_program(program.encode(), path, backend=backend(script), workdir=workdir,
                               on_event=events.append if events is not None else None)
    assert result.status == "ok", result.error
    return time.perf_counter() - start


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        items = ", ".join(f'"item {i}"' for i in range(1000))
        program = f"let items = [{items}]\nparallel for x in items:\n  session \"Process {{x}}\"\n"
        script = {"default": {"delay": 0.1, "output": "done"}}
        runs = [await timed_run(program, script, work) for _ in range(3)]
        print(f"parallel for over 1,000 items of 100 ms sessions: best {min(runs):.3f} s, "
              f"median {statistics.median(runs):.3f} s (goal <= 1.3 s)")

        n = 2000
        program = f'repeat {n}:\n  session "Step"\n'
        elapsed = min([await timed_run(program, {"default": {"delay": 0, "output": "x"}}, work) for _ in range(3)])
        print(f"per-session interpreter overhead (zero-latency backend, {n} sessions): {elapsed / n * 1e6:.0f} us")

        latencies = []
        program = ('parallel (first):\n  session "Fast"\n' + "".join(f'  session "Slow {i}"\n' for i in range(20)))
        script = {"sessions": [{"match": "Fast", "delay": 0.05, "output": "fast"}], "default": {"delay": 10, "output": "slow"}}
        for _ in range(20):
            events: list[RunEvent] = []
            await timed_run(program, script, work, events)
            won = next(e.t for e in events if e.type == "session.end" and e.prompt == "Fast")
            last_cancel = max(e.t for e in events if e.type == "branch.end" and e.status == "cancelled")
            latencies.append((last_cancel - won) * 1000)
        latencies.sort()
        print(f"`first` cancellation latency (winner done -> last of 20 losers cancelled): "
              f"median {statistics.median(latencies):.2f} ms, max {latencies[-1]:.2f} ms")


if __name__ == "__main__":
    trio.run(main)
