"""Tool-using sessions with the real anthropic SDK (its tool runner) against the local Messages API.

The fake server plays the model: it answers with tool_use turns, and the tests read
the tool_result blocks the SDK sends back, which is exactly what a real model would
see. Everything else is real: the SDK's agent tools on files in a temporary
workspace, bash processes, the permission gate, the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import trio

from openprose.backends import BackendConfig, make_backend
from openprose.interpreter import RunEvent, RunOptions, run_program

from .fake_messages_api import FakeMessagesAPI, Reply
from .tshelpers import process_alive

SECRET = "sk-ant-test-tools-0123456789-do-not-leak"
HIDDEN = "CONFIDENTIAL-PAYROLL-4471"  # content the session must never get back


def _env(api: FakeMessagesAPI) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": api.base_url})
    return env


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("def add(a, b):\n    return a + b\n")
    (ws / "NOTES.md").write_text("Remember to review add().\n")
    (ws / "private").mkdir()
    (ws / "private" / "payroll.txt").write_text(HIDDEN + "\n")
    (tmp_path / "elsewhere.txt").write_text(HIDDEN + " outside\n")
    (ws / "shortcut.txt").symlink_to(tmp_path / "elsewhere.txt")
    return ws


def _run_cli(ws: Path, api: FakeMessagesAPI, program: str, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    (ws / "p.prose").write_text(program)
    proc = subprocess.run(
        [sys.executable, "-m", "prose_cli", "run", "--json", "--backend", "anthropic", *extra, "p.prose"],
        cwd=ws, env=_env(api), capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, events


REVIEWER = (
    "agent reviewer:\n"
    '  prompt: "You review code"\n'
    "  permissions:\n"
    '    read: ["src/**/*.py", "*.md"]\n'
    '    write: ["reports/"]\n'
    "    bash: allow\n"
    "    network: deny\n"
    "output review = session: reviewer\n"
    '  prompt: "Review src/ and write a report"\n'
)


def test_session_reads_writes_and_runs_refusing_what_permissions_exclude(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    api.enqueue(
        Reply.tools(("read", {"file_path": "src/app.py"}), ("read", {"file_path": "private/payroll.txt"}),
                    ("read", {"file_path": "shortcut.txt"}), text="Reading the code first."),
        Reply.tools(("bash", {"command": "python3 -c 'print(2 + 3)'"}),
                    ("write", {"file_path": "reports/review.md", "content": "# Review\nadd() is fine.\n"}),
                    ("write", {"file_path": "src/app.py", "content": "oops"})),
        Reply.ok("Reviewed: add() is correct; report in reports/review.md", input_tokens=40, output_tokens=9),
    )
    proc, events = _run_cli(ws, api, REVIEWER)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    end = events[-1]
    assert end["type"] == "run.end" and end["status"] == "ok"
    assert end["outputs"]["review"].startswith("Reviewed: add() is correct")

    # The work happened on disk: the report exists, the refused write did not happen.
    assert (ws / "reports" / "review.md").read_text() == "# Review\nadd() is fine.\n"
    assert (ws / "src" / "app.py").read_text().startswith("def add")

    # What the model was told, turn by turn.
    first, second, third = [r for r in api.requests if r.reply_status == 200]
    assert first.tool_names == ["read", "glob", "grep", "write", "edit", "bash"]  # no web tools: network deny
    results = second.tool_results
    assert "def add(a, b)" in results[0]["content"] and not results[0].get("is_error")
    assert results[1]["is_error"] and "permission denied" in results[1]["content"]
    assert results[2]["is_error"] and "permission denied" in results[2]["content"]
    bash_result, write_ok, write_refused = third.tool_results
    assert bash_result["content"] == "5"
    assert "wrote" in write_ok["content"]
    assert write_refused["is_error"] and "reports/" in write_refused["content"]

    # Events: every call, with status and the rule for refusals.
    tools = [(e["tool"], e["status"], e.get("rule")) for e in events if e["type"] == "tool.end"]
    assert tools == [
        ("read", "ok", None),
        ("read", "denied", "read: ['src/**/*.py', '*.md']"),
        ("read", "denied", "read: ['src/**/*.py', '*.md']"),
        ("bash", "ok", None),
        ("write", "ok", None),
        ("write", "denied", "write: ['reports/']"),
    ]
    session = next(e for e in events if e["type"] == "session.start")["session"]
    assert all(e["session"] == session for e in events if e["type"].startswith("tool."))

    # The refused content is nowhere: not in any request, event, binding, state file or output.
    for request in api.requests:
        assert HIDDEN not in request.raw and SECRET not in request.raw
    assert HIDDEN not in proc.stdout and HIDDEN not in proc.stderr and SECRET not in proc.stdout
    run_files = [p for p in (ws / ".prose").rglob("*") if p.is_file()]
    assert any(p.name == "state.md" for p in run_files)
    for path in run_files:
        text = path.read_text(errors="replace")
        assert HIDDEN not in text and SECRET not in text, path
    state = next(p for p in run_files if p.name == "state.md").read_text()
    assert "tool read denied (read: ['src/**/*.py', '*.md']): private/payroll.txt" in state
    assert "tool write ok: reports/review.md" in state


def test_bash_deny_offers_no_bash_and_network_allow_offers_web_tools(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    search_result = [{"type": "web_search_result", "url": "https://example.org/trio", "title": "Trio",
                      "encrypted_content": "abc", "page_age": None}]
    api.enqueue(
        Reply(text="Searched.", server_calls=(("web_search", {"query": "trio structured concurrency"}, search_result),)),
    )
    program = (
        "agent researcher:\n"
        "  permissions:\n"
        "    bash: deny\n"
        "    write: deny\n"
        "    network: allow\n"
        'session: researcher\n  prompt: "Research trio"\n'
    )
    proc, events = _run_cli(ws, api, program)
    assert proc.returncode == 0, proc.stderr
    request = api.requests[0]
    assert request.tool_names == ["read", "glob", "grep", "web_search", "web_fetch"]
    assert {t["type"] for t in request.body["tools"] if t["name"].startswith("web")} == {
        "web_search_20260209", "web_fetch_20260209"}
    web = [e for e in events if e["type"] == "tool.end" and e["tool"] == "web_search"]
    assert web and web[0]["status"] == "ok" and web[0]["summary"] == "trio structured concurrency"


def test_bash_prompt_without_a_terminal_is_a_refusal_the_model_sees(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    api.enqueue(Reply.tools(("bash", {"command": "touch made-by-bash"})), Reply.ok("could not run it"))
    program = 'agent fixer:\n  permissions:\n    bash: prompt\nsession: fixer\n  prompt: "Fix it"\n'
    proc, events = _run_cli(ws, api, program)
    assert proc.returncode == 0, proc.stderr
    result = api.requests[1].tool_results[0]
    assert result["is_error"] and "nobody could be asked" in result["content"] and "--yes" in result["content"]
    assert not (ws / "made-by-bash").exists()
    end = next(e for e in events if e["type"] == "tool.end")
    assert end["status"] == "denied" and end["rule"] == "bash: prompt (no one to ask)"

    # --yes answers the same question with yes.
    api.enqueue(Reply.tools(("bash", {"command": "touch made-by-bash"})), Reply.ok("ran it"))
    proc, events = _run_cli(ws, api, program, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert (ws / "made-by-bash").exists()


def test_tool_turn_cap_fails_the_session_with_a_clear_message(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    for _ in range(3):
        api.enqueue(Reply.tools(("glob", {"pattern": "*.md"})))
    proc, events = _run_cli(ws, api, 'session "Loop forever"\n', "--max-tool-turns", "2")
    assert proc.returncode == 1, proc.stderr
    end = events[-1]
    assert end["status"] == "failed"
    assert "stopped after 2 model turns" in end["error"] and "--max-tool-turns" in end["error"]
    assert len([r for r in api.requests if r.reply_status == 200]) == 2


def test_skill_folder_gives_the_agent_its_instructions_and_files(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    skill = ws / "skills-local" / "changelog"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: changelog\ndescription: Writes changelog entries in house style\n---\n"
        "Always start entries with the date. See template.md.\n"
    )
    (skill / "template.md").write_text("DATE - CHANGE\n")
    api.enqueue(Reply.tools(("read", {"file_path": "skills-local/changelog/template.md"})), Reply.ok("entry"))
    program = (
        'import "changelog" from "./skills-local/changelog"\n'
        "agent writer:\n"
        '  prompt: "You write release notes"\n'
        '  skills: ["changelog"]\n'
        "  permissions:\n"
        '    read: ["src/"]\n'
        'session: writer\n  prompt: "Write the changelog"\n'
    )
    proc, _ = _run_cli(ws, api, program)
    assert proc.returncode == 0, proc.stderr
    system = api.requests[0].body["system"]
    assert system.startswith("You write release notes")
    assert '<skill name="changelog" folder="skills-local/changelog">' in system
    assert "Always start entries with the date" in system and "skills-local/changelog/template.md" in system
    # The skill's own files are readable even though read: covers only src/.
    assert api.requests[1].tool_results[0]["content"] == "DATE - CHANGE\n"


def test_unloadable_skill_is_a_run_time_error_naming_it(fake_messages_api: FakeMessagesAPI, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    program = ('import "summarizer" from "npm:@example/summarizer"\n'
               'agent a:\n  skills: ["summarizer"]\nsession: a\n  prompt: "Summarize"\n')
    proc, events = _run_cli(ws, fake_messages_api, program)
    assert proc.returncode == 1
    end = events[-1]
    assert end["status"] == "failed" and "skill 'summarizer'" in end["error"] and ".prose/skills/summarizer" in end["error"]
    assert end["line"] == 3  # the skills: entry that names it
    assert fake_messages_api.requests == []  # nothing was sent


def test_large_context_goes_by_reference_to_its_binding_file(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    big = "line of findings\n" * 3000  # ~51,000 characters
    api.route("Gather everything", Reply.ok(big), times=1)
    program = ('let findings = session "Gather everything"\n'
               'output short = session "Condense the findings"\n  context: findings\n')

    async def main() -> None:
        backend = make_backend("anthropic", config=BackendConfig(base_url=api.base_url),
                               env={"ANTHROPIC_API_KEY": SECRET})
        path = ws / "p.prose"
        path.write_text(program)
        events: list[RunEvent] = []

        def on_event(event: RunEvent) -> None:
            events.append(event)
            if event.type == "session.start" and event.prompt and "Condense" in event.prompt:
                binding = next((ws / ".prose" / "runs").glob("*/bindings/findings.md"))
                api.enqueue(Reply.tools(("read", {"file_path": str(binding.relative_to(ws)),
                                                  "view_range": [1, 12]})),
                            Reply.ok("condensed"))

        try:
            result = await run_program(program.encode(), path, backend=backend, workdir=ws, on_event=on_event,
                                       options=RunOptions(inline_context_limit=20_000), ask_permission=None)
        finally:
            await backend.aclose()
        assert result.status == "ok", result.error
        assert result.outputs == {"short": "condensed"}

    trio.run(main)
    condense = next(r for r in api.requests if "Condense" in r.raw)
    assert len(condense.raw) < 10_000  # the 51 KB value was not inlined
    assert "too large to include here" in condense.user_text and "bindings/findings.md" in condense.user_text
    read_back = api.requests[-1].tool_results[0]
    assert not read_back.get("is_error") and "line of findings" in read_back["content"]


async def test_first_race_kills_the_losing_branch_bash_tree_within_a_second(
    fake_messages_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    api = fake_messages_api
    ws = _workspace(tmp_path)
    pid_file = ws / "sleeper.pid"
    api.route("Slow branch", Reply.tools(("bash", {"command": f"(sleep 300 & echo $! > {pid_file}; wait)"})))
    api.route("Quick branch", Reply(text="quick wins", delay=1.0))
    program = ('agent worker:\n  permissions:\n    bash: allow\n'
               'let w = parallel (first):\n  session: worker\n    prompt: "Quick branch"\n'
               '  session: worker\n    prompt: "Slow branch"\noutput w = w\n')
    path = ws / "race.prose"
    path.write_text(program)
    backend = make_backend("anthropic", config=BackendConfig(base_url=api.base_url), env={"ANTHROPIC_API_KEY": SECRET})
    events: list[RunEvent] = []
    ended_at: list[float] = []

    def on_event(event: RunEvent) -> None:
        events.append(event)
        if event.type == "session.end" and event.status == "cancelled":
            ended_at.append(time.monotonic())

    try:
        result = await run_program(program.encode(), path, backend=backend, workdir=ws, on_event=on_event)
    finally:
        await backend.aclose()
    assert result.status == "ok" and result.outputs == {"w": "quick wins"}
    child = int(pid_file.read_text())
    deadline = ended_at[0] + 1.0
    while process_alive(child) and time.monotonic() < deadline:
        await trio.sleep(0.02)
    assert not process_alive(child), "the losing branch's sleep survived its cancellation"
    bash_end = next(e for e in events if e.type == "tool.end" and e.tool == "bash")
    assert bash_end.status == "cancelled"
    assert {e.prompt: e.status for e in events if e.type == "session.end"} == {
        "Quick branch": "ok", "Slow branch": "cancelled"}
