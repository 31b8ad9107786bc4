"""What `prose run` prints, through the real CLI in subprocesses and on a pseudo-terminal.

Covers: outputs printed whole (pipes and terminals), --max-output, --output NAME,
an honest live tree (⊘ after Ctrl-C, conditions and choices with answers,
simulated answers labelled, plurals), unknown and missing inputs, resume exactly
as printed after SIGINT, and `prose runs`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from .ptyhelpers import PtyProcess

PROSE = [sys.executable, "-m", "prose_cli"]
BOX = set("─│┌┐└┘╭╮╰╯━┃")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env.update(extra)
    return env


def _prose(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROSE, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env=kw.pop("env", _env()), **kw)


def _files(tmp_path: Path, program: str, script: dict) -> tuple[Path, Path]:
    path = tmp_path / "p.prose"
    path.write_text(program)
    script_path = tmp_path / "script.json"
    script_path.write_text(json.dumps(script))
    return path, script_path


LONG = "\n".join(f"line {i}: " + "word " * 12 for i in range(60))  # ~4,500 characters, 60 lines


def test_piped_output_is_whole_plain_text(tmp_path: Path) -> None:
    path, script = _files(tmp_path, 'output report = session "Write the report"\n',
                          {"sessions": [{"match": "report", "output": LONG}]})
    proc = _prose(["run", "--backend", "scripted", "--script", str(script), str(path)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert LONG in proc.stdout  # every line, every character, line breaks kept
    assert not BOX & set(proc.stdout)
    assert "\x1b[" not in proc.stdout
    assert "1 session," in proc.stdout and "1 sessions" not in proc.stdout


def test_max_output_shortens_and_says_so(tmp_path: Path) -> None:
    path, script = _files(tmp_path, 'output report = session "Write the report"\n',
                          {"sessions": [{"match": "report", "output": LONG}]})
    proc = _prose(["run", "--max-output", "100", "--backend", "scripted", "--script", str(script), str(path)],
                  tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert LONG[:100] in proc.stdout and LONG[:101] not in proc.stdout
    assert f"{len(LONG) - 100} more characters" in proc.stdout


def test_output_name_prints_raw_text_only(tmp_path: Path) -> None:
    path, script = _files(
        tmp_path,
        'let draft = session "Draft"\noutput report = session "Write the report"\noutput title = session "Title"\n',
        {"sessions": [{"match": "report", "output": LONG}, {"match": "Title", "output": "T"}],
         "default": {"output": "d"}},
    )
    proc = _prose(["run", "--output", "report", "--backend", "scripted", "--script", str(script), str(path)],
                  tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == LONG
    assert "run ok" in proc.stderr  # the summary still says how it went, on stderr
    proc = _prose(["run", "--output", "nosuch", "--backend", "scripted", "--script", str(script), str(path)],
                  tmp_path)
    assert proc.returncode == 2
    assert "no output 'nosuch'; it declares: report, title" in proc.stderr
    assert len(list((tmp_path / ".prose" / "runs").iterdir())) == 1  # refused before anything ran


def test_unknown_input_names_the_declared_ones(tmp_path: Path) -> None:
    path, _ = _files(tmp_path, 'input topic: "What to write about"\ninput tone: "How it should sound"\n'
                               'output text = session "Write about {topic}, {tone}"\n', {})
    proc = _prose(["run", "--backend", "simulated", "--input", "topic=owls", "--input", "tnoe=dry", str(path)],
                  tmp_path)
    assert proc.returncode == 2
    assert "has no input 'tnoe'; it declares: topic, tone" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _prose(["run", "--backend", "simulated", str(path)], tmp_path, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "missing inputs: topic, tone" in proc.stderr


def test_conditions_choices_and_simulated_labels_in_plain_output(tmp_path: Path) -> None:
    program = (
        'let n = 0\n'
        'loop until **the draft is good** (max: 5):\n'
        '  session "Improve the draft"\n'
        'choice **which tone fits best**:\n'
        '  option "formal":\n'
        '    session "Formal version"\n'
        '  option "casual":\n'
        '    session "Casual version"\n'
        'output final = session "Final"\n'
    )
    path, script = _files(tmp_path, program, {
        "conditions": [{"match": "draft is good", "answers": [False, False, True]}],
        "choices": [{"match": "tone", "option": "casual"}],
        "default": {"output": "x"},
    })
    proc = _prose(["run", "--backend", "scripted", "--script", str(script), str(path)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    answers = re.findall(r"condition \*\*the draft is good\*\* -> (\w+)", proc.stdout)
    assert answers == ["no", "no", "yes"]
    assert "choice **which tone fits best** -> casual" in proc.stdout
    assert "Casual version" in proc.stdout and "Formal version" not in proc.stdout
    assert "simulated" not in proc.stdout  # scripted answers are not called simulated
    proc = _prose(["run", "--backend", "simulated", str(path)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--- output final (simulated placeholder) ---" in proc.stdout
    assert "simulated backend: every answer is a placeholder" in proc.stdout
    assert "3 sessions," in proc.stdout or re.search(r"\d+ sessions,", proc.stdout)


def test_json_events_carry_condition_answers(tmp_path: Path) -> None:
    path, script = _files(tmp_path, 'if **it is raining**:\n  session "Umbrella"\nelse:\n  session "Sun"\n',
                          {"conditions": [{"match": "raining", "answers": [True]}], "default": {"output": "x"}})
    proc = _prose(["run", "--json", "--backend", "scripted", "--script", str(script), str(path)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    condition = next(e for e in events if e["type"] == "condition")
    assert condition["prompt"] == "it is raining" and condition["answer"] == "yes"
    assert condition["line"] == 1


# ------------------------------------------------------------------ terminal


def test_missing_input_is_asked_for_on_a_terminal(tmp_path: Path) -> None:
    path, _ = _files(tmp_path, 'input topic: "What should the poem be about?"\n'
                               'output poem = session "Write a poem about {topic}"\n', {})
    term = PtyProcess([*PROSE, "run", "--backend", "simulated", str(path)], cwd=tmp_path, env=_env())
    term.expect(r"input topic: What should the poem be about\?")
    term.send("autumn owls\n")
    code, text = term.finish()
    assert code == 0, text
    assert "Write a poem about autumn owls" in text
    assert "output poem" in text and "simulated placeholder" in text
    run = next((tmp_path / ".prose" / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["inputs"] == {"topic": "autumn owls"}


def test_terminal_shows_outputs_whole_and_judgements_with_answers(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    program = repo / "examples" / "loops.prose"
    script = tmp_path / "script.json"
    script.write_text(json.dumps({
        "conditions": [{"match": "reads well", "answers": [False, True]},
                       {"match": "too abrupt", "answers": [False]}, {"match": "too long", "answers": [True]}],
        "choices": [{"match": "which title", "option": "After the Storm"}],
        "default": {"output": LONG},
    }))
    term = PtyProcess([*PROSE, "run", "--backend", "scripted", "--script", str(script), str(program)],
                      cwd=tmp_path, env=_env(), columns=140)
    code, text = term.finish(timeout=60)
    assert code == 0, text
    last = text[text.rindex("loops.prose"):]
    assert re.search(r"◆ \*\*the story reads well from start to end\*\* → yes  \(checked 2×: no, yes\)", last), last
    assert "◆ **the ending is too abrupt** → no" in last and "◆ **the ending is too long** → yes" in last
    assert "◆ choice **which title suits the story best** → After the Storm" in last
    assert "output title" in last
    for line in LONG.splitlines():  # every line of the 4,500-character output, each on its own row
        assert re.search(r"│ " + re.escape(line.rstrip()) + r"\s*│", last), line


def test_live_tree_after_ctrl_c_marks_everything_unfinished_cancelled(tmp_path: Path) -> None:
    program = (
        'let topics = ["a", "b", "c"]\n'
        'let done = session "Quick start"\n'
        'let notes = topics | pmap:\n'
        '  session "Research {item} slowly"\n'
    )
    path, script = _files(tmp_path, program, {
        "sessions": [{"match": "Quick", "output": "q"}, {"match": "slowly", "delay": 60, "output": "late"}],
    })
    term = PtyProcess([*PROSE, "run", "--backend", "scripted", "--script", str(script), str(path)],
                      cwd=tmp_path, env=_env())
    term.expect(r"Research c slowly")
    time.sleep(0.3)
    term.interrupt()
    code, text = term.finish()
    assert code == 130, text
    last = text[text.rindex("p.prose"):]  # the final frame of the live display
    items = re.findall(r"(\S) item\[(\d)\]", last)
    assert sorted(i for _, i in items) == ["0", "1", "2"], last
    assert {mark for mark, _ in items} == {"⊘"}, last
    assert re.search(r"⊘ L3 pmap", last), last
    assert re.search(r"✓ done = Quick start", last), last
    assert "1 session done" in last and "run cancelled" in last
    (run,) = (tmp_path / ".prose" / "runs").iterdir()
    assert (run / "state.md").read_text().splitlines()[-1].endswith("the run was cancelled")
    assert "continue with: prose run --resume" in text


# -------------------------------------------------------------------- resume


def test_resume_exactly_as_printed_after_sigint(tmp_path: Path) -> None:
    program = (
        'input product: "What we launch"\n'
        'let first = session "Quick look at {product}"\n'
        'let second = session "Slow study of {product}"\n'
        'output summary = session "Summarize {product}"\n'
        '  context: { first, second }\n'
    )
    path, script = _files(tmp_path, program, {
        "sessions": [{"match": "Slow", "delay": 60, "output": "slow"}],
        "default": {"output": "fine"},
    })
    secret = "sk-ant-test-0123456789abcdef"
    args = [*PROSE, "run", "--backend", "scripted", "--script", str(script), "--input", "product=kettle",
            "--model-alias", "sonnet=claude-test-model", str(path)]
    proc = subprocess.Popen(args, cwd=tmp_path, env=_env(ANTHROPIC_API_KEY=secret), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        if "first = Quick look at kettle" in line:
            break
        assert time.monotonic() < deadline, "the first session never finished"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    printed = re.search(r"continue with: (prose run --resume \S+)\s*$", err)
    assert printed, err

    listing = _prose(["runs"], tmp_path)
    assert re.search(r"cancelled\s+\S+ \S+\s+yes\s+" + re.escape(str(path)), listing.stdout), listing.stdout

    # The script no longer stalls; the resume must find it through the run's record.
    script.write_text(json.dumps({"sessions": [{"match": "Slow", "output": "slow"}],
                                  "default": {"output": "resumed fine"}}))
    command = shlex.split(printed.group(1))
    assert command[:3] == ["prose", "run", "--resume"] and len(command) == 4  # nothing else needed
    # The key in the environment must not switch the resumed run to the Anthropic backend.
    done = subprocess.run([*PROSE, *command[1:]], cwd=tmp_path, env=_env(ANTHROPIC_API_KEY=secret),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Quick look" not in done.stdout  # finished before the interrupt: not run again
    assert "second = Slow study of kettle" in done.stdout
    assert "--- output summary ---\nresumed fine" in done.stdout

    run_dir = tmp_path / ".prose" / "runs" / command[3]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["inputs"] == {"product": "kettle"}
    assert record["backend"] == "scripted" and record["script"] == str(script.resolve())
    assert record["model_aliases"] == {"sonnet": "claude-test-model"}
    for file in run_dir.rglob("*"):
        if file.is_file():
            assert secret not in file.read_text(errors="replace"), file
    listing = _prose(["runs", "--json"], tmp_path)
    (entry,) = json.loads(listing.stdout)
    assert entry["status"] == "ok" and entry["resumable"] is False


def test_resume_of_unknown_run_and_runs_on_empty_dir(tmp_path: Path) -> None:
    proc = _prose(["run", "--resume", "20990101-000000-abcdef"], tmp_path)
    assert proc.returncode == 2 and "no run '20990101-000000-abcdef'" in proc.stderr
    proc = _prose(["runs"], tmp_path)
    assert proc.returncode == 0 and "no runs under" in proc.stdout
    proc = _prose(["run"], tmp_path)
    assert proc.returncode == 2 and "give a program file" in proc.stderr
