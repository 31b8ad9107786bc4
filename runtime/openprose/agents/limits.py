"""Bounds on one session's tool use (documented in docs/tools.md); import-light for the CLI."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ToolLimits"]


@dataclass(frozen=True)
class ToolLimits:
    """Bounds on one session's tool use (documented in docs/tools.md)."""

    #: Model turns per session (each reply that asks for tools is one turn).
    max_turns: int = 50
    #: Seconds one tool call may take before it is stopped and reported as timed out.
    call_timeout: float = 120.0
    #: Characters of a tool's output handed back to the model; the middle of longer output is cut.
    max_output: int = 30_000
