"""Every real program runs on the simulated backend and ends cleanly.

"Cleanly" means: success, or the error the program itself throws (`throw
"…"`), or a run-time rule of the language (E018: `resume:` before the agent
has any memory). Never an interpreter error.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import trio

from openprose import model as m
from openprose.analysis import analyze
from openprose.backends import make_backend
from openprose.interpreter import run_program

from .tshelpers import CORPUS

PROGRAMS = sorted(CORPUS.glob("*.prose"))


def every_input(program: m.Program) -> dict[str, str]:
    found: dict[str, str] = {}

    def visit(node: object) -> None:
        if isinstance(node, m.Input):
            found[node.name.name] = f"sample value for {node.name.name}"
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                visit(getattr(node, f.name))
        elif isinstance(node, tuple):
            for item in node:
                visit(item)

    visit(program.body)
    return found


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.name for p in PROGRAMS])
async def test_program_runs_on_simulated_backend(path: Path, tmp_path: Path) -> None:
    source = path.read_bytes()
    inputs = every_input(analyze(source, path).program)
    backend = make_backend("simulated")
    with trio.fail_after(120):
        result = await run_program(source, path, backend=backend, inputs=inputs, workdir=tmp_path)
    if result.status == "ok":
        return
    thrown = set(re.findall(r'throw "([^"]*)"', source.decode()))
    assert result.status == "failed"
    assert result.error in thrown or (result.error or "").startswith("E018:"), result.error
    assert result.error_span is not None
