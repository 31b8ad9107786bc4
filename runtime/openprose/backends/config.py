"""Backend settings and the model aliases that `.prose` programs use.

Programs say `model: sonnet`; the mapping to concrete model ids lives here so a new
model generation is a one-line change (or a `BackendConfig(model_aliases=...)`
override) rather than an edit to every program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DEFAULT_MODEL_ALIASES", "BackendConfig", "resolve_model"]

#: Newest model of each family known to the pinned SDK (anthropic 2.14.0, `types/model.py`).
DEFAULT_MODEL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "sonnet": "claude-sonnet-5-5",
        "opus": "claude-opus-5-5",
        "haiku": "claude-haiku-5-5",
    }
)


def _aliases() -> Mapping[str, str]:
    return DEFAULT_MODEL_ALIASES


@dataclass(frozen=True)
class BackendConfig:
    """Knobs shared by all backends; every field has a production-safe default.

    Retry delays are fields (not constants) so tests can make backoff instantaneous.
    Holds no credentials: the API key is read from the environment by the backend
    that needs it, so a config can be printed or logged safely.
    """

    model_aliases: Mapping[str, str] = field(default_factory=_aliases)
    #: Model used when neither the session nor its agent names one.
    default_model: str = "sonnet"
    #: Model used for `**condition**` judgements and `choice` selection.
    judge_model: str | None = None
    base_url: str | None = None
    max_tokens: int = 8192
    #: Total tries per request (first try included) for 429 / 5xx / connection errors.
    max_attempts: int = 4
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    #: Upper bound on a server-sent `retry-after`, so one header cannot stall a run.
    retry_after_cap: float = 60.0
    #: Randomly shorten each backoff by up to this fraction, so parallel branches spread out.
    retry_jitter: float = 0.25
    #: Seconds allowed for connecting, sending, and any other phase without its own limit.
    request_timeout: float = 600.0
    #: Seconds without any bytes from the server (headers or body) before an attempt is abandoned.
    read_timeout: float = 60.0
    #: Seconds without a stream event before an attempt is abandoned; keep-alive pings do not
    #: count, so a stream that only pings fails too.
    idle_timeout: float = 90.0
    #: Total seconds for one call, all attempts and backoff included.
    call_deadline: float = 900.0
    #: Artificial latency of the simulated backend (seconds).
    simulated_delay: float = 0.0


def resolve_model(model: str | None, config: BackendConfig) -> str:
    """Alias or full id -> the id to send; unknown names pass through as full ids."""
    name = (model or config.default_model).strip()
    aliases = {k.lower(): v for k, v in config.model_aliases.items()}
    return aliases.get(name.lower(), name)
