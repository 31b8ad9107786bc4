"""The committed parser sources are exactly what the pinned Tree-sitter CLI generates."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

from .tshelpers import GRAMMAR

CLI_VERSION = "0.27.1"


def _cli() -> str:
    found = shutil.which("tree-sitter") or str(Path.home() / ".cargo" / "bin" / "tree-sitter")
    assert Path(found).exists(), (
        f"the Tree-sitter CLI {CLI_VERSION} is needed: cargo install --locked tree-sitter-cli@{CLI_VERSION}"
    )
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    assert CLI_VERSION in version, f"expected tree-sitter {CLI_VERSION}, found {version.strip()}"
    return found


def test_generate_reproduces_committed_sources(tmp_path: Path) -> None:
    cli = _cli()
    work = tmp_path / "grammar"
    work.mkdir()
    shutil.copy(GRAMMAR / "grammar.js", work / "grammar.js")
    shutil.copy(GRAMMAR / "tree-sitter.json", work / "tree-sitter.json")
    env = dict(os.environ, TREE_SITTER_ABI_VERSION="14")
    subprocess.run([cli, "generate", "--abi", "14"], cwd=work, check=True, env=env, capture_output=True, timeout=300)
    generated = work / "src"
    committed = GRAMMAR / "src"
    names = ["parser.c", "grammar.json", "node-types.json", "tree_sitter/parser.h", "tree_sitter/alloc.h",
             "tree_sitter/array.h"]
    different = [n for n in names if not filecmp.cmp(generated / n, committed / n, shallow=False)]
    assert not different, f"regenerate with `tree-sitter generate --abi 14`: {different} differ"
