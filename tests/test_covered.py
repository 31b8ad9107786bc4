"""`analysis._covered`: the merged-ranges test that replaced a scan of every broken range per diagnostic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openprose.analysis import _covered

ranges = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=30)


@given(ranges, st.lists(st.integers(-5, 210), max_size=40))
def test_covered_agrees_with_the_definition(spans: list[tuple[int, int]], offsets: list[int]) -> None:
    inside = _covered(spans)
    for offset in offsets:
        assert inside(offset) == any(a <= offset < b for a, b in spans)
