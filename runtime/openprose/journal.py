"""What every finished backend call of a run returned, so a resumed run asks no call twice.

`state.md` records statements; but a statement that was interrupted may already
have finished many calls inside it (iterations of a `parallel for`, branches of a
`parallel`, sessions in a block or in an imported program). Those results are
appended here as they arrive, one JSON line per call, and `--resume` answers a
call from this file when it finds its key.

A key names a call by where it is in the program, not by when it happened:
``{kind}:{statement id}:{n}`` is the n-th call of that kind made while running
that statement, where statement ids already number loop iterations and parallel
branches. Work under one statement id is sequential, so ``n`` is the same in
every run of the same program, whatever order concurrent branches finish in.

The file follows `state.md`'s rules: each line is one ``write`` on an
``O_APPEND`` descriptor, a torn last line (power loss) is ignored when read,
and text is redacted before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .files import append_line

__all__ = ["CallJournal"]

FILE_NAME = "calls.jsonl"


class CallJournal:
    """Append-only record of finished calls of one run (including its imports)."""

    def __init__(self, path: Path, *, redact: Callable[[Any], Any], durable: bool = False) -> None:
        self.path = path
        self._redact = redact
        self._durable = durable
        self._entries: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_run(cls, run_dir: Path, *, redact: Callable[[Any], Any], durable: bool = False) -> CallJournal:
        journal = cls(run_dir / FILE_NAME, redact=redact, durable=durable)
        journal._load()
        return journal

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> dict[str, Any] | None:
        """The recorded result of the call ``key``, or None if it never finished."""
        return self._entries.get(key)

    def record(self, key: str, result: dict[str, Any]) -> None:
        """Append one finished call. Raises OSError when it cannot be written."""
        entry = self._redact({"key": key, **result})
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        append_line(self.path, data, durable=self._durable, create=True)
        self._entries[key] = entry

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        for line in raw.split(b"\n"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn or empty line
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                self._entries[entry["key"]] = entry
