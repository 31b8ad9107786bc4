"""Text for one line of a terminal, a log, an event summary or an editor message.

Prompts, tool arguments and outputs are multi-line and unbounded; every place
that shows one on a single line needs the same rule, so a summary reads the same
in the live tree, the run log and the editor.
"""

from __future__ import annotations

ELLIPSIS = "…"


def shorten(text: object, limit: int = 60) -> str:
    """`text` on one line (runs of whitespace become one space), at most `limit` characters.

    A cut ends in an ellipsis that counts towards the limit, so columns stay aligned.
    """
    flat = " ".join(str(text if text is not None else "").split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)] + ELLIPSIS
