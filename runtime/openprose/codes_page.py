"""docs/diagnostics.md, generated from the code table.

The page's tables come from `codes.TABLE`; everything outside the markers
(the introduction, namespaces, deliberate differences from the spec) is
written by hand and kept as it is. Regenerate after changing the table:

    python -m openprose.codes_page docs/diagnostics.md

`--check` only compares, exiting 1 when the page is stale (the test suite
does the same).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from .codes import TABLE, Code, Phase
from .diagnostics import Severity

BEGIN = "<!-- BEGIN CODES: generated from runtime/openprose/codes.py by `python -m openprose.codes_page docs/diagnostics.md`; edit the table there -->"
END = "<!-- END CODES -->"

_NEEDS = {Phase.LOCAL: "statement", Phase.PROGRAM: "program", Phase.RUN: "run"}
_SECTIONS = ((Severity.ERROR, "Errors"), (Severity.WARNING, "Warnings"))


class StalePage(Exception):
    """The page has no generated part to replace."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(code: Code) -> str:
    return (f'| <a id="{code.anchor}"></a>{code.id} | {_cell(code.summary)} | {_cell(code.example)} '
            f"| {_NEEDS[code.phase]} |")


def tables(codes: Iterable[Code] = TABLE.values()) -> str:
    """The generated part: one table per severity, in table order."""
    codes = list(codes)
    parts: list[str] = []
    for severity, title in _SECTIONS:
        parts += [f"## {title}", "", "| Code | Meaning | Smallest example | Needs |", "| ---- | ------- | ---------------- | ----- |"]
        parts += [_row(code) for code in codes if code.severity is severity]
        parts.append("")
    return "\n".join(parts)


def render(page: str) -> str:
    """`page` with its generated part replaced by the current tables."""
    start, end = page.find(BEGIN), page.find(END)
    if start == -1 or end < start:
        raise StalePage(f"the page has no {BEGIN!r} … {END!r} markers")
    return page[: start + len(BEGIN)] + "\n" + tables() + "\n" + page[end:]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"] or ["docs/diagnostics.md"]
    status = 0
    for name in paths:
        path = Path(name)
        try:
            current = path.read_text(encoding="utf-8")
            fresh = render(current)
        except (OSError, StalePage) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        if fresh == current:
            continue
        if check:
            print(f"{name} is stale: run `python -m openprose.codes_page {name}`", file=sys.stderr)
            status = 1
        else:
            path.write_text(fresh, encoding="utf-8")
            print(f"wrote {name}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
