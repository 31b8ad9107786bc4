"""`prose lsp` over stdio and TCP, settings, and shutdown while a run is going."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from .conftest import initialize_params, make_client, new_uri, open_doc, position_of, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROSE = shutil.which("prose") or str(Path(sys.executable).parent / "prose")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[PROSE, "lsp"], client_factory=make_client), scope="module")
async def prose_client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    lsp_client.init_result = await lsp_client.initialize_session(initialize_params(backend="auto"))  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_prose_lsp_over_stdio(prose_client: LanguageClient, tmp_path: Path) -> None:
    caps = prose_client.init_result.capabilities  # type: ignore[attr-defined]
    assert caps.text_document_sync.change == lsp.TextDocumentSyncKind.Incremental
    assert caps.execute_command_provider and set(caps.execute_command_provider.commands) == {"openprose.estimate", "openprose.run", "openprose.stop"}
    assert caps.rename_provider and caps.rename_provider.prepare_provider
    assert caps.hover_provider and caps.completion_provider and caps.document_formatting_provider
    uri = new_uri(tmp_path)
    diags = await open_doc(prose_client, uri, "parallel (frist):\n  session \"a\"\n")
    assert [d.code for d in diags] == ["P001"]


async def test_model_aliases_follow_configuration(prose_client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path)
    text = "agent a:\n  model: opus\n"
    await open_doc(prose_client, uri, text)
    at = position_of(text, "opus", delta=1)

    async def hover() -> str:
        result = await prose_client.text_document_hover_async(
            lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=at)
        )
        assert result is not None
        return result.contents.value  # type: ignore[union-attr]

    assert "claude-opus" in await hover()
    prose_client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"openprose": {"backend": "simulated", "modelAliases": {"opus": "my-opus-id"}}})
    )
    # The notification has no reply; a later request is answered after it is applied.
    assert "`my-opus-id`" in await hover()


async def test_shutdown_cancels_a_running_program(tmp_path: Path) -> None:
    client = make_client()
    await client.start_io(sys.executable, "-m", "openprose_lsp")
    try:
        await client.initialize_session(initialize_params())
        uri = new_uri(tmp_path, "long.prose")
        await open_doc(client, uri, 'session "Very long"\n')
        script = tmp_path / "slow.json"
        script.write_text(json.dumps({"default": {"delay": 60, "output": "late"}}))
        result = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="openprose.run", arguments=[uri, {"script": str(script)}])
        )
        assert result["runId"]  # type: ignore[index]
        await until(lambda: any(getattr(p.event, "type", None) == "session.start" for p in client.run_events), what="start")  # type: ignore[attr-defined]
        started = time.monotonic()
        await asyncio.wait_for(client.shutdown_session(), timeout=15)
        assert time.monotonic() - started < 10
        assert any(
            getattr(p.event, "type", None) == "run.end" and getattr(p.event, "status", None) == "cancelled"
            for p in client.run_events  # type: ignore[attr-defined]
        )
    finally:
        await _stop(client)


async def _stop(client: LanguageClient) -> None:
    """Stop the client; a server still running after a failed test is killed, not awaited forever."""
    server = client._server
    if server is not None and server.returncode is None:
        server.kill()
    await client.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_prose_lsp_over_tcp(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen([PROSE, "lsp", "--tcp", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = make_client()
    try:
        # pygls serves one connection and then stops, so the probe is the real connection.
        deadline = time.monotonic() + 15
        while True:
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("the TCP server did not start") from None
                await asyncio.sleep(0.1)
        await client.initialize_session(initialize_params())
        uri = new_uri(tmp_path)
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=3, text="session: nobody\n")
            )
        )
        await until(lambda: client.published.get(uri), what="diagnostics over TCP")  # type: ignore[attr-defined]
        params = client.published[uri][-1]  # type: ignore[attr-defined]
        assert params.version == 3 and params.diagnostics[0].code == "E007"
    finally:
        process.kill()
        process.wait(timeout=10)
        await client.stop()
