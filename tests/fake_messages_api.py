"""A local stand-in for the Anthropic Messages API, for tests.

The real SDK talks to this server over 127.0.0.1, so tests exercise the SDK's own
request building, SSE parsing and error mapping instead of a mock of it. The server
runs in a background thread of the test process (threads are fine in tests; the
runtime itself never uses them) and is shut down by the fixture at test end.

Usage from a test::

    async def test_x(fake_messages_api):
        fake_messages_api.enqueue(Reply.text("hello", input_tokens=3, output_tokens=1))
        fake_messages_api.route("Is it done?", Reply.text("YES"))
        ...  # point a client at fake_messages_api.base_url
        assert fake_messages_api.requests[0].body["system"] == "..."

Replies are picked per request: the first matching route (substring of the raw
request body), else the next queued reply, else the default reply (an echo).
Whether a reply is streamed follows the request's ``"stream"`` flag, as the real
API does.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FakeMessagesAPI", "RecordedRequest", "Reply", "fake_messages_api"]

_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """One scripted response.

    ``status`` other than 200 makes an error reply whose body has the real API's
    shape (``{"type": "error", "error": {"type": ..., "message": ...}}``).
    ``stream_error`` makes a 200 stream that breaks off with an SSE ``error`` event
    after the first text chunk, as the API does when it becomes overloaded mid-reply.
    ``chunk_delay`` sleeps between streamed events (to test cancellation mid-flight);
    ``delay`` waits before the status line (a server that is slow to answer at all).
    """

    text: str = "ok"
    status: int = 200
    error_type: str | None = None
    message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    input_tokens: int = 10
    output_tokens: int = 5
    model: str | None = None
    chunks: int = 3
    chunk_delay: float = 0.0
    stream_error: str | None = None
    delay: float = 0.0
    #: Drop the connection after the first streamed text chunk (a network failure).
    hang_up: bool = False
    #: Client tool calls after the text, as (name, input); the reply then stops with "tool_use".
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: Server tool calls the API ran itself, as (name, input, result content) — e.g. web_search.
    server_calls: tuple[tuple[str, dict[str, Any], Any], ...] = ()

    @classmethod
    def tools(cls, *calls: tuple[str, dict[str, Any]], text: str = "", **kw: Any) -> Reply:
        """A reply asking for client tools (the model's tool_use turn)."""
        return cls(text=text, tool_calls=tuple(calls), **kw)

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool_calls else "end_turn"

    def blocks(self) -> list[dict[str, Any]]:
        """The reply's content blocks after its text block, with fresh ids."""
        out: list[dict[str, Any]] = []
        for name, args, result in self.server_calls:
            use_id = f"srvtoolu_fake{next(_ids)}"
            out.append({"type": "server_tool_use", "id": use_id, "name": name, "input": args})
            out.append({"type": f"{name}_tool_result", "tool_use_id": use_id, "content": result})
        for name, args in self.tool_calls:
            out.append({"type": "tool_use", "id": f"toolu_fake{next(_ids)}", "name": name, "input": args})
        return out

    @classmethod
    def ok(cls, text: str, **kw: Any) -> Reply:
        return cls(text=text, **kw)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        error_type: str | None = None,
        retry_after: float | None = None,
    ) -> Reply:
        headers: tuple[tuple[str, str], ...] = ()
        if retry_after is not None:
            headers = (("retry-after", str(retry_after)),)
        return cls(status=status, message=message, error_type=error_type, headers=headers)

    @classmethod
    def slow(cls, text: str, *, chunks: int = 200, chunk_delay: float = 0.05, **kw: Any) -> Reply:
        return cls(text=text, chunks=chunks, chunk_delay=chunk_delay, **kw)


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str
    reply_status: int = 0
    client_disconnected: bool = False  # set when a write to the client failed mid-reply
    finished: bool = False  # the whole reply was written

    @property
    def user_text(self) -> str:
        """The text of the last user message (string or text blocks)."""
        messages = self.body.get("messages") or []
        if not messages:
            return ""
        content = messages[-1].get("content", "")
        if isinstance(content, str):
            return content
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The tool_result blocks of the last user message (what the model is told its tools returned)."""
        messages = self.body.get("messages") or []
        content = messages[-1].get("content", "") if messages else ""
        if isinstance(content, str):
            return []
        return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools the request offers."""
        return [t.get("name", "") for t in self.body.get("tools") or []]


@dataclass
class _Route:
    match: str
    reply: Reply
    times: int | None


class FakeMessagesAPI:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.required_key: str | None = None  # when set, other keys get a 401
        self.default_model = "claude-fake-1"
        self._queue: deque[Reply] = deque()
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.changed = threading.Condition(self._lock)
        #: Ids of the messages this server sent: a message-thread continuation must name one.
        self.message_ids: set[str] = set()

    # -- configuration -------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def route(self, match: str, reply: Reply, *, times: int | None = None) -> None:
        """Answer requests whose raw body contains ``match`` with ``reply``."""
        with self._lock:
            self._routes.append(_Route(match, reply, times))

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        api = self

        class Handler(_Handler):
            fake = api

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Block (in the test) until ``predicate(self)`` holds; for server-side observations."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(remaining)
        return True

    # -- used by the handler -----------------------------------------------------------
    def _pick(self, raw: str) -> Reply:
        with self._lock:
            for route in self._routes:
                if route.match in raw and (route.times is None or route.times > 0):
                    if route.times is not None:
                        route.times -= 1
                    return route.reply
            if self._queue:
                return self._queue.popleft()
        return Reply(text=f"echo: {_last_user_text(raw)[:60]}")

    def _record(self, req: RecordedRequest) -> None:
        with self.changed:
            self.requests.append(req)
            self.changed.notify_all()

    def _touch(self) -> None:
        with self.changed:
            self.changed.notify_all()


