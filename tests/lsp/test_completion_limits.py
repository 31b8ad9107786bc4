"""Completion on programs with thousands of names: bounded lists, documentation on demand.

Offering every variable in scope of a 50,000-line program (about 9,000 of
them) with its documentation cost hundreds of milliseconds per request. The
server offers at most `NAME_LIMIT` names, filtered by the typed word and then
nearest first, marks such a list incomplete, and leaves documentation to
`completionItem/resolve` when the client says it resolves it. These run the real
handlers in-process.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from openprose_lsp import server as srv
from openprose_lsp.completion import NAME_LIMIT

URI = "file:///tmp/openprose-completion/many.prose"
COUNT = 3 * NAME_LIMIT
PROGRAM = "".join(f'let name{i} = session "step {i}"\n' for i in range(COUNT)) + 'session "use {}"\n'
#: Inside the braces of the last line.
AT = lsp.Position(COUNT, len('session "use {'))


def _server(capabilities: lsp.ClientCapabilities) -> srv.ProseServer:
    ls = srv.ProseServer()
    ls.text_document_publish_diagnostics = lambda params: None  # type: ignore[method-assign]
    errors: list[str] = []
    ls.window_log_message = lambda params: errors.append(params.message)  # type: ignore[method-assign]
    ls.errors = errors  # type: ignore[attr-defined]
    ls.schedule = lambda doc, edited=False: ls.publish(doc)  # type: ignore[method-assign]  # no event loop here
    srv.initialize(ls, lsp.InitializeParams(capabilities=capabilities))
    return ls


def _open(ls: srv.ProseServer, text: str) -> None:
    srv.did_open(ls, lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=URI, language_id="prose", version=1, text=text)))


def _complete(ls: srv.ProseServer, at: lsp.Position) -> lsp.CompletionList:
    return srv.on_completion(ls, lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=URI), position=at))


def _lazy_client() -> lsp.ClientCapabilities:
    item = lsp.ClientCompletionItemOptions(
        snippet_support=True, resolve_support=lsp.ClientCompletionItemResolveOptions(properties=["documentation"]))
    return lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(
        completion=lsp.CompletionClientCapabilities(completion_item=item)))


def test_many_names_are_bounded_nearest_first_and_incomplete() -> None:
    ls = _server(lsp.ClientCapabilities())
    _open(ls, PROGRAM)
    result = _complete(ls, AT)
    assert result.is_incomplete is True
    labels = [item.label for item in result.items]
    assert len(labels) == NAME_LIMIT
    # the names defined just above the cursor, in the usual (alphabetical) order
    assert set(labels) == {f"name{i}" for i in range(COUNT - NAME_LIMIT, COUNT)}
    assert labels == sorted(labels)
    assert all(item.documentation is not None for item in result.items)  # this client does not resolve
    assert ls.errors == []  # type: ignore[attr-defined]


def test_the_typed_word_reaches_names_far_from_the_cursor() -> None:
    ls = _server(lsp.ClientCapabilities())
    text = PROGRAM.replace('session "use {}"', 'session "use {name7}"')
    _open(ls, text)
    result = _complete(ls, lsp.Position(COUNT, len('session "use {name7')))
    labels = {item.label for item in result.items}
    assert "name7" in labels and "name70" in labels  # far above, but they match what is typed
    assert all("7" in label for label in labels)
    assert result.is_incomplete is True  # filtered by the server: ask again when the word changes


def test_few_names_are_all_offered_and_complete() -> None:
    ls = _server(lsp.ClientCapabilities())
    few = "".join(f'let name{i} = session "step {i}"\n' for i in range(5)) + 'session "use {}"\n'
    _open(ls, few)
    result = _complete(ls, lsp.Position(5, len('session "use {')))
    assert result.is_incomplete is False
    assert {item.label for item in result.items} == {f"name{i}" for i in range(5)}


def test_documentation_is_resolved_on_demand() -> None:
    ls = _server(_lazy_client())
    _open(ls, PROGRAM)
    result = _complete(ls, AT)
    item = next(i for i in result.items if i.label == f"name{COUNT - 1}")
    assert item.documentation is None and item.data is not None
    resolved = srv.on_completion_resolve(ls, item)
    assert isinstance(resolved.documentation, lsp.MarkupContent)
    assert f"`name{COUNT - 1}`" in resolved.documentation.value and f"line {COUNT}" in resolved.documentation.value
    # keywords and properties keep their documentation inline
    keywords = _complete(ls, lsp.Position(COUNT + 1, 0))
    assert keywords.items and all(i.documentation is not None for i in keywords.items)
    assert ls.errors == []  # type: ignore[attr-defined]


def test_resolving_a_name_that_is_gone_returns_the_item() -> None:
    ls = _server(_lazy_client())
    _open(ls, PROGRAM)
    item = next(i for i in _complete(ls, AT).items if i.label == f"name{COUNT - 1}")
    srv.did_change(ls, lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text='session "nothing here"\n')]))
    resolved = srv.on_completion_resolve(ls, item)
    assert resolved.label == item.label and resolved.documentation is None
    assert ls.errors == []  # type: ignore[attr-defined]
