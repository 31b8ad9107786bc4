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
from ..language import permission_rules, skills_of
from .permissions import Gate, PermissionAsker, Permissions
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
    """Typed permissions from a `permissions:` property (None: the defaults), names in patterns looked up."""
    return permission_rules(prop)[0].resolve(lookup)


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
    listed, _ = skills_of(properties.get("skills"))
    sources = skill_sources(program) if listed.names else {}
    for name, span in zip(listed.names, listed.spans):
        source = sources.get(name)
        if source is None:
            raise SessionSetupError(
                f"skill '{name}' is not imported (add `import \"{name}\" from \"./path/to/skill\"`)", span)
        found = find_skill(source, program_dir, workspace)
        if isinstance(found, str):
            raise SessionSetupError(found, span)
        if found.folder is None and permissions.network == "deny":
            raise SessionSetupError(
                f"skill '{name}' is {found.description}, but this agent's permissions say network: deny", span)
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
