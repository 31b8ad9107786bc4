"""Language server latency on a generated 5,000-line program.

Prints numbers; it is not a pass/fail test. Measures, over real stdio:

* initialize -> first publishDiagnostics of the opened program,
* keystroke (one-character didChange) -> publishDiagnostics of that version,
* hover and completion round trips,

and, in-process for comparison, the raw work one keystroke costs the runtime:
`Tree.edit` + incremental reparse + `analyze(tree=…, cache=…)`.

    python bench/lsp_bench.py [--lines 5000] [--keystrokes 200] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate_program  # noqa: E402

from openprose import syntax  # noqa: E402
from openprose.analysis import analyze  # noqa: E402
from openprose.model import ModelCache  # noqa: E402

URI = "file:///tmp/openprose-bench/bench.prose"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<42} n={len(ms):<4} p50={percentile(ms, 50):7.2f} ms  p95={percentile(ms, 95):7.2f} ms  "
        f"max={max(ms):7.2f} ms  mean={statistics.mean(ms):7.2f} ms"
    )


def keystrokes(text: str, count: int, seed: int = 5) -> list[tuple[int, int, str]]:
    """(line, column, char) insertions inside prompt strings spread over the file."""
    rng = random.Random(seed)
    lines = text.split("\n")
    candidates = [(i, line.index('"') + 1) for i, line in enumerate(lines) if '"' in line and line.isascii()]
    return [(*rng.choice(candidates), rng.choice("abcxyz ")) for _ in range(count)]


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("openprose-bench", "1")
        self.arrivals: dict[int | None, float] = {}
        self.version_seen: asyncio.Event = asyncio.Event()

        @self.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.arrivals[params.version] = time.perf_counter()
            self.version_seen.set()

        @self.feature(lsp.WINDOW_LOG_MESSAGE)
        def on_log(params: lsp.LogMessageParams) -> None:
            print("server log:", params.message[:200], file=sys.stderr)

    async def wait_version(self, version: int, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while version not in self.arrivals:
            self.version_seen.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no diagnostics for version {version}")
            try:
                await asyncio.wait_for(self.version_seen.wait(), remaining)
            except TimeoutError:
                pass
        return self.arrivals[version]


async def over_stdio(text: str, strokes: list[tuple[int, int, str]], probes: int, warm: bool) -> dict[str, Any]:
    client = Client()
    spawned = time.perf_counter()
    await client.start_io(sys.executable, "-m", "openprose_lsp")
    if warm:
        await asyncio.sleep(3)  # let the process finish importing before `initialize`
    began = time.perf_counter() if warm else spawned
    await client.initialize_async(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), initialization_options={"backend": "simulated"})
    )
    client.initialized(lsp.InitializedParams())
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(uri=URI, language_id="prose", version=1, text=text))
    )
    first = await client.wait_version(1) - began
    latencies = []
    for version, (line, col, char) in enumerate(strokes, start=2):
        sent = time.perf_counter()
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[
                    lsp.TextDocumentContentChangePartial(
                        range=lsp.Range(start=lsp.Position(line, col), end=lsp.Position(line, col)), text=char
                    )
                ],
            )
        )
        latencies.append(await client.wait_version(version) - sent)
    lines = text.split("\n")
    rng = random.Random(11)
    hovers, completions = [], []
    ident = lsp.TextDocumentIdentifier(uri=URI)
    for _ in range(probes):
        row = rng.randrange(len(lines) - 1)
        position = lsp.Position(row, min(len(lines[row]), 3))
        sent = time.perf_counter()
        await client.text_document_hover_async(lsp.HoverParams(text_document=ident, position=position))
        hovers.append(time.perf_counter() - sent)
        sent = time.perf_counter()
        await client.text_document_completion_async(lsp.CompletionParams(text_document=ident, position=position))
        completions.append(time.perf_counter() - sent)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"first": first, "keystroke": latencies, "hover": hovers, "completion": completions}


def raw_incremental(text: str, strokes: list[tuple[int, int, str]]) -> list[float]:
    """What one keystroke costs the runtime alone: edit the tree, reparse, analyze."""
    source = text.encode()
    tree = syntax.parse(source)
    cache = ModelCache()
    analyze(source, Path(URI[7:]), tree=tree, cache=cache)
    out = []
    for line, col, char in strokes:
        starts = [0]
        for i, byte in enumerate(source):
            if byte == 10:
                starts.append(i + 1)
        offset = starts[line] + col
        began = time.perf_counter()
        new = source[:offset] + char.encode() + source[offset:]
        tree.edit(offset, offset, offset + 1, (line, col), (line, col), (line, col + 1))
        tree = syntax.parse(new, tree)
        analyze(new, Path(URI[7:]), tree=tree, cache=cache)
        out.append(time.perf_counter() - began)
        source = new
    return out


def in_process_requests(text: str, probes: int) -> dict[str, list[float]]:
    """Hover/completion handler time without the transport, for comparison."""
    from openprose_lsp.completion import complete
    from openprose_lsp.documents import DocumentStore
    from openprose_lsp.hover import hover

    store = DocumentStore()
    doc = store.open(URI, 1, text)
    analysis = store.analysis(doc)
    lines = text.split("\n")
    rng = random.Random(11)
    hovers, completions = [], []
    for _ in range(probes):
        row = rng.randrange(len(lines) - 1)
        offset = doc.text.offset_at(row, min(len(lines[row]), 3))
        began = time.perf_counter()
        hover(analysis, doc.text, offset)
        hovers.append(time.perf_counter() - began)
        began = time.perf_counter()
        complete(analysis, doc.text, offset)
        completions.append(time.perf_counter() - began)
    return {"hover": hovers, "completion": completions}


def profile(text: str, strokes: list[tuple[int, int, str]]) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        cProfile.runctx("raw_incremental(text, strokes)", globals(), {"text": text, "strokes": strokes}, "/tmp/lsp_bench.prof")
        pstats.Stats("/tmp/lsp_bench.prof").sort_stats("cumulative").print_stats(30)
        return
    profiler = Profiler()
    profiler.start()
    raw_incremental(text, strokes)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="profile the raw keystroke path")
    args = parser.parse_args()
    text = generate_program(args.lines)
    strokes = keystrokes(text, args.keystrokes)
    print(f"program: {text.count(chr(10))} lines, {len(text.encode()):,} bytes; {len(strokes)} keystrokes")
    raw = raw_incremental(text, strokes)
    stdio = asyncio.run(over_stdio(text, strokes, args.probes, warm=False))
    warm = asyncio.run(over_stdio(text, strokes[:5], 5, warm=True))
    local = in_process_requests(text, args.probes)
    print(f"{'spawn -> first diagnostics (stdio, cold)':<42} {stdio['first'] * 1000:7.1f} ms   (process start + imports included)")
    print(f"{'initialize -> first diagnostics (warm)':<42} {warm['first'] * 1000:7.1f} ms   (goal <= 500 ms)")
    print(summary("keystroke -> publishDiagnostics (stdio)", stdio["keystroke"]) + "   (goal p95 <= 15 ms, <= 3x raw)")
    print(summary("raw edit+reparse+analyze (in-process)", raw))
    ratio = percentile(stdio["keystroke"], 95) / percentile(raw, 95)
    print(f"{'p95 ratio stdio / raw':<42} {ratio:7.2f}x")
    print(summary("hover (stdio round trip)", stdio["hover"]) + "   (goal p95 <= 5 ms)")
    print(summary("completion (stdio round trip)", stdio["completion"]) + "   (goal p95 <= 5 ms)")
    print(summary("hover (handler, in-process)", local["hover"]))
    print(summary("completion (handler, in-process)", local["completion"]))
    if args.profile:
        profile(text, strokes[:50])


if __name__ == "__main__":
    main()
