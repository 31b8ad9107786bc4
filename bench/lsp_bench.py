"""Language server latency on generated programs and on the corpus, over real stdio.

Prints numbers; it is not a pass/fail test. For each program size (5,000 and
50,000 lines by default) one server process is started and measures:

* initialize -> first publishDiagnostics of the opened program,
* keystroke (one-character didChange) -> publishDiagnostics of that version, with
  incremental sync (a range edit) and with full sync (the whole text, as some
  clients send it),
* semantic tokens: `full` after an edit, `full/delta` after an edit (when the
  server advertises it), and `range` over one screen,
* hover and completion round trips,
* the server's resident memory (RSS, and its peak) after all of that.

The client is `wire_client.WireClient` (hand-framed JSON, orjson): a round trip is
timed from the first byte written to the answer read, so it is the server plus the
pipe. The client's own encoding of each keystroke's message is printed apart
(Python's json takes a few ms for a 1 MB full-sync text, an editor's less), and a
second line adds it in.

The corpus run opens every corpus program in one server and types into each with
both sync kinds. ``--raw`` adds, in-process, what one keystroke costs the runtime
alone (`Tree.edit` + incremental reparse + `analyze(tree=…, cache=…)`).
``--in-process`` measures only the server's CPU time per keystroke (see `server_path`), and
with ``--requests`` that of hover, completion, symbols, folding and tokens right after an
edit (see `requests_path`).

    python bench/lsp_bench.py [--lines 5000 50000] [--keystrokes 200] [--probes 200]
                              [--corpus] [--raw] [--json out.json] [--profile]
    python bench/lsp_bench.py --in-process [--lines 5000 50000] [--keystrokes 60] [--requests]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate_program  # noqa: E402
from wire_client import WireClient, frame  # noqa: E402

from openprose import syntax  # noqa: E402
from openprose.analysis import analyze  # noqa: E402
from openprose.model import ModelCache  # noqa: E402

URI = "file:///tmp/openprose-bench/bench.prose"
#: The corpus sits beside the repository (../shared/corpus); OPENPROSE_CORPUS overrides it.
CORPUS = Path(os.environ.get("OPENPROSE_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def stats(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {}
    return {"n": len(ms), "p50": percentile(ms, 50), "p90": percentile(ms, 90), "p95": percentile(ms, 95),
            "max": max(ms), "mean": statistics.mean(ms)}


def line(name: str, seconds: list[float], note: str = "") -> str:
    s = stats(seconds)
    if not s:
        return f"{name:<44} (not measured){note}"
    return (f"{name:<44} n={s['n']:<4} p50={s['p50']:7.2f}  p90={s['p90']:7.2f}  p95={s['p95']:7.2f}  "
            f"max={s['max']:8.2f} ms{note}")


def keystrokes(text: str, count: int, seed: int = 5) -> list[tuple[int, int, str]]:
    """(line, column, char) insertions inside prompt strings spread over the file.

    After the first quote of a line, unless the line holds a triple quote: typing there
    (`""x"`) would break the rest of the program, which measures error recovery instead."""
    rng = random.Random(seed)
    lines = text.split("\n")
    candidates = [(i, line.index('"') + 1) for i, line in enumerate(lines)
                  if '"' in line and '"""' not in line and line.isascii()]
    if not candidates:
        candidates = [(i, 0) for i, line in enumerate(lines) if line.isascii() and line.strip()] or [(0, 0)]
    return [(*rng.choice(candidates), rng.choice("abcxyz ")) for _ in range(count)]


def insert(text: str, line: int, col: int, char: str) -> str:
    """The text after inserting `char` at an ASCII (line, column)."""
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    offset += col
    return text[:offset] + char + text[offset:]


URI_TEXT = {"uri": URI}


