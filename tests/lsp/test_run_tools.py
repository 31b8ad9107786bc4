"""Tool-using sessions from the editor: permission questions, tool events, the workspace.

The real server over stdio runs programs with scripted tool calls (the scripted
backend runs them for real, through the permission gate), and one test drives the
real Anthropic SDK against the local Messages API to see what the model is told.
The client answers the server's `window/showMessageRequest` the way a person
would, with whatever each test puts in `client.answers`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import captured_exception_key

from ..fake_messages_api import FakeMessagesAPI, Reply
from .conftest import initialize_params, make_client, open_doc, until
from .test_run import _ended, _events, _plain, _run

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "sk-ant-editor-test-secret-0123456789"

Answer = Callable[[lsp.ShowMessageRequestParams], Awaitable[Any]]


async def allow(params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem:
    return next(a for a in params.actions or [] if a.title == "Allow")


async def deny(params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem:
    return next(a for a in params.actions or [] if a.title == "Deny")


async def allow_run(params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem:
    return next(a for a in params.actions or [] if a.title == "Allow All This Run")


def answering_client() -> LanguageClient:
    """A client that records each question and answers it with `client.answer`."""
    client = make_client()
    client.questions = []  # type: ignore[attr-defined]
    client.answer = allow  # type: ignore[attr-defined]
    client.open_questions = 0  # type: ignore[attr-defined]
    client.most_open = 0  # type: ignore[attr-defined]

    @client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    async def on_question(params: lsp.ShowMessageRequestParams) -> Any:
        client.questions.append(params)  # type: ignore[attr-defined]
        client.open_questions += 1  # type: ignore[attr-defined]
        client.most_open = max(client.most_open, client.open_questions)  # type: ignore[attr-defined]
        try:
            return await client.answer(params)  # type: ignore[attr-defined]
        finally:
            client.open_questions -= 1  # type: ignore[attr-defined]

    return client


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "openprose_lsp"],
    client_factory=answering_client,
    server_env={**os.environ, "ANTHROPIC_API_KEY": SECRET},
)


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(initialize_params())
    yield
    await lsp_client.shutdown_session()


@pytest.fixture(autouse=True)
def fresh_answers(client: LanguageClient) -> None:
    client.questions.clear()  # type: ignore[attr-defined]
    client.answer = allow  # type: ignore[attr-defined]
    client.most_open = 0  # type: ignore[attr-defined]


FIXER = """agent fixer:
  model: haiku
  prompt: "You keep the build green."
  permissions:
    bash: prompt

output report = session: fixer
  prompt: "Check the build"
