"""`ModelCache` with edit hints builds exactly what `build_program` builds.

The language server tells the cache every edit it applies to the tree
(`ModelCache.note_edit`), and the cache then looks only at the top-level
statements in the damaged stretches. Here many seeded random edits
(insertions, deletions, newlines, indentation changes, broken syntax, edits at
the start and the end, several edits between two builds) are applied to the
corpus programs and to generated ones the way the server applies them
(`Tree.edit`, `note_edit`, a reparse against the old tree). After each batch
the cached program must equal a fresh `build_program` of the same tree: the
model by dataclass equality and, walking every object, every span's bytes,
rows and columns; the lexical problems with their fixes; and `changes` must
name exactly the statements that are new and gone.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import zlib
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import tree_sitter as ts

from openprose import model as m
from openprose.diagnostics import Diagnostic, EditableLineIndex, LineIndex, Span
from openprose.syntax import parse

from .tshelpers import CORPUS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate_program  # noqa: E402

SNIPPETS = (
    b"x", b" ", b"\n", b"\n\n", b"  ", b"    ", b"\t", b'"', b'"""', b":", b"**", b"#", b"\xc3\xa9", b"{", b"}",
    b"(", b")", b"[", b"=", b"let a = 1\n", b'session "s"\n', b"agent q:\n  model: opus\n",
    b'if **c**:\n  session "a"\nelse:\n  session "b"\n', b'  session "nested"\n', b"let = ", b'session "',
    b'block b(x):\n  session "{x}"\n', b"# note\n", b"  # indented note\n", b"   ", b"\n  ", b'  prompt: "p"\n',
    b"parallel:\n  a = session \"A\"\n", b"loop until **done** (max: 2):\n  session \"x\"\n", b"output r = 1\n",
)


# ------------------------------------------------------------------ comparing two programs in full


def _span(s: Span) -> tuple[int, ...]:
    return (s.start_byte, s.end_byte, s.start_row, s.start_col, s.end_row, s.end_col)