class Session:
    """One open document on the server, typed into with either sync kind."""

    def __init__(self, client: WireClient, uri: str, text: str) -> None:
        self.client, self.uri, self.text, self.version = client, uri, text, 1

    async def open(self) -> float:
        began = time.perf_counter()
        self.client.notify("textDocument/didOpen", {"textDocument": {
            "uri": self.uri, "languageId": "prose", "version": 1, "text": self.text}})
        return await self.client.wait_version(self.uri, 1) - began

    async def type(self, line: int, col: int, char: str, full: bool) -> tuple[float, float]:
        """Send one keystroke and wait for that version's diagnostics: (round trip from the first
        byte written, the client's own encoding of the message before that), in seconds."""
        self.version += 1
        self.text = insert(self.text, line, col, char)
        began = time.perf_counter()
        change: dict[str, Any] = {"text": self.text} if full else {
            "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": char}
        data = frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": [change]}})
        sent = time.perf_counter()
        self.client.send(data)
        return await self.client.wait_version(self.uri, self.version) - sent, sent - began


async def typed(doc: Session, strokes: list[tuple[int, int, str]], full: bool) -> tuple[list[float], list[float]]:
    """Round trips and the client's encoding times of a run of keystrokes."""
    pairs = [await doc.type(*s, full=full) for s in strokes]
    return [p[0] for p in pairs], [p[1] for p in pairs]


async def start() -> tuple[WireClient, dict[str, Any]]:
    client = WireClient()
    await client.start(sys.executable, "-m", "openprose_lsp")
    await asyncio.sleep(2)  # let the process finish importing before `initialize`
    _, result = await client.request("initialize", {"processId": None, "capabilities": {},
                                                    "initializationOptions": {"backend": "simulated"}})
    client.notify("initialized", {})
    return client, result


def _supports_delta(init: dict[str, Any]) -> bool:
    full = (init["capabilities"].get("semanticTokensProvider") or {}).get("full")
    return isinstance(full, dict) and bool(full.get("delta"))


def _supports_range(init: dict[str, Any]) -> bool:
    return bool((init["capabilities"].get("semanticTokensProvider") or {}).get("range"))


async def program_run(text: str, strokes: list[tuple[int, int, str]], probes: int, token_edits: int) -> dict[str, Any]:
    client, init = await start()
    doc = Session(client, URI, text)
    out: dict[str, Any] = {"first": await doc.open()}
    out["incremental"], out["incremental encoding"] = await typed(doc, strokes, full=False)
    out["full"], out["full encoding"] = await typed(doc, strokes, full=True)
    full_times, delta_times, range_times, full_sizes, delta_sizes = [], [], [], [], []
    previous: str | None = None
    for stroke in strokes[:token_edits]:
        await doc.type(*stroke, full=False)
        took, tokens = await client.request("textDocument/semanticTokens/full", {"textDocument": URI_TEXT})
        full_times.append(took)
        full_sizes.append(len(json.dumps(tokens["data"])))
        previous = tokens.get("resultId")
    if _supports_delta(init) and previous is not None:
        for stroke in strokes[:token_edits]:
            await doc.type(*stroke, full=False)
            took, delta = await client.request("textDocument/semanticTokens/full/delta",
                                               {"textDocument": URI_TEXT, "previousResultId": previous})
            delta_times.append(took)
            edits = delta.get("edits")
            delta_sizes.append(len(json.dumps(edits if edits is not None else delta["data"])))
            previous = delta.get("resultId")
    if _supports_range(init):
        rng = random.Random(3)
        rows = text.count("\n")
        for _ in range(token_edits):
            top = rng.randrange(max(1, rows - 60))
            window = {"start": {"line": top, "character": 0}, "end": {"line": top + 60, "character": 0}}
            took, _ = await client.request("textDocument/semanticTokens/range", {"textDocument": URI_TEXT, "range": window})
            range_times.append(took)
    out["tokens"] = {"full": full_times, "delta": delta_times, "range": range_times,
                     "full_bytes": statistics.median(full_sizes) if full_sizes else 0,
                     "delta_bytes": statistics.median(delta_sizes) if delta_sizes else 0}
    lines = doc.text.split("\n")
    rng = random.Random(11)
    hovers, completions = [], []
    for _ in range(probes):
        row = rng.randrange(len(lines) - 1)
        at = {"textDocument": URI_TEXT, "position": {"line": row, "character": min(len(lines[row]), 3)}}
        hovers.append((await client.request("textDocument/hover", at))[0])
        completions.append((await client.request("textDocument/completion", at))[0])
    out["hover"], out["completion"] = hovers, completions
    out["rss_kb"] = client.rss_kb()
    await client.stop()
    return out


