"""Server settings from `initializationOptions` and `workspace/didChangeConfiguration`.

Clients send either the flat shape `{"backend": …, "modelAliases": {…}}` or
the same under an `openprose` key (VS Code's settings tree); both are read.
Unknown or malformed values are ignored rather than rejected, so a typo in
a user's settings never stops the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BACKENDS = ("auto", "simulated", "anthropic")


@dataclass
class Settings:
    backend: str = "auto"
    model_aliases: dict[str, str] = field(default_factory=dict)
    #: Let `use` read programs outside the workspace folder (off: a hostile repository stays contained).
    allow_outside_workspace: bool = False

    def update(self, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            return
        nested = raw.get("openprose")
        if isinstance(nested, Mapping):
            raw = nested
        backend = raw.get("backend")
        if isinstance(backend, str) and backend.strip().lower() in BACKENDS:
            self.backend = backend.strip().lower()
        outside = raw.get("allowUseOutsideWorkspace")
        if isinstance(outside, bool):
            self.allow_outside_workspace = outside
        aliases = raw.get("modelAliases")
        if isinstance(aliases, Mapping):
            self.model_aliases = {
                str(k): v for k, v in aliases.items() if isinstance(v, str) and str(k).strip() and v.strip()
            }
