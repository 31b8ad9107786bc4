"""Room on the Python stack for programs as deep as their authors write them.

The model, the formatter and the interpreter follow the program's nesting with
ordinary recursion (nested bodies, long `a -> b -> c` chains), which is clearer
than explicit stacks; deep but legitimate programs need a higher limit than
Python's default, and the limit must come back down afterwards because it is
process-wide (the language server keeps running).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Enough for programs nested far deeper than any written by hand, and still far
#: below where the C stack of the main thread would overflow.
DEFAULT_DEPTH = 8000


@contextmanager
def deeper_recursion(depth: int = DEFAULT_DEPTH) -> Iterator[None]:
    """Raise the recursion limit to at least `depth` for the duration of the block."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(max(saved, depth))
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)
