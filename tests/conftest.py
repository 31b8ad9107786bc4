"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
import tree_sitter as ts

from openprose.syntax import LANGUAGE


@pytest.fixture()
def parser() -> ts.Parser:
    return ts.Parser(LANGUAGE)

from .fake_messages_api import fake_messages_api  # noqa: E402,F401  (fixture)
