"""Skills: folders in the Agent Skills layout (a `SKILL.md` plus files) that agents list in `skills:`.

A program imports a skill with `import "name" from "source"` or `use "source"`.
This runtime loads skills from the filesystem only: a local source path, or a
vendored copy in the workspace (`.prose/skills/<name>/` or `.claude/skills/<name>/`)
for registry, `github:` or `npm:` sources it cannot fetch. `web-search` and
`web-fetch` need no folder: they are the API's own web tools. Anything else is
reported — a located warning from `prose check`, an error naming the skill when a
session that lists it runs — never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import model as m
from .. import codes
from ..diagnostics import Diagnostic, Span
from ..language import skills_of

__all__ = [
    "BUILTIN_SKILLS", "Skill", "SkillSource", "find_skill", "listed_skills", "locate_skill", "skill_diagnostics",
    "skill_sources", "skills_prompt", "use_name",
]

#: Skills that are tools the API provides rather than folders.
BUILTIN_SKILLS = {"web-search": "web_search", "web-fetch": "web_fetch"}
_VENDORED = (".prose/skills", ".claude/skills")
_MAX_SKILL_BYTES = 256 * 1024
_MAX_LISTED_FILES = 50


@dataclass(frozen=True)
class SkillSource:
    name: str
    source: str  # as written in the program
    span: Span  # where it is written (for diagnostics)


@dataclass(frozen=True)
class Skill:
    name: str
    folder: Path | None  # None for a built-in
    description: str
    instructions: str
    files: tuple[str, ...] = ()


def _is_local(source: str) -> bool:
    return source.startswith(("./", "../", "/", "~"))


def skill_sources(program: m.Program, statements: Sequence[m.Stmt] | None = None) -> dict[str, SkillSource]:
    """Skills a program imports, by the name agents use in `skills:` (``statements``: its imports, if known)."""
    found: dict[str, SkillSource] = {}
    for stmt in program.body if statements is None else statements:
        if isinstance(stmt, m.Import):
            name = stmt.name.text
            if name:
                found.setdefault(name, SkillSource(name, stmt.source.text, stmt.source.span))
        elif isinstance(stmt, m.Use) and not stmt.path.text.endswith(".prose"):
            name = use_name(stmt)
            if name:
                found.setdefault(name, SkillSource(name, stmt.path.text, stmt.path.span))
    return found


def locate_skill(source: SkillSource, program_dir: Path, workspace: Path) -> Path | str | None:
    """The skill's SKILL.md, None for a built-in, or a message saying why it cannot be found and how to fix it.

    Only looks (no reads), so `prose check` and the editor can call it on every change.
    """
    candidates: list[Path] = []
    if _is_local(source.source):
        candidates.append((program_dir / Path(source.source).expanduser()).resolve())
    for base in dict.fromkeys((workspace, program_dir)):
        candidates += [base / sub / source.name for sub in _VENDORED]
    for folder in candidates:
        skill_file = folder if folder.name == "SKILL.md" else folder / "SKILL.md"
        try:
            if skill_file.is_file():
                return skill_file
        except OSError:
            continue
    if source.name in BUILTIN_SKILLS:
        return None
    if _is_local(source.source):
        return f"skill '{source.name}': no SKILL.md at {source.source} (a skill is a folder with a SKILL.md)"
    return (f"skill '{source.name}' from {source.source} cannot be fetched (this runtime loads skill folders from "
            f"disk only); put a copy with its SKILL.md in .prose/skills/{source.name}/ of the workspace")


def find_skill(source: SkillSource, program_dir: Path, workspace: Path) -> Skill | str:
    """The loaded skill, or a message saying why it cannot be loaded and how to fix it."""
    found = locate_skill(source, program_dir, workspace)
    if isinstance(found, str):
        return found
    if found is None:
        return Skill(source.name, None, f"the API's {BUILTIN_SKILLS[source.name]} tool", "")
    try:
        if found.stat().st_size > _MAX_SKILL_BYTES:
            return f"skill '{source.name}': {found} is larger than {_MAX_SKILL_BYTES // 1024} KiB"
        text = found.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"skill '{source.name}': cannot read {found}: {exc.strerror or exc}"
    return _parse(source.name, found.parent, text)


def _parse(name: str, folder: Path, text: str) -> Skill:
    meta: dict[str, str] = {}
    body = text
    fm = re.match(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", text, re.S)
    if fm:
        body = text[fm.end() :]
        for line in fm.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith((" ", "\t")):
                meta[key.strip()] = value.strip().strip("\"'")
    files = []
    try:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name != "SKILL.md" and not path.is_symlink():
                files.append(path.relative_to(folder).as_posix())
                if len(files) >= _MAX_LISTED_FILES:
                    break
    except OSError:
        pass
    return Skill(meta.get("name") or name, folder, meta.get("description", ""), body.strip(), tuple(files))


def skills_prompt(skills: list[Skill], workspace: Path) -> str:
    """The system-prompt section that gives an agent its skills' instructions and files."""
    parts = []
    for skill in skills:
        if skill.folder is None:
            parts.append(f'<skill name="{skill.name}">\nUse {skill.description} for this.\n</skill>')
            continue
        where = skill.folder.relative_to(workspace).as_posix() if skill.folder.is_relative_to(workspace) else str(skill.folder)
        lines = [f'<skill name="{skill.name}" folder="{where}">']
        if skill.description:
            lines.append(skill.description)
        if skill.instructions:
            lines.append(skill.instructions)
        if skill.files:
            lines.append("Files of this skill (read them with the read tool when the instructions refer to them): "
                         + ", ".join(f"{where}/{f}" for f in skill.files))
        lines.append("</skill>")
        parts.append("\n".join(lines))
    return "<skills>\n" + "\n\n".join(parts) + "\n</skills>" if parts else ""


def listed_skills(program: m.Program, statements: Sequence[m.Stmt] | None = None) -> set[str]:
    """Names that some agent's `skills:` lists: a `use` of one of them imports a skill, not a program."""
    listed: set[str] = set()
    for stmt in program.body if statements is None else statements:
        if isinstance(stmt, m.AgentDef):
            listed.update(skills_of(stmt.property("skills"))[0].names)
    return listed


def use_name(stmt: m.Use) -> str:
    """The name a `use` binds: its alias, else the last part of its path."""
    return stmt.alias.name if stmt.alias is not None else stmt.path.text.rstrip("/").rsplit("/", 1)[-1]


def skill_diagnostics(program: m.Program, program_dir: Path | None,
                      statements: Sequence[m.Stmt] | None = None) -> list[Diagnostic]:
    """W114 for each skill that an agent lists and that cannot be loaded from here.

    ``statements``: the program's top-level imports, uses and agents, when the caller keeps them (else all are read).
    """
    sources = skill_sources(program, statements)
    listed = listed_skills(program, statements)
    base = program_dir or Path.cwd()
    out = []
    for name in sorted(listed & set(sources)):
        found = locate_skill(sources[name], base, base)
        if isinstance(found, str):
            out.append(codes.W114.at(sources[name].span, found))
    return out
