"""The OpenProse language server: LSP plumbing around the runtime.

Every feature handler is wrapped so that an exception is logged to the
client (window/logMessage) and the request still gets an empty answer: a
bug in one feature must never take the editor's server down. Document sync
bypasses pygls's own text store (see `ProseProtocol`) because the server
keeps bytes and a syntax tree per document instead.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types as lsp
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from . import __version__, transport
from .actions import ESTIMATE_COMMAND, RUN_COMMAND, STOP_COMMAND, code_actions, code_lenses, estimate_message
from .completion import complete, resolve_item
from .documents import Document, DocumentStore, uri_to_path
from .formatting import FormatRefused, format_document
from .hover import hover
from .idle_gc import IdleCollector
from .navigation import RenameError, definition, highlights, prepare_rename, references, rename
from .run import RunManager, RunRequest, redact, workspace_of
from .semantic_tokens import LEGEND
from .settings import Settings

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

REQUEST_FAILED = -32803
#: Debounce before re-analysing after an edit. A file that analyses quickly answers at
#: once; a slow one waits a little (a fraction of its analysis time) so keystrokes already
#: queued in the pipe are read first and share one analysis instead of piling up.
_DEBOUNCE_BELOW = 0.05
_DEBOUNCE_FRACTION = 0.1
_DEBOUNCE_MAX = 0.025
#: Quiet time after which a large, incrementally parsed document is checked against a fresh parse.
_VERIFY_AFTER = 0.3


INVALID_PARAMS = -32602


@dataclass(frozen=True)
class _Malformed:
    """A message whose params do not fit its method: answered (requests) or dropped, never crashed on."""

    id: Any
    method: str
    problem: str
    jsonrpc: str = "2.0"


class ProseProtocol(LanguageServerProtocol):
    """Document notifications go straight to the server's own store.

    pygls would also keep a copy of each document as text, re-split on every
    change; this server never reads it, so the copy is skipped.

    Two pygls behaviours are corrected here, because they break the promise that
    a long session stays small and every request gets an answer:

    * A request whose params do not fit its method (a negative position, a wrong
      type, null) fails to deserialize, and pygls drops it unanswered. It gets an
      InvalidParams error instead; a malformed notification is logged and dropped.
    * pygls keeps a future per handler in its request table and only requests
      remove theirs, so every notification handled through a generator (document
      sync, executeCommand's inner call) left one behind: about 2 KB per edit.
      Each entry is now removed when its future completes.
    """

    def structure_message(self, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        if "jsonrpc" in data and "method" in data and "error" not in data:
            message_type = self.get_message_type(data["method"])
            if message_type is not None:
                try:
                    return self._converter.structure(data, message_type)
                except Exception as exc:  # noqa: BLE001 - cattrs raises several kinds
                    return _Malformed(data.get("id"), str(data["method"]), _describe_invalid(exc))
        return super().structure_message(data)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Malformed):
            if message.id is not None:
                self._send_response(
                    message.id,
                    error=ResponseError(code=INVALID_PARAMS, message=f"invalid params for {message.method}: {message.problem}"),
                )
            else:
                self._server.window_log_message(  # type: ignore[attr-defined]
                    lsp.LogMessageParams(type=lsp.MessageType.Warning,
                                         message=f"ignored {message.method} with invalid params: {message.problem}")
                )
            return
        super().handle_message(message)

    def _send_data(self, data: Any) -> None:
        """pygls's writer, with orjson and a byte-exact Content-Length (see `transport.encode`)."""
        if not data:
            return
        if self.writer is None:
            log.error("no transport to send a message on")
            return
        result = self.writer.write(transport.encode(data, self._serialize_message))
        if inspect.isawaitable(result):
            asyncio.ensure_future(result)

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):  # type: ignore[no-untyped-def]
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(functools.partial(self._forget_future, msg_id))

    def _forget_future(self, msg_id: Any, future: Any) -> None:
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams):  # type: ignore[no-untyped-def]
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams):  # type: ignore[no-untyped-def]
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams):  # type: ignore[no-untyped-def]
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class ProseServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "openprose-lsp",
            __version__,
            protocol_cls=ProseProtocol,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
        )
        self.documents = DocumentStore()
        self.settings = Settings()
        self.snippets = True
        #: The client fetches a completion item's documentation with completionItem/resolve.
        self.lazy_documentation = False
        self.runs = RunManager(self.protocol, self.publish, self.show)
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._edited: set[str] = set()
        self.collector = IdleCollector()

    # ------------------------------------------------------------ messages

    def show(self, kind: lsp.MessageType, message: str) -> None:
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=redact(message)))

    def log_error(self, message: str) -> None:
        try:
            self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Error, message=redact(message)))
        except Exception:  # noqa: BLE001 - logging must never raise into a handler
            log.exception("could not send a log message")

    # --------------------------------------------------------- diagnostics

    def publish(self, doc: Document) -> None:
        """Publish the diagnostics of the document's current version (analysing it if needed)."""
        analysis = self.documents.analysis(doc)
        items = doc.published.convert([*analysis.diagnostics, *doc.run_diagnostics], doc.text, doc.uri)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=items, version=doc.version)
        )
        self.collector.activity()

    def schedule(self, doc: Document, *, edited: bool = False) -> None:
        """Publish soon; edits arriving before then share one analysis.

        Only an edit (not a dependency's re-check) refreshes the programs
        that `use` this one, so two programs naming each other cannot ping-pong.
        """
        if edited:
            self._edited.add(doc.uri)
        if doc.uri in self._pending:
            return
        slow = doc.analysis_seconds >= _DEBOUNCE_BELOW
        delay = min(_DEBOUNCE_MAX, doc.analysis_seconds * _DEBOUNCE_FRACTION) if slow else 0.0
        loop = asyncio.get_running_loop()
        self._pending[doc.uri] = loop.call_later(delay, self._flush, doc.uri)

    def _flush(self, uri: str) -> None:
        self._pending.pop(uri, None)
        edited = uri in self._edited
        self._edited.discard(uri)
        doc = self.documents.get(uri)
        if doc is None:
            return  # closed meanwhile: its diagnostics were already cleared
        try:
            self.publish(doc)
        except Exception:  # noqa: BLE001
            self.log_error("analysis failed:\n" + traceback.format_exc())
        if edited:
            self.refresh_dependents(doc)
        if not doc.exact:
            loop = asyncio.get_running_loop()
            loop.call_later(_VERIFY_AFTER, self._verify, uri, doc.generation)

    def _verify(self, uri: str, generation: int) -> None:
        """Once edits pause, make a large document's diagnostics those of a fresh parse."""
        doc = self.documents.get(uri)
        if doc is None or doc.generation != generation or uri in self._pending:
            return  # edited again meanwhile: that edit's flush schedules its own check
        try:
            if doc.verify():
                self.publish(doc)
        except Exception:  # noqa: BLE001
            self.log_error("verification failed:\n" + traceback.format_exc())

    def refresh_dependents(self, doc: Document) -> None:
        """Programs that `use` this one read its (unsaved) text: check them again soon."""
        for other in self.documents.dependents(doc):
            self.documents.invalidate(other)
            self.schedule(other)


