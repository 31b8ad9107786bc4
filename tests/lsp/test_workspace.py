"""Which folder a program run from the editor works in."""

from __future__ import annotations

from pathlib import Path

from openprose_lsp.run import workspace_of


def test_innermost_workspace_folder_wins(tmp_path: Path) -> None:
    outer = tmp_path / "mono"
    inner = outer / "packages" / "app"
    program = inner / "flows" / "fix.prose"
    program.parent.mkdir(parents=True)
    program.write_text('session "x"\n')
    assert workspace_of(program, [outer, inner]) == inner.resolve()
    assert workspace_of(program, [inner, outer]) == inner.resolve()
    assert workspace_of(program, [outer]) == outer.resolve()


def test_outside_every_folder_the_program_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere" / "fix.prose"
    elsewhere.parent.mkdir()
    elsewhere.write_text('session "x"\n')
    assert workspace_of(elsewhere, [folder]) == elsewhere.parent.resolve()
    assert workspace_of(elsewhere, []) == elsewhere.parent.resolve()
    # A folder whose name is a prefix of the program's directory does not contain it.
    assert workspace_of(tmp_path / "ws2" / "a.prose", [folder]) == (tmp_path / "ws2").resolve()


def test_folders_are_compared_through_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    program = link / "sub" / "fix.prose"
    program.write_text('session "x"\n')
    assert workspace_of(program, [real]) == real.resolve()
