"""Reading program files safely, because opening a repository must never hang or leak.

A `.prose` path can name anything: a FIFO (whose `read` blocks until a writer
comes), `/dev/zero` or `/dev/urandom` (endless), a symlink out of the project,
a multi-gigabyte file, a path with a NUL byte. Every program read by `check`,
`fmt`, `run`, a `use` and the language server goes through `read_program`,
which only reads regular files, never blocks on opening (``O_NONBLOCK``), and
reads at most `MAX_PROGRAM_BYTES`. `confine` keeps `use` inside the workspace
(after following symlinks) unless the user allows reading outside it.

Failures are `ProgramFileError`, an `OSError` whose `strerror` is a sentence,
so the callers' existing "cannot read X: {strerror}" messages read well.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["MAX_PROGRAM_BYTES", "ProgramFileError", "confine", "read_program"]

#: Largest program that is read, checked, formatted or run (real programs are a few KB).
MAX_PROGRAM_BYTES = 4 * 1024 * 1024


class ProgramFileError(OSError):
    """A program path that is refused: not a regular file, too large, outside the workspace."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EINVAL, message)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def read_program(path: Path, limit: int = MAX_PROGRAM_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ProgramFileError otherwise."""
    text = os.fspath(path)
    if "\0" in text:
        raise ProgramFileError("the path contains a NUL byte")
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(text, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ProgramFileError(f"{_kind(info.st_mode)}, not a program file")
        if info.st_size > limit:
            raise ProgramFileError(f"the file is {_size(info.st_size)}; programs are limited to {_size(limit)}")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise ProgramFileError(f"the file is over {_size(limit)}; programs are limited to {_size(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def confine(target: Path, workspace: Path | None, shown: str) -> Path:
    """``target`` with symlinks resolved, refused when it lies outside ``workspace``.

    ``workspace`` None means the user allowed reading anywhere. ``shown`` is the
    path as written in the program, for the message.
    """
    if "\0" in os.fspath(target):
        raise ProgramFileError("the path contains a NUL byte")
    resolved = target.resolve()
    if workspace is None:
        return resolved
    root = workspace.resolve()
    if resolved != root and root not in resolved.parents:
        raise ProgramFileError(
            f"'{shown}' is outside the workspace {root} (it resolves to {resolved}); "
            "programs are only read from inside it unless you allow it (--allow-outside-workspace)"
        )
    return resolved


def append_line(path: Path, data: bytes, *, durable: bool, create: bool = False) -> None:
    """Append one line to an append-only log (state.md, calls.jsonl) so that it stands on its own line.

    A tail torn by a kill mid-write is sealed with a newline first; the write loops
    until every byte is down; `durable` fsyncs. Raises OSError when it cannot write.
    """
    flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
    fd = os.open(path, flags, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