def _walk(obj: Any) -> Any:
    """Everything in a model value, spans with their rows and columns (equality alone compares bytes)."""
    if isinstance(obj, Span):
        return ("span", *_span(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__, *(_walk(getattr(obj, f.name)) for f in dataclasses.fields(obj)))
    if isinstance(obj, (tuple, list)):
        return tuple(_walk(x) for x in obj)
    if isinstance(obj, Enum):
        return obj.value
    return obj


def _diag(d: Diagnostic) -> Any:
    return _walk(d)


def assert_same_program(got: m.Program, fresh: m.Program, context: Any) -> None:
    assert got.body == fresh.body, context
    assert _walk(got.body) == _walk(fresh.body), context
    assert [_diag(d) for d in got.lexical] == [_diag(d) for d in fresh.lexical], context
    assert _span(got.span) == _span(fresh.span), context


def assert_changes_are_right(cache: m.ModelCache, before: m.Program, after: m.Program, context: Any) -> None:
    old = {id(s) for s in before.body}
    new = {id(s) for s in after.body}
    changes = cache.changes
    assert [id(s) for s in changes.added] == [id(s) for s in after.body if id(s) not in old], context
    assert [id(s) for s in changes.removed] == [id(s) for s in before.body if id(s) not in new], context
    assert not changes.everything_new, context


# ------------------------------------------------------------------ editing as the server does


def _point(source: bytes, offset: int) -> tuple[int, int]:
    return source.count(b"\n", 0, offset), offset - (source.rfind(b"\n", 0, offset) + 1)


def apply(tree: ts.Tree, cache: m.ModelCache, source: bytes, start: int, end: int, new: bytes) -> bytes:
    """One change: the bytes, the old tree and the cache told, as `Document._splice` does."""
    out = source[:start] + new + source[end:]
    tree.edit(start_byte=start, old_end_byte=end, new_end_byte=start + len(new), start_point=_point(source, start),
              old_end_point=_point(source, end), new_end_point=_point(out, start + len(new)))
    cache.note_edit(start, end, start + len(new))
    return out


def random_edit(rng: random.Random, source: bytes) -> tuple[int, int, bytes]:
    size = len(source)
    line_starts = LineIndex(source).line_starts
    roll = rng.random()
    if roll < 0.08:  # at the very start or the very end
        at = 0 if rng.random() < 0.5 else size
        end = min(size, at + rng.randint(0, 8)) if at == 0 and rng.random() < 0.3 else at
        return at, end, rng.choice(SNIPPETS)
    if roll < 0.25:  # indentation of one line: add or remove leading spaces
        row = rng.randrange(len(line_starts))
        start = line_starts[row]
        indent = len(source[start:]) - len(source[start:].lstrip(b" "))
        if indent and rng.random() < 0.5:
            return start, start + rng.randint(1, indent), b""
        return start, start, rng.choice([b" ", b"  ", b"    "])
    if roll < 0.4:  # whole lines removed, or copied elsewhere
        row = rng.randrange(len(line_starts))
        last = min(len(line_starts) - 1, row + rng.randint(0, 3))
        start = line_starts[row]
        end = line_starts[last + 1] if last + 1 < len(line_starts) else size
        if rng.random() < 0.5:
            return start, end, b""
        target = line_starts[rng.randrange(len(line_starts))]
        return target, target, source[start:end]
    at = rng.randint(0, size)
    if rng.random() < 0.4:
        at = source.rfind(b"\n", 0, at) + 1  # inserted statements start lines
    end = min(size, at + (rng.randint(1, 20) if rng.random() < 0.3 else 0))
    return at, end, (b"" if rng.random() < 0.1 else rng.choice(SNIPPETS))


def reparse(mode: str, source: bytes, tree: ts.Tree, cache: m.ModelCache | None = None) -> ts.Tree:
    """The next tree; a fresh parse is announced to the cache as `Document.analyze` does (in half the
    "fresh" runs only, so that a cache not told keeps being checked too)."""
    if mode in ("fresh", "fresh, told"):
        if mode == "fresh, told" and cache is not None:
            cache.forget_edits()
        return parse(source)
    new = parse(source, tree)
    if mode == "server" and (len(source) <= 64 * 1024 or new.root_node.has_error):
        if cache is not None:
            cache.forget_edits()
        return parse(source)  # as `documents._reparse`: small or broken documents are parsed afresh
    return new


def run(source: bytes, seed: int, batches: int, mode: str = "incremental") -> tuple[int, int]:
    """Edit, build with hints, compare; returns (builds that used hints, statements looked at)."""
    rng = random.Random(seed)
    cache = m.ModelCache()
    tree = parse(source)
    before = cache.build(tree, source)
    assert cache.changes.everything_new and len(cache.changes.added) == len(before.body)
    assert_same_program(before, m.build_program(tree, source), (seed, "first"))
    hinted = visited = 0
    for step in range(batches):
        edits = 1 if rng.random() < 0.6 else rng.randint(2, 5)
        for _ in range(edits):
            start, end, new = random_edit(rng, source)
            source = apply(tree, cache, source, start, end, new)
        tree = reparse(mode, source, tree, cache)
        got = cache.build(tree, source)
        context = (seed, step, mode, source)
        assert_same_program(got, m.build_program(tree, source), context)
        assert_changes_are_right(cache, before, got, context)
        hinted += cache.changes.hinted
        visited += cache.changes.visited
        before = got
    return hinted, visited


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.prose"))


# ------------------------------------------------------------------ the equivalence, many ways


@pytest.mark.skipif(not _corpus(), reason="shared corpus not found")
@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_hinted_builds_of_edited_corpus_programs_equal_fresh_builds(path: Path) -> None:
    source = path.read_bytes()
    for seed in range(3):
        run(source, zlib.crc32(f"{path.name}:{seed}".encode()), 25)


@pytest.mark.parametrize("seed", range(8))
def test_hinted_builds_of_edited_generated_programs_equal_fresh_builds(seed: int) -> None:
    source = generate_program(400, seed=seed).encode()
    hinted, _ = run(source, 1000 + seed, 40)
    assert hinted > 10, "the hints were hardly ever used: the comparison says little"


@pytest.mark.parametrize("mode", ["server", "fresh", "fresh, told"])
def test_builds_after_fresh_parses_fall_back_and_stay_equal(mode: str) -> None:
    """A fresh parse (small or broken documents, `Document.verify`) shares no subtree with the old tree."""
    source = generate_program(250, seed=4).encode()
    run(source, 77, 30, mode)


@pytest.mark.skipif(not _corpus(), reason="shared corpus not found")
@pytest.mark.parametrize("path", _corpus()[::5], ids=lambda p: p.name)
def test_fresh_parses_of_edited_corpus_programs_stay_equal(path: Path) -> None:
    """Statements found again by their text after a fresh parse, over broken and clean states."""
    run(path.read_bytes(), zlib.crc32(path.name.encode()), 25, "server")


def test_after_a_fresh_parse_unchanged_statements_are_found_by_their_text() -> None:
    """A small document is parsed afresh on every change: the statements the edit left alone are
    still the same objects (the resolver and checker reuse their results by that identity)."""
    source = generate_program(300, seed=3).encode()
    cache = m.ModelCache()
    tree = parse(source)
    before = cache.build(tree, source)
    at = source.index(b'"', len(source) // 2) + 1
    source = apply(tree, cache, source, at, at, b"typed ")
    tree = reparse("server", source, tree, cache)
    after = cache.build(tree, source)
    assert_same_program(after, m.build_program(tree, source), "fresh")
    old = {id(s) for s in before.body}
    assert [s for s in after.body if id(s) not in old] == list(cache.changes.added)
    assert len(cache.changes.added) == 1 and len(cache.changes.removed) == 1


def test_after_a_fresh_parse_with_errors_nothing_is_found_by_text() -> None:
    """Error recovery depends on more than a statement's bytes: a broken tree reuses nothing by text,
    and the statements of a broken tree are not offered to the next one."""
    source = b'session "a"\nsession "b"\nsession "c"\n'
    cache = m.ModelCache()
    first = cache.build(parse(source), source)
    broken = source + b'let = \n'
    tree = parse(broken)
    assert tree.root_node.has_error
    cache.forget_edits()
    second = cache.build(tree, broken)
    assert_same_program(second, m.build_program(tree, broken), "broken")
    assert not {id(s) for s in second.body} & {id(s) for s in first.body}
    tree = parse(source)
    cache.forget_edits()
    third = cache.build(tree, source)
    assert not {id(s) for s in third.body} & {id(s) for s in second.body}


def test_a_large_program_in_the_server_mode_is_built_with_hints() -> None:
    source = generate_program(3300, seed=2).encode()  # over the server's fresh-parse limit (64 KiB)
    run(source, 5, 12, "server")  # random edits: mostly broken, so parsed afresh, unhinted
    cache = m.ModelCache()
    tree = parse(source)
    cache.build(tree, source)
    rng = random.Random(8)
    for step in range(6):  # keystrokes inside prompts keep it whole: reparsed, and hinted
        at = source.index(b'session "', rng.randrange(len(source) // 2)) + len(b'session "')
        source = apply(tree, cache, source, at, at, b"k")
        tree = reparse("server", source, tree, cache)
        got = cache.build(tree, source)
        assert_same_program(got, m.build_program(tree, source), step)
        assert cache.changes.hinted, step


def test_a_keystroke_in_a_large_program_looks_at_a_few_statements() -> None:
    source = generate_program(5000).encode()
    cache = m.ModelCache()
    tree = parse(source)
    before = cache.build(tree, source)
    assert cache.changes.visited == len(before.body)  # the first build looks at everything
    at = source.index(b'"', len(source) // 2) + 1
    source = apply(tree, cache, source, at, at, b"x")
    tree = parse(source, tree)
    after = cache.build(tree, source)
    assert cache.changes.hinted
    assert cache.changes.visited <= 4
    (edited,) = cache.changes.added
    assert len(cache.changes.removed) == 1 and edited.span.start_byte <= at < edited.span.end_byte
    assert_same_program(after, m.build_program(tree, source), "keystroke")
    # A statement far below moved by one byte and kept its rows.
    assert after.body[-1] is before.body[-1]


def test_edits_at_the_start_and_end_and_batches_spanning_the_program() -> None:
    source = generate_program(600, seed=9).encode()
    cache = m.ModelCache()
    tree = parse(source)
    before = cache.build(tree, source)
    batches = [
        [(0, 0, b"let first = 1\n")],
        [(0, 0, b"  ")],  # the top level's column changes: every statement's column problem may
        [(0, 2, b"")],
        [(-1, -1, b'session "last"\n')],
        [(-1, -1, b"  let tail = 2")],
        [(0, 0, b"# top\n"), (-1, -1, b"# bottom\n")],
        [(0, 0, b'session "a"\n'), (0.5, 0.5, b"\n\n"), (-1, -1, b"x")],
        [(0.3, 0.3, b"if **x**:\n"), (0.3, 0.3, b"  ")],
        [(0.2, 0.2, b'"""'), (0.7, 0.7, b'"""')],
        [(0.4, 0.6, b"")],
    ]
    for n, batch in enumerate(batches):
        for where, until, text in batch:
            start = _at(source, where)
            end = _at(source, until)
            source = apply(tree, cache, source, start, max(start, end), text)
        tree = parse(source, tree)
        got = cache.build(tree, source)
        assert_same_program(got, m.build_program(tree, source), (n, source))
        assert_changes_are_right(cache, before, got, n)
        before = got


def _at(source: bytes, where: float) -> int:
    if where == -1:
        return len(source)
    if where == 0:
        return 0
    at = int(len(source) * where)
    return source.rfind(b"\n", 0, at) + 1


def test_without_hints_the_cache_builds_as_before() -> None:
    """Callers that never call note_edit (the CLI, benchmarks) get the loop over every statement."""
    source = generate_program(300, seed=1).encode()
    cache = m.ModelCache()
    tree = parse(source)
    before = cache.build(tree, source)
    at = source.index(b"let v")
    out = source[:at] + b"x" + source[at:]
    tree.edit(start_byte=at, old_end_byte=at, new_end_byte=at + 1, start_point=_point(source, at),
              old_end_point=_point(source, at), new_end_point=_point(out, at + 1))
    tree = parse(out, tree)
    got = cache.build(tree, out)
    assert not cache.changes.hinted and cache.changes.visited == len(got.body)
    assert_same_program(got, m.build_program(tree, out), "no hints")
    assert_changes_are_right(cache, before, got, "no hints")


def test_composed_edits_describe_what_changed() -> None:
    """After any batch, bytes outside the damaged stretches are the old bytes, shifted."""
    rng = random.Random(3)
    for trial in range(300):
        base = bytes(rng.choice(b"abc\n") for _ in range(rng.randint(0, 200)))
        cache = m.ModelCache()
        source = base
        for _ in range(rng.randint(1, 12)):
            start = rng.randint(0, len(source))
            end = min(len(source), start + rng.randint(0, 10))
            new = bytes(rng.choice(b"xy\n") for _ in range(rng.randint(0, 6)))
            source = source[:start] + new + source[end:]
            cache.note_edit(start, end, start + len(new))
        damage = cache._damage
        old_at = new_at = 0
        for new_lo, new_hi, old_lo, old_hi in damage:
            assert new_lo - new_at == old_lo - old_at >= 0, (trial, damage)
            assert source[new_at:new_lo] == base[old_at:old_lo], (trial, damage)
            old_at, new_at = old_hi, new_hi
        assert source[new_at:] == base[old_at:], (trial, damage)


def test_editable_line_index_follows_edits() -> None:
    rng = random.Random(11)
    for trial in range(200):
        source = bytes(rng.choice(b"ab\n\n ") for _ in range(rng.randrange(0, 2000)))
        index = EditableLineIndex(source)
        index.BLOCK = rng.choice([2, 3, 8, 256])  # small blocks: edits span several
        index.load(source)
        for step in range(rng.randrange(1, 8)):
            points = sorted(rng.randrange(0, len(source) + 1) for _ in range(2 * rng.randrange(1, 4)))
            changes, out, at = [], b"", 0
            for start, end in zip(points[::2], points[1::2]):
                out += source[at:start]
                new_start = len(out)
                out += bytes(rng.choice(b"x\n") for _ in range(rng.randrange(0, 40)))
                changes.append((start, end, new_start, len(out)))
                at = end
            source = out + source[at:]
            index.edit(source, changes)
            plain = LineIndex(source)
            assert index.line_starts == plain.line_starts, (trial, step)
            assert index.line_count == len(plain.line_starts)
            for offset in [*rng.sample(range(len(source) + 1), min(40, len(source) + 1)), len(source)]:
                assert index.position(offset) == plain.position(offset), (trial, offset)
            for row in range(len(plain.line_starts) + 2):
                assert index.line_start(row) == plain.line_start(row)


def test_old_trees_let_go_leave_builds_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries whose tree the cache no longer keeps forget their node id (it may name another node now)."""
    monkeypatch.setattr(m, "_MAX_TREES", 2)
    source = generate_program(300, seed=6).encode()
    hinted, _ = run(source, 8, 40)
    assert hinted > 20


def test_building_the_same_tree_twice_changes_nothing() -> None:
    source = generate_program(200, seed=5).encode()
    cache = m.ModelCache()
    tree = parse(source)
    first = cache.build(tree, source)
    again = cache.build(tree, source)
    assert all(a is b for a, b in zip(first.body, again.body)) and len(first.body) == len(again.body)
    assert cache.changes.added == () and cache.changes.removed == () and not cache.changes.everything_new
    assert_same_program(again, m.build_program(tree, source), "twice")
