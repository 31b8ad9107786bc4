"""What an agent may touch, and the gate every tool call passes through.

A program's `permissions:` block is parsed once into `Permissions` (typed, with
the documented defaults filled in); `Gate` applies it to concrete calls.
Decisions are made on canonical paths (every symlink followed), relative to the
workspace, so a link inside the workspace cannot smuggle a read or a write past a
pattern. See docs/tools.md for the user-facing rules.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Literal

__all__ = [
    "DEFAULT_PERMISSIONS",
    "Denial",
    "Gate",
    "PathRule",
    "PermissionAsker",
    "PermissionRequest",
    "Permissions",
    "Policy",
    "parse_permissions",
]

Policy = Literal["allow", "deny", "prompt"]
POLICIES: tuple[Policy, ...] = ("allow", "deny", "prompt")


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


@dataclass(frozen=True)
class PathRule:
    """`read`/`write`/`execute`: a policy word for everything, or a list of glob patterns.

    With patterns, a path is allowed when a pattern matches it or one of its parent
    directories (so `output/` and `src` cover what is inside them); anything else is
    denied outright, never asked about.
    """

    policy: Policy = "allow"
    patterns: tuple[str, ...] | None = None

    def describe(self, kind: str) -> str:
        if self.patterns is None:
            return f"{kind}: {self.policy}"
        return f"{kind}: [{', '.join(repr(p) for p in self.patterns)}]" if self.patterns else f"{kind}: []"

    @property
    def offered(self) -> bool:
        return self.policy != "deny" and self.patterns != ()


@dataclass(frozen=True)
class Permissions:
    """The effective permissions of one session (program values resolved, defaults filled)."""

    read: PathRule = PathRule("allow")
    write: PathRule = PathRule("prompt")
    execute: PathRule | None = None  # None: any program bash may run
    bash: Policy = "prompt"
    network: Policy = "allow"
    #: Which types the program set explicitly (the rest are defaults), for messages.
    explicit: frozenset[str] = field(default=frozenset(), compare=False)

    def describe(self) -> list[str]:
        lines = [self.read.describe("read"), self.write.describe("write")]
        lines.append(self.execute.describe("execute") if self.execute is not None else "execute: any program")
        lines += [f"bash: {self.bash}", f"network: {self.network}"]
        return lines


#: What a bare `session "…"` or an agent without `permissions:` gets.
DEFAULT_PERMISSIONS = Permissions()


def parse_permissions(rules: Mapping[str, object]) -> tuple[Permissions, list[str]]:
    """Typed permissions from `type -> value` pairs, where a value is a policy word or a list of strings.

    Unknown types and values are reported (the checker already warned about them)
    and fall back to the safer reading: an unknown word denies.
    """
    problems: list[str] = []
    kwargs: dict[str, object] = {}
    for key, value in rules.items():
        if key in ("read", "write", "execute"):
            if isinstance(value, (list, tuple)):
                kwargs[key] = PathRule("allow", tuple(str(v) for v in value))
            elif isinstance(value, str) and value in POLICIES:
                kwargs[key] = PathRule(value)  # type: ignore[arg-type]
            else:
                problems.append(f"permission {key}: {value!r} is not allow, deny, prompt or a list; denying")
                kwargs[key] = PathRule("deny")
        elif key in ("bash", "network"):
            if isinstance(value, str) and value in POLICIES:
                kwargs[key] = value
            else:
                problems.append(f"permission {key}: {value!r} is not allow, deny or prompt; denying")
                kwargs[key] = "deny"
        else:
            problems.append(f"unknown permission type '{key}' ignored")
    return Permissions(**kwargs, explicit=frozenset(kwargs)), problems  # type: ignore[arg-type]


# ---------------------------------------------------------------- patterns


@lru_cache(maxsize=512)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A glob pattern as a regex over '/'-separated relative paths.

    `**` spans directories, `*` and `?` stay within one, `[...]` is a class. A
    pattern without a slash (other than a trailing one) matches at any depth, as in
    .gitignore, so `*.md` covers `docs/a.md`.
    """
    body = pattern.strip().rstrip("/").removeprefix("./")
    anchored = "/" in body
    body = body.lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = body.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
                i += 1
            else:
                cls = body[i + 1 : end]
                if cls.startswith("!"):
                    cls = "^" + cls[1:]
                out.append(f"[{cls}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(prefix + "".join(out) + r"\Z")


def _pattern_base(pattern: str, workspace: Path) -> tuple[Path, str]:
    """Where a pattern is rooted: the workspace, or (for `/…`, `~/…`, `../…`) a directory outside it."""
    p = os.path.expanduser(pattern.strip())
    if os.path.isabs(p) or p.startswith(".."):
        full = os.path.normpath(p if os.path.isabs(p) else os.path.join(workspace, p))
        parts = PurePosixPath(full).parts
        fixed = []
        for part in parts:
            if any(ch in part for ch in "*?["):
                break
            fixed.append(part)
        base = Path(*fixed) if fixed else Path("/")
        rest = full[len(str(base)) :].lstrip("/")
        return base, rest + ("/" if pattern.rstrip().endswith("/") and rest else "")
    return workspace, pattern


def _matches(rel: str, pattern: str) -> bool:
    """True when `pattern` matches `rel` or one of its parent directories."""
    rx = _pattern_regex(pattern)
    if not pattern.strip().rstrip("/"):
        return True  # "/" or "" for a root: everything below it
    candidate = rel
    while candidate:
        if rx.match(candidate):
            return True
        candidate = candidate.rpartition("/")[0]
    return False


# ---------------------------------------------------------------- the gate


@dataclass(frozen=True)
class Denial:
    """Why a call was refused: the rule (for events) and the message the model sees."""

    rule: str
    message: str


class Gate:
    """Applies one session's `Permissions` to tool calls, asking the person where they say `prompt`."""

    def __init__(
        self,
        permissions: Permissions,
        workspace: Path,
        *,
        agent: str | None,
        asker: PermissionAsker | None,
        readable: Iterable[Path] = (),
        protected: Iterable[Path] = (),
    ) -> None:
        self.permissions = permissions
        self.workspace = workspace.resolve()
        self.agent = agent
        self.asker = asker
        #: Granted whatever the patterns say: binding files handed over by reference, skill folders.
        self.readable = tuple(p.resolve() for p in readable)
        #: Never writable by a session (the run state).
        self.protected = tuple(p.resolve() for p in protected)

    # -- what is offered ------------------------------------------------------------------
    def offered_tools(self) -> list[str]:
        p = self.permissions
        tools: list[str] = []
        if p.read.offered or self.readable:
            tools += ["read", "glob", "grep"]
        if p.write.offered:
            tools += ["write", "edit"]
        if p.bash != "deny" and (p.execute is None or p.execute.offered):
            tools.append("bash")
        return tools

    def extra_roots(self) -> list[Path]:
        """Directories outside the workspace that a pattern names (the file tools may reach them)."""
        roots: set[Path] = set()
        for rule in (self.permissions.read, self.permissions.write):
            for pattern in rule.patterns or ():
                base, _ = _pattern_base(pattern, self.workspace)
                if base != self.workspace:
                    roots.add(base)
        roots.update(p if p.is_dir() else p.parent for p in self.readable if not _inside(p, self.workspace))
        return sorted(roots)

    # -- checks ---------------------------------------------------------------------------
    def resolve(self, raw: str) -> Path:
        """The canonical absolute path a tool argument names (relative ones are in the workspace)."""
        path = Path(os.path.expanduser(raw))
        if not path.is_absolute():
            path = self.workspace / path
        return Path(os.path.realpath(path))

    def path_allowed(self, kind: Literal["read", "write"], path: Path) -> Denial | Literal["ask"] | None:
        """Decide without asking: None allows, "ask" needs a person, a Denial refuses."""
        rule = self.permissions.read if kind == "read" else self.permissions.write
        if kind == "write":
            for root in self.protected:
                if _inside(path, root):
                    return Denial("run state", f"{_display(path, self.workspace)} is run state (.prose/) and is read-only for sessions")
        elif any(_inside(path, g) for g in self.readable):
            return None
        if rule.patterns is None:
            if rule.policy == "deny":
                return Denial(rule.describe(kind), f"{kind} access is denied for this agent (permissions {rule.describe(kind)})")
            if not _inside(path, self.workspace):
                return Denial(
                    "outside the workspace",
                    f"{_display(path, self.workspace)} is outside the workspace; a permission pattern must name it",
                )
            return "ask" if rule.policy == "prompt" else None
        for pattern in rule.patterns:
            base, rest = _pattern_base(pattern, self.workspace)
            if _inside(path, base) and _matches(_relative(path, base), rest):
                return None
        return Denial(rule.describe(kind), f"{_display(path, self.workspace)} is not covered by permissions {rule.describe(kind)}")

    def search_root_allowed(self, raw: str) -> Denial | None:
        """Under read patterns, a glob/grep may start anywhere in the workspace or a folder a pattern names."""
        path = self.resolve(raw)
        if any(_inside(path, root) for root in (self.workspace, *self.extra_roots())):
            return None
        return Denial("outside the workspace", f"{_display(path, self.workspace)} is outside the workspace")

    async def check_path(self, tool: str, kind: Literal["read", "write"], raw: str) -> Denial | None:
        decision = self.path_allowed(kind, self.resolve(raw))
        if decision == "ask":
            return await self.ask(tool, raw, kind)
        return decision

    async def check_bash(self, command: str) -> Denial | None:
        p = self.permissions
        if p.bash == "deny":
            return Denial("bash: deny", "shell commands are denied for this agent (permissions bash: deny)")
        if p.execute is not None:
            denial = self._check_programs(command, p.execute)
            if denial is not None:
                return denial
        if p.bash == "prompt" or (p.execute is not None and p.execute.policy == "prompt" and p.execute.patterns is None):
            return await self.ask("bash", command, "bash")
        return None

    async def check_network(self, what: str) -> Denial | None:
        policy = self.permissions.network
        if policy == "deny":
            return Denial("network: deny", "network access is denied for this agent (permissions network: deny)")
        if policy == "prompt":
            return await self.ask("web", what, "network")
        return None

    async def ask(self, tool: str, argument: str, permission: str) -> Denial | None:
        shown = " ".join(argument.split())
        shown = shown if len(shown) <= 200 else shown[:199] + "…"
        rule = f"{permission}: prompt"
        if self.asker is None:
            return Denial(
                f"{rule} (no one to ask)",
                f"{tool} needs the user's permission ({rule}) and nobody could be asked; the user can allow it in "
                "the program's permissions: block or answer yes to all with `prose run --yes`",
            )
        allowed = await self.asker(PermissionRequest(self.agent, tool, shown, permission))
        if allowed:
            return None
        return Denial(f"{rule} (refused by the user)", f"the user refused this {tool} call")

    def _check_programs(self, command: str, rule: PathRule) -> Denial | None:
        if rule.patterns is None:
            if rule.policy == "deny":
                return Denial("execute: deny", "running programs is denied for this agent (permissions execute: deny)")
            return None
        try:
            programs = command_programs(command)
        except ValueError as exc:
            return Denial(rule.describe("execute"), f"cannot tell which programs this command runs ({exc}); "
                          f"only {rule.describe('execute')} may run")
        for program in programs:
            if not any(_program_matches(program, pattern) for pattern in rule.patterns):
                return Denial(rule.describe("execute"), f"'{program}' is not covered by permissions {rule.describe('execute')}")
        return None


_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "|&", "(", ")", "\n"})
_PREFIX_WORDS = frozenset({"time", "exec", "command", "nohup", "env", "sudo", "then", "do", "else", "!"})


