"""The `--strict` profile: the language reference's rules where we deliberately differ.

By default the checker is lenient in a few places real programs rely on
(see "Deliberate differences from the spec" in docs/diagnostics.md). Strict
mode applies upstream's rule instead, for CI jobs that must accept exactly
what the reference accepts. It only adds or upgrades diagnostics; it never
hides one.
"""

from __future__ import annotations

import re

from . import model as m
from . import codes
from .diagnostics import Diagnostic, Span

#: A backslash ending a line inside a triple-quoted string (text by default).
_BACKSLASH_NEWLINE = re.compile(rb"\\\r?\n")


def strict_diagnostics(program: m.Program, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """`diagnostics` with the spec's rules applied; sorted like the analysis' own list."""
    out: list[Diagnostic] = []
    for diag in diagnostics:
        if diag.code == codes.W113.id:
            # The spec: an undefined interpolation variable is an error.
            message = diag.message.replace("names no binding and will be sent as written", "is not defined (strict)")
            out.append(codes.E101.at(diag.span, message, related=diag.related, fixes=diag.fixes))
        else:
            out.append(diag)
    out.extend(_late_inputs(program))
    out.extend(_backslash_newlines(program))
    out.sort(key=lambda d: (d.span.start_byte, d.code))
    return out


def _late_inputs(program: m.Program) -> list[Diagnostic]:
    """The spec: inputs are declared before the first executable statement (E022)."""
    out = []
    executable_seen = False
    for stmt in program.body:
        if isinstance(stmt, m.Input):
            if executable_seen:
                out.append(codes.E022.at(stmt.name.span,
                                         f"input '{stmt.name.name}' comes after an executable statement; "
                                         "the language reference requires inputs first (strict)"))
        elif not isinstance(stmt, (m.Use, m.Import, m.AgentDef, m.BlockDef)):
            executable_seen = True
    return out


def _backslash_newlines(program: m.Program) -> list[Diagnostic]:
    """The spec: `\\` before a line end is an unknown escape, in triple-quoted strings too (E002)."""
    source = program.source
    out = []
    for stmt in program.body:
        start, end = stmt.span.start_byte, stmt.span.end_byte
        chunk = source[start:end]
        if b'"""' not in chunk:
            continue
        for match in _BACKSLASH_NEWLINE.finditer(chunk):
            offset = start + match.start()
            if not _in_triple_string(source, offset):
                continue
            line_start = source.rfind(b"\n", 0, offset) + 1
            row = source.count(b"\n", 0, offset)
            col = offset - line_start
            out.append(codes.E002.at(Span(offset, offset + 1, row, col, row, col + 1),
                                     "a backslash before a line end is not an escape the language reference allows "
                                     "(strict)"))
    return out


def _in_triple_string(source: bytes, offset: int) -> bool:
    """Whether an odd number of `\"\"\"` precede the offset (a cheap, statement-local test)."""
    return source.count(b'"""', 0, offset) % 2 == 1
