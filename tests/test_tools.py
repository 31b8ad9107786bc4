"""The permission gate and the toolbox, on real files and real processes in a temporary workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from openprose.agents.limits import ToolLimits
from openprose.agents.permissions import (
    DEFAULT_PERMISSIONS,
    Gate,
    PathRule,
    PermissionRequest,
    Permissions,
    command_programs,
    parse_permissions,
)
from openprose.agents.tools import Toolbox, clip, scrubbed_environment
from openprose.redact import Redactor
from .tshelpers import process_alive


@pytest.fixture()
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "deep").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "src" / "app.ts").write_text("export const app = 1;\n")
    (root / "src" / "deep" / "util.js").write_text("module.exports = 2;\n")
    (root / "src" / "secret.env").write_text("TOKEN=hunter2\n")
    (root / "README.md").write_text("# readme\n")
    (root / "docs" / "guide.md").write_text("guide\n")
    (root / ".prose").mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("OUTSIDE-CONTENT\n")
    (root / "link-out").symlink_to(outside)
    return root


def _box(ws: Path, permissions: Permissions = DEFAULT_PERMISSIONS, *, asker=None, events=None, limits=None,
         readable=()) -> Toolbox:
    gate = Gate(permissions, ws, agent="tester", asker=asker, readable=readable, protected=[ws / ".prose"])
    sink = events if events is not None else []
    return Toolbox(gate, limits=limits or ToolLimits(), emit=lambda kind, **f: sink.append((kind, f)), session="s1")


def _perms(**rules: object) -> Permissions:
    permissions, problems = parse_permissions(rules)
    assert problems == []
    return permissions


# ------------------------------------------------------------------ patterns and parsing


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/guide.md", True),  # no slash: any depth, as in .gitignore
        ("src/**/*.ts", "src/app.ts", True),
        ("src/**/*.ts", "src/a/b/c.ts", True),
        ("src/**/*.ts", "src/app.js", False),
        ("output/", "output/report.md", True),
        ("output/", "outputs/report.md", False),
        ("docs", "docs/guide.md", True),  # a directory covers what is inside it
        ("docs/*.md", "docs/sub/x.md", False),
        ("**/*", "anything/at/all.txt", True),
        ("src/[ab].ts", "src/a.ts", True),
        ("src/[!ab].ts", "src/a.ts", False),
    ],
)
async def test_read_patterns(ws: Path, pattern: str, path: str, expected: bool) -> None:
    gate = Gate(_perms(read=[pattern]), ws, agent=None, asker=None)
    decision = gate.path_allowed("read", ws / path)
    assert (decision is None) is expected, decision


def test_parse_permissions_types_and_bad_values() -> None:
    p, problems = parse_permissions({"read": ["*.md"], "write": [], "bash": "deny", "network": "prompt"})
    assert problems == []
    assert p.read == PathRule("allow", ("*.md",)) and p.write.patterns == () and not p.write.offered
    assert (p.bash, p.network) == ("deny", "prompt")
    assert p.explicit == {"read", "write", "bash", "network"}
    p, problems = parse_permissions({"bash": "sometimes", "colour": "red"})
    assert p.bash == "deny" and len(problems) == 2  # an unknown word denies, never allows


def test_defaults_are_documented_values() -> None:
    assert DEFAULT_PERMISSIONS.describe() == [
        "read: allow", "write: prompt", "execute: any program", "bash: prompt", "network: allow",
    ]


@pytest.mark.parametrize(
    ("command", "programs"),
    [
        ("pytest -q", ["pytest"]),
        ("cd src && npm test | tee log.txt", ["cd", "npm", "tee"]),
        ("FOO=1 make build; ./scripts/check.sh", ["make", "./scripts/check.sh"]),
        ("echo 'a && b'", ["echo"]),
    ],
)
def test_command_programs(command: str, programs: list[str]) -> None:
    assert command_programs(command) == programs


@pytest.mark.parametrize("command", ["echo $(cat /etc/passwd)", "echo `id`", "eval rm -rf x"])
def test_command_programs_refuses_what_it_cannot_see(command: str) -> None:
    with pytest.raises(ValueError):
        command_programs(command)


def test_offered_tools_follow_denials(ws: Path) -> None:
    assert Gate(DEFAULT_PERMISSIONS, ws, agent=None, asker=None).offered_tools() == [
        "read", "glob", "grep", "write", "edit", "bash"]
    assert Gate(_perms(write=[], bash="deny"), ws, agent=None, asker=None).offered_tools() == ["read", "glob", "grep"]
    assert Gate(_perms(read="deny", write="deny", execute="deny"), ws, agent=None, asker=None).offered_tools() == []


# ------------------------------------------------------------------ the toolbox on real files


async def test_read_inside_and_refusals_never_return_content(ws: Path) -> None:
    events: list = []
    async with _box(ws, _perms(read=["src/**/*.ts", "*.md"]), events=events) as box:
        ok = await box.call("read", {"file_path": "src/app.ts"})
        assert not ok.is_error and "export const app" in ok.content
        refused = await box.call("read", {"file_path": "src/secret.env"})
        escaped = await box.call("read", {"file_path": "link-out"})
        absolute = await box.call("read", {"file_path": str(ws.parent / "outside.txt")})
    for outcome in (refused, escaped, absolute):
        assert outcome.is_error and outcome.status == "denied"
        assert "hunter2" not in outcome.content and "OUTSIDE-CONTENT" not in outcome.content
    ends = [f for kind, f in events if kind == "tool.end"]
    assert [e["status"] for e in ends] == ["ok", "denied", "denied", "denied"]
    assert ends[1]["rule"] == "read: ['src/**/*.ts', '*.md']"
    assert ends[2]["rule"] == "outside the workspace" or ends[2]["rule"].startswith("read:")
    assert all("hunter2" not in str(e) and "OUTSIDE" not in str(e) for e in ends)


async def test_symlink_out_is_refused_even_with_read_allow(ws: Path) -> None:
    async with _box(ws) as box:
        outcome = await box.call("read", {"file_path": "link-out"})
    assert outcome.status == "denied" and "OUTSIDE-CONTENT" not in outcome.content


async def test_write_patterns_and_run_state_protected(ws: Path) -> None:
    async with _box(ws, _perms(write=["docs/**/*.md"])) as box:
        ok = await box.call("write", {"file_path": "docs/new/page.md", "content": "hello"})
        no = await box.call("write", {"file_path": "src/app.ts", "content": "pwned"})
        state = await box.call("write", {"file_path": ".prose/runs/x/state.md", "content": "forged"})
        through_link = await box.call("edit", {"file_path": "link-out", "old_string": "OUTSIDE", "new_string": "x"})
    assert not ok.is_error and (ws / "docs/new/page.md").read_text() == "hello"
    assert no.status == "denied" and (ws / "src/app.ts").read_text().startswith("export")
    assert state.status == "denied" and not (ws / ".prose/runs").exists()
    assert through_link.status == "denied" and (ws.parent / "outside.txt").read_text() == "OUTSIDE-CONTENT\n"


async def test_write_prompt_asks_and_refusal_is_seen(ws: Path) -> None:
    asked: list[PermissionRequest] = []
    answers = iter([False, True])

    async def asker(request: PermissionRequest) -> bool:
        asked.append(request)
        return next(answers)

    async with _box(ws, asker=asker) as box:  # defaults: write is `prompt`
        first = await box.call("write", {"file_path": "notes.txt", "content": "1"})
        second = await box.call("write", {"file_path": "notes.txt", "content": "2"})
    assert first.status == "denied" and "refused" in first.content
    assert not second.is_error and (ws / "notes.txt").read_text() == "2"
    assert asked[0].question() == "Allow agent 'tester' to use write: notes.txt?"


async def test_prompt_without_anyone_to_ask_says_how_to_allow(ws: Path) -> None:
    async with _box(ws) as box:
        outcome = await box.call("bash", {"command": "echo hi"})
    assert outcome.status == "denied"
    assert "--yes" in outcome.content and "permissions" in outcome.content


async def test_glob_and_grep_hide_what_read_patterns_do_not_cover(ws: Path) -> None:
    async with _box(ws, _perms(read=["*.md", "src/**/*.ts"])) as box:
        listing = await box.call("glob", {"pattern": "**/*"})
        hits = await box.call("grep", {"pattern": "export|TOKEN|guide"})
    assert "src/app.ts" in listing.content and "README.md" in listing.content
    assert "secret.env" not in listing.content and "util.js" not in listing.content
    assert "hidden" in listing.content
    assert "hunter2" not in hits.content and "src/app.ts:1:" in hits.content and "docs/guide.md:1:" in hits.content
    assert str(ws) not in listing.content  # paths are shown relative to the workspace


async def test_bash_runs_in_workspace_with_credentials_scrubbed(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-never-in-a-tool-0001")
    monkeypatch.setenv("MY_ALIAS_KEY", "sk-ant-never-in-a-tool-0001")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    gate = Gate(_perms(bash="allow"), ws, agent=None, asker=None)
    box = Toolbox(gate, limits=ToolLimits(), emit=lambda *a, **k: None, session="s1",
                  redactor=Redactor(["sk-ant-never-in-a-tool-0001"]))
    async with box:
        where = await box.call("bash", {"command": "pwd; env"})
        leaked = await box.call("bash", {"command": "echo sk-ant-never-in-a-tool-0001"})
        failed = await box.call("bash", {"command": "false"})
        ended = await box.call("bash", {"command": "exit 3"})
        fresh = await box.call("bash", {"command": "echo fresh"})
    assert where.content.splitlines()[0] == str(ws.resolve())
    assert "HARMLESS_SETTING=visible" in where.content
    assert "sk-ant-never" not in where.content and "MY_ALIAS_KEY" not in where.content
    assert leaked.content == "[redacted]"  # even a command that prints it hands back no key
    assert failed.is_error and "[exit code 1]" in failed.content
    assert ended.is_error and "ended the shell" in ended.content
    assert fresh.content == "fresh"
    assert "ANTHROPIC_API_KEY" not in scrubbed_environment()


async def test_execute_list_limits_programs(ws: Path) -> None:
    async with _box(ws, _perms(bash="allow", execute=["echo", "scripts/*.sh"])) as box:
        ok = await box.call("bash", {"command": "echo fine"})
        no = await box.call("bash", {"command": "echo a && rm -rf src"})
    assert not ok.is_error and ok.content == "fine"
    assert no.status == "denied" and "'rm'" in no.content and (ws / "src/app.ts").exists()


async def test_bash_timeout_kills_the_command_and_recovers(ws: Path) -> None:
    async with _box(ws, _perms(bash="allow"), limits=ToolLimits(call_timeout=0.5)) as box:
        slow = await box.call("bash", {"command": "sleep 30"})
        after = await box.call("bash", {"command": "echo again"})
    assert slow.is_error and "timed out after 0.5s" in slow.content
    assert not after.is_error and after.content.endswith("again")


async def test_long_output_is_clipped_with_a_note(ws: Path) -> None:
    async with _box(ws, _perms(bash="allow"), limits=ToolLimits(max_output=1000)) as box:
        outcome = await box.call("bash", {"command": "seq 1 5000"})
    assert len(outcome.content) < 1300
    assert outcome.content.startswith("1\n2\n") and outcome.content.rstrip().endswith("5000")
    assert "characters omitted" in outcome.content
    assert clip("short", 10) == "short"


async def test_unknown_tool_and_bad_input_are_errors_not_crashes(ws: Path) -> None:
    async with _box(ws, _perms(bash="deny")) as box:
        unknown = await box.call("bash", {"command": "ls"})
        bad = await box.call("read", {"file_path": 12})
        missing = await box.call("read", {})
    assert unknown.is_error and "no tool named 'bash'" in unknown.content
    assert bad.is_error and missing.is_error



async def test_cancelling_a_session_kills_the_shell_and_its_children(ws: Path) -> None:
    marker = ws / "child.pid"
    box = _box(ws, _perms(bash="allow"))
    with trio.move_on_after(1.0):
        async with box:
            await box.call("bash", {"command": f"(sleep 300 & echo $! > {marker}; wait)"})
    await trio.sleep(0.2)
    child = int(marker.read_text())
    assert not process_alive(child), "the background child of the cancelled shell survived"


async def test_duration_is_the_tools_own_time_not_the_questions(ws: Path, autojump_clock) -> None:
    events: list = []

    async def slow_person(request: PermissionRequest) -> bool:
        await trio.sleep(100)  # a person thinking (virtual time)
        return True

    async with _box(ws, _perms(read="prompt"), asker=slow_person, events=events) as box:
        outcome = await box.call("read", {"file_path": "README.md"})
    assert not outcome.is_error
    end = next(f for kind, f in events if kind == "tool.end")
    assert end["duration"] < 1.0


async def test_secrets_are_redacted_before_arguments_are_shortened(ws: Path) -> None:
    secret = "sk-ant-api03-" + "Q" * 40
    events: list = []
    asked: list[PermissionRequest] = []

    async def asker(request: PermissionRequest) -> bool:
        asked.append(request)
        return False

    gate = Gate(_perms(bash="prompt"), ws, agent=None, asker=asker)
    box = Toolbox(gate, limits=ToolLimits(), emit=lambda kind, **f: events.append(f), session="s1", redactor=Redactor([secret]))
    command = "echo " + "x" * 70 + secret + " " + "y" * 200
    async with box:
        await box.call("bash", {"command": command})
    shown = [str(e.get("summary")) for e in events] + [asked[0].argument]
    for text in shown:
        assert "sk-ant-api03" not in text and "QQQQ" not in text, text
    assert "[redacted]" in asked[0].argument


async def test_a_state_log_that_cannot_be_written_is_kept_not_raised_into_the_tool_loop(ws: Path) -> None:
    def full_disk(line: str) -> None:
        raise OSError(28, "No space left on device")

    gate = Gate(DEFAULT_PERMISSIONS, ws, agent=None, asker=None)
    box = Toolbox(gate, limits=ToolLimits(), emit=lambda *a, **k: None, session="s1", log=full_disk)
    async with box:
        outcome = await box.call("read", {"file_path": "README.md"})
    assert not outcome.is_error  # the call itself worked; the session fails afterwards with the write error
    assert isinstance(box.log_failure, OSError)
