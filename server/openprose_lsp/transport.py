"""The wire: framing, decoding and encoding of LSP messages over stdio.

pygls's stdio reader hands every `readline` and body read to a worker
thread and back; each hop can wait for the GIL's switch interval, which made
the transport cost more per keystroke than the whole incremental analysis.
When stdin is a pipe or a socket — as every editor launches a language
server — the event loop reads it directly, as pygls's own TCP transport
does. Anything else (a terminal, a file) is read in a worker thread: the
event loop would switch such an fd to non-blocking mode, which its other
users (a shell sharing the terminal) would notice. Either way the framing
and message loop below are ours, on pygls's protocol objects.

Messages are decoded and encoded with orjson: for a full-sync change of a
large document the standard library's decoder alone took longer than the
analysis. Framing and JSON problems are answered as JSON-RPC says (parse
error, invalid request) and logged in one line; the loop goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from threading import Event
from typing import Any, BinaryIO

import orjson
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter
from pygls.server import JsonRPCServer

log = logging.getLogger(__name__)

#: A header line longer than this is not LSP; reading stops instead of buffering it.
HEADER_LIMIT = 64 * 1024
#: A body announced as larger than this cannot be an LSP message worth waiting for.
BODY_LIMIT = 512 * 1024 * 1024
#: How long `exit` waits for answers still in flight (the runs' own shutdown gives up after 5 s).
EXIT_GRACE = 10.0
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


class FramingError(Exception):
    """The byte stream is not LSP framing; nothing after it can be trusted."""


def pipe_like(stream: BinaryIO) -> bool:
    """The stream is a pipe or socket the event loop can read without changing what others see."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def encode(data: Any, default: Callable[[Any], Any]) -> bytes:
    """One framed message. `default` turns what orjson does not know (attrs classes, enums) into JSON."""
    try:
        body = orjson.dumps(data, default=default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # an integer beyond 64 bits, say: the standard library takes anything
        body = json.dumps(data, default=default).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def read_body(reader: asyncio.StreamReader | _BlockingReader) -> bytes | None:
    """The next message's body; None when the client closed the stream between messages."""
    length: int | None = None
    while True:
        try:
            line = await reader.readline()
        except ValueError as exc:  # the StreamReader's limit: a header line beyond any LSP header
            raise FramingError(f"a header line longer than {HEADER_LIMIT} bytes") from exc
        if not line:
            if length is not None:
                raise FramingError("the stream ended inside a message's headers")
            return None
        if line in (b"\r\n", b"\n"):
            if length is not None:
                break
            log.warning("ignored a header block without Content-Length")
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            raise FramingError(f"not an LSP header: {line[:80]!r}")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise FramingError(f"Content-Length is not a number: {value.strip()[:40]!r}") from None
            if not 0 <= length <= BODY_LIMIT:
                raise FramingError(f"Content-Length {length} is outside 0..{BODY_LIMIT}")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise FramingError(f"the stream ended {length - len(exc.partial)} bytes short of a message") from None


def decode(body: bytes) -> Any:
    """The JSON of one body. orjson refuses an escaped lone surrogate (`"\\ud800"`), which JSON's
    grammar allows and an editor may send for a broken document; the standard library takes it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def parse(server: JsonRPCServer, body: bytes) -> dict[str, Any] | None:
    """One body as a JSON-RPC 2.0 object; None (after answering with the error JSON-RPC prescribes) if it is not."""
    try:
        data = decode(body)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        log.warning("a message that is not JSON: %s", exc)
        _reply_error(server, None, PARSE_ERROR, f"parse error: {exc}")
        return None
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
        log.warning("a message that is not a JSON-RPC 2.0 object")
        ident = data.get("id") if isinstance(data, dict) else None
        _reply_error(server, ident if isinstance(ident, (int, str)) else None, INVALID_REQUEST,
                     "invalid request: not a JSON-RPC 2.0 object")
        return None
    return data


def deliver(server: JsonRPCServer, data: dict[str, Any]) -> None:
    """Hand one message to the protocol; a message that does not fit its type is answered, not raised."""
    protocol = server.protocol
    try:
        protocol.handle_message(protocol.structure_message(data))
    except JsonRpcException as exc:
        log.warning("%s: %s", data.get("method", "a response"), exc.message)
        if "method" in data and isinstance(data.get("id"), (int, str)):
            _reply_error(server, data["id"], exc.code, exc.message)
    except Exception as exc:  # noqa: BLE001 - a bug in one message must not end the session
        log.error("could not handle %s: %s: %s", data.get("method", "a response"), type(exc).__name__, exc)
        if "method" in data and isinstance(data.get("id"), (int, str)):
            _reply_error(server, data["id"], INTERNAL_ERROR, f"internal error: {type(exc).__name__}")


def _reply_error(server: JsonRPCServer, ident: int | str | None, code: int, message: str) -> None:
    """An error response; written here because JSON-RPC wants `"id": null` when the id is unknown,
    and the converter leaves out fields that are None."""
    writer = server.protocol.writer
    if writer is not None:
        writer.write(encode({"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}, str))


class _BlockingReader:
    """A file or terminal on stdin, read in a worker thread (the event loop must not own such an fd).

    Keeps the StreamReader's contract that `read_body` relies on: a too-long line
    is a ValueError, a short read an IncompleteReadError."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        line = await asyncio.to_thread(self._stream.readline, HEADER_LIMIT + 1)
        if len(line) > HEADER_LIMIT:
            raise ValueError("header line too long")
        return line

    async def readexactly(self, n: int) -> bytes:
        data = await asyncio.to_thread(self._stream.read, n)
        if len(data) < n:
            raise asyncio.IncompleteReadError(data, n)
        return data


async def _reader(stdin: BinaryIO) -> asyncio.StreamReader | _BlockingReader:
    if not pipe_like(stdin):
        return _BlockingReader(stdin)
    reader = asyncio.StreamReader(limit=HEADER_LIMIT)
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    return reader


async def _messages(server: JsonRPCServer, reader: asyncio.StreamReader | _BlockingReader, stop: Event) -> bool:
    """Read and deliver messages until `exit`, the end of the stream (True) or a framing error (False)."""
    while not stop.is_set():
        try:
            body = await read_body(reader)
        except FramingError as exc:
            log.error("stopped reading the client's messages: %s", exc)
            return False
        if body is None:
            return True
        data = parse(server, body)
        if data is None:
            continue
        if data.get("method") == "exit":
            await _answered(server)
        deliver(server, data)
        # Reading buffered bytes never suspends: let what this message started (an async
        # handler's answer, a due publish) run before the next one, as pygls's reader did.
        await asyncio.sleep(0)
    return True


async def _answered(server: JsonRPCServer, timeout: float = EXIT_GRACE) -> None:
    """Before `exit`: let the requests still in flight (shutdown's own answer) be answered.

    A client that writes `shutdown` and `exit` back to back would otherwise see the
    process end before the answer to `shutdown` left it."""
    pending = [asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f
               for f in list(server.protocol._request_futures.values()) if not f.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    await asyncio.sleep(0)


def serve_stdio(server: JsonRPCServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Serve `server` on stdin/stdout until the client exits or closes the pipe."""
    stdin = stdin or sys.stdin.buffer

    async def serve(stop: Event) -> bool:
        server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        return await _messages(server, await _reader(stdin), stop)

    _run(server, serve)


def serve_tcp(server: JsonRPCServer, host: str, port: int) -> None:
    """Serve one client connecting to host:port, then end (as pygls's TCP server does)."""

    async def serve(stop: Event) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            server.protocol.set_writer(writer)  # type: ignore[arg-type] - its write() is the Writer's
            try:
                clean = await _messages(server, reader, stop)
            except BaseException as exc:  # exit's SystemExit among them: hand it to serve()
                if not done.done():
                    done.set_exception(exc)
                return
            if not done.done():
                done.set_result(clean)

        listener = await asyncio.start_server(connected, host, port, limit=HEADER_LIMIT)
        log.info("serving on %s:%s", host, port)
        async with listener:
            return await done

    _run(server, serve)


def _run(server: JsonRPCServer, serve: Callable[[Event], Awaitable[bool]]) -> None:
    """Run one transport to its end. Bytes that are not LSP framing end the process with
    status 1 (after one line on stderr saying why): nothing after them can be found reliably.
    `exit` ends it with pygls's status (0 after shutdown, 1 without)."""
    server._stop_event = stop = Event()  # pygls's shutdown() and exit read it
    clean = True
    try:
        clean = asyncio.run(serve(stop))
    except BrokenPipeError:
        log.error("the client closed the connection; shutting down")
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    if not clean:
        raise SystemExit(1)
