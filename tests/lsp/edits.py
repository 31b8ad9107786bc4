"""Random document edits for the fuzz tests, expressed both as text and as LSP changes.

The test keeps its own copy of the text (a Python str, so lone surrogates are
single characters, one UTF-16 unit each) and computes LSP positions from it
the way a client would, splitting lines on "\\n" as the server does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types as lsp

from ..tshelpers import CORPUS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "launch-review.prose"

#: Pieces of programs and junk: keywords, half statements, brackets, quotes,
#: indentation, non-ASCII text and lone surrogates (invalid UTF-8 once encoded).
FRAGMENTS = (
    "\n",
    "\n\n",
    "  ",
    "    ",
    "\t",
    '"',
    '"""',
    "{",
    "}",
    "(",
    ")",
    "**",
    ":",
    ",",
    "->",
    "|",
    "#",
    "\\",
    "=",
    "parallel (frist):\n  a = session \"x\"\n",
    "parallel (\"any\", count: 2, on-fail: \"continue\"):\n  a = session \"A\"\n  b = session \"B\"\n",
    "parallel (",
    "on-fail: ",
    "agent writer:\n  model: opuss\n  prompt: \"p\"\n",
    "session: ghost\n",
    "session \"Hello {name}\"\n",
    "let x = ",
    "let x = session \"{x}\"\n",
    "output result = x\n",
    "input topic: \"t\"\n",
    "if **ok**:\n  session \"a\"\nelse:\n  session \"b\"\n",
    "try:\n  session \"a\"\ncatch as e:\n  throw \"no\"\n",
    "loop until **done** (max: 3):\n",
    "items | map:\n  session \"{item}\"\n",
    "block b(x):\n  session \"{x}\"\ndo b(1)\n",
    "use \"./missing.prose\" as lib\n",
    "  context: [x, missing]\n",
    "é",
    "日本語",
    "🎉",
    "\ud800",
    "\udfff",
    "\r\n",
    "\x00",
    "\u2028",
)


def base_programs() -> list[str]:
    """A few real programs to start from, plus the repository's example."""
    names = ["13-variables-and-context.prose", "19-advanced-parallel.prose", "22-error-handling.prose"]
    out = [(CORPUS / n).read_text(encoding="utf-8") for n in names if (CORPUS / n).is_file()]
    return out + [EXAMPLE.read_text(encoding="utf-8")]


@dataclass(frozen=True)
class Edit:
    start: int  # character indices into the str
    end: int
    text: str


def position(text: str, index: int) -> lsp.Position:
    line = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text[line_start:index])
    return lsp.Position(line=line, character=units)


def safe_index(text: str, index: int) -> int:
    """Clients never put a position between "\\r" and "\\n"; move such an index before the "\\r"."""
    index = max(0, min(index, len(text)))
    if 0 < index < len(text) and text[index - 1] == "\r" and text[index] == "\n":
        return index - 1
    return index


def apply(text: str, edit: Edit) -> tuple[str, lsp.TextDocumentContentChangePartial]:
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(start=position(text, edit.start), end=position(text, edit.end)), text=edit.text
    )
    return text[: edit.start] + edit.text + text[edit.end :], change


def make_edit(text: str, start_fraction: float, length: int, fragment: str) -> Edit:
    start = safe_index(text, int(start_fraction * len(text)))
    end = safe_index(text, start + length)
    if end < start:
        end = start
    return Edit(start, end, fragment)
