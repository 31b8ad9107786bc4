"""Quick fixes from the runtime's `Diagnostic.fixes`, and the Run code lenses."""

from __future__ import annotations

from lsprotocol import types as lsp

from openprose.analysis import Analysis
from openprose.diagnostics import Diagnostic
from openprose.estimate import estimate_program, format_estimate, lens_title

from .diagnostics import SOURCE, text_edits, to_lsp
from .positions import Text, overlaps

RUN_COMMAND = "openprose.run"
#: Shows the full model-call estimate (the lens's title is its summary).
ESTIMATE_COMMAND = "openprose.estimate"
STOP_COMMAND = "openprose.stop"


def code_actions(
    analysis: Analysis, text: Text, uri: str, params: lsp.CodeActionParams
) -> list[lsp.CodeAction]:
    """One quick fix per runtime fix of the diagnostics under the request.

    A diagnostic the client sent is matched to the current analysis by code
    and range; with no diagnostics in the context (some clients send none),
    every diagnostic overlapping the requested range is offered.
    """
    only = params.context.only
    if only and not any(kind == lsp.CodeActionKind.QuickFix or lsp.CodeActionKind.QuickFix.startswith(kind) for kind in only):
        return []
    wanted = {
        (str(d.code), _key(d.range))
        for d in params.context.diagnostics
        if d.source in (None, SOURCE)
    }
    out: list[lsp.CodeAction] = []
    for diag in analysis.diagnostics:
        if not diag.fixes:
            continue
        converted = to_lsp(diag, text, uri)
        if wanted:
            if (diag.code, _key(converted.range)) not in wanted:
                continue
        elif not overlaps(converted.range, params.range):
            continue
        out.extend(_actions(diag, converted, text, uri))
    return out


def _actions(diag: Diagnostic, converted: lsp.Diagnostic, text: Text, uri: str) -> list[lsp.CodeAction]:
    return [
        lsp.CodeAction(
            title=fix.title,
            kind=lsp.CodeActionKind.QuickFix,
            diagnostics=[converted],
            is_preferred=index == 0,
            edit=lsp.WorkspaceEdit(changes={uri: text_edits(fix, text)}),
        )
        for index, fix in enumerate(diag.fixes)
    ]


def _key(rng: lsp.Range) -> tuple[int, int, int, int]:
    return rng.start.line, rng.start.character, rng.end.line, rng.end.character


def code_lenses(uri: str, analysis: Analysis | None = None) -> list[lsp.CodeLens]:
    """"Run" and "Run (simulated)" above the first line of a program, then the call estimate."""
    top = lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0))
    lenses = [
        lsp.CodeLens(range=top, command=lsp.Command(title="▶ Run", command=RUN_COMMAND, arguments=[uri])),
        lsp.CodeLens(
            range=top,
            command=lsp.Command(
                title="Run (simulated)", command=RUN_COMMAND, arguments=[uri, {"backend": "simulated"}]
            ),
        ),
    ]
    if analysis is not None and not analysis.has_errors:
        estimate = estimate_program(analysis.program, analysis.path)
        lenses.append(lsp.CodeLens(range=top, command=lsp.Command(
            title=lens_title(estimate), command=ESTIMATE_COMMAND, arguments=[uri])))
    return lenses


def estimate_message(analysis: Analysis) -> str:
    """The estimate as one message (what the lens shows when clicked)."""
    return "OpenProse: " + "\n".join(format_estimate(estimate_program(analysis.program, analysis.path)))
