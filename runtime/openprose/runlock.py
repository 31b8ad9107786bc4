"""One process at a time per run directory.

Two `prose run --resume` of the same run (or a resume while the original is
still running) would both execute the remaining sessions and interleave their
writes. Each run therefore holds an exclusive ``flock`` on ``.lock`` in its
directory for as long as it executes. The kernel drops the lock when the
process dies, however it dies, so a SIGKILLed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["RunBusy", "RunLock"]

LOCK_NAME = ".lock"


class RunBusy(Exception):
    """Another process holds the run."""


class RunLock:
    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Take the run's lock without waiting; RunBusy if someone has it."""
        path = Path(run_dir) / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
            os.close(fd)
            raise RunBusy(f"pid {holder}" if holder.isdigit() else "another process") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        except OSError:
            pass  # the pid is only a hint for the error message
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock

    def __del__(self) -> None:
        self.release()
