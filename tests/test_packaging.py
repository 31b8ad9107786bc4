"""A normal (non-editable) install ships every Python package of the repository."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> tuple[set[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"]), config["package-dir"]


def _directory(package: str, package_dir: dict[str, str]) -> Path:
    top, _, rest = package.partition(".")
    base = ROOT / package_dir[top] if top in package_dir else ROOT / package_dir[""] / top
    return base.joinpath(*rest.split(".")) if rest else base


def test_every_package_directory_is_listed() -> None:
    packages, package_dir = _declared()
    tops = {p for p in packages if "." not in p}
    found = set()
    for top in tops:
        root = _directory(top, package_dir)
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root)
            found.add(".".join((top, *relative.parts)))
    missing = found - packages
    assert not missing, f"packages missing from pyproject.toml [tool.setuptools] packages: {sorted(missing)}"
    assert all(_directory(p, package_dir).joinpath("__init__.py").is_file() for p in packages)
