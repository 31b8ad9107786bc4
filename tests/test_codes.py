"""The diagnostic code table: complete, consistent with what the rules emit, and the source of the docs page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from openprose import codes, codes_page
from openprose.analysis import analyze
from openprose.diagnostics import Severity
from openprose.strict import strict_diagnostics

from .test_checker import CASES, LIB
from .tshelpers import CORPUS

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "diagnostics.md"


def test_committed_page_is_generated_from_the_table() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert codes_page.render(page) == page, "docs/diagnostics.md is stale: run `python -m openprose.codes_page docs/diagnostics.md`"


def test_regenerate_command_reports_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "diagnostics.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("| <a id=\"e108\"></a>E108 |", "| E108 |"))
    command = [sys.executable, "-m", "openprose.codes_page"]
    assert subprocess.run([*command, "--check", str(stale)], capture_output=True).returncode == 1
    assert subprocess.run([*command, str(stale)], capture_output=True).returncode == 0
    assert stale.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert subprocess.run([*command, "--check", str(stale)], capture_output=True).returncode == 0


def test_hand_written_parts_survive_regeneration() -> None:
    page = PAGE.read_text(encoding="utf-8")
    edited = page.replace("## Deliberate differences from the spec", "## Deliberate differences from the spec\n\nA note.")
    assert "A note." in codes_page.render(edited)


def test_every_code_has_its_anchor_on_the_page() -> None:
    anchors = re.findall(r'<a id="([a-z0-9]+)"></a>([A-Z0-9]+) \|', PAGE.read_text(encoding="utf-8"))
    assert len(anchors) == len(set(anchors))
    assert sorted(anchors) == sorted((code.anchor, code.id) for code in codes.TABLE.values())


def test_entries_are_named_by_their_id_and_complete() -> None:
    named = {name: value for name, value in vars(codes).items() if isinstance(value, codes.Code)}
    assert all(name == code.id for name, code in named.items())
    assert set(named) == set(codes.TABLE)
    for code in codes.TABLE.values():
        assert code.summary.strip() and code.example.strip(), code.id
        assert code.summary.endswith("."), code.id


def test_severity_follows_the_numbering_convention() -> None:
    """W is a warning and E an error; P006 is the one parallel rule that only warns.

    Codes named by a word (RUN, EMPTY, …) are the run's own and appear only while running.
    """
    for code in codes.TABLE.values():
        if not re.fullmatch(r"[EWP]\d{3}", code.id):
            assert code.phase is codes.Phase.RUN and code.id.isupper(), code.id
        elif code.id.startswith("W") or code.id == "P006":
            assert code.severity is Severity.WARNING, code.id
        else:
            assert code.severity is Severity.ERROR, code.id


def test_at_builds_a_diagnostic_with_the_tables_severity() -> None:
    span = analyze(b"session \"a\"\n").program.span
    diag = codes.W113.at(span, "message")
    assert (diag.code, diag.severity, diag.message, diag.span) == ("W113", Severity.WARNING, "message", span)
    assert codes.lookup("W113") is codes.W113 and codes.lookup("X999") is None


def _programs() -> list[bytes]:
    paths = sorted(CORPUS.glob("*.prose")) + sorted((REPO / "examples").glob("*.prose"))
    return [p.read_bytes() for p in paths] + [program.encode() for program, _, _ in CASES.values()]


def test_every_code_any_rule_emits_is_in_the_table(tmp_path: Path) -> None:
    (tmp_path / "lib.prose").write_text(LIB)
    seen: set[str] = set()
    for source in _programs():
        analysis = analyze(source, tmp_path / "main.prose")
        for diag in [*analysis.diagnostics, *strict_diagnostics(analysis.program, analysis.diagnostics)]:
            assert codes.lookup(diag.code) is not None, (diag.code, diag.message)
            assert codes.TABLE[diag.code].severity is diag.severity, (diag.code, diag.message)
            seen.add(diag.code)
    assert seen >= {c.id for c in codes.TABLE.values() if c.phase is not codes.Phase.RUN}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_local_code_is_found_in_its_statement_alone(case: str, tmp_path: Path) -> None:
    """LOCAL is the promise an incremental checker relies on: the statement alone gives the same diagnostic."""
    (tmp_path / "lib.prose").write_text(LIB)
    source = CASES[case][0].encode()
    analysis = analyze(source, tmp_path / "main.prose")
    for diag in analysis.diagnostics:
        if codes.TABLE[diag.code].phase is not codes.Phase.LOCAL:
            continue
        around = [s for s in analysis.program.body if s.span.start_byte <= diag.span.start_byte < s.span.end_byte]
        if not around:
            continue  # text that is no statement at all (a syntax error between statements)
        start = source.rfind(b"\n", 0, around[0].span.start_byte) + 1
        end = source.find(b"\n", around[0].span.end_byte)
        alone = source[start : len(source) if end == -1 else end + 1]
        found = analyze(alone, tmp_path / "main.prose").diagnostics
        assert any(d.code == diag.code and d.span.start_byte == diag.span.start_byte - start for d in found), (
            diag.code, alone, found)
