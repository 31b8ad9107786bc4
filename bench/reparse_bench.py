"""What an incremental reparse costs after a one-character edit, by file size and edit position.

    python bench/reparse_bench.py                       # 1k, 5k, 20k, 50k and 100k lines
    python bench/reparse_bench.py --sizes 5000,50000 --edits 60
    python bench/reparse_bench.py --baseline ../other-checkout

Each edit inserts one character just inside a prompt string (`session "`), in
the first, the middle or the last tenth of a generated program
(bench/generate.py), applies `Tree.edit` and reparses with `syntax.parse(source,
old_tree)`. Two ways of editing:

- *first*: every edit starts from a copy of a freshly parsed tree (the first
  keystroke after opening a file);
- *typing*: each edit is made on the tree the previous one produced (how the
  language server edits a document).

It prints CPU-time p50 / p90 of the reparse alone (ms), and, from one logged
reparse per size and position (not timed), how many parse actions it took
(tokens reused or lexed, shifts, reductions): a count that does not depend on
the machine's load, and that should not grow with the file.

`--baseline DIR` loads the grammar binding built in another checkout
(`DIR/tree-sitter-openprose/bindings/python/tree_sitter_openprose`) beside this
one and measures both in alternation in this process, for before/after numbers
taken under the same load. Not a test: numbers vary with the machine;
bench/README.md records them.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import tree_sitter as ts

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate_program  # noqa: E402

from openprose import syntax  # noqa: E402

Point = tuple[int, int]
Parse = Callable[[bytes, "ts.Tree | None"], ts.Tree]


def point(source: bytes, offset: int) -> Point:
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def edit_positions(source: bytes, where: str, count: int) -> list[int]:
    """Offsets just inside prompt strings in the first, middle or last tenth of the file."""
    size = len(source)
    lo, hi = {"start": (0, size // 10), "middle": (size * 9 // 20, size * 11 // 20), "end": (size * 9 // 10, size)}[where]
    found: list[int] = []
    at = source.find(b'session "', lo)
    while 0 <= at < hi:
        found.append(at + len(b'session "'))
        at = source.find(b'session "', at + 1)
    if not found:
        raise SystemExit(f"no prompt string in the {where} of the program")
    step = max(1, len(found) // count)
    picked = found[::step][:count]
    while len(picked) < count:
        picked += picked[: count - len(picked)]
    return picked


def insert(tree: ts.Tree, source: bytes, offset: int, char: bytes) -> bytes:
    """Edits `tree` for `char` inserted at `offset` and returns the new text."""
    row, col = point(source, offset)
    tree.edit(start_byte=offset, old_end_byte=offset, new_end_byte=offset + 1, start_point=(row, col),
              old_end_point=(row, col), new_end_point=(row, col + 1))
    return source[:offset] + char + source[offset:]


def first_keystrokes(parse: Parse, source: bytes, positions: list[int]) -> list[float]:
    """Each edit on a copy of a fresh tree: the first keystroke after a file is opened."""
    base = parse(source, None)
    samples = []
    for offset in positions:
        old = base.copy()
        edited = insert(old, source, offset, b"x")
        began = time.process_time()
        parse(edited, old)
        samples.append((time.process_time() - began) * 1000)
    return samples


def typing(parse: Parse, source: bytes, positions: list[int]) -> list[float]:
    """Each edit on the tree the previous reparse produced, as the language server keeps it."""
    tree = parse(source, None)
    samples = []
    shift = 0  # characters typed so far, all before later positions (positions ascend)
    for offset in positions:
        source = insert(tree, source, offset + shift, b"x")
        shift += 1
        began = time.process_time()
        tree = parse(source, tree)
        samples.append((time.process_time() - began) * 1000)
    return samples


def parse_actions(parser: ts.Parser, source: bytes, offset: int) -> int:
    """Tokens taken (reused or lexed), shifts and reductions in one reparse after an edit at `offset`."""
    old = parser.parse(source)
    edited = insert(old, source, offset, b"x")
    count = 0

    def log(kind: ts.LogType, message: str) -> None:
        nonlocal count
        if message.startswith(("reuse_node", "lexed_lookahead", "shift", "reduce")):
            count += 1

    parser.logger = log
    try:
        parser.parse(edited, old)
    finally:
        parser.logger = None
    return count


def baseline_language(checkout: Path) -> ts.Language:
    """The grammar binding built in another checkout, loaded beside this one."""
    package = checkout / "tree-sitter-openprose" / "bindings" / "python" / "tree_sitter_openprose"
    built = sorted(package.glob("_binding*.so")) + sorted(package.glob("_binding*.pyd"))
    if not built:
        raise SystemExit(f"no built binding in {package}: run `pip install -e .` there first")
    spec = importlib.util.spec_from_file_location("baseline_openprose._binding", built[0])
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {built[0]}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return ts.Language(module.language())


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p90 of 40 samples is the 37th)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,5000,20000,50000,100000", help="program sizes in lines, comma-separated")
    ap.add_argument("--edits", type=int, default=40, help="edits per size, position and way of editing")
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout whose grammar to measure alongside")
    args = ap.parse_args()

    subjects: list[tuple[str, ts.Parser, Parse]] = []

    def ours(source: bytes, old: ts.Tree | None) -> ts.Tree:
        return syntax.parse(source) if old is None else syntax.parse(source, old)

    subjects.append(("this checkout", syntax.new_parser(), ours))
    if args.baseline is not None:
        language = baseline_language(args.baseline)
        base_parser = ts.Parser(language)

        def theirs(source: bytes, old: ts.Tree | None) -> ts.Tree:
            return base_parser.parse(source) if old is None else base_parser.parse(source, old)

        subjects.insert(0, ("baseline", ts.Parser(language), theirs))

    print("incremental reparse after a 1-character insert in a prompt string: CPU ms p50 / p90, "
          f"{args.edits} edits each; full parse: median of 3; parse actions of one reparse")
    header = f"{'lines':>7} {'statements':>10}  {'grammar':13} {'full parse':>10}  {'where':6}  " \
             f"{'first p50 / p90':>17}  {'typing p50 / p90':>17}  {'actions':>7}"
    print(header)
    gc.disable()
    try:
        for lines in (int(n) for n in args.sizes.split(",")):
            source = generate_program(lines).encode()
            statements = sum(1 for node in syntax.parse(source).root_node.named_children if node.type != "comment")
            for where in ("start", "middle", "end"):
                positions = sorted(edit_positions(source, where, args.edits))
                results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _, _ in subjects}
                for name, _, parse in subjects:  # warm up, then alternate so both see the same load
                    parse(source, None)
                for half in (positions[: len(positions) // 2], positions[len(positions) // 2:]):
                    for name, _, parse in subjects:
                        results[name][0].extend(first_keystrokes(parse, source, half))
                        results[name][1].extend(typing(parse, source, half))
                for name, parser, parse in subjects:
                    full_runs = []
                    for _ in range(3):
                        began = time.process_time()
                        parse(source, None)
                        full_runs.append((time.process_time() - began) * 1000)
                    full = statistics.median(full_runs)
                    first, typed = results[name]
                    actions = parse_actions(parser, source, positions[len(positions) // 2])
                    print(f"{lines:7d} {statements:10d}  {name:13} {full:8.1f} ms  {where:6}  "
                          f"{statistics.median(first):7.3f} / {percentile(first, 0.9):7.3f}  "
                          f"{statistics.median(typed):7.3f} / {percentile(typed, 0.9):7.3f}  {actions:7d}")
                gc.collect()
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
