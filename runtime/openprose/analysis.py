"""One call from source text to everything known about a program.

The CLI, the interpreter and the language server all go through `analyze`,
so they agree on every diagnostic. Local programs named by `use` are read
(never fetched) to learn their inputs and outputs.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts

from . import model as m
from .agents.skills import skill_diagnostics
from .checker import Contract, check_program, is_local_program_path
from .diagnostics import Diagnostic, Severity, Span
from .resolve import Resolution, program_alias
from .syntax import parse, syntax_diagnostics

#: Reads a file's bytes; the server substitutes one that prefers open buffers.
Reader = Callable[[Path], bytes]


def _read(path: Path) -> bytes:
    return path.read_bytes()


@dataclass
class Analysis:
    source: bytes
    tree: ts.Tree
    program: m.Program
    resolution: Resolution
    diagnostics: list[Diagnostic]
    path: Path | None = None
    contracts: dict[str, Contract] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)


def contract_of_program(program: m.Program, path: str) -> Contract:
    inputs = tuple(s.name.name for s in program.body if isinstance(s, m.Input))
    outputs: list[str] = []

    def collect(body: tuple[m.Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, m.Output) and stmt.name is not None and stmt.name.name not in outputs:
                outputs.append(stmt.name.name)
            for child in _child_bodies(stmt):
                collect(child)

    collect(program.body)
    return Contract(inputs, tuple(outputs), path)


def _child_bodies(stmt: m.Stmt) -> list[tuple[m.Stmt, ...]]:
    """Nested bodies that still belong to the program's own scope (not block definitions)."""
    if isinstance(stmt, m.If):
        return [b.body for b in stmt.branches] + ([stmt.else_branch.body] if stmt.else_branch else [])
    if isinstance(stmt, m.Try):
        out = [stmt.body]
        if stmt.catch:
            out.append(stmt.catch.body)
        if stmt.finally_:
            out.append(stmt.finally_.body)
        return out
    if isinstance(stmt, m.Choice):
        return [o.body for o in stmt.options]
    return []


def load_contracts(
    program: m.Program, base: Path | None, reader: Reader = _read, _seen: frozenset[Path] = frozenset()
) -> tuple[dict[str, Contract], list[Diagnostic]]:
    """Contracts of local `use` targets, with a diagnostic for each one that cannot be read."""
    contracts: dict[str, Contract] = {}
    problems: list[Diagnostic] = []
    for stmt in program.body:
        if not isinstance(stmt, m.Use) or not is_local_program_path(stmt.path.text):
            continue
        alias = stmt.alias.name if stmt.alias else program_alias(stmt.path.text)
        target = ((base or Path.cwd()) / stmt.path.text).resolve()
        if target in _seen:
            problems.append(
                Diagnostic("E117", Severity.ERROR, f"'{stmt.path.text}' imports itself (directly or indirectly)", stmt.path.span)
            )
            continue
        try:
            data = reader(target)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            problems.append(
                Diagnostic("E117", Severity.ERROR, f"cannot read program '{stmt.path.text}': {reason}", stmt.path.span)
            )
            continue
        tree = parse(data)
        sub = m.build_program(tree, data)
        if tree.root_node.has_error:
            problems.append(
                Diagnostic(
                    "E117",
                    Severity.ERROR,
                    f"program '{stmt.path.text}' has syntax errors; run `prose check {stmt.path.text}`",
                    stmt.path.span,
                )
            )
        contracts[alias] = contract_of_program(sub, str(target))
    return contracts, problems


def analyze(source: bytes, path: Path | None = None, *, reader: Reader = _read, tree: ts.Tree | None = None,
            cache: m.ModelCache | None = None) -> Analysis:
    """Parse (unless a tree is given), build the model and run every check.

    The cyclic garbage collector is paused meanwhile: the model is tens of
    thousands of small objects with no cycles worth collecting, and a
    collection in the middle is what made latency spiky.
    """
    enabled = gc.isenabled()
    gc.disable()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))  # the model follows the program's nesting
    try:
        return _analyze(source, path, reader, tree, cache)
    except RecursionError:
        return _too_deep(source, path, tree)
    finally:
        sys.setrecursionlimit(limit)
        if enabled:
            gc.enable()


#: Enough for programs nested several hundred levels deep.
_RECURSION_LIMIT = 8000


def _too_deep(source: bytes, path: Path | None, tree: ts.Tree | None) -> Analysis:
    """An answer (not a traceback) for a program nested deeper than the analysis can follow."""
    tree = tree if tree is not None else parse(source)
    program = m.Program(Span.of(tree.root_node), (), source)
    _, resolution = check_program(program)
    message = "the program is nested too deeply to analyze; flatten it (for example with blocks)"
    diagnostic = Diagnostic("E005", Severity.ERROR, message, Span(0, 0, 0, 0, 0, 0))
    return Analysis(source, tree, program, resolution, [diagnostic], path)


def _analyze(source: bytes, path: Path | None, reader: Reader, tree: ts.Tree | None,
             cache: m.ModelCache | None) -> Analysis:
    if tree is None:
        tree = parse(source)
    program = cache.build(tree, source) if cache is not None else m.build_program(tree, source)
    diagnostics = syntax_diagnostics(tree, source)
    diagnostics.extend(program.lexical)
    diagnostics.extend(encoding_diagnostics(source))
    base = path.parent if path is not None else None
    contracts, problems = load_contracts(program, base, reader)
    problems.extend(skill_diagnostics(program, base))
    semantic, resolution = check_program(program, contracts=contracts)
    diagnostics.extend(problems)
    broken = [(d.span.start_byte, d.span.end_byte) for d in diagnostics if d.code in ("E004", "E005")]
    if broken:
        # A name inside text the parser could not place is not worth a second squiggle.
        semantic = [d for d in semantic if not any(a <= d.span.start_byte < b for a, b in broken)]
    diagnostics.extend(semantic)
    diagnostics.sort(key=lambda d: (d.span.start_byte, d.code))
    return Analysis(source, tree, program, resolution, _dedupe(diagnostics), path, contracts)


def encoding_diagnostics(source: bytes) -> list[Diagnostic]:
    """Programs are UTF-8; point at the first byte that is not."""
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = source.count(b"\n", 0, exc.start)
        line_start = source.rfind(b"\n", 0, exc.start) + 1
        col = exc.start - line_start
        span = Span(exc.start, exc.end, row, col, row, col + (exc.end - exc.start))
        return [Diagnostic("E005", Severity.ERROR, f"the file is not valid UTF-8 (byte 0x{source[exc.start]:02x})", span)]
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


__all__ = ["Analysis", "analyze", "contract_of_program", "load_contracts", "Span"]
