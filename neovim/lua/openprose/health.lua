-- :checkhealth openprose — what is set up and what is missing, with the fix
-- for each problem. Works with the health API of every supported Neovim:
-- vim.health.start/ok/... (0.10+) and require("health").report_* (0.7–0.9).
local util = require("openprose.util")

local M = {}

local function reporter()
  local h = vim.health
  if h and h.start then
    return { start = h.start, ok = h.ok, warn = h.warn, error = h.error, info = h.info }
  end
  local legacy = require("health")
  return {
    start = legacy.report_start,
    ok = legacy.report_ok,
    warn = legacy.report_warn,
    error = legacy.report_error,
    info = legacy.report_info,
  }
end

local function first_line(cmd)
  local out = vim.fn.system(cmd)
  if vim.v.shell_error ~= 0 then
    return nil
  end
  return vim.trim(vim.split(out, "\n")[1] or "")
end

function M.check()
  local r = reporter()
  local openprose = require("openprose")
  local ts = require("openprose.treesitter")
  local cfg = openprose.config

  r.start("openprose: setup")
  local v = vim.version and vim.version() or nil
  local version = v and string.format("%d.%d.%d", v.major, v.minor, v.patch) or "?"
  if util.has("0.7") then
    r.ok("Neovim " .. version)
  else
    r.error("Neovim " .. version .. " is too old", { "OpenProse needs Neovim 0.7 or newer" })
  end
  if openprose._did_setup then
    r.ok('require("openprose").setup() has run')
  else
    r.warn('require("openprose").setup() has not run', { 'call require("openprose").setup({}) in your init.lua' })
  end

  r.start("openprose: Tree-sitter parser")
  if ts.ensure_language() then
    r.ok("parser loaded from " .. tostring(ts.parser_location()))
  elseif ts.is_building() then
    r.warn("the parser is being built right now", { "run :checkhealth openprose again in a few seconds" })
  else
    r.error("no parser", {
      "run :ProseBuildParser! (needs a C compiler), or",
      "pip install the repository (its tree_sitter_openprose package carries a parser), or",
      "with nvim-treesitter: :TSInstall openprose",
    })
  end
  local cc = cfg.cc or vim.env.CC or "cc"
  if vim.fn.executable(cc) == 1 then
    r.ok("C compiler: " .. vim.fn.exepath(cc) .. " (the parser can be built)")
  else
    r.info("no C compiler (" .. cc .. "); the parser must come from elsewhere")
  end
  local python_parser = ts.python_package_parser()
  if python_parser then
    r.ok("the installed Python package has a parser: " .. python_parser)
  else
    r.info("no parser from the Python package (the `prose` command's Python has no tree_sitter_openprose)")
  end
  local missing = {}
  for _, name in ipairs({ "highlights", "folds", "indents", "locals", "injections" }) do
    if #vim.api.nvim_get_runtime_file("queries/openprose/" .. name .. ".scm", true) == 0 then
      table.insert(missing, name)
    end
  end
  if #missing == 0 then
    r.ok("queries found on 'runtimepath' (queries/openprose/)")
  else
    r.warn("queries not on 'runtimepath': " .. table.concat(missing, ", "), {
      "they are read from the grammar directly: " .. ts.grammar_dir() .. "/queries",
    })
  end
  if ts.nvim_treesitter then
    r.ok("registered with nvim-treesitter (" .. ts.nvim_treesitter .. " branch): :TSInstall openprose builds it")
  else
    r.info("nvim-treesitter is not installed (not needed)")
  end

  r.start("openprose: language server")
  local lsp_cfg = cfg.lsp or {}
  if lsp_cfg.enabled == false then
    r.info("disabled (lsp = false)")
    return
  end
  local cmd = lsp_cfg.cmd or { "prose", "lsp" }
  if vim.fn.executable(cmd[1]) == 1 then
    local prose_version = first_line({ cmd[1], "--version" })
    r.ok(vim.fn.exepath(cmd[1]) .. (prose_version and (": " .. prose_version) or ""))
  else
    r.error(cmd[1] .. " is not executable", {
      "install the repository: scripts/demo.sh (into .venv/) or python -m pip install -e .",
      "then set lsp = { cmd = { '/path/to/.venv/bin/prose', 'lsp' } } in setup()",
    })
  end
  if vim.lsp.config and vim.lsp.enable then
    r.ok("started through vim.lsp.config / vim.lsp.enable (Neovim 0.11+)")
  elseif vim.lsp.start then
    r.ok("started with vim.lsp.start for each prose buffer")
  else
    r.ok("started with vim.lsp.start_client (Neovim 0.7)")
  end
end

return M
