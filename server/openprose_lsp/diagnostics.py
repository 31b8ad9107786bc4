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
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=uri, range=text.range(r.span)),
            message=r.message,
        )
        for r in diag.related
    ]
    code = codes.lookup(diag.code)
    return lsp.Diagnostic(
        range=text.range(diag.span),
        message=diag.message,
        severity=_SEVERITY[diag.severity],
        code=diag.code,
        code_description=lsp.CodeDescription(href=code_url(code)) if code is not None else None,
        source=SOURCE,
        related_information=related or None,
    )


def convert_all(diagnostics: list[Diagnostic], text: Text, uri: str) -> list[lsp.Diagnostic]:
    return [to_lsp(d, text, uri) for d in diagnostics]


def text_edits(fix: Fix, text: Text) -> list[lsp.TextEdit]:
    return [lsp.TextEdit(range=text.range(edit.span), new_text=edit.new_text) for edit in fix.edits]
