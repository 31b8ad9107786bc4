"""Numbers that tests measure and the suite prints at the end of a run.

The recovery and fuzz tests record their rates and example counts here;
`conftest.pytest_terminal_summary` prints them, so they are visible in the
ordinary test output without `-s`.
"""

from __future__ import annotations

LINES: list[str] = []


def record(line: str) -> None:
    LINES.append(line)