"""


def _script(path: Path, sessions: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"sessions": sessions}), encoding="utf-8")
    return path


def _bash(match: str, command: str, output: str = "checked") -> dict[str, Any]:
    return {"match": match, "tools": [{"tool": "bash", "input": {"command": command}}], "output": output}


def _add_folder(client: LanguageClient, folder: Path) -> None:
    client.workspace_did_change_workspace_folders(
        lsp.DidChangeWorkspaceFoldersParams(
            event=lsp.WorkspaceFoldersChangeEvent(
                added=[lsp.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)], removed=[]
            )
        )
    )


def _tool_events(client: LanguageClient, run_id: str) -> list[dict[str, Any]]:
    return [e for e in _events(client, run_id) if e["type"] in ("tool.start", "tool.end")]


async def _program(client: LanguageClient, folder: Path, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    await open_doc(client, path.as_uri(), text)
    return path.as_uri()


async def test_allowed_command_runs_in_the_workspace_folder(client: LanguageClient, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    uri = await _program(client, workspace / "programs", "fix.prose", FIXER)
    _add_folder(client, workspace)
    script = _script(tmp_path / "tools.json", [_bash("Check the build", "echo built > build.log")])
    run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    end = await _ended(client, run_id)
    assert end["status"] == "ok", end

    [question] = client.questions  # type: ignore[attr-defined]
    assert question.type == lsp.MessageType.Warning
    assert question.message == "OpenProse (fix.prose): Allow agent 'fixer' to use bash: echo built > build.log?"
    assert [a.title for a in question.actions or []] == ["Allow", "Allow All This Run", "Deny"]
    # The command ran for real, in the workspace folder (not next to the program), and
    # the run state is kept there too.
    assert (workspace / "build.log").read_text(encoding="utf-8").strip() == "built"
    assert not (workspace / "programs" / "build.log").exists()
    assert Path(end["run_dir"]).is_relative_to(workspace / ".prose" / "runs")

    events = _events(client, run_id)
    [start] = [e for e in events if e["type"] == "session.start"]
    tool_start, tool_end = _tool_events(client, run_id)
    assert tool_start["type"] == "tool.start" and tool_end["type"] == "tool.end"
    for event in (tool_start, tool_end):
        assert event["session"] == start["session"] and event["agent"] == "fixer"
        assert event["tool"] == "bash" and event["summary"] == "echo built > build.log"
    assert tool_end["status"] == "ok" and isinstance(tool_end["duration"], float) and "rule" not in tool_end
    kinds = [e["type"] for e in events]
    assert kinds.index("session.start") < kinds.index("tool.start") < kinds.index("tool.end") < kinds.index("session.end")

    token = f"openprose-{run_id}"
    await until(lambda: any(isinstance(v, lsp.WorkDoneProgressEnd) for v in client.progress_reports.get(token, [])),
                what="progress end")
    messages = [getattr(v, "message", None) or "" for v in client.progress_reports[token]]
    assert any(m.startswith("waiting for your answer: Allow agent 'fixer'") for m in messages), messages
    assert any("running: bash: echo built > build.log" in m for m in messages), messages


async def test_denied_command_is_refused_and_the_session_goes_on(client: LanguageClient, tmp_path: Path) -> None:
    client.answer = deny  # type: ignore[attr-defined]
    uri = await _program(client, tmp_path, "fix.prose", FIXER)
    script = _script(tmp_path / "tools.json", [_bash("Check the build", "echo built > build.log", "gave up")])
    run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    end = await _ended(client, run_id)
    assert end["status"] == "ok" and end["outputs"] == {"report": "gave up"}
    assert len(client.questions) == 1  # type: ignore[attr-defined]
    assert not (tmp_path / "build.log").exists()
    tool_end = _tool_events(client, run_id)[-1]
    assert tool_end["status"] == "denied"
    assert tool_end["rule"] == "bash: prompt (refused by the user)"
    assert tool_end["error"] == "permission denied: the user refused this bash call"


PARALLEL = """agent builder:
  model: haiku
  prompt: "You build things."
  permissions:
    bash: prompt

parallel:
  a = session: builder
    prompt: "Build part A"
  b = session: builder
    prompt: "Build part B"
