"""The guide's examples: each is a real file that checks cleanly and runs on the scripted backend.

docs/guide.md shows every ```prose block verbatim from a file under examples/
(its first line names the file), so the guide cannot drift from programs that
work. Each example runs through the CLI with its script in examples/scripts/,
and the assertions check what the guide says happens.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GUIDE = REPO / "docs" / "guide.md"
PROSE = [sys.executable, "-m", "prose_cli"]

PROGRAMS = sorted(p for p in EXAMPLES.rglob("*.prose"))
RUNNABLE = sorted(p for p in EXAMPLES.glob("*.prose"))  # examples/lib/ holds programs called by others
INPUTS = {
    "first-program": {"topic": "owls"},
    "parallel": {"city": "Lyon"},
    "launch-review": {"product": "a kettle that tweets"},
}


def _guide_blocks() -> list[str]:
    return re.findall(r"```prose\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def test_every_guide_example_is_an_example_file_verbatim() -> None:
    blocks = _guide_blocks()
    assert blocks, "the guide has no prose examples"
    shown: set[Path] = set()
    for block in blocks:
        first = block.splitlines()[0]
        m = re.fullmatch(r"# (examples/\S+\.prose)", first)
        assert m, f"a guide example must start with '# examples/NAME.prose', got {first!r}"
        path = REPO / m.group(1)
        assert path.is_file(), f"{m.group(1)} is shown in the guide but does not exist"
        assert block == path.read_text(encoding="utf-8"), f"the guide's copy of {m.group(1)} differs from the file"
        shown.add(path)
    missing = [str(p.relative_to(REPO)) for p in PROGRAMS if p not in shown]
    assert not missing, f"examples not shown in the guide: {missing}"


def test_examples_check_without_errors_or_warnings() -> None:
    proc = subprocess.run([*PROSE, "check", "examples"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip().endswith(f"0 errors, 0 warnings in {len(PROGRAMS)} files"), proc.stdout


def _run(path: Path, tmp_path: Path) -> tuple[list[dict], dict]:
    script = EXAMPLES / "scripts" / f"{path.stem}.json"
    assert script.is_file(), f"{path.name} needs a script in examples/scripts/"
    args = [*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(path)]
    for name, value in INPUTS.get(path.stem, {}).items():
        args += ["--input", f"{name}={value}"]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=90)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events and events[-1]["type"] == "run.end", proc.stderr
    return events, events[-1]


def _sessions(events: list[dict], status: str | None = None) -> list[str]:
    return [e["prompt"] for e in events if e["type"] == "session.end" and (status is None or e["status"] == status)]


def _branches(events: list[dict]) -> dict[str, str]:
    return {" / ".join(e["path"]): e["status"] for e in events if e["type"] == "branch.end"}


@pytest.mark.parametrize("path", RUNNABLE, ids=[p.stem for p in RUNNABLE])
def test_example_runs_on_the_scripted_backend(path: Path, tmp_path: Path) -> None:
    events, end = _run(path, tmp_path)
    assert end["status"] == "ok", end
    check = CHECKS.get(path.stem)
    assert check is not None, f"add what {path.name} should do to CHECKS"
    check(events, end)


def _hello(events: list[dict], end: dict) -> None:
    assert end["outputs"] == {"greeting": "Welcome! Your first program already ran."}


def _first_program(events: list[dict], end: dict) -> None:
    assert _sessions(events) == ["List three surprising facts about owls", "Write a four-line note to a friend about owls"]
    assert end["outputs"]["note"].count("\n") == 3


def _agents(events: list[dict], end: dict) -> None:
    agents = [e.get("agent") for e in events if e["type"] == "session.start"]
    assert agents == ["researcher", None, "editor", "editor"]
    models = [e.get("model") for e in events if e["type"] == "session.start"]
    assert models == ["haiku", "sonnet", "opus", "opus"]


def _parallel(events: list[dict], end: dict) -> None:
    kinds = [e["type"] for e in events if e["type"] in ("branch.start", "branch.end")]
    assert kinds[:3] == ["branch.start"] * 3  # all three start before any ends
    assert set(_branches(events).values()) == {"ok"}


def _race(events: list[dict], end: dict) -> None:
    branches = _branches(events)
    assert branches["L4 parallel / branch 1"] == "ok" and branches["L4 parallel / branch 2"] == "cancelled"
    assert branches["L8 parallel / branch 1"] == "failed"
    assert branches["L8 parallel / branch 2"] == "ok" and branches["L8 parallel / branch 3"] == "ok"
    assert end["t"] < 20  # the 30-second slow mirror was cancelled, not waited for


def _failures(events: list[dict], end: dict) -> None:
    failed = {k for k, v in _branches(events).items() if v == "failed"}
    assert failed == {"L5 parallel / south", "L10 parallel / branch 1", "L15 parallel / branch 2"}
    assert "Write a short digest" in _sessions(events, "ok")  # no failure stopped the program


def _loops(events: list[dict], end: dict) -> None:
    answers = [(e["prompt"], e["answer"]) for e in events if e["type"] in ("condition", "choice")]
    assert answers == [
        ("the story reads well from start to end", "no"),
        ("the story reads well from start to end", "yes"),
        ("the ending is too abrupt", "no"),
        ("the ending is too long", "yes"),
        ("which title suits the story best", "Salt and Lanterns"),
    ]
    ran = _sessions(events, "ok")
    assert ran.count("Revision round 0: smooth the transitions") == 1 and "Revision round 1: smooth the transitions" not in ran
    assert "Shorten the ending" in ran and "Add a closing paragraph" not in ran
    assert [p for p in ran if p.startswith("Warm-up")] == ["Warm-up sketch number 0", "Warm-up sketch number 1"]
    assert end["outputs"] == {"title": "done"}


def _pipelines(events: list[dict], end: dict) -> None:
    ran = _sessions(events, "ok")
    assert len([p for p in ran if p.startswith("Answer yes or no")]) == 3
    assert len([p for p in ran if p == "Write a one-line pitch"]) == 2  # the filter kept two ideas
    assert len([p for p in ran if p.startswith("Keep the stronger")]) == 1


def _errors(events: list[dict], end: dict) -> None:
    ran = _sessions(events, "ok")
    assert "Fetch today's headlines from the news feed" in ran  # the retry succeeded
    assert "Explain in one line why the translation failed: the translator is offline" in ran
    assert "Note in the log that the translation step ended" in ran
    assert "published" in end["outputs"]


def _blocks(events: list[dict], end: dict) -> None:
    ran = _sessions(events, "ok")
    assert "Review the API with an eye on naming" in ran
    assert "Review the documentation with an eye on missing steps" in ran
    assert ran[-1] == "Write the review report"


def _imports(events: list[dict], end: dict) -> None:
    ran = _sessions(events, "ok")
    assert any(p.startswith("Summarize in about 40 words: an article") for p in ran)
    assert end["outputs"] == {"teaser": "an article"}


def _launch_review(events: list[dict], end: dict) -> None:
    assert "notes" in end["outputs"]
    assert [e["answer"] for e in events if e["type"] == "condition"] == ["no", "yes"]


CHECKS = {
    "hello": _hello,
    "first-program": _first_program,
    "agents": _agents,
    "parallel": _parallel,
    "race": _race,
    "failures": _failures,
    "loops": _loops,
    "pipelines": _pipelines,
    "errors": _errors,
    "blocks": _blocks,
    "imports": _imports,
    "launch-review": _launch_review,
}