async def corpus_run(files: list[Path], strokes_per_file: int) -> dict[str, Any]:
    client, _ = await start()
    opens, incremental, full = [], [], []
    for path in files:
        text = path.read_text(encoding="utf-8")
        doc = Session(client, f"file:///tmp/openprose-bench/corpus/{path.name}", text)
        opens.append(await doc.open())
        strokes = keystrokes(text, strokes_per_file, seed=len(text))
        incremental += (await typed(doc, strokes, full=False))[0]
        full += (await typed(doc, strokes, full=True))[0]
        client.notify("textDocument/didClose", {"textDocument": {"uri": doc.uri}})
    out = {"files": len(files), "open": opens, "incremental": incremental, "full": full, "rss_kb": client.rss_kb()}
    await client.stop()
    return out


def raw_incremental(text: str, strokes: list[tuple[int, int, str]]) -> list[float]:
    """What one keystroke costs the runtime alone: edit the tree, reparse, analyze."""
    source = text.encode()
    tree = syntax.parse(source)
    cache = ModelCache()
    analyze(source, Path(URI[7:]), tree=tree, cache=cache)
    out = []
    for line_no, col, char in strokes:
        offset = 0
        for _ in range(line_no):
            offset = source.index(b"\n", offset) + 1
        offset += col
        began = time.perf_counter()
        new = source[:offset] + char.encode() + source[offset:]
        tree.edit(offset, offset, offset + 1, (line_no, col), (line_no, col), (line_no, col + 1))
        tree = syntax.parse(new, tree)
        analyze(new, Path(URI[7:]), tree=tree, cache=cache)
        out.append(time.perf_counter() - began)
        source = new
    return out


def server_path(text: str, strokes: list[tuple[int, int, str]], full: bool) -> tuple[list[float], list[float]]:
    """CPU time of the server's own work per keystroke, in-process, without the transport:
    `Document.apply` (a range edit, or the whole text) + analysis + conversion of the
    diagnostics to LSP (as `ProseServer.publish` does it) + their JSON for the wire. CPU time
    of this process is far less disturbed by neighbours on a shared machine than the wall time
    of a round trip. Returns that total, and the same without the analysis (the server's part)."""
    from openprose_lsp.documents import DocumentStore
    from pygls.protocol import default_converter

    converter = default_converter()
    store = DocumentStore()
    doc = store.open(URI, 1, text)
    store.analysis(doc)
    total, own = [], []
    for version, (line_no, col, char) in enumerate(strokes, start=2):
        text = insert(text, line_no, col, char)
        change: Any
        if full:
            change = lsp.TextDocumentContentChangeWholeDocument(text=text)
        else:
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line_no, col), end=lsp.Position(line_no, col)), text=char)
        began = time.process_time()
        doc.apply(change)
        applied = time.process_time()
        analysis = store.analysis(doc)
        analysed = time.process_time()
        items = doc.published.convert([*analysis.diagnostics, *doc.run_diagnostics], doc.text, doc.uri)
        json.dumps(converter.unstructure(lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=items, version=version)))
        done = time.process_time()
        total.append(done - began)
        own.append(done - began - (analysed - applied))
    return total, own


def corpus_path(files: list[Path], strokes_per_file: int) -> dict[str, list[float]]:
    """CPU time per keystroke of each corpus program, in-process (as `server_path`, incremental sync)."""
    out = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        out[path.name] = server_path(text, keystrokes(text, strokes_per_file, seed=len(text)), False)[0]
    return out


