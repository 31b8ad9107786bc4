"""The recorded event stream of a real run, replayed through the Neovim run log.

tests/fixtures/run_events.jsonl (recorded from a scripted run, shared with the
Python and VS Code tests) is fed, event by event, to `openprose.runlog.on_event`
in headless Neovim; the test checks the log buffer shows every event where it
should, the run's state and tool calls, the messages, and that the plugin's list
of event kinds is the schema's (docs/run-events.schema.json).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nvim_harness import REPO, lua_string, run_nvim  # noqa: E402
from test_neovim import nvim, parser_so  # noqa: E402, F401 - the same Neovims and parser as the plugin's other tests

FIXTURE = REPO / "tests" / "fixtures" / "run_events.jsonl"
SCHEMA = REPO / "docs" / "run-events.schema.json"
URI = "file:///tmp/openprose-fixture/run_events.prose"


BODY = r"""
local runlog = require("openprose.runlog")
local counts = {}
for _, line in ipairs(vim.fn.readfile(%(fixture)s)) do
  if line ~= "" then
    local event = vim.fn.json_decode(line)
    local before = vim.api.nvim_buf_line_count(runlog.buffer(true))
    runlog.on_event({ uri = %(uri)s, runId = "run-1", event = event })
    local after = vim.api.nvim_buf_line_count(runlog.buffer(false))
    table.insert(counts, { type = event.type, lines = after - before })
  end
end
local log = runlog.buffer(false)
local run = runlog.runs["run-1"]
return {
  log = vim.api.nvim_buf_get_lines(log, 0, -1, false),
  log_visible = #vim.fn.win_findbuf(log) > 0,
  counts = counts,
  kinds = runlog.EVENT_TYPES,
  status = run.status,
  run_dir = run.run_dir,
  tools = vim.tbl_map(function(c)
    return { session = c.session, tool = c.tool, summary = c.summary, status = c.status, rule = c.rule or false }
  end, run.tools),
  sessions = vim.tbl_count(run.sessions),
}
"""


def test_the_recorded_run_in_the_neovim_run_log(nvim, parser_so, tmp_path):
    events = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    res = run_nvim(
        nvim, tmp_path / "replay", BODY % {"fixture": lua_string(FIXTURE), "uri": lua_string(URI)},
        setup_opts={"parser_path": str(parser_so), "lsp": {"enabled": False}},
    )
    assert res["kinds"] == schema["$defs"]["EventType"]["enum"]
    # Every event got its line(s) (the first line of an empty buffer replaces the blank one).
    assert [c["type"] for c in res["counts"]] == [e["type"] for e in events]
    assert all(c["lines"] >= 1 for c in res["counts"][1:]), res["counts"]
    log = "\n".join(res["log"])
    wanted = [
        r'^\[\+0\.00s\] run\.start +run run-1 /tmp/openprose-fixture/run_events\.prose "run_events\.prose"\n'
        r"    run dir: /tmp/openprose-fixture/\.prose/runs/20260101-000000-f1x7re$",
        r'\] input +focus = "What should the review focus on\?"',
        r'\] session\.start plan = "Plan the work on the tests" \(builder, sonnet\)$',
        r"\]   tool\.start  write: notes/plan\.md  ‹ plan$",
        r"\]   tool\.end    \[ok\] write: notes/plan\.md \(\d+\.\d\ds\)  ‹ plan$",
        r"\]   tool\.end    \[ok\] read: notes/plan\.md \(0\.00s\)  ‹ plan$",
        r"\[error\] read: missing\.txt \(0\.00s\)  ‹ plan\n      error: read: missing\.txt: no such file or directory",
        r"\[denied\] write: secret\.txt \(0\.00s\)  ‹ plan\n      denied by: write: \['notes/'\]\n"
        r"      reason: permission denied: secret\.txt is not covered",
        r'\] session\.end   plan = \[ok\] "Plan the work on the tests"$',
        r"\] branch\.start  \[L14 parallel › quick\]$",
        r"\] branch\.start  \[L14 parallel › slow\]$",
        r'\] session\.end   \[L14 parallel › quick\] quick = \[ok\] "Write a quick draft"$',
        r"\] branch\.end    \[L14 parallel › quick\] \[ok\]$",
        r'\] session\.end   \[L14 parallel › slow\] slow = \[cancelled\] "Write a slow draft"$',
        r"\] branch\.end    \[L14 parallel › slow\] \[cancelled\]$",
        r'\] session\.end   \[failed\] "Run the flaky step"\n    error: the step broke',
        r'\] condition     "the draft is good" -> no \(good after one more pass\)$',
        r'\] condition     "the draft is good" -> yes \(good after one more pass\)$',
        r'\] choice        "which reviewer fits the draft" -> Gentle \(the draft is early\)$',
        r'\] warning       EMPTY at line 32\n    message: session "Say nothing" returned no text',
        r'\] session\.end   result = \[ok\] "Summarize 1\. write notes 2\. review them and a quick draft"$',
        r'\] run\.end       \[ok\]\n    outputs: \{"result": ?"the plan, drafted and reviewed"\}\n'
        r"    run dir: /tmp/openprose-fixture/\.prose/runs/20260101-000000-f1x7re$",
    ]
    for pattern in wanted:
        assert re.search(pattern, log, re.M), f"{pattern!r} not in the run log:\n{log}"
    starts = sum(1 for e in events if e["type"] == "session.start")
    assert len(re.findall(r"\] session\.start ", log)) == starts
    assert len(re.findall(r"\] session\.end ", log)) == sum(1 for e in events if e["type"] == "session.end")
    assert res["log_visible"] is True
    assert res["status"] == "ok" and res["run_dir"].endswith("/.prose/runs/20260101-000000-f1x7re")
    assert res["sessions"] == starts
    assert res["tools"] == [
        {"session": "s1", "tool": "write", "summary": "notes/plan.md", "status": "ok", "rule": False},
        {"session": "s1", "tool": "read", "summary": "notes/plan.md", "status": "ok", "rule": False},
        {"session": "s1", "tool": "read", "summary": "missing.txt", "status": "error", "rule": False},
        {"session": "s1", "tool": "write", "summary": "secret.txt", "status": "denied", "rule": "write: ['notes/']"},
    ]
    messages = res["_messages"]
    assert "run run-1 started" in messages and "run run-1 ended: ok" in messages, messages
    assert "denied write: secret.txt (write: ['notes/'])" in messages, messages
