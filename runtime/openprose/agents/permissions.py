"""Permission types shared by the runtime and whoever answers `prompt` permissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["PermissionAsker", "PermissionRequest"]


@dataclass(frozen=True)
class PermissionRequest:
    """One question for the person running the program: may this tool call go ahead?

    ``argument`` is already shortened for display (a path, a command, a URL).
    """

    agent: str | None  # None for a bare `session "..."`
    tool: str  # read | write | edit | glob | grep | bash | web
    argument: str
    permission: str  # the permission type that says `prompt`: read | write | execute | bash | network

    def question(self) -> str:
        who = f"agent '{self.agent}'" if self.agent else "a session"
        return f"Allow {who} to use {self.tool}: {self.argument}?"


#: Answers a `PermissionRequest`: True allows this one call, False refuses it.
PermissionAsker = Callable[[PermissionRequest], Awaitable[bool]]
