"""Full-sync changes (the whole text) take the incremental path as one minimal splice.

The splice must be exact (applying it gives the new bytes), minimal (it starts
at the common prefix and ends at the common suffix, widened only to whole
characters) and land on character boundaries, whatever the text holds: emoji
(four UTF-8 bytes, two UTF-16 units), CJK, CRLF line ends, lone surrogates.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from openprose_lsp.documents import EXACT_PARSE_BELOW, Document
from openprose_lsp.positions import encode
from openprose_lsp.text_diff import common_prefix, common_suffix, minimal_edit

from .edits import apply, base_programs, make_edit

PIECES = ["a", "é", "日本語", "🎉", "🎊", "\r\n", "\n", " ", '"', "\ud800", "x"]


def _boundaries(text: str) -> set[int]:
    """Byte offsets of every character boundary in the encoded text."""
    out, at = {0}, 0
    for ch in text:
        at += len(encode(ch))
        out.add(at)
    return out


def _check(old: str, new: str) -> None:
    a, b = encode(old), encode(new)
    splice = minimal_edit(a, b)
    if a == b:
        assert splice is None
        return
    assert splice is not None
    assert a[: splice.start] + b[splice.start : splice.new_end] + a[splice.old_end :] == b
    assert splice.start in _boundaries(old) and splice.start in _boundaries(new)
    assert splice.old_end in _boundaries(old) and splice.new_end in _boundaries(new)
    # minimal: no more than one partial character is given back on either side
    prefix = common_prefix(a, b)
    suffix = common_suffix(a, b, min(len(a), len(b)) - prefix)
    assert prefix - 4 < splice.start <= prefix
    assert suffix - 4 < len(a) - splice.old_end <= suffix


def test_multibyte_examples() -> None:
    cases = [
        ("a🎉b", "a🎊b", 1, 5, 5),  # emoji sharing three of four bytes: the whole emoji is replaced
        ("日本語", "日本人", 6, 9, 9),  # CJK sharing a lead byte
        ("x\r\ny", "x\r\n\r\ny", 3, 3, 5),  # CRLF inserted after a CRLF
        ("é", "e", 0, 2, 1),
        ("ab", "a🎉b", 1, 1, 5),
        ("a\ud800b", "a\udfffb", 1, 4, 4),  # lone surrogates (surrogatepass) are three bytes each
        ("same", "same!", 4, 4, 5),
        ("", "new", 0, 0, 3),
        ("gone", "", 0, 4, 0),
    ]
    for old, new, start, old_end, new_end in cases:
        splice = minimal_edit(encode(old), encode(new))
        assert splice is not None
        assert (splice.start, splice.old_end, splice.new_end) == (start, old_end, new_end), (old, new)
        _check(old, new)
    assert minimal_edit(b"same", b"same") is None


@settings(max_examples=400, deadline=None)
@given(
    base=st.lists(st.sampled_from(PIECES), max_size=30),
    at=st.integers(min_value=0, max_value=30),
    cut=st.integers(min_value=0, max_value=5),
    inserted=st.lists(st.sampled_from(PIECES), max_size=5),
)
def test_random_splices_are_exact_and_minimal(base: list[str], at: int, cut: int, inserted: list[str]) -> None:
    old = "".join(base)
    at = min(at, len(base))
    new = "".join(base[:at] + inserted + base[at + cut :])
    _check(old, new)


def test_large_buffers_beyond_one_chunk() -> None:
    rng = random.Random(3)
    old = "".join(rng.choice(PIECES) for _ in range(40_000))
    for _ in range(30):
        i = rng.randrange(len(old))
        j = min(len(old), i + rng.randrange(20))
        new = old[:i] + "".join(rng.choice(PIECES) for _ in range(rng.randrange(4))) + old[j:]
        _check(old, new)
        old = new


def large_program() -> str:
    """A valid program above the size parsed afresh on every change, so the old tree is reused."""
    out = ['input topic: "What to research"\n', 'agent writer:\n  model: sonnet\n  prompt: "You write 日本語 🎉"\n']
    i = 0
    while sum(len(part.encode()) for part in out) <= EXACT_PARSE_BELOW + 1000:
        i += 1
        out.append(f'let v{i} = session: writer\r\n  prompt: "Research {{topic}} part {i} é"\n  context: topic\n\n')
    return "".join(out)


def test_whole_document_change_reuses_untouched_statements() -> None:
    text = large_program()
    doc = Document("file:///tmp/full-sync.prose", 1, encode(text))
    before = doc.analyze(lambda path: b"")
    at = text.index('"', len(text) // 2) + 1
    new = text[:at] + "🎉 日本" + text[at:]
    doc.apply(lsp.TextDocumentContentChangeWholeDocument(text=new))
    assert doc.source == encode(new)
    after = doc.analyze(lambda path: b"")
    assert not doc.exact  # reparsed incrementally against the edited old tree
    reused = sum(1 for a, b in zip(before.program.body, after.program.body) if a is b)
    assert reused >= len(after.program.body) - 2  # only the edited statement was rebuilt
    fresh = Document("file:///tmp/full-sync.prose", 1, encode(new)).analyze(lambda path: b"")
    assert [d.message for d in after.diagnostics] == [d.message for d in fresh.diagnostics]
    assert [(d.span.start_byte, d.span.end_byte) for d in after.diagnostics] == [
        (d.span.start_byte, d.span.end_byte) for d in fresh.diagnostics
    ]


def test_whole_document_change_matches_a_range_change() -> None:
    text = large_program()
    by_range = Document("file:///tmp/a.prose", 1, encode(text))
    by_full = Document("file:///tmp/a.prose", 1, encode(text))
    by_range.analyze(lambda path: b"")
    by_full.analyze(lambda path: b"")
    rng = random.Random(12)
    for _ in range(15):
        edit = make_edit(text, rng.random(), rng.randrange(6), rng.choice(PIECES))
        text, change = apply(text, edit)
        by_range.apply(change)
        by_full.apply(lsp.TextDocumentContentChangeWholeDocument(text=text))
        assert by_full.source == by_range.source == encode(text)
        a = by_range.analyze(lambda path: b"")
        b = by_full.analyze(lambda path: b"")
        assert [(d.message, d.span.start_byte) for d in a.diagnostics] == [(d.message, d.span.start_byte) for d in b.diagnostics]



def test_the_workspace_is_found_once_per_set_of_folders(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Keystrokes do not ask the file system where the document's workspace is; new folders do."""
    from openprose_lsp import documents

    inner = tmp_path / "outer" / "inner"
    inner.mkdir(parents=True)
    store = documents.DocumentStore()
    doc = store.open((inner / "a.prose").as_uri(), 1, 'session "x"\n')
    calls: list[object] = []
    real = documents._resolved
    monkeypatch.setattr(documents, "_resolved", lambda path: calls.append(path) or real(path))
    assert store.workspace_for(doc) == inner.resolve()
    asked = len(calls)
    for version in range(2, 6):
        doc.apply(lsp.TextDocumentContentChangeWholeDocument(text=f'session "x{version}"\n'))
        assert store.workspace_for(doc) == inner.resolve()
    assert len(calls) == asked
    store.workspace_folders = [tmp_path / "outer"]
    assert store.workspace_for(doc) == (tmp_path / "outer").resolve()
    assert len(calls) > asked
