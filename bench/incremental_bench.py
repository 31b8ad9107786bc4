"""What one keystroke costs each stage of the analysis, with and without `SemanticCache`.

    python bench/incremental_bench.py                 # 5,000 and 50,000 lines, 100 keystrokes each
    python bench/incremental_bench.py --keystrokes 50 --lines 5000

Each keystroke inserts one character inside a prompt string (as bench/lsp_bench.py
does), edits the tree, reparses against the old one and then times, on the same
tree: the cached model build, resolution, the checker after resolution (fresh,
and with the per-statement cache), and `analyze` end to end both ways.
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


def run(lines: int, count: int) -> dict[str, list[float]]:
    text = generate_program(lines)
    source = text.encode()
    tree = syntax.parse(source)
    models, full_models, checks = m.ModelCache(), m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=checks)
    analyze(source, tree=tree, cache=full_models)
    stages: dict[str, list[float]] = {k: [] for k in (
        "model build (cached)", "resolve", "checker after resolve, fresh", "resolve + checker, SemanticCache",
        "analyze, ModelCache only", "analyze, ModelCache + SemanticCache")}
    starts = [0] + [i + 1 for i, b in enumerate(source) if b == 10]
    gc.disable()
    try:
        for line, col, char in keystrokes(text, count):
            offset = starts[line] + col
            source = source[:offset] + char.encode() + source[offset:]
            starts = [s + (s > offset) for s in starts]
            tree.edit(offset, offset, offset + 1, (line, col), (line, col), (line, col + 1))
            tree = syntax.parse(source, tree)
            program, ms = timed(m.ModelCache.build, full_models, tree, source)
            stages["model build (cached)"].append(ms)
            res, ms = timed(resolve, program)
            stages["resolve"].append(ms)
            _, ms = timed(lambda: _Checker(program, res, {}).run())
            stages["checker after resolve, fresh"].append(ms)
            inc_program = models.build(tree, source)
            _, ms = timed(checks.analyze, inc_program, {})
            stages["resolve + checker, SemanticCache"].append(ms)
            # End to end, on fresh caches kept in step (the previous build of each is the newest).
            _, ms = timed(analyze, source, tree=tree, cache=full_models)
            stages["analyze, ModelCache only"].append(ms)
            _, ms = timed(analyze, source, tree=tree, cache=models, checks=checks)
            stages["analyze, ModelCache + SemanticCache"].append(ms)
    finally:
        gc.enable()
    return stages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keystrokes", type=int, default=100)
    parser.add_argument("--lines", type=int, action="append")
    args = parser.parse_args()
    sizes = args.lines or [5000, 50000]
    results = {n: run(n, args.keystrokes) for n in sizes}
    head = "| stage (ms per keystroke, p50 / p90) | " + " | ".join(f"{n:,} lines" for n in sizes) + " |"
    print(head)
    print("|" + " --- |" * (len(sizes) + 1))
    for stage in results[sizes[0]]:
        cells = []
        for n in sizes:
            values = sorted(results[n][stage])
            p90 = values[int(0.9 * (len(values) - 1))]
            cells.append(f"{statistics.median(values):.1f} / {p90:.1f}")
        print(f"| {stage} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
