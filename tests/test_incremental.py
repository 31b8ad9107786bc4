"""The incremental checker answers exactly what a fresh analysis answers.

Many seeded random edits (fragments of programs, renames of definitions,
inserted and removed agents and lets, indentation, broken syntax) are applied
to corpus programs and a generated one the way the language server applies
them (`Tree.edit`, a reparse against the old tree, `ModelCache`,
`SemanticCache`). After each edit the diagnostics — codes, spans with rows and
columns, messages, fixes, related information, in order — and the
definition/references answers at random offsets must equal those of an
analysis of the same tree with nothing reused.
"""

from __future__ import annotations

import ast
import collections
import random
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from openprose import model as m
from openprose.analysis import Analysis, analyze
from openprose.diagnostics import Diagnostic, Span
from openprose.incremental import SemanticCache
from openprose.resolve import Reference
from openprose.syntax import parse

from .tshelpers import CORPUS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate_program  # noqa: E402

FRAGMENTS = (
    "\n", "\n\n", "  ", "    ", "\t", '"', "{", "}", "(", ")", ":", "**", "=", "#", "é", "\ufffd",
    "agent writer:\n  model: opus\n  prompt: \"p\"\n",
    "agent agent-1:\n  model: haiku\n  persist: true\n",
    "agent ghost:\n  prompt: \"x\"\n",
    "session: ghost\n",
    "resume: writer\n  prompt: \"again\"\n",
    "let x = session \"{x}\"\n",
    "let topic = \"t\"\n",
    "let v6 = 1\n",
    "const a7 = \"c\"\n",
    "output result = x\n",
    "output result = 1\n",
    "input topic: \"t\"\n",
    "block b(x):\n  session \"{x}\"\ndo b(1)\n",
    "do b(1, 2)\n",
    "use \"@a/b\"\n",
    "use \"@a/b\"\n",
    "use \"./missing.prose\" as lib\n",
    "session \"s\"\n  skills: [\"web-search\"]\n",
    "import \"web-search\" from \"github:x/y\"\n",
    "parallel (any, count: 3):\n  a = session \"A\"\n  b = session \"B\"\n",
    "loop:\n  session \"x\"\n",
    "\"just a string\"\n",
    "if **ok**:\n  session \"a\"\nelse:\n  session \"b\"\n",
    "let x = ",
    "session: ",
)


def _span(s: Span) -> tuple[int, ...]:
    return (s.start_byte, s.end_byte, s.start_row, s.start_col, s.end_row, s.end_col)


def _diag(d: Diagnostic) -> tuple[Any, ...]:
    return (
        d.code, d.severity.value, d.message, _span(d.span),
        tuple((r.message, _span(r.span)) for r in d.related),
        tuple((f.title, tuple((_span(e.span), e.new_text) for e in f.edits)) for f in d.fixes),
    )


def _answers(a: Analysis, offsets: list[int]) -> list[Any]:
    """What the server's definition/references/rename use: the symbol named at each offset."""
    out = []
    for at in offsets:
        found = a.resolution.symbol_at(at)
        ref = a.resolution.reference_at(at)
        if found is None:
            out.append(None)
        else:
            sym, span = found
            out.append((sym.name, sym.kind.value, _span(sym.span), _span(span),
                        sorted(_span(r.span) for r in sym.references), sorted(_span(o) for o in sym.other_definitions)))
        out.append(None if ref is None else (ref.name, ref.role.value, _span(ref.span)))
        scope = a.resolution.scope_at(at)
        out.append((scope.kind, _span(scope.span), [(s.name, s.kind.value) for s in a.resolution.visible_variables(at)]))
    return out


def _lists(a: Analysis) -> Any:
    """The resolution's lists, in their order (document symbols and tokens read them in order)."""
    res = a.resolution
    return (
        [(s.name, s.kind.value, _span(s.span), [_span(r.span) for r in s.references]) for s in res.symbols],
        [(r.name, r.role.value, _span(r.span), r.write, r.in_string, r.in_context,
          None if r.symbol is None else _span(r.symbol.span)) for r in res.references],
        sorted(res.agents), sorted(res.blocks), sorted(res.programs), sorted(res.skills),
    )