def _last_user_text(raw: str) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return ""
    rec = RecordedRequest("POST", "", {}, body, raw)
    return rec.user_text


class _Handler(BaseHTTPRequestHandler):
    fake: FakeMessagesAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Each SSE event is its own small write; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms per reply on loopback, as no real API server would.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        rec = RecordedRequest(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        self.fake._record(rec)
        if self.path.split("?")[0] != "/v1/messages":
            self._send_error(rec, Reply.error(404, f"no route for {self.path}"))
            return
        key = self.fake.required_key
        if key is not None and not _has_key(rec.headers, key):
            # Echo what was sent back, like a careless proxy might: the client must not leak it.
            sent = rec.headers.get("x-api-key") or rec.headers.get("authorization", "")
            self._send_error(rec, Reply.error(401, f"invalid x-api-key: {sent}"))
            return
        thread = body.get("thread") if isinstance(body.get("thread"), dict) else None
        if thread and thread.get("type") == "continue" and thread.get("previous_message_id") not in self.fake.message_ids:
            # The message-threads beta (the SDK's tool runner uses it) keeps history on the server:
            # a continuation of a message this server never sent cannot be answered.
            self._send_error(rec, Reply.error(400, f"unknown previous_message_id {thread.get('previous_message_id')!r}"))
            return
        reply = self.fake._pick(raw)
        if reply.delay and not self._wait(rec, reply.delay):
            return
        if reply.status != 200:
            self._send_error(rec, reply)
        elif body.get("stream"):
            self._send_stream(rec, reply, body)
        else:
            self._send_json(rec, reply, body)

    # -- replies -------------------------------------------------------------------------
    def _send_error(self, rec: RecordedRequest, reply: Reply) -> None:
        err_type = reply.error_type or _ERROR_TYPES.get(reply.status, "api_error")
        payload = {
            "type": "error",
            "error": {"type": err_type, "message": reply.message or err_type},
            "request_id": f"req_fake{next(_ids)}",
        }
        data = json.dumps(payload).encode()
        rec.reply_status = reply.status
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in reply.headers:
            self.send_header(k, v)
        self.end_headers()
        self._write(rec, data)
        rec.finished = True
        self.fake._touch()

    def _message(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message_id = f"msg_fake{next(_ids)}"
        self.fake.message_ids.add(message_id)
        return {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": reply.model or body.get("model") or self.fake.default_model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
        }

    def _send_json(self, rec: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        msg = self._message(reply, body)
        msg["content"] = [{"type": "text", "text": reply.text}, *reply.blocks()]
        msg["stop_reason"] = reply.stop_reason
        msg["usage"] = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
        data = json.dumps(msg).encode()
        rec.reply_status = 200
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_fake{next(_ids)}")
        self.end_headers()
        self._write(rec, data)
        rec.finished = True
        self.fake._touch()

    def _send_stream(self, rec: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        rec.reply_status = 200
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_fake{next(_ids)}")
        self.end_headers()
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": self._message(reply, body)}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            ("ping", {"type": "ping"}),
        ]
        pieces = _split(reply.text, max(1, reply.chunks))
        for i, piece in enumerate(pieces):
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                )
            )
            if reply.hang_up and i == 0:
                break
            if reply.stream_error is not None and i == 0:
                events.append(
                    ("error", {"type": "error", "error": {"type": reply.stream_error, "message": "Overloaded"}})
                )
                break
        else:
            events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
            for index, block in enumerate(reply.blocks(), start=1):
                if block["type"] in ("tool_use", "server_tool_use"):
                    start = {**block, "input": {}}
                    events += [
                        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}),
                        ("content_block_delta", {"type": "content_block_delta", "index": index,
                                                 "delta": {"type": "input_json_delta",
                                                           "partial_json": json.dumps(block["input"])}}),
                    ]
                else:
                    events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                           "content_block": block}))
                events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            events += [
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                        "usage": {"output_tokens": reply.output_tokens},
                    },
                ),
                ("message_stop", {"type": "message_stop"}),
            ]
        if reply.hang_up:
            events = events[:4]
        for name, data in events:
            if self.fake._stopping.is_set():
                return
            frame = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            if not self._write(rec, b"%x\r\n%s\r\n" % (len(frame), frame)):
                return
            if reply.chunk_delay and name == "content_block_delta":
                time.sleep(reply.chunk_delay)
        if reply.hang_up:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            self.fake._touch()
            return
        if self._write(rec, b"0\r\n\r\n"):
            rec.finished = True
        self.fake._touch()

    def _wait(self, rec: RecordedRequest, seconds: float) -> bool:
        """Sleep before replying, noticing meanwhile if the client hangs up."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.fake._stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.02))
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                rec.client_disconnected = True
                self.close_connection = True
                self.fake._touch()
                return False
        return True

    def _write(self, rec: RecordedRequest, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            rec.client_disconnected = True
            self.close_connection = True
            self.fake._touch()
            return False


def _has_key(headers: dict[str, str], key: str) -> bool:
    return headers.get("x-api-key") == key or headers.get("authorization") == f"Bearer {key}"


def _split(text: str, n: int) -> list[str]:
    """Exactly ``n`` pieces (some may be empty) so slow replies have many events."""
    size = len(text)
    return [text[i * size // n : (i + 1) * size // n] for i in range(n)]


@pytest.fixture
def fake_messages_api() -> Iterator[FakeMessagesAPI]:
    """A running fake Messages API, stopped when the test ends."""
    api = FakeMessagesAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()