def requests_path(text: str, strokes: list[tuple[int, int, str]], probes: int = 5) -> dict[str, list[float]]:
    """CPU time of requests right after each keystroke, in-process, through the real handlers.

    After each edit (its analysis and diagnostics are not timed): the first
    hover on a name (which pays for whatever the version's first lookup
    builds), more hovers and completions at random lines (column 3, as over
    stdio), a completion inside a string's `{` (every variable in scope), and
    documentSymbol, foldingRange and semanticTokens/full.
    """
    from openprose_lsp import server as srv

    ls = srv.ProseServer()
    ls.text_document_publish_diagnostics = lambda params: None  # type: ignore[method-assign]
    ls.schedule = lambda doc, edited=False: ls.publish(doc)  # type: ignore[method-assign]
    ls.window_log_message = lambda params: print("server log:", params.message[:300], file=sys.stderr)  # type: ignore[method-assign]
    srv.did_open(ls, lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=URI, language_id="prose", version=1, text=text)))
    ident = lsp.TextDocumentIdentifier(uri=URI)
    rng = random.Random(13)
    kinds = ("hover, first on a name", "hover", "completion", "completion in {…} (all names)",
             "documentSymbol", "foldingRange", "semanticTokens/full")
    out: dict[str, list[float]] = {kind: [] for kind in kinds}

    def timed(kind: str, call: Any) -> None:
        began = time.process_time()
        call()
        out[kind].append(time.process_time() - began)

    for version, (line_no, col, char) in enumerate(strokes, start=2):
        text = insert(text, line_no, col, char)
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=lsp.Position(line_no, col), end=lsp.Position(line_no, col)), text=char)
        srv.did_change(ls, lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version), content_changes=[change]))
        lines = text.split("\n")
        named = [i for i, row in enumerate(lines) if row.startswith("let v")]
        row = rng.choice(named)
        timed(kinds[0], lambda: srv.on_hover(ls, lsp.HoverParams(text_document=ident, position=lsp.Position(row, 5))))
        for _ in range(probes):
            row = rng.randrange(len(lines) - 1)
            at = lsp.Position(row, min(len(lines[row]), 3))
            timed(kinds[1], lambda: srv.on_hover(ls, lsp.HoverParams(text_document=ident, position=at)))
            timed(kinds[2], lambda: srv.on_completion(ls, lsp.CompletionParams(text_document=ident, position=at)))
        braces = [i for i, row in enumerate(lines) if "{topic}" in row]
        row = rng.choice(braces)
        at = lsp.Position(row, lines[row].index("{topic}") + 1)
        timed(kinds[3], lambda: srv.on_completion(ls, lsp.CompletionParams(text_document=ident, position=at)))
        timed(kinds[4], lambda: srv.on_document_symbol(ls, lsp.DocumentSymbolParams(text_document=ident)))
        timed(kinds[5], lambda: srv.on_folding_range(ls, lsp.FoldingRangeParams(text_document=ident)))
        timed(kinds[6], lambda: srv.on_semantic_tokens(ls, lsp.SemanticTokensParams(text_document=ident)))
    return out


def profile(text: str, strokes: list[tuple[int, int, str]]) -> None:
    import cProfile
    import pstats

    cProfile.runctx("raw_incremental(text, strokes)", globals(), {"text": text, "strokes": strokes}, "/tmp/lsp_bench.prof")
    pstats.Stats("/tmp/lsp_bench.prof").sort_stats("cumulative").print_stats(30)