def _describe_invalid(exc: BaseException) -> str:
    """A short account of why params did not deserialize (cattrs nests the real causes)."""
    leaves: list[str] = []

    def walk(err: BaseException) -> None:
        inner = getattr(err, "exceptions", None)
        if inner:
            for sub in inner:
                walk(sub)
        else:
            note = "; ".join(str(n) for n in getattr(err, "__notes__", []) or [])
            leaves.append(f"{note + ': ' if note else ''}{type(err).__name__}: {err}"[:200])

    walk(exc)
    return "; ".join(leaves[:3]) or type(exc).__name__


def guarded(default: Callable[[], Any] = lambda: None) -> Callable[[F], F]:
    """Answer every request even when its handler fails: log, then return `default()`.

    A `RenameError`/`FormatRefused` is the user's answer, not a bug, and is
    passed on as an LSP error (rename) or a message (format).
    """

    def decorate(fn: F) -> F:
        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(ls: ProseServer, *args: Any) -> Any:
                try:
                    return await fn(ls, *args)
                except JsonRpcException:
                    raise
                except Exception:  # noqa: BLE001
                    ls.log_error(f"{fn.__name__} failed:\n{traceback.format_exc()}")
                    return default()

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(ls: ProseServer, *args: Any) -> Any:
            try:
                return fn(ls, *args)
            except RenameError as exc:
                raise JsonRpcException(str(exc), code=REQUEST_FAILED) from None
            except JsonRpcException:
                raise
            except Exception:  # noqa: BLE001
                ls.log_error(f"{fn.__name__} failed:\n{traceback.format_exc()}")
                return default()

        return run  # type: ignore[return-value]

    return decorate


