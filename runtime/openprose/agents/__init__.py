"""What a session may do in the user's workspace: tools, permissions and skills.

The interpreter hands each session a `Toolbox` built from the agent's
`permissions:` and `skills:`; backends that can act (the Anthropic tool loop, the
scripted backend's scripted tool calls) run every tool call through it, so the
permission gate, the events and the limits are the same whichever backend runs.
"""

from .permissions import DEFAULT_PERMISSIONS, Gate, PermissionAsker, PermissionRequest, Permissions, parse_permissions

__all__ = ["DEFAULT_PERMISSIONS", "Gate", "PermissionAsker", "PermissionRequest", "Permissions", "parse_permissions"]
