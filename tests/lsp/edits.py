"""Random document edits for the fuzz tests, expressed both as text and as LSP changes.

The test keeps its own copy of the text (a Python str, so lone surrogates are
single characters, one UTF-16 unit each) and computes LSP positions from it
the way a client would, splitting lines on "\\n" as the server does.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from ..tshelpers import CORPUS

async def settled(fetch: Callable[[], Awaitable[Any]], expected: Any, seconds: float = 3.0,
                  pause: float = 0.05) -> Any:
    """What ``fetch`` answers once it equals ``expected``, or its last answer after ``seconds``.

    A large document's incremental tree is checked against a fresh parse once
    edits pause (and the version republished if they differ), so the last word
    for a version may come a little after the first.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        got = await fetch()
        if got == expected or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(pause)


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


# ------------------------------------------------------------------ definitions and their renames

#: A program another one `use`s (written beside the edited documents by the tests that need it).
LIB_PROGRAM = (
    'input text: "The text"\ninput words: "How many words"\n\n'
    'output summary = session "Summarize {text} in {words} words"\noutput keywords = session "Keywords of {text}"\n'
)
LIB_NAME = "fuzz-lib.prose"

#: Every kind of definition the editor features follow: a local and a registry `use` (program and
#: skill), an import, blocks with parameters and their own names (one bound at program level from
#: inside a block), a const, a let, an agent, and uses of each of them. It expects `topic` and
#: `agent-1` to be defined by the program it goes into.
DEFINITIONS = f'''use "./{LIB_NAME}" as lib
use "@anthropic/web-search" as web
import "summarizer" from "github:anthropic/skills"

block polish(draft, depth):
  let better = session "Polish {{draft}} to depth {{depth}}"
  result = session "Check {{better}}"
  output polished = better

block review(subject):
  session: agent-1
    prompt: "Review {{subject}}"

const limit = 3
let summary = lib(text: topic, words: limit)
do polish(summary.summary, limit)
do review(topic)

agent scribe:
  model: haiku
  prompt: "Write it down"
  skills: ["summarizer", "web"]

session: scribe
  prompt: "Record {{summary.keywords}} with {{result}}"

'''

#: Whole definitions to insert: repeats of existing names (duplicates), new names, and their uses.
DEFINITION_SNIPPETS = (
    'agent scribe:\n  model: opus\n  prompt: "Another scribe"\n\n',
    'block polish(x):\n  session "Polish {x}"\n\n',
    'block fresh(a, b):\n  let inner = session "{a} and {b}"\n  output shared = inner\n  limit = 5\n\n',
    'let summary = session "again"\n\n',
    'const limit = 4\n\n',
    f'use "./{LIB_NAME}" as lib\n\n',
    f'use "./{LIB_NAME}" as helper\n\n',
    'use "./missing-lib.prose" as gone\n\n',
    'do polish(limit, 2)\n\n',
    'do fresh(topic)\n\n',
    'let made = helper(text: "x", words: 2)\n\n',
    'session: scribe\n  prompt: "{made} {inner}"\n\n',
    'agent agent-1:\n  model: sonnet\n\n',
    'let topic = "shadowed"\n\n',
    'let result = session "earlier"\n\n',
)

_DEFINED_NAME = re.compile(
    r'^ *(?:agent|block|let|const|input|output) ([A-Za-z_][A-Za-z0-9_-]*)|^use "[^"\n]*" as ([A-Za-z_][A-Za-z0-9_-]*)',
    re.M,
)
_TOP_DEFINITION = re.compile(r"^(?:agent|block|let|const|use|import|input) ", re.M)


def with_definitions(text: str) -> str:
    """The program with `DEFINITIONS` inserted at the top-level statement nearest its middle."""
    starts = top_level_starts(text)
    middle = min(starts, key=lambda at: abs(at - len(text) // 2))
    return text[:middle] + DEFINITIONS + text[middle:]


def top_level_starts(text: str) -> list[int]:
    """Where each line that starts a top-level statement begins (column 0, not a comment nor the
    `else:`/`catch` of one above), and the end."""
    out = [m.start() for m in re.finditer(r"^(?!else\b|elif\b|catch\b|finally\b)[^\s#]", text, re.M)]
    return out + [len(text)]


def occurrences(text: str, name: str) -> list[int]:
    """Where a name is written as a whole word (hyphens belong to names)."""
    return [m.start() for m in re.finditer(rf"(?<![A-Za-z0-9_-]){re.escape(name)}(?![A-Za-z0-9_-])", text)]


def definition_edit(rng: random.Random, text: str) -> Edit | None:
    """A rename of a definition (at the definition, or at one of its uses), or a whole definition added or removed.

    None when the text has nothing of the kind to edit.
    """
    roll = rng.random()
    found = [(m.start(1) if m.group(1) else m.start(2), m.group(1) or m.group(2)) for m in _DEFINED_NAME.finditer(text)]
    if roll < 0.6 and found:
        at, name = rng.choice(found)
        if rng.random() < 0.35:
            uses = [i for i in occurrences(text, name) if i != at]
            at = rng.choice(uses) if uses else at
        others = sorted({other for _, other in found if other != name})
        choices = [name + "x", name[:-1] or "z", "fresh-name", "result", *(rng.sample(others, min(2, len(others))))]
        return Edit(at, at + len(name), rng.choice(choices))
    starts = top_level_starts(text)
    if roll < 0.8:
        at = rng.choice(starts)
        return Edit(at, at, rng.choice(DEFINITION_SNIPPETS))
    heads = [m.start() for m in _TOP_DEFINITION.finditer(text)]
    if not heads:
        return None
    start = rng.choice(heads)
    end = next((s for s in starts if s > start), len(text))
    return Edit(start, end, "")
