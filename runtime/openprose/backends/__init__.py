"""Session backends: where `session` statements actually run.

``make_backend`` is the single place that turns a CLI choice (``--backend``,
``--script``) plus the environment into a backend, so the interpreter never needs
to know which one it has.

The simulated and scripted backends (and with them trio and the tool runner) are
imported when first used, not with this package: the language server reads
`backends.config` for hover and must not pay for a run it has not started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Backend, BackendError, ContextItem, Decision, DecisionRequest, SessionRequest, SessionResult, Usage
from .config import DEFAULT_MODEL_ALIASES, BackendConfig, resolve_model

if TYPE_CHECKING:
    from .scripted import ScriptedBackend, ScriptError
    from .simulated import SimulatedBackend

__all__ = [
    "BACKEND_NAMES",
    "DEFAULT_MODEL_ALIASES",
    "Backend",
    "BackendConfig",
    "BackendError",
    "ContextItem",
    "Decision",
    "DecisionRequest",
    "ScriptError",
    "ScriptedBackend",
    "SessionRequest",
    "SessionResult",
    "SimulatedBackend",
    "Usage",
    "make_backend",
    "resolve_model",
]

BACKEND_NAMES = ("auto", "simulated", "scripted", "anthropic")

#: Names this package exports from modules it imports on first use.
_LAZY = {"ScriptedBackend": ".scripted", "ScriptError": ".scripted", "SimulatedBackend": ".simulated"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_backend(
    name: str | None,
    *,
    script: Path | None = None,
    config: BackendConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> Backend:
    """Build the backend a run asked for.

    ``None``/``"auto"`` means the real API when ``ANTHROPIC_API_KEY`` is set, else
    the offline simulation, so `prose run` works out of the box either way.
    Every configuration problem (unknown name, missing key, bad script file) raises
    ``ValueError`` with a message fit to show the user.
    """
    env = os.environ if env is None else env
    config = config or BackendConfig()
    chosen = (name or "auto").strip().lower()
    if chosen == "auto":
        chosen = "anthropic" if env.get("ANTHROPIC_API_KEY") else "simulated"
    if chosen not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKEND_NAMES)}")
    if script is not None and chosen != "scripted":
        raise ValueError(f"a script file only applies to the scripted backend, not {chosen!r} (use --backend scripted)")
    if chosen == "simulated":
        from .simulated import SimulatedBackend

        return SimulatedBackend(config)
    if chosen == "scripted":
        if script is None:
            raise ValueError("the scripted backend needs a script file (--script FILE.json)")
        from .scripted import ScriptedBackend

        return ScriptedBackend.from_file(Path(script))
    key = env.get("ANTHROPIC_API_KEY")
    if not key:
        raise ValueError("the anthropic backend needs ANTHROPIC_API_KEY to be set")
    from .anthropic_backend import AnthropicBackend  # the SDK is slow to import; load it only when used

    return AnthropicBackend(api_key=key, config=config, base_url=config.base_url or env.get("ANTHROPIC_BASE_URL"))
