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
request body), else the next queued reply, else the default reply (an echo, or, for
a request that forces a tool call, a valid call of that tool).
Whether a reply is streamed follows the request's ``"stream"`` flag, as the real
API does.

Billing: every reply the server finishes writing is billed, and ``tally()`` gives
the server's own totals per model (input, output, cache read, cache write), so a
test can compare a run's accounting with what the "API" charged. Prompt caching is
simulated: a text block marked ``cache_control`` costs cache-write tokens the first
time the server sees it and cache-read tokens afterwards (len(text) // 4 each).
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

__all__ = ["FAULTS", "Billed", "FakeMessagesAPI", "RecordedRequest", "Reply", "fake_messages_api"]

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
    #: Faults of a broken server or proxy (see FAULTS): a raw ``body`` sent as is with
    #: ``content_type`` (an HTML or empty 200), or a stream ``corrupt``ed in one way.
    body: bytes | None = None
    content_type: str = "text/html"
    #: "bad-json" (an event whose data is not JSON), "wrong-index" (a delta for a block
    #: that never started), "stall" (stop after the first chunk, keep the connection open
    #: for ``stall_seconds``), "pings" (only pings for ``stall_seconds``, then close).
    corrupt: str | None = None
    stall_seconds: float = 0.0
    #: Answer with a call of the tool the request forces with tool_choice (or `tool_name`),
    #: with this input, after the text: how a model answers a condition or choice.
    tool_input: dict[str, Any] | None = None
    tool_name: str | None = None
    #: Overrides the stop reason; "max_tokens" simulates a reply cut off at the budget.
    stop: str | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: Client tool calls after the text, as (name, input); the reply then stops with "tool_use".
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: Server tool calls the API ran itself, as (name, input, result content) — e.g. web_search.
    server_calls: tuple[tuple[str, dict[str, Any], Any], ...] = ()

    @classmethod
    def tool(cls, tool_input: dict[str, Any], **kw: Any) -> Reply:
        """A reply that calls the tool the request forces (a decision), with this input."""
        return cls(text=kw.pop("text", ""), tool_input=tool_input, **kw)

    @classmethod
    def tools(cls, *calls: tuple[str, dict[str, Any]], text: str = "", **kw: Any) -> Reply:
        """A reply asking for client tools (the model's tool_use turn)."""
        return cls(text=text, tool_calls=tuple(calls), **kw)

    @property
    def stop_reason(self) -> str:
        if self.stop is not None:
            return self.stop
        return "tool_use" if self.tool_calls or self.tool_input is not None else "end_turn"

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


@dataclass(frozen=True)
class Billed:
    """What the server charged for one finished reply."""

    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


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
        self.billed: list[Billed] = []
        self._cached: set[str] = set()
        #: The automatic answer to a forced `decide` call (conditions) when nothing else matches.
        self.auto_answer = True
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

    def tally(self) -> dict[str, dict[str, int]]:
        """The server's own bill: per model and "total", tokens of every finished reply and "calls"."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for bill in self.billed:
                for key in (bill.model, "total"):
                    row = out.setdefault(key, dict.fromkeys(
                        ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0))
                    row["calls"] += 1
                    row["input_tokens"] += bill.input_tokens
                    row["output_tokens"] += bill.output_tokens
                    row["cache_read_tokens"] += bill.cache_read_tokens
                    row["cache_write_tokens"] += bill.cache_write_tokens
        return out

    # -- used by the handler -----------------------------------------------------------
    def _bill(self, bill: Billed) -> None:
        with self.changed:
            self.billed.append(bill)
            self.changed.notify_all()

    def _cache_usage(self, body: dict[str, Any]) -> tuple[int, int]:
        """(read, write) tokens for the cache_control blocks of a request."""
        blocks: list[Any] = []
        if isinstance(body.get("system"), list):
            blocks += body["system"]
        for message in body.get("messages") or []:
            if isinstance(message.get("content"), list):
                blocks += message["content"]
        read = write = 0
        with self._lock:
            for block in blocks:
                if isinstance(block, dict) and block.get("cache_control") and isinstance(block.get("text"), str):
                    tokens = len(block["text"]) // 4
                    key = f"{body.get('model')}\x00{block['text']}"
                    if key in self._cached:
                        read += tokens
                    else:
                        self._cached.add(key)
                        write += tokens
        return read, write

    def _pick(self, raw: str) -> Reply:
        with self._lock:
            for route in self._routes:
                if route.match in raw and (route.times is None or route.times > 0):
                    if route.times is not None:
                        route.times -= 1
                    return route.reply
            if self._queue:
                return self._queue.popleft()
            auto_answer = self.auto_answer
        forced = _forced_tool(raw)
        if forced == "decide":
            return Reply.tool({"answer": auto_answer, "reason": "the fake judge always says so"})
        if forced == "choose":
            return Reply.tool({"option": 1, "reason": "the fake judge picks the first option"})
        return Reply(text=f"echo: {_last_user_text(raw)[:60]}")

    def _record(self, req: RecordedRequest) -> None:
        with self.changed:
            self.requests.append(req)
            self.changed.notify_all()

    def _touch(self) -> None:
        with self.changed:
            self.changed.notify_all()


def _forced_tool(raw: str) -> str | None:
    try:
        choice = json.loads(raw).get("tool_choice") or {}
    except (ValueError, AttributeError):
        return None
    return choice.get("name") if choice.get("type") == "tool" else None


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
        if reply.body is not None:
            self._send_raw(rec, reply)
        elif reply.status != 200:
            self._send_error(rec, reply)
        elif reply.corrupt is not None and body.get("stream"):
            self._send_corrupt_stream(rec, reply, body)
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

    def _send_raw(self, rec: RecordedRequest, reply: Reply) -> None:
        data = reply.body or b""
        rec.reply_status = reply.status
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self._write(rec, data)
        rec.finished = True
        self.fake._touch()

    def _send_corrupt_stream(self, rec: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        """A 200 event stream that goes wrong in the way ``reply.corrupt`` names."""
        rec.reply_status = 200
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        start = {"type": "message_start", "message": self._message(reply, body)}
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial"}}
        frames: list[bytes] = [_sse("message_start", json.dumps(start))]
        if reply.corrupt == "bad-json":
            frames += [_sse("content_block_start", json.dumps(block)), _sse("content_block_delta", '{"type": "content_bl')]
        elif reply.corrupt == "wrong-index":
            wrong = dict(delta, index=7)
            frames += [_sse("content_block_start", json.dumps(block)), _sse("content_block_delta", json.dumps(wrong))]
        elif reply.corrupt == "stall":
            frames += [_sse("content_block_start", json.dumps(block)), _sse("content_block_delta", json.dumps(delta))]
        for frame in frames:
            if not self._write(rec, b"%x\r\n%s\r\n" % (len(frame), frame)):
                return
        if reply.corrupt in ("stall", "pings"):
            deadline = time.monotonic() + reply.stall_seconds
            while time.monotonic() < deadline and not self.fake._stopping.is_set():
                if reply.corrupt == "pings":
                    ping = _sse("ping", '{"type": "ping"}')
                    if not self._write(rec, b"%x\r\n%s\r\n" % (len(ping), ping)):
                        return
                if not self._wait(rec, 0.05):
                    return
        self.close_connection = True
        if self._write(rec, b"0\r\n\r\n"):
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
            "usage": self._usage(reply, body, output_tokens=1),
        }

    def _usage(self, reply: Reply, body: dict[str, Any], *, output_tokens: int) -> dict[str, int]:
        read, write = self.fake._cache_usage(body)
        usage = {
            "input_tokens": reply.input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": reply.cache_read_tokens + read,
            "cache_creation_input_tokens": reply.cache_write_tokens + write,
        }
        return usage

    def _blocks(self, reply: Reply, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Content blocks after the text: scripted tool calls, then the forced decision call."""
        out = reply.blocks()
        if reply.tool_input is not None:
            name = reply.tool_name or (body.get("tool_choice") or {}).get("name") or "tool"
            out.append({"type": "tool_use", "id": f"toolu_fake{next(_ids)}", "name": name, "input": reply.tool_input})
        return out

    def _finish_bill(self, reply: Reply, body: dict[str, Any], usage: dict[str, int]) -> None:
        self.fake._bill(Billed(
            model=reply.model or body.get("model") or self.fake.default_model,
            input_tokens=usage["input_tokens"], output_tokens=reply.output_tokens,
            cache_read_tokens=usage["cache_read_input_tokens"], cache_write_tokens=usage["cache_creation_input_tokens"],
        ))

    def _send_json(self, rec: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        msg = self._message(reply, body)
        msg["content"] = [{"type": "text", "text": reply.text}, *self._blocks(reply, body)]
        msg["stop_reason"] = reply.stop_reason
        msg["usage"] = {**msg["usage"], "output_tokens": reply.output_tokens}
        data = json.dumps(msg).encode()
        rec.reply_status = 200
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_fake{next(_ids)}")
        self.end_headers()
        if self._write(rec, data):
            rec.finished = True
            self._finish_bill(reply, body, msg["usage"])
        self.fake._touch()

    def _send_stream(self, rec: RecordedRequest, reply: Reply, body: dict[str, Any]) -> None:
        rec.reply_status = 200
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_fake{next(_ids)}")
        self.end_headers()
        opening = self._message(reply, body)
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": opening}),
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
            for index, block in enumerate(self._blocks(reply, body), start=1):
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
            text = json.dumps(data)
            if reply.corrupt == "bad-json" and name == "content_block_delta":
                text = text[: len(text) // 2]  # cut in the middle: not JSON any more
            frame = f"event: {name}\ndata: {text}\n\n".encode()
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
            if reply.stream_error is None:
                self._finish_bill(reply, body, opening["usage"])
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


def _sse(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


#: One reply per way a Messages API (or a proxy in front of it) can fail, for fault-injection tests.
FAULTS: dict[str, Reply] = {
    "429": Reply.error(429, "slow down", retry_after=0),
    "500": Reply.error(500, "internal"),
    "529-overloaded": Reply.error(529, "overloaded"),
    "401": Reply.error(401, "bad key"),
    "400": Reply.error(400, "bad request"),
    "stream-overloaded": Reply(text="abc", stream_error="overloaded_error"),
    "hang-up": Reply(text="abcdef", hang_up=True),
    "bad-json-event": Reply(corrupt="bad-json"),
    "wrong-content-index": Reply(corrupt="wrong-index"),
    "html-200": Reply(body=b"<html><body>Gateway says hi</body></html>", content_type="text/html"),
    "empty-200": Reply(body=b"", content_type="text/event-stream"),
    "json-200-not-a-message": Reply(body=b'{"hello": "world"}', content_type="application/json"),
    "stalled-stream": Reply(corrupt="stall", stall_seconds=30.0),
    "pings-only": Reply(corrupt="pings", stall_seconds=30.0),
    "slow-headers": Reply(text="late", delay=30.0),
}


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
