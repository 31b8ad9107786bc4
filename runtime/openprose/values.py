"""Run-time values and how they turn into text and back.

Sessions produce text; programs also build lists and records. Every value
must be shown to a model (as context or inside a prompt) and stored in a
binding file, and text from a model sometimes has to be treated as a list
(a `for` over a session's answer). Those conversions live here so that the
interpreter, the state files and the resume path all agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

Value = Any  # str | int | float | bool | None | list[Value] | dict[str, Value] | ErrorRecord


@dataclass(frozen=True)
class ErrorRecord:
    """What a failed parallel branch leaves behind under `on-fail: continue`."""

    message: str
    branch: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "branch": self.branch}


def render(value: Value) -> str:
    """Text for a prompt, a context section or a binding file."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, ErrorRecord):
        where = f" (branch {value.branch})" if value.branch else ""
        return f"[failed{where}] {value.message}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(_plain(value), ensure_ascii=False, indent=2)


def _plain(value: Value) -> Any:
    if isinstance(value, ErrorRecord):
        return value.as_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def encode(value: Value) -> tuple[str, str]:
    """(type tag, text) for a binding file, so `--resume` gets the same value back."""
    if isinstance(value, str):
        return "text", value
    return "json", json.dumps(_plain(value), ensure_ascii=False)


def decode(tag: str, text: str) -> Value:
    if tag == "json":
        return json.loads(text)
    return text


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def as_list(value: Value) -> list[Value]:
    """A collection for `for`, `parallel for` and pipelines.

    Text from a model is read as a JSON array when it is one (also inside a
    fenced block); otherwise each non-empty line is an item, with list
    bullets and numbering removed.
    """
    if isinstance(value, list):
        return value
    if value is None:
        return []
    if isinstance(value, dict):
        return [{"key": k, "value": v} for k, v in value.items()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return list(range(int(value)))
    text = render(value).strip()
    fenced = re.search(r"```(?:json)?\s*(\[.*?\])\s*```", text, re.S)
    candidate = fenced.group(1) if fenced else text
    if candidate.startswith("["):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            pass
        else:
            if isinstance(parsed, list):
                return parsed
    items = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            items.append(line)
    return items


_YES = frozenset({"yes", "y", "true", "keep", "include", "1", "pass", "ok"})
_NO = frozenset({"no", "n", "false", "drop", "exclude", "0", "fail", "skip", "none", "nope", "nah", "never", "not"})


def truthy(value: Value) -> bool:
    """Whether a filter session's answer means "keep"."""
    if isinstance(value, bool):
        return value
    if value is None or isinstance(value, ErrorRecord):
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (list, dict)):
        return bool(value)
    words = re.findall(r"[a-z0-9]+", render(value).lower())
    if not words:
        return False
    if words[0] in _YES:
        return True
    if words[0] in _NO:
        return False
    return True


#: The first number in a text; "1,000" (thousands separators) is one thousand, not 1.
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")


def number(value: Value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        match = _NUMBER.search(value)
        if match:
            return float(match.group().replace(",", ""))
    return None


def member(value: Value, name: str) -> Value:
    """`value.name`: a record field, or a field of JSON text."""
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, ErrorRecord):
        return value.as_dict().get(name)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                return None
            if isinstance(parsed, dict):
                return parsed.get(name)
    return None
