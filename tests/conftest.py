"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
import tree_sitter as ts

from openprose.syntax import LANGUAGE

from . import report


@pytest.fixture()
def parser() -> ts.Parser:
    return ts.Parser(LANGUAGE)

from .fake_messages_api import fake_messages_api  # noqa: E402,F401  (fixture)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Print what the recovery and fuzz tests measured (see tests/report.py)."""
    if report.LINES:
        terminalreporter.section("measured")
        for line in report.LINES:
            terminalreporter.write_line(line)
