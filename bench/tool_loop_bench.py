"""Prints the tool loop's overhead per tool call; not a test. Results are in bench/README.md.

Two measurements, both excluding the tool's own work (each call's `tool.end` duration
is subtracted) and the model's latency (the local Messages API answers at once):

* the gate: `Toolbox.call` (permission check, events, redaction, output cap) against
  calling the SDK's `read` tool directly on the same file;
* the whole loop: a session on the real SDK tool runner whose model asks for one `read`
  per turn for N turns, against a local Messages API on 127.0.0.1. What remains per call
  is the runtime's work: the SDK building each request and parsing its stream, loopback
  HTTP, the runner, our gate and events.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openprose.agents.limits import ToolLimits  # noqa: E402
from openprose.agents.permissions import DEFAULT_PERMISSIONS, Gate  # noqa: E402
from openprose.agents.tools import Toolbox  # noqa: E402
from openprose.backends import BackendConfig, make_backend  # noqa: E402
from openprose.interpreter import RunEvent, run_program  # noqa: E402
from tests.fake_messages_api import FakeMessagesAPI, Reply  # noqa: E402


async def gate_overhead(ws: Path, n: int = 2000) -> tuple[float, float]:
    from anthropic.lib.tools.agent_toolset import AgentToolContext, beta_read_tool

    read = beta_read_tool(AgentToolContext(workdir=str(ws)))
    box = Toolbox(Gate(DEFAULT_PERMISSIONS, ws, agent=None, asker=None), limits=ToolLimits(),
                  emit=lambda *a, **k: None, session="s1")
    args = {"file_path": "notes.md"}
    direct, boxed = [], []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            await read.call(args)
        direct.append((time.perf_counter() - start) / n)
        start = time.perf_counter()
        for _ in range(n):
            await box.call("read", args)
        boxed.append((time.perf_counter() - start) / n)
    return min(direct), min(boxed)


async def loop_overhead(ws: Path, api: FakeMessagesAPI, turns: int) -> tuple[float, float, int]:
    api.requests.clear()
    api.enqueue(*[Reply.tools(("read", {"file_path": "notes.md"}), input_tokens=1, output_tokens=1)
                  for _ in range(turns)], Reply.ok("done", input_tokens=1, output_tokens=1))
    program = f"agent r:\n  permissions:\n    bash: deny\n    network: deny\nsession: r\n  prompt: \"Read {turns} times\"\n"
    path = ws / "bench.prose"
    path.write_text(program)
    backend = make_backend("anthropic", config=BackendConfig(base_url=api.base_url),
                           env={"ANTHROPIC_API_KEY": "sk-bench-not-a-real-key"})
    events: list[RunEvent] = []
    start = time.perf_counter()
    try:
        result = await run_program(program.encode(), path, backend=backend, workdir=ws, on_event=events.append)
    finally:
        await backend.aclose()
    wall = time.perf_counter() - start
    assert result.status == "ok", result.error
    tool_time = sum(e.duration or 0.0 for e in events if e.type == "tool.end")
    calls = sum(1 for e in events if e.type == "tool.end")
    return wall, tool_time, calls


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "notes.md").write_text("a small file\n" * 20)
        direct, boxed = await gate_overhead(ws)
        print(f"SDK read tool called directly: {direct * 1e6:.0f} us/call; through Toolbox.call: {boxed * 1e6:.0f} us/call "
              f"-> gate + events + output cap: {(boxed - direct) * 1e6:.0f} us/call")
        api = FakeMessagesAPI()
        api.start()
        try:
            await loop_overhead(ws, api, 2)  # warm up: imports, connection pool
            for turns in (10, 40):
                samples = []
                for _ in range(3):
                    wall, tool_time, calls = await loop_overhead(ws, api, turns)
                    samples.append((wall - tool_time) / calls)
                print(f"whole loop, {turns} turns x 1 read: {statistics.median(samples) * 1e3:.2f} ms per tool call "
                      f"(min {min(samples) * 1e3:.2f} ms), tool work and model latency excluded")
        finally:
            api.stop()


if __name__ == "__main__":
    trio.run(main)