def _rename(rng: random.Random, text: str) -> tuple[int, int, str] | None:
    """Replace one defined name (an agent, a let, a block, an input) at one of its occurrences."""
    import re

    defs = re.findall(r"^(?:agent|let|const|block|input) ([A-Za-z_][A-Za-z0-9_-]*)", text, flags=re.M)
    if not defs:
        return None
    name = rng.choice(defs)
    places = [mt.start() for mt in re.finditer(re.escape(name), text)]
    at = rng.choice(places)
    return at, at + len(name), rng.choice([name + "x", name[:-1] or "z", "agent-0", "v6", "topic"])


def _edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    roll = rng.random()
    if roll < 0.25:
        found = _rename(rng, text)
        if found is not None:
            return found
    if roll < 0.4:
        # Remove or indent whole lines (statements disappear, bodies change level).
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        start = sum(len(x) + 1 for x in lines[:i])
        if rng.random() < 0.5:
            return start, min(len(text), start + len(lines[i]) + 1), ""
        return start, start, rng.choice(["  ", "    ", " "])
    at = rng.randint(0, len(text))
    # Edits land at line starts often, as inserted statements do.
    if rng.random() < 0.5:
        at = text.rfind("\n", 0, at) + 1
    end = min(len(text), at + (rng.randint(0, 12) if rng.random() < 0.3 else 0))
    return at, end, rng.choice(FRAGMENTS)


def _point(source: bytes, offset: int) -> tuple[int, int]:
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def _run(text: str, seed: int, edits: int) -> tuple[int, int]:
    """Edit and compare; returns the statements whose checks were reused and those whose model was."""
    rng = random.Random(seed)
    source = text.encode()
    tree = parse(source)
    models, checks = m.ModelCache(), SemanticCache()
    reused = kept = 0
    before = analyze(source, tree=tree, cache=models, checks=checks)
    for step in range(edits):
        chars = source.decode("utf-8", errors="surrogateescape")
        start, end, new = _edit(rng, chars)
        b_start, b_end = len(chars[:start].encode("utf-8", "surrogateescape")), len(chars[:end].encode("utf-8", "surrogateescape"))
        inserted = new.encode()
        old_source = source
        source = source[:b_start] + inserted + source[b_end:]
        start_point = _point(old_source, b_start)
        tree.edit(start_byte=b_start, old_end_byte=b_end, new_end_byte=b_start + len(inserted), start_point=start_point,
                  old_end_point=_point(old_source, b_end), new_end_point=_point(source, b_start + len(inserted)))
        tree = parse(source, tree)
        if step % 3:
            # As the server does: the model cache is told the edit and looks only at what it touched.
            models.note_edit(b_start, b_end, b_start + len(inserted))
        got = analyze(source, tree=tree, cache=models, checks=checks)
        reused += checks.reused
        old = {id(stmt) for stmt in before.program.body}
        kept += sum(id(stmt) in old for stmt in got.program.body)
        before = got
        fresh = analyze(source, tree=tree)
        assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in fresh.diagnostics], (seed, step, source)
        offsets = [rng.randint(0, len(source)) for _ in range(8)]
        assert _answers(got, offsets) == _answers(fresh, offsets), (seed, step, source)
        if step % 5 == 0:
            assert _lists(got) == _lists(fresh), (seed, step, source)
    return reused, kept


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.prose"))


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_edits_of_corpus_programs_match_fresh_analysis(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for seed in range(3):
        _run(text, zlib.crc32(f"{path.name}:{seed}".encode()), 40)


@pytest.mark.parametrize("seed", range(6))
def test_edits_of_a_generated_program_match_fresh_analysis(seed: int) -> None:
    reused, kept = _run(generate_program(400, seed=seed), seed, 60)
    # A statement whose model was reused keeps its checks unless what it asked changed: the common case.
    assert reused > 0.8 * kept


def test_a_renamed_agent_rechecks_its_users_only() -> None:
    text = generate_program(300, seed=3)
    source = text.encode()
    tree = parse(source)
    models, checks = m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=checks)
    users = text.count("session: agent-3\n")
    assert users > 0
    at = source.index(b"agent agent-3:") + len(b"agent agent-3")
    new = source[:at] + b"x" + source[at:]
    row, col = _point(source, at)
    tree.edit(start_byte=at, old_end_byte=at, new_end_byte=at + 1, start_point=(row, col), old_end_point=(row, col),
              new_end_point=(row, col + 1))
    tree = parse(new, tree)
    got = analyze(new, tree=tree, cache=models, checks=checks)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in analyze(new).diagnostics]
    assert sum(d.code == "E007" for d in got.diagnostics) == users
    # The agent itself and each statement that names it; everything else is reused.
    assert checks.walked <= users + 1
    assert checks.reused > 10 * checks.walked


