"""What one keystroke costs each stage of the analysis, with and without the caches' help.

    python bench/incremental_bench.py                 # 5,000 and 50,000 lines, 100 keystrokes each
    python bench/incremental_bench.py --keystrokes 50 --lines 5000
    python bench/incremental_bench.py --model-only        # the model build rows alone (quick)

Each keystroke inserts one character inside a prompt string (as bench/lsp_bench.py
does), edits the tree, reparses against the old one and then times, on the same
tree: the model build with `ModelCache` told the edit (`note_edit`, as the server
does) and without (the loop over every statement), resolution, the checker after
resolution (fresh, and with `SemanticCache`), and `analyze` end to end both ways.
Every timed stage has caches of its own, kept in step with the text.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate_program  # noqa: E402

from openprose import model as m, syntax  # noqa: E402
from openprose.analysis import analyze  # noqa: E402
from openprose.checker import _Checker  # noqa: E402
from openprose.incremental import SemanticCache  # noqa: E402
from openprose.resolve import resolve  # noqa: E402


def keystrokes(text: str, count: int, seed: int = 5) -> list[tuple[int, int, str]]:
    rng = random.Random(seed)
    lines = text.split("\n")
    candidates = [(i, line.index('"') + 1) for i, line in enumerate(lines) if '"' in line and line.isascii()]
    return [(*rng.choice(candidates), rng.choice("abcxyz ")) for _ in range(count)]


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - began) * 1000


def run(lines: int, count: int, model_only: bool = False) -> dict[str, list[float]]:
    text = generate_program(lines)
    source = text.encode()
    tree = syntax.parse(source)
    # Told every edit (as the language server's documents are), and not (as before note_edit).
    models, checks = m.ModelCache(), SemanticCache()
    plain_models = m.ModelCache()
    e2e_plain = m.ModelCache()
    e2e_models, e2e_checks = m.ModelCache(), SemanticCache()
    hinted = (models, e2e_models)
    checks.analyze(models.build(tree, source), {})
    plain_models.build(tree, source)
    analyze(source, tree=tree, cache=e2e_plain)
    analyze(source, tree=tree, cache=e2e_models, checks=e2e_checks)
    stages: dict[str, list[float]] = {k: [] for k in (
        "model build, ModelCache without edit hints", "model build, ModelCache with edit hints",
        "statements the hinted build looked at", "resolve", "checker after resolve, fresh",
        "resolve + checker, SemanticCache", "analyze, ModelCache only (no hints)",
        "analyze, ModelCache (hints) + SemanticCache")}
    starts = [0] + [i + 1 for i, b in enumerate(source) if b == 10]
    gc.disable()
    try:
        for line, col, char in keystrokes(text, count):
            offset = starts[line] + col
            source = source[:offset] + char.encode() + source[offset:]
            starts = [s + (s > offset) for s in starts]
            tree.edit(offset, offset, offset + 1, (line, col), (line, col), (line, col + 1))
            for cache in hinted:
                cache.note_edit(offset, offset, offset + 1)
            tree = syntax.parse(source, tree)
            _, ms = timed(plain_models.build, tree, source)
            stages["model build, ModelCache without edit hints"].append(ms)
            program, ms = timed(models.build, tree, source)
            stages["model build, ModelCache with edit hints"].append(ms)
            stages["statements the hinted build looked at"].append(models.changes.visited)
            if model_only:
                continue
            res, ms = timed(resolve, program)
            stages["resolve"].append(ms)
            _, ms = timed(lambda: _Checker(program, res, {}).run())
            stages["checker after resolve, fresh"].append(ms)
            _, ms = timed(checks.analyze, program, {}, models.changes)
            stages["resolve + checker, SemanticCache"].append(ms)
            # End to end, on caches of their own kept in step (the previous build of each is the newest).
            _, ms = timed(analyze, source, tree=tree, cache=e2e_plain)
            stages["analyze, ModelCache only (no hints)"].append(ms)
            _, ms = timed(analyze, source, tree=tree, cache=e2e_models, checks=e2e_checks)
            stages["analyze, ModelCache (hints) + SemanticCache"].append(ms)
    finally:
        gc.enable()
    return stages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keystrokes", type=int, default=100)
    parser.add_argument("--lines", type=int, action="append")
    parser.add_argument("--model-only", action="store_true", help="time the model build rows only")
    args = parser.parse_args()
    sizes = args.lines or [5000, 50000]
    results = {n: run(n, args.keystrokes, args.model_only) for n in sizes}
    columns = " | ".join(f"{n:,} lines" for n in sizes)
    print(f"| stage (ms per keystroke, p50 / p90; a count for the statements row) | {columns} |")
    print("|" + " --- |" * (len(sizes) + 1))
    for stage in results[sizes[0]]:
        if not results[sizes[0]][stage]:
            continue
        cells = []
        for n in sizes:
            values = sorted(results[n][stage])
            p90 = values[int(0.9 * (len(values) - 1))]
            digits = 2 if values[-1] < 10 else 1
            cells.append(f"{statistics.median(values):.{digits}f} / {p90:.{digits}f}")
        print(f"| {stage} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
