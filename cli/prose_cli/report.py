"""Diagnostics as a terminal and scripts see them: JSON records and source snippets with a caret."""

from __future__ import annotations

from openprose.diagnostics import Diagnostic, LineIndex


def diagnostic_record(display: str, diag: Diagnostic, index: LineIndex) -> dict[str, object]:
    span = diag.span
    return {
        "file": display,
        "line": span.start_row + 1,
        "column": index.char_col(span.start_row, span.start_col) + 1,
        "end_line": span.end_row + 1,
        "end_column": index.char_col(span.end_row, span.end_col) + 1,
        "severity": diag.severity.value,
        "code": diag.code,
        "message": diag.message,
    }


#: Widest source line shown under a diagnostic; longer lines are cut around the caret.
SNIPPET_WIDTH = 160


def snippet(index: LineIndex, diag: Diagnostic) -> str:
    span = diag.span
    line = index.line_text(span.start_row)
    start = index.char_col(span.start_row, span.start_col)
    if span.end_row == span.start_row:
        end = max(start + 1, index.char_col(span.end_row, span.end_col))
    else:
        end = max(start + 1, len(line))
    if len(line) > SNIPPET_WIDTH:
        # A 200 KB line is not echoed whole: show a window around the start of the span.
        left = max(0, min(start - SNIPPET_WIDTH // 4, len(line) - SNIPPET_WIDTH))
        right = left + SNIPPET_WIDTH
        head, tail = ("…" if left else ""), ("…" if right < len(line) else "")
        line = head + line[left:right] + tail
        start = start - left + len(head)
        end = min(end - left + len(head), len(head) + SNIPPET_WIDTH)
        end = max(end, start + 1)
    number = str(span.start_row + 1)
    pad = " " * len(number)
    return f" {number} | {line}\n {pad} | {' ' * start}{'^' * (end - start)}"
