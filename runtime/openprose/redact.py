"""The one place where credentials are removed from what a run shows or stores.

Every event, output, error message and state file of a run passes through a
`Redactor` before it leaves the runtime (events to the CLI, `--json` lines,
the language server's `openprose/runEvent`, files under `.prose/`). Keeping a
single helper means a new output path cannot forget a case, and it lets the
helper be thorough: values are walked recursively (dicts, lists, tuples, any
depth), and each secret is matched in the encodings a session or a tool is
likely to print it in, not only verbatim:

* base64 (standard and URL-safe alphabets, at each of the three byte
  alignments a secret can have inside a longer encoded text),
* URL encoding (``quote`` and ``quote_plus``),
* JSON string escaping (``\\uXXXX`` and the short escapes).

Secrets are the values of credential-like environment variables (names with
KEY, TOKEN, SECRET, PASSWORD or CREDENTIAL) of at least 8 characters, so
short, common values such as ``1`` never turn ordinary text into noise.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED", "Redactor", "env_secrets", "redact", "redactor"]

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET = 8
#: Encoded fragments shorter than this are not replaced: they could occur by chance.
_MIN_FRAGMENT = 8


def env_secrets(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of credential-like variables in ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET}
    return tuple(sorted(found, key=len, reverse=True))


def _base64_fragments(secret: bytes) -> set[str]:
    """Substrings that any base64 text containing ``secret`` must contain.

    A secret starting at byte offset k (mod 3) of the encoded data shares its
    first bits with the preceding bytes; the characters that depend on secret
    bits only are those from ``ceil(8k/6)`` to ``floor(8(k+n)/6)``.
    """
    out: set[str] = set()
    n = len(secret)
    for k in range(3):
        data = b"\0" * k + secret
        first = -(-8 * k // 6)
        last = (8 * (k + n)) // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(data).decode("ascii")[first:last]
            if len(text) >= _MIN_FRAGMENT:
                out.add(text)
    return out


def _variants(secret: str) -> set[str]:
    raw = secret.encode("utf-8")
    variants = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1],
                json.dumps(secret, ensure_ascii=True)[1:-1]}
    variants |= _base64_fragments(raw)
    return {v for v in variants if len(v) >= _MIN_FRAGMENT}


class Redactor:
    """Replaces known secrets (and their common encodings) with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET:
                variants |= _variants(secret)
        # Longest first, so a secret is replaced whole before a fragment of it could be.
        self._variants = tuple(sorted(variants, key=len, reverse=True))
        self._pattern = re.compile("|".join(re.escape(v) for v in self._variants)) if self._variants else None

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._variants)} patterns>)"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """``value`` with every string inside it redacted, at any depth (keys too)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        return value


def redactor(env: Mapping[str, str] | None = None) -> Redactor:
    """A redactor for the secrets of ``env`` (default: the process environment, read now).

    Building one computes every encoded variant and compiles a pattern; the
    language server asks for one per event, so redactors are kept per set of secrets.
    """
    return _redactor_for(env_secrets(env))


@functools.lru_cache(maxsize=8)
def _redactor_for(secrets: tuple[str, ...]) -> Redactor:
    return Redactor(secrets)


def redact(value: Any) -> Any:
    """``value`` without the process environment's secrets, for what a process shows outside any run."""
    return redactor().value(value)