def test_the_checker_reads_the_whole_program_only_through_its_accessors() -> None:
    """A rule reading `self.res`/`self.contracts`/`self.top` directly would bypass the recorded questions."""
    tree = ast.parse((ROOT / "runtime" / "openprose" / "checker.py").read_text(encoding="utf-8"))
    allowed = {"__init__", "run", "use", "references", "reference", "agent", "has_agent", "agent_names", "block", "has_skill",
               "contract", "contract_of", "definition_insertion_point"}
    checker = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_Checker")
    bad = []
    for fn in checker.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name in allowed:
            continue
        for node in ast.walk(fn):
            if (isinstance(node, ast.Attribute) and node.attr in {"res", "contracts", "top", "imported"}
                    and isinstance(node.value, ast.Name) and node.value.id == "self"):
                bad.append(f"{fn.name}: self.{node.attr}")
    assert bad == []


def _edit_once(source: bytes, tree: Any, at: int, end: int, text: bytes,
               models: m.ModelCache | None = None) -> tuple[bytes, Any]:
    new = source[:at] + text + source[end:]
    if models is not None:
        models.note_edit(at, end, at + len(text))
    tree.edit(start_byte=at, old_end_byte=end, new_end_byte=at + len(text), start_point=_point(source, at),
              old_end_point=_point(source, end), new_end_point=_point(new, at + len(text)))
    return new, parse(new, tree)


def test_resolution_walks_only_what_an_edit_can_change() -> None:
    """A prompt edit walks one statement; renaming an agent walks its definition and relinks its users."""
    source = generate_program(2000, seed=4).encode()
    tree = parse(source)
    models, semantic = m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=semantic)
    names = semantic.names
    total = len(names.fragments)

    at = source.index(b'session "Revise') + len(b'session "')
    source, tree = _edit_once(source, tree, at, at, b"x", models)
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in analyze(source).diagnostics]
    assert len(names.walked) == 1 and len(names.removed) == 1
    assert semantic.walked == 1 and semantic.reused == total - 1

    at = source.index(b"agent agent-3:") + len(b"agent agent-3")
    source, tree = _edit_once(source, tree, at, at, b"x", models)
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    fresh = analyze(source)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in fresh.diagnostics]
    users = source.count(b"session: agent-3\n")
    assert users > 10 and sum(d.code == "E007" for d in got.diagnostics) == users
    assert [f.stmt for f in names.walked] == [got.resolution.agents["agent-3x"].decl]
    assert {"agent-3", "agent-3x"} <= names.relinked and len(names.relinked) < 10


