"""Fixtures that drive the real language server over stdio with pytest-lsp.

The suite runs in trio mode; these tests talk to pygls's asyncio client, so
their trio marks are swapped for pytest-asyncio ones here (pytest-asyncio
turns async fixtures into plain functions before pytest-trio looks at them).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pygls.protocol import default_converter
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from openprose.analysis import analyze
from openprose_lsp.diagnostics import convert_all
from openprose_lsp.positions import Text

HERE = Path(__file__).parent
TIMEOUT = 20.0
_names = itertools.count(1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.own_markers = [mark for mark in item.own_markers if mark.name != "trio"]


def _record_diagnostics(client: LanguageClient, params: lsp.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.setdefault(params.uri, []).append(params)  # type: ignore[attr-defined]


def _record_run_event(client: LanguageClient, params: Any) -> None:
    client.run_events.append(params)  # type: ignore[attr-defined]


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_diagnostics
    features["openprose/runEvent"] = _record_run_event
    register_lsp_features(client, features)
    client.published = {}  # type: ignore[attr-defined]
    client.run_events = []  # type: ignore[attr-defined]
    return client


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "openprose_lsp"], client_factory=make_client)


def initialize_params(**options: Any) -> lsp.InitializeParams:
    return lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"backend": "simulated", "modelAliases": {}, **options},
    )


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    lsp_client.init_result = await lsp_client.initialize_session(initialize_params())  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def until(predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition") -> Any:
    """Poll until the predicate is truthy; fail the test after a bounded wait."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)


def new_uri(tmp_dir: Path, name: str | None = None) -> str:
    path = tmp_dir / (name or f"doc{next(_names)}.prose")
    return path.as_uri()


async def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> list[lsp.Diagnostic]:
    """Open a document and wait for its first diagnostics."""
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="prose", version=version, text=text)
        )
    )
    return await diagnostics_for(client, uri, version)


async def diagnostics_for(client: LanguageClient, uri: str, version: int) -> list[lsp.Diagnostic]:
    def found() -> Any:
        for params in reversed(client.published.get(uri, [])):  # type: ignore[attr-defined]
            if params.version == version:
                return params
        return None

    params = await until(found, what=f"diagnostics of {uri} version {version}")
    return list(params.diagnostics)


def edit(
    client: LanguageClient,
    uri: str,
    version: int,
    start: tuple[int, int],
    end: tuple[int, int],
    text: str,
) -> None:
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                lsp.TextDocumentContentChangePartial(
                    range=lsp.Range(start=lsp.Position(*start), end=lsp.Position(*end)), text=text
                )
            ],
        )
    )


def expected_diagnostics(text: str, uri: str, path: Path | None = None) -> list[lsp.Diagnostic]:
    """What a fresh full analysis of the text says, in LSP form."""
    from openprose_lsp.positions import encode

    source = encode(text)
    return convert_all(analyze(source, path).diagnostics, Text(source), uri)


_CONVERTER = default_converter()


def as_json(diagnostics: list[lsp.Diagnostic]) -> list[Any]:
    """Diagnostics as plain JSON values, so tuples from the wire compare equal to lists."""
    return _CONVERTER.unstructure(list(diagnostics), list[lsp.Diagnostic])


def position_of(text: str, needle: str, delta: int = 0, occurrence: int = 0) -> lsp.Position:
    """The LSP position of the n-th occurrence of a needle (plus delta characters)."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    index += delta
    line = text.count("\n", 0, index)
    column = index - (text.rfind("\n", 0, index) + 1)
    prefix = text[index - column : index]
    return lsp.Position(line=line, character=len(prefix.encode("utf-16-le")) // 2)

