"""Runtime diagnostics as LSP diagnostics, and their fixes as quick fixes.

The runtime decides what is wrong and how to fix it; this module only
re-expresses spans in the client's position encoding.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from openprose import codes
from openprose.diagnostics import Diagnostic, Fix, Severity

from .docs import code_url
from .positions import Text

SOURCE = "openprose"

_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFO: lsp.DiagnosticSeverity.Information,
    Severity.HINT: lsp.DiagnosticSeverity.Hint,
}


def to_lsp(diag: Diagnostic, text: Text, uri: str) -> lsp.Diagnostic:
    return _build(_key(diag, text, uri))


def convert_all(diagnostics: list[Diagnostic], text: Text, uri: str) -> list[lsp.Diagnostic]:
    return [to_lsp(d, text, uri) for d in diagnostics]


#: Everything an LSP diagnostic is made of: code, severity, message, range (as
#: `Text.points`), uri and the related (message, range) pairs.
_Key = tuple[str, Severity, str, tuple[int, int, int, int], str, tuple[tuple[str, tuple[int, int, int, int]], ...]]


def _key(diag: Diagnostic, text: Text, uri: str) -> _Key:
    related = tuple((r.message, text.points(r.span)) for r in diag.related)
    return (diag.code, diag.severity, diag.message, text.points(diag.span), uri, related)


def _build(key: _Key) -> lsp.Diagnostic:
    code_id, severity, message, points, uri, related = key
    code = codes.lookup(code_id)
    return lsp.Diagnostic(
        range=_range(points),
        message=message,
        severity=_SEVERITY[severity],
        code=code_id,
        code_description=lsp.CodeDescription(href=code_url(code)) if code is not None else None,
        source=SOURCE,
        related_information=[
            lsp.DiagnosticRelatedInformation(location=lsp.Location(uri=uri, range=_range(at)), message=note)
            for note, at in related
        ] or None,
    )


def _range(points: tuple[int, int, int, int]) -> lsp.Range:
    return lsp.Range(start=lsp.Position(line=points[0], character=points[1]),
                     end=lsp.Position(line=points[2], character=points[3]))


class DiagnosticCache:
    """LSP diagnostics of one document, reusing the objects of those an edit left as they were.

    Diagnostics are published whole for every version, and most of them are
    the same as in the previous version (same code, message and place). Each is
    still re-expressed in client positions (the runtime's spans are the truth),
    but an equal one gets the previously built object back; the objects are
    never modified once built. Only the newest version's objects are kept.
    """

    def __init__(self) -> None:
        self._built: dict[_Key, lsp.Diagnostic] = {}

    def convert(self, diagnostics: list[Diagnostic], text: Text, uri: str) -> list[lsp.Diagnostic]:
        old = self._built
        fresh: dict[_Key, lsp.Diagnostic] = {}
        out = []
        for diag in diagnostics:
            key = _key(diag, text, uri)
            item = fresh.get(key) or old.get(key)
            if item is None:
                item = _build(key)
            fresh[key] = item
            out.append(item)
        self._built = fresh
        return out


def text_edits(fix: Fix, text: Text) -> list[lsp.TextEdit]:
    return [lsp.TextEdit(range=text.range(edit.span), new_text=edit.new_text) for edit in fix.edits]
