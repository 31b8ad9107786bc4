"""One call from source text to everything known about a program.

The CLI, the interpreter and the language server all go through `analyze`,
so they agree on every diagnostic. Local programs named by `use` are read
(never fetched) to learn their inputs and outputs, through `files.read_program`
and only from inside the workspace (see `workspace_root`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import tree_sitter as ts

from . import codes
from . import model as m
from . import walk
from .agents.skills import skill_diagnostics
from .checker import Contract, check_program, is_local_program_path
from .diagnostics import Diagnostic, Severity, Span
from .indentation import tab_diagnostics
from .files import MAX_PROGRAM_BYTES, confine, read_program
from .recursion import deeper_recursion
from .resolve import Resolution, program_alias
from .syntax import parse, syntax_diagnostics
from .walk import Visitor

if TYPE_CHECKING:
    from .incremental import SemanticCache

#: Reads a file's bytes; the server substitutes one that prefers open buffers.
Reader = Callable[[Path], bytes]


def _read(path: Path) -> bytes:
    return read_program(path)


def workspace_root(path: Path | None, workspace: Path | None, allow_outside: bool) -> Path | None:
    """Where `use` may read from: the given workspace, else the program's directory; None = anywhere."""
    if allow_outside:
        return None
    if workspace is not None:
        return workspace
    return path.parent if path is not None else Path.cwd()


@dataclass
class Analysis:
    source: bytes
    tree: ts.Tree
    program: m.Program
    resolution: Resolution
    diagnostics: list[Diagnostic]
    path: Path | None = None
    contracts: dict[str, Contract] = field(default_factory=dict)
    #: The directory `use` targets must lie in (None: the user allowed anywhere).
    workspace: Path | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)


def contract_of_program(program: m.Program, path: str) -> Contract:
    found = _ContractOf()
    found.visit(program, True)
    return Contract(tuple(found.inputs), tuple(found.outputs), path)


class _ContractOf(Visitor[None]):
    """What a program declares to its callers: its top-level inputs, and the outputs its own bodies set.

    Only statement bodies that belong to the program's own scope are looked into
    (if/elif/else, try/catch/finally, choice options), not block definitions;
    `top` says whether a statement is directly in the program.
    """

    def __init__(self) -> None:
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def default(self, node: walk.Node, *args: object) -> None:
        pass

    def body(self, stmts: tuple[m.Stmt, ...], top: bool = False) -> None:
        for stmt in stmts:
            self.visit(stmt, top)

    def program(self, node: m.Program, top: bool) -> None:
        self.body(node.body, top=True)

    def input(self, stmt: m.Input, top: bool) -> None:
        if top:
            self.inputs.append(stmt.name.name)

    def output(self, stmt: m.Output, top: bool) -> None:
        if stmt.name is not None and stmt.name.name not in self.outputs:
            self.outputs.append(stmt.name.name)

    def if_(self, stmt: m.If, top: bool) -> None:
        for branch in (*stmt.branches, *((stmt.else_branch,) if stmt.else_branch else ())):
            self.body(branch.body)

    def try_(self, stmt: m.Try, top: bool) -> None:
        self.body(stmt.body)
        if stmt.catch:
            self.body(stmt.catch.body)
        if stmt.finally_:
            self.body(stmt.finally_.body)

    def choice(self, stmt: m.Choice, top: bool) -> None:
        for option in stmt.options:
            self.body(option.body)


def load_contracts(
    program: m.Program, base: Path | None, reader: Reader = _read, _seen: frozenset[Path] = frozenset(),
    workspace: Path | None = None, statements: Sequence[m.Stmt] | None = None,
) -> tuple[dict[str, Contract], list[Diagnostic]]:
    """Contracts of local `use` targets, with a diagnostic for each one that cannot be read.

    Targets outside ``workspace`` (after following symlinks) are refused; None allows any.
    ``statements``: the top-level statements to look at, if not all (at least its `use` statements).
    """
    contracts: dict[str, Contract] = {}
    problems: list[Diagnostic] = []
    for stmt in program.body if statements is None else statements:
        if not isinstance(stmt, m.Use) or not is_local_program_path(stmt.path.text):
            continue
        alias = stmt.alias.name if stmt.alias else program_alias(stmt.path.text)
        try:
            target = confine((base or Path.cwd()) / stmt.path.text, workspace, stmt.path.text)
        except OSError as exc:
            problems.append(
                codes.E117.at(stmt.path.span, f"cannot read program '{_shown(stmt.path.text)}': {exc.strerror or exc}")
            )
            continue
        if target in _seen:
            problems.append(
                codes.E117.at(stmt.path.span, f"'{stmt.path.text}' imports itself (directly or indirectly)")
            )
            continue
        try:
            data = reader(target)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            problems.append(
                codes.E117.at(stmt.path.span, f"cannot read program '{_shown(stmt.path.text)}': {reason}")
            )
            continue
        tree = parse(data)
        sub = m.build_program(tree, data)
        if tree.root_node.has_error:
            problems.append(
                codes.E117.at(stmt.path.span,
                              f"program '{stmt.path.text}' has syntax errors; run `prose check {stmt.path.text}`")
            )
        contracts[alias] = contract_of_program(sub, str(target))
    return contracts, problems


def _shown(text: str) -> str:
    """A path from the program as safe, short message text (no NUL, no 10 KB names)."""
    flat = text.replace("\0", "\\0")
    return flat if len(flat) <= 120 else flat[:119] + "…"


