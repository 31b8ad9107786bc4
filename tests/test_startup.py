"""Start-up stays lazy: a command imports only what it uses.

`prose check one.prose` and `prose lsp`'s first diagnostics are mostly import time
(bench/startup_bench.py measures it). One eager import at the top of a module —
the interpreter, the Anthropic SDK, trio, rich, the LSP libraries — would slow
them down again without failing anything, so these tests run the real commands in
a fresh interpreter and list what ended up in `sys.modules`. They time nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "agents.prose"

#: What only a run needs (the interpreter, a backend's SDK and its event loop, the live tree).
RUN_ONLY = {"anthropic", "httpx", "trio", "rich", "openprose.interpreter", "openprose.backends.simulated",
            "openprose.backends.scripted", "prose_cli.run", "prose_cli.progress"}
#: What only the language server needs.
SERVER_ONLY = {"pygls", "lsprotocol", "openprose_lsp", "cattrs"}
#: What checking a file never reads: the permission gate, the bundled queries' resource loader.
NOT_FOR_CHECKING = {"openprose.agents.permissions", "importlib.resources"}


def modules_after(argv: list[str], stdin: bytes = b"") -> tuple[set[str], subprocess.CompletedProcess[bytes]]:
    """The modules loaded by the time `prose ARGV` exits, run in a fresh interpreter."""
    # What the interpreter itself loaded before the command (site hooks, .pth files of the
    # environment) is not the command's doing, so only modules loaded after that count.
    script = textwrap.dedent("""
        import sys
        at_start = set(sys.modules)
        import atexit, json
        out = sys.argv[1]
        def dump():
            with open(out, "w") as f:
                json.dump(sorted(set(sys.modules) - at_start), f)
        atexit.register(dump)
        from prose_cli.main import main
        main(sys.argv[2:], prog_name="prose")
    """)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "modules.json"
        proc = subprocess.run([sys.executable, "-c", script, str(dump), *argv], input=stdin,
                              capture_output=True, timeout=120, cwd=ROOT)
        assert dump.exists(), proc.stderr.decode("utf-8", "replace")
        return set(json.loads(dump.read_text())), proc


def loaded(modules: set[str], forbidden: set[str]) -> list[str]:
    return sorted(m for m in modules if m in forbidden or m.split(".")[0] in forbidden)


def test_check_imports_neither_the_run_machinery_nor_the_server() -> None:
    modules, proc = modules_after(["check", str(PROGRAM)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert b"0 errors" in proc.stdout
    assert "openprose.analysis" in modules  # it did check
    assert loaded(modules, RUN_ONLY | SERVER_ONLY | NOT_FOR_CHECKING) == []


def test_fmt_check_imports_neither_the_run_machinery_nor_the_server() -> None:
    modules, proc = modules_after(["fmt", "--check", "-"], stdin=b'output x = session "hi"\n')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert loaded(modules, RUN_ONLY | SERVER_ONLY) == []


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


def test_lsp_publishes_diagnostics_without_loading_what_only_a_run_needs() -> None:
    """A whole session (initialize, open, diagnostics, shutdown) with no run in it loads no run machinery."""
    uri = PROGRAM.as_uri()
    session = b"".join(_frame(m) for m in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "openprose", "version": 1, "text": PROGRAM.read_text(encoding="utf-8")}}},
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {
            "textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ))
    modules, proc = modules_after(["lsp"], stdin=session)
    out = proc.stdout.decode("utf-8", "replace")
    assert '"textDocument/publishDiagnostics"' in out, out + proc.stderr.decode("utf-8", "replace")
    assert '"id": 3' in out or '"id":3' in out  # it answered shutdown, so everything above was handled
    assert {"openprose_lsp.server", "pygls"} <= modules
    assert loaded(modules, RUN_ONLY) == []