def _located(ls: ProseServer, uri: str, position: lsp.Position) -> tuple[Document, int] | None:
    doc = ls.documents.get(uri)
    if doc is None:
        return None
    return doc, doc.text.offset_at(position.line, position.character)


server = ProseServer()


# ---------------------------------------------------------------- lifecycle


@server.feature(lsp.INITIALIZE)
@guarded()
def initialize(ls: ProseServer, params: lsp.InitializeParams) -> None:
    ls.settings.update(params.initialization_options)
    ls.documents.allow_outside_workspace = ls.settings.allow_outside_workspace
    folders = [uri_to_path(f.uri) for f in params.workspace_folders or []]
    if not folders and params.root_uri:
        folders = [uri_to_path(params.root_uri)]
    ls.documents.workspace_folders = [f for f in folders if f is not None]
    caps = params.capabilities
    window = caps.window
    ls.runs.supports_progress = bool(window and window.work_done_progress)
    completion = caps.text_document.completion if caps.text_document else None
    item = completion.completion_item if completion else None
    ls.snippets = bool(item and item.snippet_support)
    resolvable = item.resolve_support.properties if item and item.resolve_support else []
    ls.lazy_documentation = "documentation" in resolvable


@server.feature(lsp.INITIALIZED)
@guarded()
def initialized(ls: ProseServer, params: lsp.InitializedParams) -> None:
    """Columns are counted in whatever encoding pygls agreed with the client (UTF-16 by default)."""
    encoding = ls.server_capabilities.position_encoding
    ls.documents.encoding = str(getattr(encoding, "value", encoding) or "utf-16")


@server.feature(lsp.SHUTDOWN)
async def shutdown(ls: ProseServer, *_: Any) -> None:
    try:
        await ls.runs.shutdown()
    except Exception:  # noqa: BLE001
        ls.log_error("stopping runs failed:\n" + traceback.format_exc())


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
@guarded()
def did_change_configuration(ls: ProseServer, params: lsp.DidChangeConfigurationParams) -> None:
    ls.settings.update(params.settings)
    if ls.documents.allow_outside_workspace != ls.settings.allow_outside_workspace:
        ls.documents.allow_outside_workspace = ls.settings.allow_outside_workspace
        for doc in ls.documents.all():
            ls.documents.invalidate(doc)
            ls.schedule(doc)


