"""The house has no arrow running back up: grammar -> runtime -> server -> CLI.

Each layer may import the ones below it and never one above, so the runtime can be
used (and tested, and started quickly) without the language server or the terminal
UI, and the server without the CLI. Only `prose_cli`, the composition root, knows
both. Imports inside functions count too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Where each layer's sources live, and the top-level packages it must never import.
LAYERS: dict[str, tuple[Path, frozenset[str]]] = {
    "runtime": (ROOT / "runtime", frozenset({"openprose_lsp", "prose_cli"})),
    "server": (ROOT / "server", frozenset({"prose_cli"})),
    "cli": (ROOT / "cli", frozenset()),
}


def imported_packages(source: str, filename: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import anywhere in the module, nested ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return sorted(found)


def back_arrows(layer: str) -> list[str]:
    folder, forbidden = LAYERS[layer]
    problems = []
    for path in sorted(folder.rglob("*.py")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        for line, package in imported_packages(path.read_text(encoding="utf-8"), str(path)):
            if package in forbidden:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    return problems


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_no_layer_imports_one_above_it(layer: str) -> None:
    folder, _ = LAYERS[layer]
    assert any(folder.rglob("*.py")), f"{folder} has no Python sources; the layer map is out of date"
    assert back_arrows(layer) == []


def test_the_check_finds_a_nested_back_arrow() -> None:
    """The walk sees imports inside functions and `importlib.import_module` calls, not only the top."""
    source = (
        "import os\n"
        "def serve():\n"
        "    from openprose_lsp.server import main\n"
        "    import prose_cli.main as m\n"
        "    importlib.import_module('openprose_lsp.run')\n"
        "from . import sibling\n"
    )
    assert imported_packages(source, "<test>") == [
        (1, "os"), (3, "openprose_lsp"), (4, "prose_cli"), (5, "openprose_lsp"),
    ]


def test_only_the_cli_imports_both_runtime_and_server() -> None:
    """The composition root really is one: `prose lsp` reaches the server through prose_cli."""
    uses: set[str] = set()
    for path in (ROOT / "cli").rglob("*.py"):
        uses |= {package for _, package in imported_packages(path.read_text(encoding="utf-8"), str(path))}
    assert {"openprose", "openprose_lsp"} <= uses
