"""The knobs a caller may tune for one run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..agents.limits import ToolLimits

__all__ = ["RunOptions"]


@dataclass(frozen=True)
class RunOptions:
    """Knobs a caller may tune; the defaults suit real runs."""

    retry_base_delay: float = 1.0  # seconds; linear backoff waits base*n, exponential base*2^(n-1)
    max_call_depth: int = 64  # nested block invocations before a run is stopped
    durable: bool = False  # fsync state files (power-loss safe); renames alone already survive a kill
    tool_limits: ToolLimits = ToolLimits()  # per-session tool turns, per-call timeout, output cap
    #: A context value longer than this (characters) reaches an acting session by reference: its binding file.
    inline_context_limit: int = 20_000
    #: Directory `use` may read programs from (default: the program's own directory).
    use_root: Path | None = None
    #: Let `use` read (and run) programs outside that directory, e.g. `../shared.prose` or a symlink out.
    allow_outside_workspace: bool = False