def report_program(lines: int, text: str, result: dict[str, Any]) -> None:
    print(f"\n== {lines:,} lines requested: {text.count(chr(10)):,} lines, {len(text.encode()):,} bytes ==")
    print(f"{'initialize -> first diagnostics':<44} {result['first'] * 1000:9.1f} ms")
    for kind in ("incremental", "full"):
        encoding = result[f"{kind} encoding"]
        print(line(f"keystroke -> diagnostics, {kind} sync", result[kind],
                   f"   (+ client encoding p50 {percentile(encoding, 50) * 1000:.2f} ms)"))
        with_encoding = [a + b for a, b in zip(result[kind], encoding)]
        print(line("  the same, counting the client's encoding", with_encoding))
    if "raw" in result:
        print(line("raw edit+reparse+analyze (in-process)", result["raw"]))
    tokens = result["tokens"]
    print(line("semanticTokens/full after an edit", tokens["full"], f"   ~{tokens['full_bytes']:,.0f} B of data"))
    print(line("semanticTokens/full/delta after an edit", tokens["delta"],
               f"   ~{tokens['delta_bytes']:,.0f} B of edits" if tokens["delta"] else "   (not advertised)"))
    print(line("semanticTokens/range, 60 lines", tokens["range"], "" if tokens["range"] else "   (not advertised)"))
    print(line("hover round trip", result["hover"]))
    print(line("completion round trip", result["completion"]))
    rss = result["rss_kb"]
    print(f"{'server memory after the run':<44} RSS {rss.get('VmRSS', 0) / 1024:7.1f} MB   peak {rss.get('VmHWM', 0) / 1024:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--token-edits", type=int, default=30, help="edits followed by a semantic tokens request")
    parser.add_argument("--corpus", action="store_true", help="also type into every corpus program")
    parser.add_argument("--corpus-keystrokes", type=int, default=20)
    parser.add_argument("--raw", action="store_true", help="also time the runtime alone, in-process")
    parser.add_argument("--in-process", action="store_true",
                        help="only the server's CPU time per keystroke, in-process, both sync kinds")
    parser.add_argument("--requests", action="store_true",
                        help="with --in-process: also the CPU time of requests right after each keystroke")
    parser.add_argument("--json", type=Path, help="write every sample (ms) here")
    parser.add_argument("--profile", action="store_true", help="profile the raw keystroke path")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for lines in args.lines:
        text = generate_program(lines)
        strokes = keystrokes(text, args.keystrokes)
        if args.in_process:
            import gc

            gc.disable()  # as the server runs: collections are scheduled between keystrokes
            result = {}
            for kind in ("incremental", "full"):
                result[kind], result[f"{kind}, server part"] = server_path(text, strokes, kind == "full")
            if args.requests:
                result["requests"] = requests_path(text, strokes[:max(1, args.keystrokes // 3)])
            if args.corpus and "corpus" not in results:
                files = sorted(CORPUS.glob("*.prose"))
                per_file = corpus_path(files, args.corpus_keystrokes)
                results["corpus"] = per_file
                medians = sorted((percentile(v, 50), name) for name, v in per_file.items())
                print(f"\n== corpus: {len(files)} programs, {args.corpus_keystrokes} keystrokes each, CPU time in-process ==")
                label = "median of the programs' p50"
                print(f"{label:<44} {statistics.median(m for m, _ in medians) * 1000:7.2f} ms")
                for median, name in medians[-4:]:
                    print(line(f"  {name}", per_file[name]))
            gc.enable()
            print(f"\n== {lines:,} lines, server work per keystroke (CPU time, in-process) ==")
            print(line("incremental sync", result["incremental"]))
            print(line("full sync", result["full"]))
            print(line("incremental sync without the analysis", result["incremental, server part"]))
            print(line("full sync without the analysis", result["full, server part"]))
            for kind, samples in result.get("requests", {}).items():
                print(line(f"{kind} after edit", samples))
            results[str(lines)] = result
            continue
        result = asyncio.run(program_run(text, strokes, args.probes, args.token_edits))
        if args.raw:
            result["raw"] = raw_incremental(text, strokes)
        report_program(lines, text, result)
        results[str(lines)] = result
        if args.profile:
            profile(text, strokes[:50])
    if args.corpus:
        files = sorted(CORPUS.glob("*.prose"))
        result = asyncio.run(corpus_run(files, args.corpus_keystrokes))
        print(f"\n== corpus: {result['files']} programs, {args.corpus_keystrokes} keystrokes each per sync kind ==")
        print(line("open -> first diagnostics", result["open"]))
        print(line("keystroke -> diagnostics, incremental sync", result["incremental"]))
        print(line("keystroke -> diagnostics, full sync", result["full"]))
        results["corpus"] = result
    if args.json:
        args.json.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