def test_editing_one_use_of_a_popular_name_looks_only_at_that_statement_s_uses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Relinking and re-checking `topic` after an edit of one prompt naming it reads the links of that prompt's uses.

    Every read of a reference's `symbol` is counted: walking all the name's
    uses (to rebuild their lists, or to look for one that binds nothing) reads
    each of them.
    """
    source = generate_program(3000, seed=4).encode()
    tree = parse(source)
    models, semantic = m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=semantic)
    assert source.count(b"topic") > 200
    reads: collections.Counter[str] = collections.Counter()

    def read(ref: Reference) -> Any:
        reads[ref.name] += 1
        return ref.__dict__["symbol"]

    def write(ref: Reference, value: Any) -> None:
        ref.__dict__["symbol"] = value

    monkeypatch.setattr(Reference, "symbol", property(read, write))
    at = source.index(b'session "Research {topic}') + len(b'session "')
    source, tree = _edit_once(source, tree, at, at, b"x", models)
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    assert len(semantic.names.walked) == 1 and "topic" in semantic.names.relinked
    assert 0 < reads["topic"] < 20  # the statement's two uses, a few reads each
    monkeypatch.undo()
    fresh = analyze(source)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in fresh.diagnostics]
    assert _lists(got) == _lists(fresh)
    topic = got.resolution.root.variables["topic"]
    assert [r.span for r in topic.references] == [r.span for r in fresh.resolution.root.variables["topic"].references]


def test_renaming_a_binding_walks_the_statements_that_asked_about_it() -> None:
    """`x = …` binds or updates depending on an earlier `let x`: renaming that `let` walks the assignment again."""
    text = 'let x = "a"\nsession "one"\nx = "b"\nsession "{x}"\nsession "two"\n'
    source = text.encode()
    tree = parse(source)
    models, semantic = m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=semantic)
    at = source.index(b"let x") + len(b"let x")
    source, tree = _edit_once(source, tree, at, at, b"y")
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    fresh = analyze(source)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in fresh.diagnostics]
    walked = sorted(type(f.stmt).__name__ for f in semantic.names.walked)
    assert walked == ["Assign", "Let"]  # the sessions are not walked; `{x}` is relinked to the assignment
    (sym, _), = [got.resolution.symbol_at(source.index(b"{x}") + 1)]
    assert isinstance(sym.decl, m.Assign)


def test_a_program_too_deep_for_the_walk_leaves_no_half_updated_cache() -> None:
    """Nesting deeper than the analysis can follow answers with one diagnostic; removing it is analyzed afresh."""
    source = b'agent a:\n  prompt: "p"\nlet x = session: a\nsession "{x}"\n'
    tree = parse(source)
    models, semantic = m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=semantic)
    at = source.index(b"session \"{x}\"")
    deep = b"let y = " + b"[" * 5000 + b"]" * 5000 + b"\n"
    source, tree = _edit_once(source, tree, at, at, deep)
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    assert [d.message for d in got.diagnostics] == [d.message for d in analyze(source).diagnostics]
    assert "nested too deeply" in got.diagnostics[0].message
    source, tree = _edit_once(source, tree, at, at + len(deep), b'x = "again"\nsession "{zz}"\n')
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in analyze(source).diagnostics]
    assert [d.code for d in got.diagnostics] == ["W113"] and _lists(got) == _lists(analyze(source))


def test_a_failure_part_way_empties_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever stops an update half-way, the next analysis is a fresh one, not one on half-updated state."""
    from openprose import incremental_resolve

    source = generate_program(200, seed=2).encode()
    tree = parse(source)
    models, semantic = m.ModelCache(), SemanticCache()
    analyze(source, tree=tree, cache=models, checks=semantic)
    calls = {"n": 0}
    real = incremental_resolve._StatementResolver.visit

    def fail_second(self: Any, node: Any, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RecursionError("deep")
        return real(self, node, *args)

    at = source.index(b"agent agent-2:") + len(b"agent agent-2")
    source, tree = _edit_once(source, tree, at, at, b"x")
    monkeypatch.setattr(incremental_resolve._StatementResolver, "visit", fail_second)
    assert "nested too deeply" in analyze(source, tree=tree, cache=models, checks=semantic).diagnostics[0].message
    monkeypatch.setattr(incremental_resolve._StatementResolver, "visit", real)
    assert semantic.names.fragments == {}
    source, tree = _edit_once(source, tree, 0, 0, b"\n")
    got = analyze(source, tree=tree, cache=models, checks=semantic)
    assert [_diag(d) for d in got.diagnostics] == [_diag(d) for d in analyze(source).diagnostics]
    assert _lists(got) == _lists(analyze(source))
