"""Run state on disk: layout, round trips, resume data, secrets, crash safety."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprose.state import RunNotFoundError, RunStateError, RunStore

PROGRAM = 'let research = session "Research AI safety"\n'
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def new_run(tmp_path: Path, **kw: object) -> RunStore:
    return RunStore.create(tmp_path, PROGRAM, "research.prose", secrets=(), **kw)  # type: ignore[arg-type]


def test_create_lays_out_a_run_directory(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    assert RUN_ID.match(store.run_id)
    assert store.run_dir == tmp_path / ".prose" / "runs" / store.run_id
    assert (store.run_dir / "program.prose").read_text() == PROGRAM
    assert store.state_path.read_text() == f"# run:{store.run_id} research.prose\n"
    for sub in ("bindings", "agents", "imports"):
        assert (store.run_dir / sub).is_dir()
    # Nothing half-built is left beside it.
    assert [p.name for p in (tmp_path / ".prose" / "runs").iterdir()] == [store.run_id]


def test_runs_get_distinct_ids_and_are_listed(tmp_path: Path) -> None:
    ids = {new_run(tmp_path).run_id for _ in range(5)}
    assert len(ids) == 5
    assert RunStore.list_runs(tmp_path) == sorted(ids)


def test_open_existing_and_missing_runs(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.mark_statement_done("1", "research")
    again = RunStore.open(tmp_path, store.run_id)
    assert again.run_dir == store.run_dir
    assert again.completed_statements() == {"1"}
    with pytest.raises(RunNotFoundError, match=rf"no run '20200101-000000-abcdef' under .*existing runs: {store.run_id}"):
        RunStore.open(tmp_path, "20200101-000000-abcdef")
    with pytest.raises(RunNotFoundError, match="is not a run id"):
        RunStore.open(tmp_path, "../../etc")
    with pytest.raises(RunNotFoundError, match="no runs there yet"):
        RunStore.open(tmp_path / "elsewhere", "20200101-000000-abcdef")


def test_binding_file_format_and_round_trip(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    path = store.write_binding("research", "AI safety covers...\n", kind="const", source=PROGRAM)
    assert path == store.run_dir / "bindings" / "research.md"
    text = path.read_text()
    assert text.startswith("# research\n\nkind: const\n\nsource:\n```prose\n")
    assert "\n---\n\nAI safety covers...\n" in text
    assert store.read_binding("research") == "AI safety covers...\n"
    store.write_binding("research", "replaced")
    assert store.read_binding("research") == "replaced"
    assert store.read_binding("missing") is None


def test_scoped_bindings(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.write_binding("result", "root")
    store.write_binding("result", "in 43", scope=43)
    store.write_binding("parts", "in 44", scope="44")
    assert "execution_id: 43" in (store.run_dir / "bindings" / "result__43.md").read_text()
    assert store.read_binding("result") == "root"
    assert store.read_binding("result", scope=43) == "in 43"
    assert store.read_binding("result", scope=44) is None
    assert store.bindings() == {"result": "root", "result__43": "in 43", "parts__44": "in 44"}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    value=st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
    | st.sampled_from(["---", "a\n---\nb", "```\n---\n```", "\n\n---\n\n", "```prose\nx\n", "\u2028---\u2028", "\r\n---\r\n"]),
    source=st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=100)
    | st.sampled_from(["---", "```\n---\n```", "````", "x\u2028---\u2028", "---\r"]),
)
def test_any_value_round_trips(tmp_path: Path, value: str, source: str | None) -> None:
    store = RunStore(tmp_path, tmp_path / "run", secrets=())
    (tmp_path / "run" / "bindings").mkdir(parents=True, exist_ok=True)
    store.write_binding("v", value, source=source)
    assert store.read_binding("v") == value


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "1abc", "a b"])
def test_binding_names_cannot_escape_the_run(tmp_path: Path, name: str) -> None:
    store = new_run(tmp_path)
    with pytest.raises(RunStateError, match="invalid binding name"):
        store.write_binding(name, "x")
    with pytest.raises(RunStateError, match="invalid binding scope"):
        store.write_binding("ok", "x", scope="../1")


def test_state_log_and_completed_statements(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.mark_statement_done("1", "research")
    store.append_state("2→ ∥start a,b")
    store.mark_statement_done("2a", "a")
    store.append_state("2→ ∥done")
    store.append_state("3→ loop:1/5")
    store.append_state("4→ ✗ timeout")
    store.mark_statement_done("5", None)
    store.finish()
    lines = store.state_lines()
    assert lines[1:4] == ["1→ research ✓", "2→ ∥start a,b", "2a→ a ✓"]
    assert lines[-2] == "5→ ✓"
    assert re.match(r"^---end \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", lines[-1])
    assert store.completed_statements() == {"1", "2a", "5"}
    with pytest.raises(ValueError, match="single line"):
        store.append_state("two\nlines")
    with pytest.raises(ValueError, match="statement id"):
        store.mark_statement_done("1 2", None)


def test_error_end_marker(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.finish(error="session failed:\n  timeout")
    assert re.match(r"^---error \S+Z session failed: timeout$", store.state_lines()[-1])


def test_torn_state_tail_is_ignored_and_sealed(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.mark_statement_done("1", "a")
    with open(store.state_path, "ab") as f:  # what a crash mid-write could leave
        f.write("2→ b ✓".encode("utf-8")[:-1])  # torn inside the multi-byte check mark
    assert store.completed_statements() == {"1"}
    assert store.state_lines()[-1] == "1→ a ✓"
    store.mark_statement_done("3", "c")
    assert store.state_lines()[-2:] == ["2→ b \ufffd", "3→ c ✓"]
    assert store.completed_statements() == {"1", "3"}


def test_memory_scopes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = new_run(tmp_path, home=home)
    assert store.agent_memory_dir("captain", "true") == store.run_dir / "agents" / "captain"
    assert store.agent_memory_dir("captain", "project") == tmp_path / ".prose" / "agents" / "captain"
    assert store.agent_memory_dir("captain", "user") == home / ".prose" / "agents" / "captain"
    assert store.agent_memory_dir("shared", ".prose/custom/shared-agent/") == tmp_path / ".prose/custom/shared-agent"
    assert store.agent_memory_dir("shared", str(tmp_path / "abs")) == tmp_path / "abs"
    with pytest.raises(RunStateError, match="invalid agent name"):
        store.agent_memory_dir("../x", "true")
    with pytest.raises(RunStateError, match="not persistent"):
        store.agent_memory_dir("x", "false")


def test_memory_and_numbered_segments(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    assert store.read_memory("captain", "true") is None
    first = store.write_memory("captain", "true", "# Agent Memory: captain\nplan A\n", prompt="Review the plan")
    second = store.write_memory("captain", "true", "plan B\n")
    folder = store.run_dir / "agents" / "captain"
    assert (first.name, second.name) == ("captain-001.md", "captain-002.md")
    assert store.read_memory("captain", "true") == "plan B\n"
    seg = first.read_text()
    assert seg.startswith("# Segment 001\n\ntimestamp: ") and 'prompt: "Review the plan"' in seg
    assert seg.endswith("plan A\n")
    assert sorted(p.name for p in folder.iterdir()) == ["captain-001.md", "captain-002.md", "memory.md"]


def test_project_memory_survives_into_the_next_run(tmp_path: Path) -> None:
    new_run(tmp_path).write_memory("advisor", "project", "use postgres")
    later = new_run(tmp_path)
    assert later.read_memory("advisor", "project") == "use postgres"
    assert later.write_memory("advisor", "project", "use sqlite").name == "advisor-002.md"
    assert later.read_memory("advisor", "true") is None


def test_segment_numbers_grow_past_999(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    folder = store.agent_memory_dir("a", "true")
    folder.mkdir(parents=True)
    (folder / "a-999.md").write_text("old")
    assert store.write_memory("a", "true", "new").name == "a-1000.md"
    assert store.write_memory("a", "true", "newer").name == "a-1001.md"


def test_secrets_from_the_environment_are_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-ant-api03-very-secret-value"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    monkeypatch.setenv("HARMLESS", "sk-ant-api03-very-secret-value-not")  # not a credential-like name
    store = RunStore.create(tmp_path, f'# key {secret}\nsession "hi"\n', "p.prose")
    store.write_binding("echo", f"the key is {secret}", source=f"let echo = {secret}")
    store.append_state(f"1→ echo ✓ {secret}")
    store.write_memory("a", "true", f"remember {secret}", prompt=secret)
    for path in store.run_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(), path
    assert store.read_binding("echo") == "the key is [redacted]"


def test_import_runs_nest_with_the_same_layout(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    child = store.import_store("alice", "research", "session 'x'\n")
    assert child.run_dir == store.run_dir / "imports" / "alice--research"
    assert (child.run_dir / "program.prose").read_text() == "session 'x'\n"
    child.write_binding("findings", "f")
    assert child.read_binding("findings") == "f"
    assert store.read_binding("findings") is None
    with pytest.raises(RunStateError):
        store.import_store("..", "x", "")


# --------------------------------------------------------------------------- crash safety

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from openprose.state import RunStore

    store = RunStore.open(Path(sys.argv[1]), sys.argv[2], secrets=())
    start = int(sys.argv[3])
    i = start
    while True:
        body = f"{i}:" + ("x" * ((i * 7919) % 200_000)) + f":{i}"
        store.write_binding("data", body)
        store.write_binding("part", body, scope=i % 3)
        store.mark_statement_done(str(i), "data")
        store.append_state(f"{i}→ note " + "y" * (i % 50))
        if i % 5 == 0:
            store.write_memory("agent", "true", body)
        if i == start:
            print("ready", flush=True)  # one full round is on disk; from here the kill lands anywhere
        i += 1
    """
)


