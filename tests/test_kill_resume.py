"""Kill-and-resume: SIGKILL a parallel program at random moments, resume until it ends,
and count, through the scripted backend's call log, that every session ran exactly once.

This is the guarantee behind `prose run --resume`: a call that finished before
the kill is answered from the run's journal (`calls.jsonl`), at any depth
(iterations of a `parallel for`, branches of a `parallel`, a block called from a
branch, a judged condition, loop iterations), and a call that was in flight runs again.
A clean run of the same program gives the expected counts. Seeded, so a
failure names the kill schedule that caused it.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

PROGRAM = """\
block review(topic):
  session "Review {topic}"

let topics = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
let drafts = parallel for t in topics:
  let d = session "Draft {t}"
  session "Polish {t} using {d}"
parallel:
  a = session "Branch A"
  b = do review("B")
  c = session "Branch C"
if **the drafts are ready**:
  loop (max: 2):
    session "Refine the text"
output summary = session "Summarize {a} {c}"
"""

PROSE = [sys.executable, "-m", "prose_cli"]
#: Kills per test run; PROSE_HARNESS_SCALE=5 makes it 50 (how docs/reliability.md's figures were taken).
KILLS = 10 * int(os.environ.get("PROSE_HARNESS_SCALE", "1"))
SEED = 20261201


def _script(tmp: Path, slow: float = 0.0) -> Path:
    script: dict = {
        "sessions": [
            {"match": "Draft", "delay": 0.15, "output": "a draft"},
            {"match": "Polish", "delay": 0.1, "output": "polished"},
            {"match": "Branch A", "delay": 0.3, "output": "A done"},
            {"match": "Branch C", "delay": 0.2, "output": "C done"},
            {"match": "Review", "delay": 0.25, "output": "reviewed"},
            {"match": "Refine", "delay": 0.1, "output": "refined"},
            {"match": "Summarize", "delay": 0.1, "output": "the summary"},
        ],
        # One answer, always the same: the scripted backend's answer lists and `times` restart in
        # every process, so a sequence would differ between the killed and the resumed process.
        "conditions": [{"match": "drafts are ready", "answers": [True]}],
        "call_log": "calls.jsonl",
    }
    if slow:  # the concurrent-resume test needs a run that is still going when the second one starts
        script["sessions"].insert(0, {"match": "Branch A", "delay": slow, "output": "A done"})
    path = tmp / "script.json"
    path.write_text(json.dumps(script))
    return path


def _counts(log: Path) -> collections.Counter[str]:
    if not log.exists():
        return collections.Counter()
    return collections.Counter(
        f"{entry['kind']}: {entry['prompt']}" for entry in map(json.loads, log.read_text().splitlines()) if entry
    )


class _Run:
    """A `prose run --json` process whose output goes to files (never lost to a pipe buffer)."""

    _n = 0

    def __init__(self, tmp: Path, script: Path, *extra: str) -> None:
        _Run._n += 1
        self.out = tmp / f"out-{_Run._n}.jsonl"
        self.err = tmp / f"err-{_Run._n}.txt"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), *extra,
                 str(tmp / "p.prose")], cwd=tmp, stdout=out, stderr=err,
            )

    def run_id(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.out.read_text().splitlines()
            if lines:
                first = json.loads(lines[0])
                assert first["type"] == "run.start", first
                return Path(first["run_dir"]).name
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode} before run.start: {self.err.read_text()}")
            time.sleep(0.01)
        raise AssertionError("no run.start")

    def finish(self, timeout: float = 120) -> tuple[int, list[dict], str]:
        code = self.proc.wait(timeout=timeout)
        return code, [json.loads(line) for line in self.out.read_text().splitlines()], self.err.read_text()


def test_clean_run_counts(tmp_path: Path) -> None:
    """The reference: what one uninterrupted run calls (also checks the program itself)."""
    counts, _ = _clean(tmp_path)
    assert counts["session: Refine the text"] == 2 and counts["judge: the drafts are ready"] == 1
    assert sum(v for k, v in counts.items() if k.startswith("session:")) == 6 * 2 + 3 + 2 + 1
    assert set(counts.values()) == {1, 2}


def _clean(tmp: Path) -> tuple[collections.Counter[str], dict]:
    (tmp / "p.prose").write_text(PROGRAM)
    script = _script(tmp)
    proc = subprocess.run(
        [*PROSE, "run", "--json", "--backend", "scripted", "--script", str(script), str(tmp / "p.prose")],
        cwd=tmp, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return _counts(tmp / "calls.jsonl"), json.loads(proc.stdout.splitlines()[-1])


def test_sigkill_at_random_moments_then_resume_runs_every_session_exactly_once(tmp_path: Path) -> None:
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    expected, clean_end = _clean(clean_dir)
    rng = random.Random(SEED)
    kills = episodes = 0
    deadline = time.monotonic() + 300
    while kills < KILLS:
        # One episode: a fresh run, killed at random moments and resumed until it ends.
        episodes += 1
        work = tmp_path / f"episode-{episodes}"
        work.mkdir()
        (work / "p.prose").write_text(PROGRAM)
        script = _script(work)
        run_id, end = None, None
        while end is None:
            assert time.monotonic() < deadline, f"no completion after {kills} kills"
            run = _Run(work, script) if run_id is None else _Run(work, script, "--resume", run_id)
            current = run.run_id()
            run_id = run_id or current
            assert current == run_id
            if kills < KILLS and rng.random() < 0.8:
                time.sleep(rng.uniform(0.0, 0.9))  # a clean run takes about 1.5 s after run.start
                if run.proc.poll() is None:
                    run.proc.send_signal(signal.SIGKILL)
                    kills += 1
            code, events, err = run.finish()
            if code == -signal.SIGKILL:
                continue
            assert code == 0, err
            assert "Traceback" not in err
            end = events[-1]
        assert end["type"] == "run.end" and end["status"] == "ok"
        assert end["outputs"] == clean_end["outputs"] == {"summary": "the summary"}
        got = _counts(work / "calls.jsonl")
        diff = {k: (got[k], expected[k]) for k in set(got) | set(expected) if got[k] != expected[k]}
        assert not diff, f"episode {episodes} (seed {SEED}): (ran, expected) {diff}"
        state = (work / ".prose" / "runs" / run_id / "state.md").read_text()
        assert state.rstrip().splitlines()[-1].startswith("---end")
    assert kills == KILLS
    print(f"kill-resume: {kills} SIGKILLs over {episodes} runs, {sum(expected.values()) * episodes} calls "
          f"counted, 0 repeated, 0 lost")


def test_two_concurrent_resumes_do_not_both_execute(tmp_path: Path) -> None:
    (tmp_path / "p.prose").write_text(PROGRAM)
    script = _script(tmp_path, slow=5.0)
    first = _Run(tmp_path, script)
    run_id = first.run_id()
    first.proc.send_signal(signal.SIGKILL)
    first.finish(timeout=30)
    a = _Run(tmp_path, script, "--resume", run_id)
    assert a.run_id() == run_id  # a holds the run lock from here on
    b = _Run(tmp_path, script, "--resume", run_id)
    code_b, events_b, err_b = b.finish(timeout=60)
    code_a, events_a, err_a = a.finish()
    assert code_a == 0, err_a
    assert code_b == 2, (events_b, err_b)
    assert "already running" in json.dumps(events_b) + err_b
    assert a.proc.returncode == 0 and events_a[-1]["status"] == "ok"
    clean = tmp_path / "clean"
    clean.mkdir()
    assert _counts(tmp_path / "calls.jsonl") == _clean(clean)[0]  # b ran nothing
