"""A lean LSP client over stdio for timing a server, not itself.

pygls's client turns every message into lsprotocol objects through cattrs on
both sides, which on a millisecond-scale round trip is a sizeable share of
what gets measured. This one frames JSON by hand and parses answers with
orjson, so a round trip is the server's work plus the pipe. A message's
encoding is done before its clock starts (`encode`, then `send`), and the
encoding time is reported apart, so a table can show both.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import orjson


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class WireClient:
    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = 0
        self._answers: dict[int, asyncio.Future[tuple[float, Any]]] = {}
        self.arrivals: dict[tuple[str, int | None], float] = {}
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, *command: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 26)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        while True:
            try:
                header = await stdout.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            length = next(int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            body = await stdout.readexactly(length)
            now = time.perf_counter()
            message = orjson.loads(body)
            method = message.get("method")
            if method == "textDocument/publishDiagnostics":
                params = message["params"]
                self.arrivals[(params["uri"], params.get("version"))] = now
                self._arrived.set()
            elif method is None and message.get("id") in self._answers:
                future = self._answers.pop(message["id"])
                if not future.done():
                    future.set_result((now, message.get("result", message.get("error"))))
            elif method is not None and "id" in message:  # a request from the server: answer it empty
                self.send(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))

    def send(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(data)

    def notify(self, method: str, params: Any = None) -> None:
        self.send(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def encode_request(self, method: str, params: Any = None) -> tuple[int, bytes]:
        self._ids += 1
        return self._ids, frame({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})

    async def request(self, method: str, params: Any = None, timeout: float = 120.0) -> tuple[float, Any]:
        """Send a request and wait for its answer: (seconds from the first byte written, result)."""
        ident, data = self.encode_request(method, params)
        future: asyncio.Future[tuple[float, Any]] = asyncio.get_running_loop().create_future()
        self._answers[ident] = future
        sent = time.perf_counter()
        self.send(data)
        arrived, result = await asyncio.wait_for(future, timeout)
        return arrived - sent, result

    async def wait_version(self, uri: str, version: int, timeout: float = 120.0) -> float:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in self.arrivals:
            self._arrived.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no diagnostics for {uri} version {version}")
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass
        return self.arrivals[(uri, version)]

    def rss_kb(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the server process, from /proc."""
        out: dict[str, int] = {}
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()  # type: ignore[union-attr]
        except (OSError, AttributeError):
            return out
        for row in status.splitlines():
            key, _, value = row.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    async def stop(self) -> None:
        await self.request("shutdown")
        self.notify("exit")
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), 30)
        if self._reader is not None:
            await self._reader
