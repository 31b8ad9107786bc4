"""Backend settings and the model aliases that `.prose` programs use.

Programs say `model: sonnet`; the mapping to concrete model ids lives here so a new
model generation is a one-line change (or a `BackendConfig(model_aliases=...)`
override) rather than an edit to every program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "DECISION_MAX_TOKENS",
    "DEFAULT_EFFORT",
    "DEFAULT_MODEL_ALIASES",
    "EFFORT_LEVELS",
    "BackendConfig",
    "decision_budget",
    "resolve_model",
    "session_budget",
]

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
    #: Output budget of a session (thinking included, capped at half of it; see `session_budget`).
    max_tokens: int = 8192
    #: Default thinking effort of sessions (`prose run --effort`); programs may set `effort:` per agent.
    effort: str | None = None
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


# -- thinking and output budgets, per kind of call ------------------------------------------------

#: Effort levels a program (`effort:`) or `prose run --effort` may ask for, and the thinking
#: budget each gives a session. "none" turns thinking off.
EFFORT_LEVELS: Mapping[str, int] = MappingProxyType({"none": 0, "low": 1024, "medium": 4096, "high": 16384})
DEFAULT_EFFORT = "low"
#: The smallest thinking budget the Messages API accepts.
MIN_THINKING_BUDGET = 1024
#: Output budget of a decision call: a forced tool call with a one-sentence reason fits easily.
DECISION_MAX_TOKENS = 1024


def session_budget(effort: str | None, max_tokens: int) -> tuple[dict[str, object], int]:
    """The `thinking` parameter and `max_tokens` for a session.

    Thinking counts against `max_tokens`, so the thinking budget is capped at half
    of it: whatever the effort, at least half of the budget is left for the answer.
    A budget too small for the API's minimum (1024 thinking tokens) turns thinking
    off rather than starving the answer. Raise `max_tokens` to let a model think more.
    """
    level = (effort or DEFAULT_EFFORT).strip().lower()
    if level not in EFFORT_LEVELS:
        raise ValueError(f"unknown effort {effort!r}; choose one of: {', '.join(EFFORT_LEVELS)}")
    budget = min(EFFORT_LEVELS[level], max_tokens // 2)
    if budget < MIN_THINKING_BUDGET:
        return {"type": "disabled"}, max_tokens
    return {"type": "enabled", "budget_tokens": budget}, max_tokens


def decision_budget() -> tuple[dict[str, object], int]:
    """Decisions never think: a forced tool call cannot be combined with thinking, and a
    condition must be cheap and bounded. The budget leaves room for the reason."""
    return {"type": "disabled"}, DECISION_MAX_TOKENS
