"""A scripted stand-in for ``prose lsp`` used to test the Neovim plugin's
plumbing (client start-up, :ProseRun/:ProseStop, run-event display) without
depending on the real language server.

It speaks LSP over stdio, records every request and notification it receives
as JSON lines in the file named by its first argument, and answers
``workspace/executeCommand`` for ``openprose.run`` by streaming
``openprose/runEvent`` notifications shaped like the real server's.
"""

from __future__ import annotations

import json
import sys
import time

RECORD = open(sys.argv[1], "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


def record(message: dict) -> None:
    RECORD.write(json.dumps(message) + "\n")
    RECORD.flush()


def read_message() -> dict | None:
    headers = {}
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.decode("ascii").strip()
        if not line:
            break
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    return json.loads(sys.stdin.buffer.read(length))


def send(message: dict) -> None:
    message["jsonrpc"] = "2.0"
    body = json.dumps(message).encode("utf-8")
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


def run_event(uri: str, run_id: str, kind: str, **fields) -> None:
    event = {
        "type": kind,
        "t": round(time.time(), 3),
        "prompt": None,
        "binding": None,
        "status": None,
        "error": None,
        "outputs": None,
        "run_dir": None,
    }
    event.update(fields)
    send({"method": "openprose/runEvent", "params": {"uri": uri, "runId": run_id, "event": event}})


def main() -> None:
    runs = 0
    while True:
        message = read_message()
        if message is None:
            return
        record(message)
        method = message.get("method")
        if method == "initialize":
            send({
                "id": message["id"],
                "result": {
                    "capabilities": {
                        "textDocumentSync": 1,
                        "executeCommandProvider": {"commands": ["openprose.run", "openprose.stop"]},
                    },
                    "serverInfo": {"name": "scripted-prose-lsp"},
                },
            })
        elif method == "shutdown":
            send({"id": message["id"], "result": None})
        elif method == "exit":
            return
        elif method == "workspace/executeCommand":
            params = message["params"]
            uri = params["arguments"][0]
            if params["command"] == "openprose.run":
                runs += 1
                run_id = f"run-{runs}"
                send({"id": message["id"], "result": {"runId": run_id}})
                run_event(uri, run_id, "run.start")
                run_event(uri, run_id, "session.start", prompt="Summarise the findings\nin one line",
                          binding="summary")
                run_event(uri, run_id, "session.end", binding="summary", status="ok")
            elif params["command"] == "openprose.stop":
                send({"id": message["id"], "result": None})
                run_event(uri, f"run-{runs}", "run.end", status="cancelled", error="stopped by the user",
                          outputs={"summary": "partial"}, run_dir="/tmp/openprose-runs/" + f"run-{runs}")
            else:
                send({"id": message["id"], "error": {"code": -32601, "message": "unknown command"}})
        elif "id" in message:
            send({"id": message["id"], "result": None})


if __name__ == "__main__":
    main()
