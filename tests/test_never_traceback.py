"""Never a traceback: mutated real programs through the `prose` entry point.

Hypothesis takes slices of the shared corpus and mutates them the way real
files get broken -- tokens deleted or duplicated, lines shifted in or out,
random bytes (including invalid UTF-8, NUL, tabs and CR) -- and runs
`prose check`, `prose fmt --check` and `prose run --backend simulated`
through the click entry point (in-process, so thousands of examples fit in
the suite's time). Each must end with a diagnostic or a clean result and a
documented exit code, never an unhandled exception. The example counts are
printed in the "measured" section of the test output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprose import model as m
from openprose.analysis import analyze
from prose_cli.main import main

from . import report
from .tshelpers import CORPUS

SOURCES = [p.read_bytes() for p in sorted(CORPUS.glob("*.prose"))]
LINES = [s.split(b"\n") for s in SOURCES]
TOKEN = re.compile(rb'"""|\*\*\*|\*\*|->|[A-Za-z_][A-Za-z0-9_-]*|\d+|"[^"\n]*"|\S')

#: Exit codes `prose` documents: ok, errors (or a failed run), unreadable/not runnable.
EXIT_CODES = {0, 1, 2}

COUNTS: Counter[str] = Counter()


@st.composite
def mutated_programs(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(LINES))
    start = draw(st.integers(0, max(0, len(lines) - 1)))
    size = draw(st.integers(1, 40))
    chunk = list(lines[start : start + size])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete token", "duplicate token", "shift line", "random bytes", "swap lines"]))
        row = draw(st.integers(0, len(chunk) - 1)) if chunk else 0
        line = chunk[row] if chunk else b""
        tokens = list(TOKEN.finditer(line))
        if kind in ("delete token", "duplicate token") and tokens:
            tok = draw(st.sampled_from(tokens))
            replacement = b"" if kind == "delete token" else tok.group() + b" " + tok.group()
            chunk[row] = line[: tok.start()] + replacement + line[tok.end() :]
        elif kind == "shift line" and chunk:
            delta = draw(st.integers(-4, 4))
            chunk[row] = b" " * delta + line if delta > 0 else line[min(-delta, len(line) - len(line.lstrip(b" "))) :]
        elif kind == "random bytes":
            junk = draw(st.binary(min_size=1, max_size=6) | st.sampled_from([b"\t", b"\r", b"\x00", b"\xff", b"{", b'"""']))
            at = draw(st.integers(0, len(line)))
            chunk[row : row + 1] = [line[:at] + junk + line[at:]] if chunk else [junk]
        elif kind == "swap lines" and len(chunk) > 1:
            other = draw(st.integers(0, len(chunk) - 1))
            chunk[row], chunk[other] = chunk[other], chunk[row]
        COUNTS[kind] += 1
    return b"\n".join(chunk) + b"\n"


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"prose {' '.join(args)} raised {result.exception!r}") from result.exception
    output = result.output
    assert "Traceback (most recent call last)" not in output, output
    assert result.exit_code in EXIT_CODES, (result.exit_code, output)
    return result.exit_code, output


def _runnable_in_bounded_time(source: bytes) -> tuple[bool, list[str]]:
    """Whether a simulated run ends by itself, and the inputs it declares.

    A `loop:` with neither a condition nor `(max: N)` runs until stopped (the
    checker warns, W101): that is the program's meaning, not a crash, so such
    programs are checked and formatted but not run.
    """
    analysis = analyze(source)
    names: list[str] = []
    endless = False

    def visit(node: object) -> None:
        nonlocal endless
        if isinstance(node, m.Loop) and node.condition is None and not node.modifiers:
            endless = True
        if isinstance(node, m.Input):
            names.append(node.name.name)
        if isinstance(node, m.Repeat) and isinstance(node.count, m.Number) and node.count.value > 50:
            endless = True
        for slot in getattr(node, "__slots__", ()):
            value = getattr(node, slot, None)
            for item in value if isinstance(value, tuple) else (value,):
                if hasattr(item, "__slots__") and not isinstance(item, (str, bytes)):
                    visit(item)

    for stmt in analysis.program.body:
        visit(stmt)
    return not endless, names


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(source=mutated_programs())
def test_check_and_fmt_never_raise(source: bytes, workdir: Path) -> None:
    path = workdir / "mutated.prose"
    path.write_bytes(source)
    code, _ = _invoke(["check", "--no-snippets", str(path)])
    COUNTS["check"] += 1
    assert code in (0, 1, 2)
    _invoke(["fmt", "--check", str(path)])
    COUNTS["fmt --check"] += 1
    assert path.read_bytes() == source  # --check never writes


@settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(source=mutated_programs())
def test_simulated_run_never_raises(source: bytes, workdir: Path) -> None:
    path = workdir / "run.prose"
    path.write_bytes(source)
    bounded, inputs = _runnable_in_bounded_time(source)
    if not bounded:
        COUNTS["run skipped (endless loop)"] += 1
        return
    args = ["run", str(path), "--backend", "simulated", "--workdir", str(workdir), "--json"]
    for name in inputs:
        args += ["--input", f"{name}=fuzz value"]
    code, _ = _invoke(args)
    COUNTS[f"run exit {code}"] += 1


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(source=mutated_programs())
def test_real_process_never_prints_a_traceback(source: bytes, workdir: Path) -> None:
    """A small sample through the installed `prose` script itself: real stdout/stderr encodings."""
    path = workdir / "process.prose"
    path.write_bytes(source)
    prose = Path(sys.executable).with_name("prose")
    for args in (["check", str(path)], ["fmt", "--check", str(path)]):
        done = subprocess.run([str(prose), *args], capture_output=True, timeout=60)
        assert b"Traceback" not in done.stdout + done.stderr, (args, done.stderr.decode(errors="replace"))
        assert done.returncode in EXIT_CODES
        COUNTS[f"process {args[0]}"] += 1


def test_report_fuzz_counts() -> None:
    """Runs last in this module (pytest keeps file order): prints what the fuzz tests did."""
    if COUNTS:
        report.record("never-a-traceback fuzz: " + ", ".join(f"{k}: {v}" for k, v in sorted(COUNTS.items())))
