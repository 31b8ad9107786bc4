"""Run a command on a pseudo-terminal, as a person at a terminal would.

Only what the run-output tests need: start a process whose stdin, stdout and
stderr are a pty, wait (with a deadline) for text to appear, type a line, send a
signal, collect everything it printed.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def plain(text: str) -> str:
    """Terminal output without escape sequences and carriage returns."""
    return _ANSI.sub("", text)


class PtyProcess:
    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str], columns: int = 120) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.buffer = ""

    def _pump(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the other side is closed
            return False
        if not data:
            return False
        self.buffer += data.decode("utf-8", errors="replace")
        return True

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        """Wait until `pattern` (a regex) appears in the plain output; return that output."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, plain(self.buffer)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; got:\n{plain(self.buffer)[-3000:]}")
            if not self._pump(0.1) and self.proc.poll() is not None:
                raise AssertionError(f"process exited before {pattern!r}; got:\n{plain(self.buffer)[-3000:]}")
        return plain(self.buffer)

    def send(self, text: str) -> None:
        os.write(self.master, text.encode("utf-8"))

    def interrupt(self) -> None:
        """Ctrl-C as a terminal delivers it: SIGINT to the process."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self._pump(0.1):
            if self.proc.poll() is not None:
                while self._pump(0.2):  # drain what is left, until EIO or silence
                    if not select.select([self.master], [], [], 0)[0]:
                        break
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"process did not exit; got:\n{plain(self.buffer)[-3000:]}")
        code = self.proc.wait(timeout=5)
        os.close(self.master)
        return code, plain(self.buffer)
