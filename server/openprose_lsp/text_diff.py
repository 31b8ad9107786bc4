"""The smallest changed range between two byte strings.

A client in full-sync mode sends the whole document on every keystroke, and a
semantic tokens delta is the difference of two token arrays; both reduce to a
common prefix and a common suffix. Comparing slices runs in C (memcmp), so the
scan goes chunk by chunk and bisects only inside the first differing chunk:
about a millisecond for a megabyte, where a Python loop over bytes would take
a hundred.
"""

from __future__ import annotations

from dataclasses import dataclass

_CHUNK = 8192


@dataclass(frozen=True)
class Splice:
    """Replace ``old[start:old_end]`` with ``new[start:new_end]``."""

    start: int
    old_end: int
    new_end: int


def common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix."""
    limit = min(len(a), len(b))
    low = 0
    while low < limit:
        high = min(limit, low + _CHUNK)
        if a[low:high] == b[low:high]:
            low = high
            continue
        while high - low > 1:  # a[:low] == b[:low] and the chunk up to `high` differs
            mid = (low + high) // 2
            if a[low:mid] == b[low:mid]:
                low = mid
            else:
                high = mid
        return low
    return limit


def common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit``."""
    la, lb = len(a), len(b)
    limit = min(limit, la, lb)
    low = 0
    while low < limit:
        high = min(limit, low + _CHUNK)
        if a[la - high : la - low] == b[lb - high : lb - low]:
            low = high
            continue
        while high - low > 1:
            mid = (low + high) // 2
            if a[la - mid : la - low] == b[lb - mid : lb - low]:
                low = mid
            else:
                high = mid
        return low
    return limit


def minimal_edit(old: bytes, new: bytes, unit: int = 1) -> Splice | None:
    """The one splice turning ``old`` into ``new``, or None when they are equal.

    ``unit`` > 1 keeps the splice on multiples of that many bytes (whole items
    of an array). With ``unit`` == 1 the bytes are UTF-8 and the splice is
    widened to whole code points, so that neither end falls inside a character
    (Tree-sitter's points and the client's UTF-16 columns both count characters).
    """
    if old == new:
        return None
    prefix = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    if unit > 1:
        prefix -= prefix % unit
        suffix -= suffix % unit
    else:
        while prefix > 0 and (_continues(old, prefix) or _continues(new, prefix)):
            prefix -= 1
        while suffix > 0 and _continues(old, len(old) - suffix):
            suffix -= 1
    return Splice(prefix, len(old) - suffix, len(new) - suffix)


def _continues(data: bytes, index: int) -> bool:
    """Whether ``data[index]`` continues a multi-byte UTF-8 character."""
    return index < len(data) and 0x80 <= data[index] < 0xC0
