"""A scripted stand-in for ``prose lsp`` used to test the Neovim plugin's
plumbing (client start-up, :ProseRun/:ProseStop, run-event display) without
depending on the real language server.

It speaks LSP over stdio, records every request and notification it receives
as JSON lines in the file named by its first argument, and answers
``workspace/executeCommand`` for ``openprose.run`` by streaming
``openprose/runEvent`` notifications shaped like the real server's. With the
run option ``{"backend": "tools"}`` the run's session asks a permission
question (``window/showMessageRequest`` with Allow / Allow All This Run / Deny,
as the real server does for a ``prompt`` permission) and reports its tool call as run or denied
according to the answer.
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


QUESTION = "OpenProse (hello.prose): Allow agent 'fixer' to use bash: make test?"


def ask_permission(uri: str, run_id: str, asks: int) -> str:
    """Starts a tool-using session and asks the client; the answer finishes it."""
    run_event(uri, run_id, "run.start")
    run_event(uri, run_id, "session.start", prompt="Fix the failing test", binding="fix", session="s1", agent="fixer")
    ask_id = f"ask-{asks}"
    send({
        "id": ask_id,
        "method": "window/showMessageRequest",
        "params": {"type": 2, "message": QUESTION,
                   "actions": [{"title": "Allow"}, {"title": "Allow All This Run"}, {"title": "Deny"}]},
    })
    return ask_id


def finish_tools_run(uri: str, run_id: str, answer: dict) -> None:
    allowed = isinstance(answer.get("result"), dict) and answer["result"].get("title") == "Allow"
    tool = {"session": "s1", "agent": "fixer", "tool": "bash", "summary": "make test"}
    run_event(uri, run_id, "tool.start", **tool)
    if allowed:
        run_event(uri, run_id, "tool.end", status="ok", duration=0.25, **tool)
    else:
        run_event(uri, run_id, "tool.end", status="denied", duration=0.0, rule="bash: prompt (answered Deny)",
                  error="the person refused: make test", **tool)
    run_event(uri, run_id, "session.end", binding="fix", status="ok", session="s1")
    run_event(uri, run_id, "run.end", status="ok", outputs={"fix": "done"})


def main() -> None:
    runs = 0
    asks = 0
    waiting: dict[str, tuple[str, str]] = {}  # question id -> (uri, run id)
    while True:
        message = read_message()
        if message is None:
            return
        record(message)
        method = message.get("method")
        if method is None and message.get("id") in waiting:  # the client's answer to a question
            uri, run_id = waiting.pop(message["id"])
            finish_tools_run(uri, run_id, message)
        elif method == "initialize":
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
                options = params["arguments"][1] if len(params["arguments"]) > 1 else {}
                if options.get("backend") == "tools":
                    asks += 1
                    waiting[ask_permission(uri, run_id, asks)] = (uri, run_id)
                    continue
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
        elif "id" in message and method is not None:
            send({"id": message["id"], "result": None})


if __name__ == "__main__":
    main()
