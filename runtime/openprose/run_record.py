"""What a run remembers about how it was started, and the list of runs.

`prose run` prints `prose run --resume ID` after Ctrl-C; that command must work
exactly as printed. So each run stores, next to its state, a small record
(`run.json`): the program file, the inputs, the backend (and its script file),
the model aliases given on the command line and the run options. A resume
starts from the record and lets anything given on its own command line win.

Never recorded: the API key (backends read it from the environment; it is not
in any of these values) and any value that contains a credential from the
environment (the run store redacts those in every file it writes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .state import RunStateError, RunStore

__all__ = ["RunSummary", "ResumeSettings", "list_runs", "make_record", "resume_settings"]

RECORD_VERSION = 1


def make_record(
    *,
    program: Path,
    backend: str,
    script: Path | None,
    aliases: dict[str, str],
    simulated_delay: float,
    durable: bool,
    started: str | None = None,
    assume_yes: bool = False,
    max_tool_turns: int | None = None,
    tool_timeout: float | None = None,
) -> dict[str, Any]:
    """The `run.json` content, without the inputs (the interpreter adds those once it knows them all)."""
    return {
        "record_version": RECORD_VERSION,
        "prose_version": __version__,
        "program": str(program.resolve()),
        "backend": backend,
        "script": str(script.resolve()) if script is not None else None,
        "model_aliases": dict(aliases),
        "options": {"simulated_delay": simulated_delay, "durable": durable, "yes": assume_yes,
                    "max_tool_turns": max_tool_turns, "tool_timeout": tool_timeout},
        "started": started or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


@dataclass(frozen=True)
class ResumeSettings:
    """Everything a resume takes from the record (command-line values are merged in by the caller)."""

    program: Path | None
    inputs: dict[str, str]
    backend: str | None
    script: Path | None
    aliases: dict[str, str]
    simulated_delay: float | None
    durable: bool | None
    started: str | None
    assume_yes: bool | None = None
    max_tool_turns: int | None = None
    tool_timeout: float | None = None


def resume_settings(workdir: Path, run_id: str) -> ResumeSettings:
    """Read a run's record; raises RunStateError when the run does not exist.

    Runs started before records existed give empty settings: then the program
    file and inputs must be given again, as before.
    """
    store = RunStore.open(workdir, run_id)
    record = store.read_record() or {}
    options = record.get("options") if isinstance(record.get("options"), dict) else {}
    assert isinstance(options, dict)
    inputs = record.get("inputs") if isinstance(record.get("inputs"), dict) else {}
    aliases = record.get("model_aliases") if isinstance(record.get("model_aliases"), dict) else {}
    program = record.get("program")
    script = record.get("script")
    delay = options.get("simulated_delay")
    durable = options.get("durable")
    return ResumeSettings(
        program=Path(program) if isinstance(program, str) else None,
        inputs={str(k): str(v) for k, v in (inputs or {}).items()},
        backend=record.get("backend") if isinstance(record.get("backend"), str) else None,
        script=Path(script) if isinstance(script, str) else None,
        aliases={str(k): str(v) for k, v in (aliases or {}).items()},
        simulated_delay=float(delay) if isinstance(delay, (int, float)) else None,
        durable=durable if isinstance(durable, bool) else None,
        started=record.get("started") if isinstance(record.get("started"), str) else None,
        assume_yes=options.get("yes") if isinstance(options.get("yes"), bool) else None,
        max_tool_turns=options.get("max_tool_turns") if isinstance(options.get("max_tool_turns"), int) else None,
        tool_timeout=float(options["tool_timeout"]) if isinstance(options.get("tool_timeout"), (int, float)) else None,
    )


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str  # ok | failed | cancelled | unfinished (killed, or still running)
    started: str  # UTC, ISO 8601
    program: str
    resumable: bool
    why_not: str | None  # when not resumable


def _status(store: RunStore) -> str:
    for line in reversed(store.state_lines()):
        if line.startswith("---end"):
            return "ok"
        if line.startswith("---error"):
            return "cancelled" if line.rstrip().endswith("the run was cancelled") else "failed"
    return "unfinished"


def _started_from_id(run_id: str) -> str:
    day, clock = run_id.split("-")[:2]
    return f"{day[:4]}-{day[4:6]}-{day[6:]}T{clock[:2]}:{clock[2:4]}:{clock[4:]}Z"


def list_runs(workdir: Path) -> list[RunSummary]:
    """Every run under `workdir/.prose/runs`, oldest first, with whether `--resume` can continue it."""
    out: list[RunSummary] = []
    for run_id in RunStore.list_runs(workdir):
        try:
            store = RunStore.open(workdir, run_id)
            status = _status(store)
            record = store.read_record()
        except (RunStateError, OSError):
            continue
        program = str(record.get("program")) if record and record.get("program") else None
        if program is None:
            header = (store.state_lines() or [""])[0]
            program = header.split(" ", 2)[2] if header.count(" ") >= 2 else "?"
        why_not: str | None = None
        if status == "ok":
            why_not = "finished"
        elif record is None:
            why_not = "no run.json (started by an older prose); give the program and inputs again"
        else:
            try:
                same = Path(program).read_bytes() == (store.run_dir / "program.prose").read_bytes()
            except OSError:
                same = False
                why_not = f"{program} is gone"
            if why_not is None and not same:
                why_not = f"{Path(program).name} changed since the run started"
        started = str(record.get("started")) if record and record.get("started") else _started_from_id(run_id)
        out.append(RunSummary(run_id, status, started, program, why_not is None, why_not))
    return out
