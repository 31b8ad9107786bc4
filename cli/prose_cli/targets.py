"""Which files a command works on: the paths named on the command line, and `*.prose` under named folders.

A folder may hold symlinks out of it, FIFOs, or a `.prose/` run directory; the walk
refuses those with a reason (reported, exit code 2) instead of reading or hanging on them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from openprose.files import confine, read_program


@dataclass
class _Loaded:
    path: Path
    display: str
    source: bytes


@dataclass(frozen=True)
class _Target:
    path: Path
    display: str
    #: The directory named on the command line, when the file was found under it.
    root: Path | None = None
    #: Why the file is refused before reading (e.g. a symlink out of that directory).
    refused: str | None = None


class InputError(Exception):
    """A path that cannot be read; reported with exit code 2."""


def _walk(root: Path) -> Iterator[Path]:
    """`*.prose` entries under ``root``, iteratively (no recursion limit), never following
    symlinked directories (a loop would never end) and skipping `.prose/` run state."""
    stack = [root]
    found: list[Path] = []
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != ".prose":
                        stack.append(Path(entry.path))
                elif entry.name.endswith(".prose"):
                    found.append(Path(entry.path))
            except OSError:
                continue
    yield from sorted(found)


def iter_targets(paths: Iterable[str], *, allow_outside: bool = False) -> Iterator[_Target]:
    """The files a command works on: named files, and `*.prose` found under named directories.

    A file found under a directory that is a symlink leaving it, or not a regular
    file (a FIFO, a device), is refused with a reason instead of being read.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in _walk(path):
                refused = None
                try:
                    if not allow_outside:
                        confine(child, path, str(child))
                    if not stat.S_ISREG(child.stat().st_mode):
                        refused = "not a regular file"
                except OSError as exc:
                    refused = exc.strerror or str(exc)
                yield _Target(child, str(child), path, refused)
        else:
            yield _Target(path, raw)


def iter_program_files(paths: Iterable[str]) -> Iterator[tuple[Path, str]]:
    for target in iter_targets(paths):
        if target.refused is None:
            yield target.path, target.display


def load(path: Path, display: str) -> _Loaded:
    try:
        return _Loaded(path, display, read_program(path))
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror or exc}") from exc
