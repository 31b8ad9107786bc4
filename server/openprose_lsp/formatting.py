"""Document formatting through the runtime's formatter."""

from __future__ import annotations

from lsprotocol import types as lsp

from openprose.files import MAX_PROGRAM_BYTES
from openprose.fmt import FormatError, format_source

from .positions import Text, decode


class FormatRefused(Exception):
    """The formatter declined; the message says where the program is broken."""


def format_document(text: Text) -> list[lsp.TextEdit]:
    """One edit replacing the whole document, or none when it is already formatted."""
    if len(text.source) > MAX_PROGRAM_BYTES:
        raise FormatRefused(f"OpenProse: not formatting a program over {MAX_PROGRAM_BYTES // (1024 * 1024)} MiB")
    original = decode(text.source)
    try:
        formatted = format_source(original)
    except UnicodeError as exc:
        raise FormatRefused("OpenProse: cannot format this program: it is not valid UTF-8 text") from exc
    except FormatError as exc:
        shown = "; ".join(f"line {line}, column {col}: {message}" for line, col, message in exc.errors[:3])
        more = f" (and {len(exc.errors) - 3} more)" if len(exc.errors) > 3 else ""
        raise FormatRefused(f"OpenProse: cannot format this program: {shown or exc}{more}") from exc
    if formatted == original:
        return []
    return [lsp.TextEdit(range=text.full_range(), new_text=formatted)]