def _check_value(value: str | None) -> int:
    assert value is not None
    m = re.fullmatch(r"(\d+):(x*):(\d+)", value)
    assert m, f"torn value of length {len(value)}"
    i = int(m.group(1))
    assert m.group(3) == m.group(1) and len(m.group(2)) == (i * 7919) % 200_000
    return i


def test_sigkill_at_any_moment_leaves_every_file_whole(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    start = 0
    for delay in (0.05, 0.13, 0.21, 0.3, 0.37, 0.44):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), store.run_id, str(start)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

        latest = _check_value(store.read_binding("data"))
        for key, value in store.bindings().items():
            assert key in {"data", "part__0", "part__1", "part__2"}
            _check_value(value)
        memory = store.read_memory("agent", "true")
        if memory is not None:
            _check_value(memory)
        lines = store.state_lines()
        assert lines[0].startswith("# run:")
        for line in lines[1:]:
            assert re.fullmatch(r"\d+→ (data ✓|note y*)", line), line
        done = store.completed_statements()
        # The binding is written before its marker, so the marker may lag by one.
        assert str(latest) in done or str(latest - 1) in done
        assert latest >= start  # the writer made progress in this round
        assert str(start) in done
        start = max(int(x) for x in done) + 1
    assert start > 6  # several rounds each wrote something
