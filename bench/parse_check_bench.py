"""Prints parse, incremental reparse, and model + checker times for a 5,000-line program.

Not a test: numbers vary with the machine; bench/README.md records them.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate_program  # noqa: E402

from openprose.analysis import analyze  # noqa: E402
from openprose.model import ModelCache, build_program  # noqa: E402
from openprose.checker import check_program  # noqa: E402
from openprose.syntax import new_parser  # noqa: E402


def nogc(fn):
    """Run as `analyze` does: with the cyclic collector paused."""

    def wrapped() -> None:
        gc.disable()
        try:
            fn()
        finally:
            gc.enable()

    return wrapped


def timed(fn, repeat: int) -> list[float]:
    """CPU time of this process (wall time on a shared 2-core machine mostly measures the neighbours)."""
    out = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        out.append((time.process_time() - start) * 1000)
    return out


def report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{name:50s} min {samples[0]:7.2f}  median {statistics.median(samples):7.2f}  p95 {p95:7.2f} ms  (n={len(samples)})")


def main() -> None:
    source = generate_program(5000).encode()
    lines = source.count(b"\n")
    print(f"program: {lines} lines, {len(source)} bytes")
    parser = new_parser()
    report("full parse", timed(lambda: parser.parse(source), 30))
    tree = parser.parse(source)
    # one-character edits at many places, each reparsed incrementally against the previous tree
    positions = [i for i in range(0, len(source), max(1, len(source) // 60)) if source[i:i + 1] not in (b"\n",)][:50]
    samples = []
    for pos in positions:
        edited = source[:pos] + b"x" + source[pos:]
        old = parser.parse(source)
        row = source.count(b"\n", 0, pos)
        col = pos - (source.rfind(b"\n", 0, pos) + 1)
        old.edit(start_byte=pos, old_end_byte=pos, new_end_byte=pos + 1, start_point=(row, col),
                 old_end_point=(row, col), new_end_point=(row, col + 1))
        start = time.process_time()
        parser.parse(edited, old)
        samples.append((time.process_time() - start) * 1000)
    report("incremental reparse after a 1-char insert", samples)
    report("model build (fresh)", timed(nogc(lambda: build_program(tree, source)), 20))
    program = build_program(tree, source)
    report("resolve + check", timed(nogc(lambda: check_program(program)), 20))
    report("model + resolve + check", timed(nogc(lambda: check_program(build_program(tree, source))), 20))
    cache = ModelCache()
    cache.build(tree, source)
    report("model (cached statements) + resolve + check",
           timed(nogc(lambda: check_program(cache.build(tree, source))), 20))
    report("analyze (parse + syntax diags + model + check)", timed(lambda: analyze(source), 10))


if __name__ == "__main__":
    main()