# ------------------------------------------------------------ document sync


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@guarded()
def did_open(ls: ProseServer, params: lsp.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    doc = ls.documents.open(item.uri, item.version, item.text)
    ls.publish(doc)
    ls.refresh_dependents(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@guarded()
def did_change(ls: ProseServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ident = params.text_document
    doc = ls.documents.get(ident.uri)
    if doc is None:
        ls.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Warning,
                                                   message=f"ignored didChange for a document that is not open: {ident.uri}"))
        return
    for change in params.content_changes:
        doc.apply(change)
    doc.version = ident.version
    ls.schedule(doc, edited=True)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@guarded()
def did_close(ls: ProseServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    doc = ls.documents.close(uri)
    pending = ls._pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    ls._edited.discard(uri)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    if doc is not None:
        ls.refresh_dependents(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
@guarded()
def did_save(ls: ProseServer, params: lsp.DidSaveTextDocumentParams) -> None:
    """A saved file may be `use`d by other open programs; their checks read it."""
    doc = ls.documents.get(params.text_document.uri)
    if doc is not None:
        ls.refresh_dependents(doc)


# ------------------------------------------------------------------ features


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@guarded()
def on_hover(ls: ProseServer, params: lsp.HoverParams) -> lsp.Hover | None:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return None
    doc, offset = located
    return hover(ls.documents.analysis(doc), doc.text, offset, ls.settings.model_aliases, doc.run_diagnostics)


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION,
    lsp.CompletionOptions(trigger_characters=["(", ":", "{", '"', ",", " ", "|"], resolve_provider=True),
)
@guarded(lambda: lsp.CompletionList(is_incomplete=False, items=[]))
def on_completion(ls: ProseServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return lsp.CompletionList(is_incomplete=False, items=[])
    doc, offset = located
    trigger = params.context.trigger_character if params.context else None
    return complete(ls.documents.analysis(doc), doc.text, offset, snippets=ls.snippets, trigger=trigger,
                    lazy_uri=doc.uri if ls.lazy_documentation else None)


@server.feature(lsp.COMPLETION_ITEM_RESOLVE)
@guarded()
def on_completion_resolve(ls: ProseServer, item: lsp.CompletionItem) -> lsp.CompletionItem:
    """The documentation of a name offered without it (for clients that resolve items lazily)."""
    uri = item.data.get("uri") if isinstance(item.data, dict) else None
    doc = ls.documents.get(uri) if isinstance(uri, str) else None
    if doc is None:
        return item
    return resolve_item(item, ls.documents.analysis(doc), doc.text)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@guarded(list)
def on_definition(ls: ProseServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return []
    doc, offset = located
    return definition(ls.documents.analysis(doc), doc.text, doc.uri, offset)


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@guarded(list)
def on_references(ls: ProseServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return []
    doc, offset = located
    return references(ls.documents.analysis(doc), doc.text, doc.uri, offset, params.context.include_declaration)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
@guarded(list)
def on_highlight(ls: ProseServer, params: lsp.DocumentHighlightParams) -> list[lsp.DocumentHighlight]:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return []
    doc, offset = located
    return highlights(ls.documents.analysis(doc), doc.text, offset)


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
@guarded()
def on_prepare_rename(ls: ProseServer, params: lsp.PrepareRenameParams) -> lsp.PrepareRenamePlaceholder | None:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return None
    doc, offset = located
    return prepare_rename(ls.documents.analysis(doc), doc.text, offset)


@server.feature(lsp.TEXT_DOCUMENT_RENAME, lsp.RenameOptions(prepare_provider=True))
@guarded()
def on_rename(ls: ProseServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
    located = _located(ls, params.text_document.uri, params.position)
    if located is None:
        return None
    doc, offset = located
    return rename(ls.documents.analysis(doc), doc.text, doc.uri, offset, params.new_name)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(list)
def on_document_symbol(ls: ProseServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return []
    return doc.symbols.symbols(ls.documents.analysis(doc), doc.text)


@server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
@guarded(list)
def on_folding_range(ls: ProseServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return []
    return doc.folds.ranges(ls.documents.analysis(doc), doc.text)


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)
@guarded(lambda: lsp.SemanticTokens(data=[]))
def on_semantic_tokens(ls: ProseServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return lsp.SemanticTokens(data=[])
    return doc.tokens.full(ls.documents.analysis(doc), doc.text)


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL_DELTA)
@guarded(lambda: lsp.SemanticTokens(data=[]))
def on_semantic_tokens_delta(ls: ProseServer, params: lsp.SemanticTokensDeltaParams) -> lsp.SemanticTokens | lsp.SemanticTokensDelta:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return lsp.SemanticTokens(data=[])
    return doc.tokens.delta(ls.documents.analysis(doc), doc.text, params.previous_result_id)


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
@guarded(lambda: lsp.SemanticTokens(data=[]))
def on_semantic_tokens_range(ls: ProseServer, params: lsp.SemanticTokensRangeParams) -> lsp.SemanticTokens:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return lsp.SemanticTokens(data=[])
    return doc.tokens.range(ls.documents.analysis(doc), doc.text, params.range)


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@guarded(list)
def on_formatting(ls: ProseServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return []
    try:
        return format_document(doc.text)
    except FormatRefused as exc:
        ls.show(lsp.MessageType.Warning, str(exc))
        return []


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
)
@guarded(list)
def on_code_action(ls: ProseServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return []
    return code_actions(ls.documents.analysis(doc), doc.text, doc.uri, params)


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
@guarded(list)
def on_code_lens(ls: ProseServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return []
    return code_lenses(params.text_document.uri, ls.documents.analysis(doc))


@server.command(ESTIMATE_COMMAND)
@guarded()
def estimate_command(ls: ProseServer, *args: Any) -> dict[str, Any] | None:
    """`[uri]`: shows how many model calls the program makes at least/at most; returns the numbers."""
    from openprose.estimate import estimate_program

    doc = ls.documents.load(args[0]) if args and isinstance(args[0], str) else None
    if doc is None:
        return None
    analysis = ls.documents.analysis(doc)
    if analysis.has_errors:
        return None
    ls.show(lsp.MessageType.Info, estimate_message(analysis))
    return estimate_program(analysis.program, analysis.path).to_json()


# ---------------------------------------------------------------------- runs


@server.command(RUN_COMMAND)
@guarded()
async def run_command(ls: ProseServer, *args: Any) -> dict[str, Any]:
    """`[uri]` or `[uri, {backend, script, inputs}]`; returns `{runId}` once the run is scheduled."""
    from openprose.backends import BackendConfig, make_backend

    if not args or not isinstance(args[0], str):
        return _not_run(ls, "openprose.run needs the document URI as its first argument")
    uri = args[0]
    doc = ls.documents.load(uri)
    if doc is None:
        return _not_run(ls, f"cannot run {uri}: the document is not open and cannot be read")
    try:
        request = RunRequest.parse(args[1] if len(args) > 1 else None, doc.path.parent if doc.path else None)
    except ValueError as exc:
        return _not_run(ls, str(exc))
    request.workspace = ls.documents.workspace_for(doc)
    request.allow_outside_workspace = ls.documents.allow_outside_workspace
    analysis = ls.documents.analysis(doc)
    if analysis.has_errors:
        count = len(analysis.errors)
        return _not_run(ls, f"the program has {count} error{'s' if count != 1 else ''}; fix them before running")
    config = BackendConfig(model_aliases={**BackendConfig().model_aliases, **ls.settings.model_aliases})
    name = request.backend or ("scripted" if request.script else ls.settings.backend)
    try:
        backend = make_backend(name, script=request.script, config=config, env=os.environ)
    except ValueError as exc:
        return _not_run(ls, str(exc))
    if doc.run_diagnostics:
        doc.run_diagnostics = []
        ls.publish(doc)
    workdir = workspace_of(doc.path, _workspace_folders(ls)) if doc.path else None
    run = await ls.runs.launch(doc, request, backend, workdir)
    return {"runId": run.run_id}


def _workspace_folders(ls: ProseServer) -> list[Path]:
    """The client's workspace folders (kept current by pygls), or its root when it sent no folders."""
    try:
        workspace = ls.workspace
    except Exception:  # noqa: BLE001 - not initialised: no folders
        return []
    uris = [folder.uri for folder in workspace.folders.values()] or [workspace.root_uri]
    paths = (to_fs_path(uri) for uri in uris if uri)
    return [Path(path) for path in paths if path]


def _not_run(ls: ProseServer, message: str) -> dict[str, Any]:
    ls.show(lsp.MessageType.Error, f"OpenProse: the program did not run: {message}")
    return {"runId": None, "status": "not-run", "error": redact(message)}


@server.command(STOP_COMMAND)
@guarded()
def stop_command(ls: ProseServer, *args: Any) -> dict[str, int]:
    uri = args[0] if args and isinstance(args[0], str) else None
    if uri is None:
        return {"stopped": 0}
    return {"stopped": ls.runs.stop(uri)}


@server.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL)
@guarded()
def on_progress_cancel(ls: ProseServer, params: lsp.WorkDoneProgressCancelParams) -> None:
    ls.runs.stop(token=params.token)


def main(tcp: str | None = None) -> None:
    """Serve over stdio, or over TCP when given HOST:PORT."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    server.collector.install()
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SystemExit(f"prose lsp: --tcp expects HOST:PORT (for example 127.0.0.1:2087), not {tcp!r}")
        transport.serve_tcp(server, host or "127.0.0.1", int(port))
    else:
        transport.serve_stdio(server)