def analyze(source: bytes, path: Path | None = None, *, reader: Reader = _read, tree: ts.Tree | None = None,
            cache: m.ModelCache | None = None, workspace: Path | None = None,
            allow_outside: bool = False, checks: SemanticCache | None = None) -> Analysis:
    """Parse (unless a tree is given), build the model and run every check.

    `use` targets are read only inside ``workspace`` (default: the program's
    directory) unless ``allow_outside``. Sources over `MAX_PROGRAM_BYTES` are
    not parsed: the answer is one diagnostic saying so. ``checks`` (kept per
    document beside ``cache``) reuses the checker's results for the top-level
    statements the model cache reused; the diagnostics are the same either way.

    The cyclic garbage collector is paused meanwhile: the model is tens of
    thousands of small objects with no cycles worth collecting, and a
    collection in the middle is what made latency spiky.
    """
    root = workspace_root(path, workspace, allow_outside)
    if len(source) > MAX_PROGRAM_BYTES:
        return too_large(source, path, root)
    enabled = gc.isenabled()
    gc.disable()
    try:
        with deeper_recursion():  # the model and the passes follow the program's nesting
            return _analyze(source, path, reader, tree, cache, root, checks)
    except RecursionError:
        return _too_deep(source, path, tree)
    finally:
        if enabled:
            gc.enable()


def too_large(source: bytes, path: Path | None, workspace: Path | None = None) -> Analysis:
    """The answer for a source too large to analyze: one diagnostic, an empty program."""
    tree = parse(b"")
    program = m.Program(Span.of(tree.root_node), (), b"")
    _, resolution = check_program(program)
    size = len(source) / (1024 * 1024)
    message = (f"the program is {size:.1f} MiB; programs over {MAX_PROGRAM_BYTES // (1024 * 1024)} MiB "
               "are not analyzed, formatted or run")
    diagnostic = codes.E005.at(Span(0, 0, 0, 0, 0, 0), message)
    return Analysis(source, tree, program, resolution, [diagnostic], path, workspace=workspace)


def _too_deep(source: bytes, path: Path | None, tree: ts.Tree | None) -> Analysis:
    """An answer (not a traceback) for a program nested deeper than the analysis can follow."""
    tree = tree if tree is not None else parse(source)
    program = m.Program(Span.of(tree.root_node), (), source)
    _, resolution = check_program(program)
    message = "the program is nested too deeply to analyze; flatten it (for example with blocks)"
    diagnostic = codes.E005.at(Span(0, 0, 0, 0, 0, 0), message)
    return Analysis(source, tree, program, resolution, [diagnostic], path)


def _analyze(source: bytes, path: Path | None, reader: Reader, tree: ts.Tree | None,
             cache: m.ModelCache | None, workspace: Path | None, checks: SemanticCache | None = None) -> Analysis:
    if tree is None:
        tree = parse(source)
    program = cache.build(tree, source) if cache is not None else m.build_program(tree, source)
    diagnostics = syntax_diagnostics(tree, source)
    diagnostics.extend(program.lexical)
    diagnostics.extend(encoding_diagnostics(source))
    tabs = tab_diagnostics(tree, source)
    if tabs:
        # A tab is the mistake; a level it happens not to match is the same mistake.
        rows = {d.span.start_row for d in tabs}
        diagnostics = [d for d in diagnostics if not (d.code == codes.E005.id and d.span.start_row in rows)]
        diagnostics.extend(tabs)
    base = path.parent if path is not None else None
    tops: Sequence[m.Stmt] = program.body
    if checks is not None:
        resolution = checks.resolve(program, cache.changes if cache is not None else None)
        tops = checks.top_level(m.Use, m.Import, m.AgentDef)  # the few statements the next two look at
    contracts, problems = load_contracts(program, base, reader, workspace=workspace, statements=tops)
    problems.extend(skill_diagnostics(program, base, statements=tops))
    if checks is not None:
        semantic = checks.check(contracts)
    else:
        semantic, resolution = check_program(program, contracts=contracts)
    diagnostics.extend(problems)
    broken = [(d.span.start_byte, d.span.end_byte) for d in diagnostics if d.code in _UNPARSED]
    if broken:
        # A name inside text the parser could not place is not worth a second squiggle,
        # nor is a warning about the rest of a line that does not parse.
        rows = {d.span.start_row for d in diagnostics if d.code in _UNPARSED}
        semantic = [
            d for d in semantic
            if not any(a <= d.span.start_byte < b for a, b in broken)
            and not (d.severity is Severity.WARNING and d.span.start_row in rows)
        ]
    diagnostics.extend(semantic)
    # A total order, so that the order diagnostics were found in (which differs when reused) never shows.
    diagnostics.sort(key=lambda d: (d.span.start_byte, d.code, d.span.end_byte, d.message))
    return Analysis(source, tree, program, resolution, _dedupe(diagnostics), path, contracts, workspace)


#: Codes for text the parser could not place: nothing inside it is worth a second diagnostic.
_UNPARSED = (codes.E004.id, codes.E005.id)


def encoding_diagnostics(source: bytes) -> list[Diagnostic]:
    """Programs are UTF-8; point at the first byte that is not."""
    if source.isascii():  # no decoded copy of a large document on every keystroke
        return []
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = source.count(b"\n", 0, exc.start)
        line_start = source.rfind(b"\n", 0, exc.start) + 1
        col = exc.start - line_start
        span = Span(exc.start, exc.end, row, col, row, col + (exc.end - exc.start))
        return [codes.E005.at(span, f"the file is not valid UTF-8 (byte 0x{source[exc.start]:02x})")]
    return []


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, int, int, str]] = set()
    out = []
    for d in diagnostics:
        key = (d.code, d.span.start_byte, d.span.end_byte, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


__all__ = ["Analysis", "analyze", "contract_of_program", "load_contracts", "too_large", "workspace_root", "Span"]
