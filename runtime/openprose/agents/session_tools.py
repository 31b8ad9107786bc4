"""Assembling one session's acting environment from the program: permissions, skills, toolbox.

The interpreter calls `prepare_session_tools` for every session on a backend that
can act; it reads the agent's (and the session's own) `permissions:` and
`skills:` properties, resolves names of string bindings in patterns, loads the
skills, and returns the gate-backed toolbox plus the system-prompt section for
the skills. Problems a user must fix (a skill that cannot be loaded) raise
`SessionSetupError` with the location of the property at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import model as m
from ..redact import Redactor
from ..diagnostics import Span
from .permissions import DEFAULT_PERMISSIONS, Gate, PermissionAsker, Permissions, parse_permissions
from .skills import Skill, find_skill, skill_sources, skills_prompt
from .tools import ToolLimits, Toolbox

__all__ = ["SessionSetupError", "SessionTools", "permissions_of", "prepare_session_tools"]


class SessionSetupError(Exception):
    def __init__(self, message: str, span: Span | None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


@dataclass
class SessionTools:
    toolbox: Toolbox
    skills_section: str


def permissions_of(prop: m.Property | None, lookup: Callable[[str], object]) -> tuple[Permissions, list[str]]:
    """Typed permissions from a `permissions:` property (None: the defaults)."""
    if prop is None:
        return DEFAULT_PERMISSIONS, []
    rules: dict[str, object] = {}
    for rule in prop.children:
        value = rule.value
        if isinstance(value, m.Array):
            items = []
            for item in value.items:
                if isinstance(item, m.Str):
                    items.append(item.text)
                elif isinstance(item, m.Name):
                    items.append(str(lookup(item.name)))
            rules[rule.key] = items
        else:
            rules[rule.key] = m.word(value) if value is not None else None
    return parse_permissions(rules)


def prepare_session_tools(
    *,
    program: m.Program,
    program_dir: Path,
    workspace: Path,
    agent: str | None,
    properties: dict[str, m.Property],
    lookup: Callable[[str], object],
    asker: PermissionAsker | None,
    limits: ToolLimits,
    emit: Callable[..., None],
    session: str,
    path: tuple[str, ...],
    readable: Iterable[Path] = (),
    log: Callable[[str], None] | None = None,
    redactor: Redactor | None = None,
) -> SessionTools:
    permissions, _ = permissions_of(properties.get("permissions"), lookup)
    skills: list[Skill] = []
    prop = properties.get("skills")
    if prop is not None and isinstance(prop.value, m.Array):
        sources = skill_sources(program)
        for item in prop.value.items:
            if not isinstance(item, m.Str):
                continue
            source = sources.get(item.text)
            if source is None:
                raise SessionSetupError(
                    f"skill '{item.text}' is not imported (add `import \"{item.text}\" from \"./path/to/skill\"`)", item.span)
            found = find_skill(source, program_dir, workspace)
            if isinstance(found, str):
                raise SessionSetupError(found, item.span)
            if found.folder is None and permissions.network == "deny":
                raise SessionSetupError(
                    f"skill '{item.text}' is {found.description}, but this agent's permissions say network: deny",
                    item.span)
            skills.append(found)
    folders = [s.folder for s in skills if s.folder is not None]
    gate = Gate(
        permissions,
        workspace,
        agent=agent,
        asker=asker,
        readable=[*readable, *folders],
        protected=[workspace / ".prose"],
    )
    toolbox = Toolbox(gate, limits=limits, emit=emit, session=session, path=path,
                      redactor=redactor, log=log)
    return SessionTools(toolbox, skills_prompt(skills, workspace.resolve()))