def command_programs(command: str) -> list[str]:
    """The programs a shell command line starts (first word of each simple command).

    A best-effort reading for the `execute` list: command substitution and
    subshell tricks (`$(…)`, backticks, `eval`) make it unknowable, so they raise.
    """
    if "`" in command or "$(" in command or "<(" in command or ">(" in command:
        raise ValueError("command substitution")
    lexer = shlex.shlex(command.replace("\n", " ; "), posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    programs: list[str] = []
    expect = True
    for token in lexer:
        if token in _SEPARATORS or set(token) <= set(";&|()"):
            expect = True
            continue
        if not expect:
            continue
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token) or token in _PREFIX_WORDS:
            continue  # VAR=value prefixes and wrappers: the program is the next word
        if token in ("eval", "source", "."):
            raise ValueError(f"'{token}' runs code the line does not show")
        programs.append(token)
        expect = False
    return programs


def _program_matches(program: str, pattern: str) -> bool:
    name = program.rsplit("/", 1)[-1]
    rx = _pattern_regex(pattern)
    return bool(rx.match(program.removeprefix("./")) or ("/" not in pattern and rx.match(name)))


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _relative(path: Path, base: Path) -> str:
    return "" if path == base else path.relative_to(base).as_posix()


def _display(path: Path, workspace: Path) -> str:
    return _relative(path, workspace) or "." if _inside(path, workspace) else str(path)
