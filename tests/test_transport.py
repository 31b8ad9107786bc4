"""The language server's wire over real stdio: framing, bad bytes, and the kinds of stdin an editor or a user gives it.

Each test starts the real server process (`python -m openprose_lsp`) and speaks raw
LSP framing to it, so what is checked is what a client sees: the bytes, the exit
status and stderr.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SERVER = [sys.executable, "-m", "openprose_lsp"]
TIMEOUT = 60


def frame(message: dict[str, Any] | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def unframe(data: bytes) -> list[dict[str, Any]]:
    """Every message in `data`, reading exactly Content-Length bytes each (so a wrong length breaks it)."""
    out = []
    while data:
        header, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"no header end in {data[:80]!r}"
        fields = dict(line.split(b": ", 1) for line in header.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        body, data = rest[:length], rest[length:]
        assert len(body) == length, "the stream ended inside a message"
        out.append(json.loads(body))
    return out


def initialize(ident: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": "initialize", "params": {"processId": None, "capabilities": {}}}


def request(ident: int, method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


def notify(method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def opened(uri: str, text: str) -> dict[str, Any]:
    return notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "openprose", "version": 1,
                                                            "text": text}})


def ending() -> bytes:
    return frame(request(99, "shutdown")) + frame(notify("exit"))


def by_id(messages: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {m["id"]: m for m in messages if "id" in m and "method" not in m}


def run_server(data: bytes | None = None, stdin: Any = None) -> subprocess.CompletedProcess[bytes]:
    """The server fed `data` through a pipe (or reading the given `stdin`) until it exits."""
    return subprocess.run(SERVER, stdin=stdin, input=data, capture_output=True, timeout=TIMEOUT)


def no_traceback(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return err


def test_a_whole_session_through_a_pipe_answers_everything_and_exits_0(tmp_path: Path) -> None:
    uri = (tmp_path / "a.prose").as_uri()
    session = b"".join(frame(m) for m in (
        initialize(), notify("initialized", {}), opened(uri, 'session "hi"\n'),
        request(2, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}}),
    )) + ending()
    proc = run_server(session)
    no_traceback(proc)
    assert proc.returncode == 0
    answers = by_id(unframe(proc.stdout))
    assert set(answers) == {1, 2, 99}  # shutdown answered although exit followed at once
    assert "session" in json.dumps(answers[2]["result"])


def test_exit_without_shutdown_exits_1() -> None:
    proc = run_server(frame(initialize()) + frame(notify("exit")))
    no_traceback(proc)
    assert proc.returncode == 1


def test_stdin_that_is_a_file_is_read_too(tmp_path: Path) -> None:
    """A file (or a terminal) is not handed to the event loop but read in a thread, with the same rules."""
    script = tmp_path / "session.lsp"
    script.write_bytes(frame(initialize()) + frame(b"{oops") + frame(request(2, "textDocument/documentSymbol", {
        "textDocument": {"uri": (tmp_path / "missing.prose").as_uri()}})) + ending())
    with script.open("rb") as stdin:
        proc = run_server(stdin=stdin)
    no_traceback(proc)
    assert proc.returncode == 0
    messages = unframe(proc.stdout)
    assert set(by_id(messages)) == {None, 1, 2, 99}
    assert [(m["id"], m["error"]["code"]) for m in messages if "error" in m] == [(None, -32700)]
    script.write_bytes(frame(initialize()) + b"Content-Length: 80\r\n\r\n{}")
    with script.open("rb") as stdin:
        proc = run_server(stdin=stdin)
    assert proc.returncode == 1 and "bytes short" in no_traceback(proc)


def test_stdin_that_is_a_socket_works() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen(SERVER, stdin=theirs, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        theirs.close()
        ours.sendall(frame(initialize()) + ending())
        out, err = proc.communicate(timeout=TIMEOUT)
    assert b"Traceback" not in err, err
    assert set(by_id(unframe(out))) == {1, 99}


def test_messages_split_into_small_pieces_are_put_together(tmp_path: Path) -> None:
    uri = (tmp_path / "b.prose").as_uri()
    data = frame(initialize()) + frame(opened(uri, "".join(f'let x{i} = session "é ü ✓ 🙂"\n' for i in range(20)))) + frame(
        request(2, "textDocument/documentSymbol", {"textDocument": {"uri": uri}})) + frame(
        request(3, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 5}})) + ending()
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    for start in range(0, len(data), 7):
        proc.stdin.write(data[start:start + 7])
        proc.stdin.flush()
        if start % 700 == 0:
            time.sleep(0.01)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert b"Traceback" not in err, err
    answers = by_id(unframe(out))  # byte-exact Content-Length, though an answer holds non-ASCII text
    assert set(answers) == {1, 2, 3, 99}
    assert len(answers[2]["result"]) == 20
    assert "é ü ✓ 🙂" in answers[3]["result"]["contents"]["value"]


def test_a_body_that_is_not_json_gets_a_parse_error_and_the_server_goes_on() -> None:
    data = frame(initialize()) + frame(b"{not json") + frame(b"[1, 2]") + frame(
        {"jsonrpc": "1.0", "id": 5, "method": "textDocument/hover"}) + frame(b"\xff\xfe") + frame(
        request(2, "textDocument/hover", {"textDocument": {"uri": "file:///nowhere.prose"},
                                          "position": {"line": 0, "character": 0}})) + ending()
    proc = run_server(data)
    no_traceback(proc)
    assert proc.returncode == 0
    messages = unframe(proc.stdout)
    errors = [m for m in messages if "error" in m]
    assert [(m["id"], m["error"]["code"]) for m in errors] == [(None, -32700), (None, -32600), (5, -32600),
                                                                 (None, -32700)]
    assert set(by_id(messages)) >= {1, 2, 99}


def test_a_request_whose_params_do_not_fit_is_answered_invalid_params() -> None:
    data = frame(initialize()) + frame(request(3, "textDocument/hover", {"position": "nowhere"})) + ending()
    proc = run_server(data)
    no_traceback(proc)
    answer = by_id(unframe(proc.stdout))[3]
    assert answer["error"]["code"] == -32602


def _ends_with_one_line(data: bytes, says: str) -> None:
    began = time.monotonic()
    proc = run_server(data)
    assert time.monotonic() - began < TIMEOUT
    err = no_traceback(proc)
    assert proc.returncode == 1, err
    assert says in err, err
    assert set(by_id(unframe(proc.stdout))) == {1}  # what came before was answered


def test_garbage_instead_of_a_header_ends_the_server_with_a_reason() -> None:
    _ends_with_one_line(frame(initialize()) + b"GET / HTTP/1.1\r\n\r\n", "not an LSP header")


def test_a_body_cut_short_ends_the_server_with_a_reason() -> None:
    _ends_with_one_line(frame(initialize()) + b"Content-Length: 500\r\n\r\n{\"jsonrpc\"", "bytes short")


def test_an_absurd_content_length_is_refused() -> None:
    _ends_with_one_line(frame(initialize()) + b"Content-Length: 99999999999\r\n\r\n", "outside")
    _ends_with_one_line(frame(initialize()) + b"Content-Length: twelve\r\n\r\n", "not a number")


def test_a_header_line_without_end_is_refused_without_buffering_it_all() -> None:
    _ends_with_one_line(frame(initialize()) + b"X-Padding: " + b"a" * (200 * 1024), "longer than")


def test_headers_besides_content_length_are_accepted() -> None:
    body = json.dumps(initialize()).encode()
    data = (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: %d\r\n\r\n" % len(body)
            + body + ending())
    proc = run_server(data)
    no_traceback(proc)
    assert set(by_id(unframe(proc.stdout))) == {1, 99}


def test_a_closed_pipe_between_messages_ends_quietly() -> None:
    proc = run_server(frame(initialize()))
    no_traceback(proc)
    assert proc.returncode == 0
    assert set(by_id(unframe(proc.stdout))) == {1}


def test_pipe_like_tells_pipes_and_sockets_from_files_and_terminals(tmp_path: Path) -> None:
    from openprose_lsp.transport import pipe_like

    read, write = os.pipe()
    with os.fdopen(read, "rb") as r, os.fdopen(write, "wb"):
        assert pipe_like(r)
    a, b = socket.socketpair()
    with a, b, a.makefile("rb") as stream:
        assert pipe_like(stream)
    (tmp_path / "f").write_bytes(b"")
    with (tmp_path / "f").open("rb") as f:
        assert not pipe_like(f)
    import pty

    master, slave = pty.openpty()
    with os.fdopen(master, "rb") as m, os.fdopen(slave, "rb") as s:
        assert not pipe_like(s) and not pipe_like(m)


def test_over_tcp_the_same_rules_hold() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*SERVER, "--tcp", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "the TCP server did not start"
            time.sleep(0.1)
    received = b""
    with conn:
        conn.sendall(frame(initialize()) + frame(b"{nope") + ending())
        while chunk := conn.recv(65536):
            received += chunk
    _, err = proc.communicate(timeout=TIMEOUT)
    assert b"Traceback" not in err, err
    assert proc.returncode == 0
    messages = unframe(received)
    assert set(by_id(messages)) == {None, 1, 99}
    assert [m["error"]["code"] for m in messages if "error" in m] == [-32700]


def test_a_message_whose_handling_fails_is_answered_and_the_loop_goes_on(caplog) -> None:  # type: ignore[no-untyped-def]
    """Whatever goes wrong inside one message (a bug) is one line in the log and an error answer."""
    from openprose_lsp import transport

    written: list[bytes] = []

    class Protocol:
        writer = type("W", (), {"write": staticmethod(written.append)})()

        def structure_message(self, data: dict[str, Any]) -> dict[str, Any]:
            return data

        def handle_message(self, message: dict[str, Any]) -> None:
            raise KeyError("boom")

    server = type("S", (), {"protocol": Protocol()})()
    transport.deliver(server, request(7, "textDocument/hover"))  # type: ignore[arg-type]
    transport.deliver(server, notify("textDocument/didSave"))  # type: ignore[arg-type]
    answers = unframe(b"".join(written))
    assert [(m["id"], m["error"]["code"]) for m in answers] == [(7, -32603)]
    assert "could not handle textDocument/hover: KeyError" in caplog.text
