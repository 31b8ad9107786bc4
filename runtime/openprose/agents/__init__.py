"""What a session may do in the user's workspace: tools, permissions and skills.

The interpreter hands each session a `Toolbox` built from the agent's
`permissions:` and `skills:`; backends that can act (the Anthropic tool loop, the
scripted backend's scripted tool calls) run every tool call through it, so the
permission gate, the events and the limits are the same whichever backend runs.

The permission names below are loaded on first use: `prose check` imports
`agents.skills` and `agents.limits` through this package and needs no gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .permissions import DEFAULT_PERMISSIONS, Gate, PermissionAsker, PermissionRequest, Permissions, parse_permissions

__all__ = ["DEFAULT_PERMISSIONS", "Gate", "PermissionAsker", "PermissionRequest", "Permissions", "parse_permissions"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import permissions

        return getattr(permissions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
