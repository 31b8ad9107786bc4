"""The server's hover and completion texts cover every value the runtime knows."""

from __future__ import annotations

from openprose_lsp.docs import missing_entries


def test_every_runtime_value_has_words() -> None:
    assert missing_entries() == []
