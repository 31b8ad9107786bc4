"""The model cache moves its anchors by blocks (`AnchorRow`) and still builds what a fresh build builds.

`AnchorRow` is checked against a plain list of bytes over random moves and
replacements with tiny blocks (so every edit crosses, splits, empties and
rebalances blocks); then the cache, with tiny blocks too, over many keystrokes
before and after far statements, at the very start and end, and deleting
whole statements, against `build_program` (spans with rows and columns).
"""

from __future__ import annotations

import random

import pytest

from openprose import model as m
from openprose.diagnostics import Anchor, AnchorRow, LineIndex
from openprose.syntax import parse

from .test_model_cache import _walk, apply, assert_same_program, generate_program, run

LINES = LineIndex(b"")


def _check(row: AnchorRow, anchors: list[Anchor], want: list[int]) -> None:
    assert [a.byte for a in anchors] == want
    flat = [a for block in row._blocks for a in block]
    assert flat == anchors and len(row) == len(anchors)
    assert row._starts == [sum(map(len, row._blocks[:b])) for b in range(len(row._blocks))]
    assert all(row._blocks) and all(a._shift is s for b, s in zip(row._blocks, row._shifts) for a in b)


@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_anchor_row_moves_and_replaces_like_a_list(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(AnchorRow, "BLOCK", size)
    rng = random.Random(size)
    for trial in range(60):
        want = sorted(rng.sample(range(10_000), rng.randrange(0, 60)))
        anchors = [Anchor(b, LINES) for b in want]
        row = AnchorRow()
        row.load(anchors)
        gone: list[tuple[Anchor, int]] = []  # anchors let go, with the byte they must keep
        for step in range(30):
            if rng.random() < 0.5:
                lo = rng.randint(0, len(anchors))
                hi = rng.randint(lo, len(anchors) + 2)
                delta = rng.randint(-5, 5)
                row.move(lo, hi, delta)
                want[lo:hi] = [b + delta for b in want[lo:hi]]
            else:
                i = rng.randint(0, len(anchors))
                j = min(len(anchors), i + rng.choice([0, 1, 1, 2, 5, 3 * size]))
                kept = rng.sample(anchors[i:j], rng.randint(0, j - i))  # reused anchors may come back
                fresh = [Anchor(rng.randrange(10_000), LINES) for _ in range(rng.choice([0, 1, 2, 3 * size]))]
                new = kept + fresh
                rng.shuffle(new)
                values = [a.byte for a in new]
                gone += [(a, a.byte) for a in anchors[i:j] if a not in kept]
                row.replace(i, j, new)
                anchors[i:j] = new
                want[i:j] = values
            _check(row, anchors, want)
            assert [a.byte for a, _ in gone] == [b for _, b in gone], (trial, step)


def test_a_reload_lets_the_old_anchors_stay_where_they_are() -> None:
    anchors = [Anchor(b, LINES) for b in range(0, 1000, 10)]
    row = AnchorRow()
    row.load(anchors)
    row.move(0, len(anchors), 7)
    row.load(anchors[50:])  # as a full build does: the first half is not the cache's any more
    row.move(0, len(row), 100)
    assert [a.byte for a in anchors] == [b + 7 for b in range(0, 500, 10)] + [b + 107 for b in range(500, 1000, 10)]


def _small_blocks(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(AnchorRow, "BLOCK", size)


@pytest.mark.parametrize(("size", "seed"), [(1, 0), (2, 1), (3, 2), (5, 3)])
def test_hinted_builds_with_tiny_blocks_equal_fresh_builds(monkeypatch: pytest.MonkeyPatch, size: int,
                                                           seed: int) -> None:
    _small_blocks(monkeypatch, size)
    hinted, _ = run(generate_program(300, seed=seed).encode(), 500 + seed, 40)
    assert hinted > 10


def _keystroke(tree, cache, source, at, text=b"x"):  # type: ignore[no-untyped-def]
    source = apply(tree, cache, source, at, at, text)
    return source, parse(source, tree)


def test_statements_read_only_after_many_edits_before_and_after_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing of the program is read between the builds: the far statements must still be right at the end."""
    _small_blocks(monkeypatch, 4)
    rng = random.Random(21)
    source = generate_program(600, seed=7).encode()
    cache = m.ModelCache()
    tree = parse(source)
    first = cache.build(tree, source)
    middle = first.body[len(first.body) // 2]
    for n in range(150):
        where = rng.choice([0.0, 0.1, 0.3, 0.7, 0.9, 1.0])
        at = source.index(b'"', int(len(source) * where * 0.99)) + 1 if where < 1 else len(source)
        if n % 7 == 0:  # a newline before or after the middle: rows move too
            source, tree = _keystroke(tree, cache, source, source.rfind(b"\n", 0, at) + 1, b"\n")
        else:
            source, tree = _keystroke(tree, cache, source, at)
        got = cache.build(tree, source)
        assert cache.changes.hinted
    assert any(s is middle for s in got.body)  # never rebuilt: only its anchor moved
    assert_same_program(got, m.build_program(tree, source), "read at the end")


def _bytes(walked: object) -> object:
    """A walked model with only the bytes of its spans (rows follow the line index, which moves on)."""
    if isinstance(walked, tuple):
        return walked[:3] if walked[:1] == ("span",) else tuple(_bytes(x) for x in walked)
    return walked


def test_whole_statements_deleted_at_the_start_the_end_and_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Removed statements keep the spans they had when they left; the rest equal a fresh build."""
    _small_blocks(monkeypatch, 3)
    source = generate_program(400, seed=3).encode()
    cache = m.ModelCache()
    tree = parse(source)
    program = cache.build(tree, source)
    left: list[tuple[object, object]] = []
    for n, where in enumerate([0, -1, 0.5, 0, 0.3, -1, 0.8, 0.5, 0, 0.1] * 3):
        body = program.body
        k = {0: 0, -1: len(body) - 1}.get(where, int(len(body) * where))  # type: ignore[call-overload]
        count = 1 + n % 3
        span_lo, span_hi = body[k].span.start_byte, body[min(len(body) - 1, k + count - 1)].span.end_byte
        end = source.find(b"\n", span_hi)
        end = len(source) if end == -1 else end + 1
        source = apply(tree, cache, source, span_lo, end, b"")
        tree = parse(source, tree)
        program = cache.build(tree, source)
        assert cache.changes.hinted, n
        assert_same_program(program, m.build_program(tree, source), (n, where))
        left += [(s, _bytes(_walk(s))) for s in cache.changes.removed]
        # An edit before everything moves every kept statement, never one that left.
        source = apply(tree, cache, source, 0, 0, b"\n")
        tree = parse(source, tree)
        program = cache.build(tree, source)
        assert_same_program(program, m.build_program(tree, source), (n, "newline"))
    assert left and all(_bytes(_walk(s)) == spans for s, spans in left)