"""


async def test_parallel_questions_are_asked_one_at_a_time(client: LanguageClient, tmp_path: Path) -> None:
    async def slow_allow(params: lsp.ShowMessageRequestParams) -> lsp.MessageActionItem:
        await asyncio.sleep(0.3)  # a person reading the question
        return await allow(params)

    client.answer = slow_allow  # type: ignore[attr-defined]
    uri = await _program(client, tmp_path, "parts.prose", PARALLEL)
    script = _script(tmp_path / "tools.json", [
        _bash("Build part A", "echo a > a.txt", "A"),
        _bash("Build part B", "echo b > b.txt", "B"),
    ])
    run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    end = await _ended(client, run_id)
    assert end["status"] == "ok", end
    assert sorted(q.message for q in client.questions) == [  # type: ignore[attr-defined]
        "OpenProse (parts.prose): Allow agent 'builder' to use bash: echo a > a.txt?",
        "OpenProse (parts.prose): Allow agent 'builder' to use bash: echo b > b.txt?",
    ]
    assert client.most_open == 1  # type: ignore[attr-defined]
    assert (tmp_path / "a.txt").exists() and (tmp_path / "b.txt").exists()
    sessions = {e["session"]: e["binding"] for e in _events(client, run_id) if e["type"] == "session.start"}
    ends = [e for e in _tool_events(client, run_id) if e["type"] == "tool.end"]
    assert {sessions[e["session"]]: e["summary"] for e in ends} == {"a": "echo a > a.txt", "b": "echo b > b.txt"}


async def test_allow_all_this_run_stops_asking_until_the_next_run(client: LanguageClient, tmp_path: Path) -> None:
    client.answer = allow_run  # type: ignore[attr-defined]
    uri = await _program(client, tmp_path, "fix.prose", FIXER)
    script = _script(tmp_path / "tools.json", [{
        "match": "Check the build",
        "tools": [{"tool": "bash", "input": {"command": "echo 1 > one.txt"}},
                  {"tool": "bash", "input": {"command": "echo 2 > two.txt"}}],
        "output": "checked",
    }])
    run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    assert (await _ended(client, run_id))["status"] == "ok"
    assert [q.message for q in client.questions] == [  # type: ignore[attr-defined]
        "OpenProse (fix.prose): Allow agent 'fixer' to use bash: echo 1 > one.txt?",
    ]
    assert (tmp_path / "one.txt").exists() and (tmp_path / "two.txt").exists()
    assert [e["status"] for e in _tool_events(client, run_id) if e["type"] == "tool.end"] == ["ok", "ok"]
    # The answer belonged to that run: the next one asks again.
    client.answer = deny  # type: ignore[attr-defined]
    again = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    assert (await _ended(client, again))["status"] == "ok"
    assert len(client.questions) == 3  # type: ignore[attr-defined]
    assert [e["status"] for e in _tool_events(client, again) if e["type"] == "tool.end"] == ["denied", "denied"]


async def test_stopping_the_run_withdraws_its_question(client: LanguageClient, tmp_path: Path) -> None:
    withdrawn = asyncio.Event()

    async def never(params: lsp.ShowMessageRequestParams) -> Any:
        try:
            await asyncio.sleep(3600)  # nobody answers
        except asyncio.CancelledError:
            withdrawn.set()
            raise

    client.answer = never  # type: ignore[attr-defined]
    uri = await _program(client, tmp_path, "fix.prose", FIXER)
    script = _script(tmp_path / "tools.json", [_bash("Check the build", "echo built > build.log")])
    run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    await until(lambda: client.questions, what="the permission question")  # type: ignore[attr-defined]
    started = time.monotonic()
    stopped = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="openprose.stop", arguments=[uri])
    )
    assert _plain(stopped) == {"stopped": 1}
    end = await _ended(client, run_id, timeout=10)
    assert end["status"] == "cancelled"
    assert time.monotonic() - started < 10
    await asyncio.wait_for(withdrawn.wait(), 10)  # the server sent $/cancelRequest for it
    assert not (tmp_path / "build.log").exists()
    assert _tool_events(client, run_id)[-1]["status"] == "cancelled"

    # The next run's question is asked at once: the withdrawn one holds nothing up.
    client.answer = allow  # type: ignore[attr-defined]
    again = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    assert (await _ended(client, again))["status"] == "ok"
    assert (tmp_path / "build.log").exists()


async def test_dismissed_and_failed_answers_refuse(
    client: LanguageClient, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async def dismissed(params: lsp.ShowMessageRequestParams) -> None:
        return None

    async def broken(params: lsp.ShowMessageRequestParams) -> Any:
        raise RuntimeError("the client could not show the question")

    uri = await _program(client, tmp_path, "fix.prose", FIXER)
    script = _script(tmp_path / "tools.json", [_bash("Check the build", "echo built > build.log")])
    for answer in (dismissed, broken):
        client.answer = answer  # type: ignore[attr-defined]
        run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
        end = await _ended(client, run_id)
        assert end["status"] == "ok", (answer.__name__, end)
        assert _tool_events(client, run_id)[-1]["status"] == "denied", answer.__name__
        assert not (tmp_path / "build.log").exists(), answer.__name__
    # The broken answer was this test's doing; pytest-lsp would report it as a client failure.
    request.node.stash[captured_exception_key] = None


async def test_secrets_never_reach_questions_or_events(client: LanguageClient, tmp_path: Path) -> None:
    client.answer = deny  # type: ignore[attr-defined]
    uri = await _program(client, tmp_path, "fix.prose", FIXER)
    command = f"echo {SECRET} > key.txt"
    script = _script(tmp_path / "tools.json", [_bash("Check the build", command, f"the key is {SECRET}")])
    run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
    end = await _ended(client, run_id)
    [question] = client.questions  # type: ignore[attr-defined]
    assert question.message == "OpenProse (fix.prose): Allow agent 'fixer' to use bash: echo *** > key.txt?"
    assert _tool_events(client, run_id)[0]["summary"] == "echo *** > key.txt"
    assert end["outputs"] == {"report": "the key is ***"}  # nested values too
    token = f"openprose-{run_id}"
    await until(lambda: any(isinstance(v, lsp.WorkDoneProgressEnd) for v in client.progress_reports.get(token, [])),
                what="progress end")
    progress = [getattr(v, "message", None) or "" for v in client.progress_reports[token]]
    assert "waiting for your answer: Allow agent 'fixer' to use bash: echo *** > key.txt?" in progress, progress
    sent = json.dumps([_plain(p) for p in client.run_events]) + json.dumps(  # type: ignore[attr-defined]
        [m.message for m in client.messages] + progress
    )
    assert SECRET not in sent


async def test_the_model_is_told_about_a_refusal(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    """The Anthropic backend (real SDK, local Messages API): Deny reaches the model as an error tool result."""
    api = fake_messages_api
    api.enqueue(Reply.tools(("bash", {"command": "echo built > build.log"}), text="Let me build."))
    api.enqueue(Reply.ok("I was not allowed to build."))
    client = answering_client()
    client.answer = deny  # type: ignore[attr-defined]
    env = {**os.environ, "ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url}
    await client.start_io(sys.executable, "-m", "openprose_lsp", env=env)
    try:
        await client.initialize_session(initialize_params(backend="anthropic"))
        uri = await _program(client, tmp_path, "fix.prose", FIXER)
        run_id = (await _run(client, uri))["runId"]
        end = await _ended(client, run_id)
        assert end["status"] == "ok" and end["outputs"] == {"report": "I was not allowed to build."}, end
        assert len(client.questions) == 1  # type: ignore[attr-defined]
        assert "bash" in api.requests[0].tool_names
        [result] = api.requests[1].tool_results
        assert result["is_error"] is True
        assert "the user refused this bash call" in json.dumps(result["content"])
        assert not (tmp_path / "build.log").exists()
        assert _tool_events(client, run_id)[-1]["status"] == "denied"
        await client.shutdown_session()
    finally:
        await client.stop()


async def test_shutdown_with_a_question_open_does_not_wait_for_it(tmp_path: Path) -> None:
    """A client that never answers cannot hold the server up: shutdown cancels the run and its question."""
    asked = asyncio.Event()

    async def never(params: lsp.ShowMessageRequestParams) -> Any:
        asked.set()
        await asyncio.sleep(3600)

    client = answering_client()
    client.answer = never  # type: ignore[attr-defined]
    await client.start_io(sys.executable, "-m", "openprose_lsp")
    try:
        await client.initialize_session(initialize_params())
        uri = await _program(client, tmp_path, "fix.prose", FIXER)
        script = _script(tmp_path / "tools.json", [_bash("Check the build", "echo built > build.log")])
        run_id = (await _run(client, uri, {"backend": "scripted", "script": str(script)}))["runId"]
        await asyncio.wait_for(asked.wait(), 20)
        await asyncio.wait_for(client.shutdown_session(), 15)
        # The run ended, cancelled, before the server answered shutdown (not after its 5 s grace).
        assert [e["status"] for e in _events(client, run_id) if e["type"] == "run.end"] == ["cancelled"]
        assert not (tmp_path / "build.log").exists()
    finally:
        await client.stop()
