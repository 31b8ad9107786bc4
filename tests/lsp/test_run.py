"""Running programs from the editor: events, progress, cancellation, failures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from .conftest import diagnostics_for, edit, new_uri, open_doc, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROGRAM = """agent writer:
  model: sonnet
  prompt: "You write."

let draft = session: writer
  prompt: "Draft a haiku"

parallel (first):
  fast = session "Fast angle on {draft}"
  slow = session "Slow angle on {draft}"

output poem = session "Polish {draft}"
  context: [fast]
"""


def _events(client: LanguageClient, run_id: str) -> list[dict[str, Any]]:
    out = []
    for params in client.run_events:  # type: ignore[attr-defined]
        raw = _plain(params)
        if raw.get("runId") == run_id:
            out.append(raw["event"])
    return out


def _plain(value: Any) -> Any:
    """Notification params of an unknown method arrive as attribute objects; make them dicts."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return {k: _plain(v) for k, v in vars(value).items()}


async def _run(client: LanguageClient, *arguments: Any) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="openprose.run", arguments=list(arguments))
    )
    return _plain(result)


async def _ended(client: LanguageClient, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
    return await until(
        lambda: next((e for e in _events(client, run_id) if e["type"] == "run.end"), None),
        timeout=timeout,
        what=f"run.end of {run_id}",
    )


async def test_simulated_run_reports_events_progress_and_outputs(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "poem.prose")
    await open_doc(client, uri, PROGRAM)
    started = time.monotonic()
    result = await _run(client, uri, {"backend": "simulated"})
    assert time.monotonic() - started < 5
    run_id = result["runId"]
    assert run_id
    end = await _ended(client, run_id)
    assert end["status"] == "ok"
    assert "poem" in end["outputs"] and end["run_dir"]
    assert Path(end["run_dir"]).is_dir() and Path(end["run_dir"]).is_relative_to(tmp_path)
    kinds = [e["type"] for e in _events(client, run_id)]
    assert kinds[0] == "run.start" and kinds[-1] == "run.end"
    assert kinds.count("session.start") >= 3 and "session.end" in kinds
    token = f"openprose-{run_id}"
    await until(lambda: any(isinstance(v, lsp.WorkDoneProgressEnd) for v in client.progress_reports.get(token, [])), what="progress end")
    reports = client.progress_reports[token]
    assert isinstance(reports[0], lsp.WorkDoneProgressBegin) and reports[0].cancellable
    assert any(isinstance(v, lsp.WorkDoneProgressReport) for v in reports)
    await until(lambda: any("run ok" in m.message and "poem" in m.message for m in client.messages), what="summary")
    summary = next(m for m in client.messages if "run ok" in m.message)
    assert end["run_dir"] in summary.message


def _slow_script(tmp_path: Path) -> Path:
    script = tmp_path / "slow.json"
    script.write_text(json.dumps({"default": {"delay": 30, "output": "late"}}))
    return script


async def test_cancel_through_progress(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "slow.prose")
    await open_doc(client, uri, 'let a = session "Takes forever"\nsession "Never reached"\n')
    result = await _run(client, uri, {"backend": "scripted", "script": str(_slow_script(tmp_path))})
    run_id = result["runId"]
    token = f"openprose-{run_id}"
    await until(lambda: client.progress_reports.get(token), what="progress begin")
    await until(lambda: any(e["type"] == "session.start" for e in _events(client, run_id)), what="session start")
    started = time.monotonic()
    client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token=token))
    end = await _ended(client, run_id, timeout=10)
    assert end["status"] == "cancelled"
    assert time.monotonic() - started < 10
    starts = [e for e in _events(client, run_id) if e["type"] == "session.start"]
    assert len(starts) == 1  # the second session never ran
    await until(lambda: any(isinstance(v, lsp.WorkDoneProgressEnd) for v in client.progress_reports[token]), what="progress end")


async def test_stop_command(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "stop-me.prose")
    await open_doc(client, uri, 'session "Takes forever"\n')
    result = await _run(client, uri, {"backend": "scripted", "script": str(_slow_script(tmp_path))})
    run_id = result["runId"]
    await until(lambda: any(e["type"] == "session.start" for e in _events(client, run_id)), what="session start")
    stopped = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="openprose.stop", arguments=[uri]))
    assert _plain(stopped) == {"stopped": 1}
    end = await _ended(client, run_id, timeout=10)
    assert end["status"] == "cancelled"


FAILING = """let ok = session "Fine step"
let broken = session "Explode now"
session "After"
"""


async def test_failing_run_becomes_a_diagnostic_until_the_next_edit(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "failing.prose")
    await open_doc(client, uri, FAILING)
    script = tmp_path / "fail.json"
    script.write_text(json.dumps({"sessions": [{"match": "Explode", "fail": "the model refused"}], "default": {"output": "fine"}}))
    result = await _run(client, uri, {"backend": "scripted", "script": str(script)})
    end = await _ended(client, result["runId"])
    assert end["status"] == "failed" and "the model refused" in end["error"]

    def run_diag() -> Any:
        diags = client.published[uri][-1].diagnostics  # type: ignore[attr-defined]
        return next((d for d in diags if d.code == "RUN"), None)

    diag = await until(run_diag, what="RUN diagnostic")
    assert diag.severity == lsp.DiagnosticSeverity.Error
    assert diag.range.start.line == 1 and "the model refused" in diag.message
    assert client.published[uri][-1].version == 1  # type: ignore[attr-defined]
    edit(client, uri, 2, (2, 0), (2, 0), "# note\n")
    after = await diagnostics_for(client, uri, 2)
    assert not any(d.code == "RUN" for d in after)


async def test_program_with_errors_does_not_run(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "broken.prose")
    await open_doc(client, uri, "session: ghost\n")
    before = len(client.run_events)  # type: ignore[attr-defined]
    result = await _run(client, uri, {"backend": "simulated"})
    assert result["runId"] is None and "1 error" in result["error"]
    await until(lambda: any("did not run" in m.message for m in client.messages), what="error message")
    assert len(client.run_events) == before  # type: ignore[attr-defined]


async def test_bad_run_arguments_are_reported(client: LanguageClient, tmp_path: Path) -> None:
    uri = new_uri(tmp_path, "fine.prose")
    await open_doc(client, uri, 'session "x"\n')
    missing = await _run(client, uri, {"backend": "scripted", "script": str(tmp_path / "absent.json")})
    assert missing["runId"] is None and "not found" in missing["error"]
    unknown = await _run(client, uri, {"backend": "telepathy"})
    assert unknown["runId"] is None and "unknown backend" in unknown["error"]
    nothing = await _run(client)
    assert nothing["runId"] is None
