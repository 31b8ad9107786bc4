-- Tree-sitter support: loading the parser, making the queries visible,
-- highlighting, folding and indentation for `prose` buffers, and building
-- the parser from the grammar's C sources.
local util = require("openprose.util")

local M = {}

M.lang = "openprose"

local QUERY_NAMES = { "highlights", "locals", "folds", "indents", "injections" }

local config = {}
local loaded = false
local loaded_from = nil

function M.configure(cfg)
  config = cfg
end

function M.grammar_dir()
  if config.grammar_dir then
    return (vim.fn.fnamemodify(config.grammar_dir, ":p"):gsub("/$", ""))
  end
  return (vim.fn.fnamemodify(util.join(util.plugin_root(), "..", "tree-sitter-openprose"), ":p"):gsub("/$", ""))
end

function M.install_dir()
  if config.parser_install_dir then
    return config.parser_install_dir
  end
  local root = util.plugin_root()
  if vim.fn.filewritable(root) == 2 then
    return util.join(root, "parser")
  end
  return util.join(vim.fn.stdpath("data"), "site", "parser")
end

-- ---------------------------------------------------------------- parser

local function language_known()
  if vim.treesitter.language.inspect then
    -- 0.9+; on 0.11 this also loads a parser found on 'runtimepath'.
    return (pcall(vim.treesitter.language.inspect, M.lang))
  end
  return vim._ts_has_language ~= nil and vim._ts_has_language(M.lang)
end

local function add_language(path)
  local language = vim.treesitter.language
  if language.add then
    local ok, res, err = pcall(language.add, M.lang, path and { path = path } or nil)
    if not ok then
      return false, res
    end
    if res == nil and err then
      return false, err
    end
    return language_known(), nil
  end
  local require_language = language.require_language or vim.treesitter.require_language
  local ok, err = pcall(require_language, M.lang, path)
  if not ok then
    return false, err
  end
  return true, nil
end

local function find_parser_on_rtp()
  for _, ext in ipairs({ "so", "dll", "dylib" }) do
    local hits = vim.api.nvim_get_runtime_file("parser/" .. M.lang .. "." .. ext, false)
    if #hits > 0 then
      return hits[1]
    end
  end
  local built = util.join(M.install_dir(), M.lang .. ".so")
  if util.exists(built) then
    return built
  end
  return nil
end

-- Buffers of filetype `prose` use the `openprose` parser (the names differ).
local function register_filetype()
  if vim.treesitter.language.register then
    vim.treesitter.language.register(M.lang, "prose")
  end
end

local function already_registered()
  return vim._ts_has_language ~= nil and vim._ts_has_language(M.lang)
end

local function load_from(path)
  local ok, err = add_language(path)
  if not ok then
    util.notify("cannot load parser " .. path .. ": " .. tostring(err), vim.log.levels.ERROR, "load:" .. path)
    return false
  end
  loaded, loaded_from = true, path
  return true
end

-- ------------------------------------------------ parser from the Python package

-- The Python interpreter of the installed `prose` command: `python` from
-- setup(), else the one named on the first line of the `prose` script.
local function prose_python()
  if config.python == false then
    return nil
  end
  if type(config.python) == "string" and config.python ~= "" then
    return config.python
  end
  local cmd = config.lsp and type(config.lsp.cmd) == "table" and config.lsp.cmd[1] or "prose"
  local exe = vim.fn.exepath(cmd)
  if exe == "" then
    return nil
  end
  local first = (vim.fn.readfile(exe, "", 1)[1] or "")
  local python = first:match("^#!%s*(%S+python[%d.]*)%s*$")
  if python and vim.fn.executable(python) == 1 then
    return python
  end
  return nil
end

local python_parser_cache = nil

-- `pip install` of this repository compiles the same grammar into the
-- Python package tree_sitter_openprose; its module is also a valid Neovim
-- parser (it exports tree_sitter_openprose), so no compiler is needed.
function M.python_package_parser()
  if python_parser_cache ~= nil then
    return python_parser_cache or nil
  end
  python_parser_cache = false
  local python = prose_python()
  if not python then
    return nil
  end
  local out = vim.fn.system({
    python, "-c", "import tree_sitter_openprose._binding as b; print(b.__file__)",
  })
  local path = vim.v.shell_error == 0 and vim.trim(out) or ""
  if path ~= "" and util.exists(path) then
    python_parser_cache = path
    return path
  end
  return nil
end

-- ----------------------------------------------------------- first-use build

local building = false

local function compiler()
  local cc = config.cc or vim.env.CC or "cc"
  if vim.fn.executable(cc) == 1 then
    return cc
  end
  return nil
end

-- Loads the parser once. Order: `parser_path` from setup(), a parser this
-- session already registered (e.g. through nvim-treesitter),
-- `parser/openprose.so` on 'runtimepath' (where :TSInstall and
-- :ProseBuildParser put it), the installed Python package's parser; else,
-- when a C compiler exists, it is built in the background and every
-- `prose` buffer is attached once it is ready.
function M.ensure_language()
  if loaded then
    return true
  end
  local path = config.parser_path
  if path and path ~= "" then
    if not load_from(vim.fn.fnamemodify(path, ":p")) then
      return false
    end
  elseif already_registered() then
    loaded, loaded_from = true, "(already registered)"
  else
    path = find_parser_on_rtp() or M.python_package_parser()
    if not path then
      if config.auto_build ~= false and compiler() and util.exists(util.join(M.grammar_dir(), "src", "parser.c")) then
        if not building then
          building = true
          util.notify("building the Tree-sitter parser for OpenProse (first use; a few seconds)…")
          M.build_parser({ on_done = function() building = false end })
        end
        return false
      end
      util.notify(
        "no Tree-sitter parser for OpenProse; run :ProseBuildParser (needs a C compiler)",
        vim.log.levels.WARN,
        "noparser"
      )
      return false
    end
    if not load_from(path) then
      return false
    end
  end
  register_filetype()
  return true
end

function M.parser_location()
  return loaded_from
end

function M.is_building()
  return building
end

-- ------------------------------------------------------------ nvim-treesitter

M.nvim_treesitter = nil -- "master" or "main" once registered

-- Tells nvim-treesitter where this grammar lives, so `:TSInstall openprose`
-- builds it from the local sources (no download) and `:TSUpdate` keeps it.
-- Both of its registration styles are served: `get_parser_configs()` on the
-- `master` branch, and the parser table (reloaded on `User TSUpdate`) on
-- `main`. Queries are found on 'runtimepath' in queries/openprose/.
function M.register_nvim_treesitter()
  local ok, parsers = pcall(require, "nvim-treesitter.parsers")
  if not ok or type(parsers) ~= "table" then
    return false
  end
  local grammar = M.grammar_dir()
  if type(parsers.get_parser_configs) == "function" then
    parsers.get_parser_configs()[M.lang] = {
      install_info = {
        url = grammar,
        files = { "src/parser.c", "src/scanner.c" },
        requires_generate_from_grammar = false,
      },
      filetype = "prose",
      maintainers = { "openprose-tooling" },
    }
    M.nvim_treesitter = "master"
  else
    local function add()
      local ok_again, table_now = pcall(require, "nvim-treesitter.parsers")
      if ok_again and type(table_now) == "table" then
        table_now[M.lang] = {
          install_info = { path = grammar, queries = "queries" },
          maintainers = { "openprose-tooling" },
          tier = 2,
        }
      end
    end
    add()
    vim.api.nvim_create_autocmd("User", {
      group = vim.api.nvim_create_augroup("openprose_nvim_treesitter", { clear = true }),
      pattern = "TSUpdate",
      callback = add,
    })
    M.nvim_treesitter = "main"
  end
  register_filetype()
  return true
end

-- ---------------------------------------------------------------- queries

local function query_on_rtp(name)
  return #vim.api.nvim_get_runtime_file("queries/" .. M.lang .. "/" .. name .. ".scm", true) > 0
end

-- The plugin ships queries/openprose/*.scm as links into the grammar. When
-- they are not reachable (plugin copied without the grammar next to it, or
-- the plugin folder is not on 'runtimepath'), the grammar's own files are
-- handed to Neovim directly.
function M.ensure_queries()
  local missing = {}
  for _, name in ipairs(QUERY_NAMES) do
    if not query_on_rtp(name) then
      table.insert(missing, name)
    end
  end
  if #missing == 0 then
    return true
  end
  local set = (vim.treesitter.query and vim.treesitter.query.set) or vim.treesitter.query.set_query
  local dir = util.join(M.grammar_dir(), "queries")
  for _, name in ipairs(missing) do
    local file = util.join(dir, name .. ".scm")
    if util.exists(file) then
      local text = table.concat(vim.fn.readfile(file), "\n")
      local ok, err = pcall(set, M.lang, name, text)
      if not ok then
        util.notify("query " .. name .. ": " .. tostring(err), vim.log.levels.ERROR, "query:" .. name)
      end
    else
      util.notify("query file not found: " .. file, vim.log.levels.WARN, "query:" .. name)
    end
  end
  return true
end

function M.get_query(name)
  local query = vim.treesitter.query
  if query.get then
    return query.get(M.lang, name)
  end
  return query.get_query(M.lang, name)
end

-- -------------------------------------------------------- highlight groups

-- Neovim 0.7 maps capture names to highlight groups through a table that
-- predates the current capture names; without these entries
-- `@keyword.conditional` would fall back to plain `Keyword`, and so on.
local legacy_groups = {
  ["keyword.import"] = "Include",
  ["keyword.function"] = "Keyword",
  ["keyword.type"] = "Structure",
  ["keyword.repeat"] = "Repeat",
  ["keyword.conditional"] = "Conditional",
  ["keyword.exception"] = "Exception",
  ["keyword.operator"] = "Operator",
  ["keyword.modifier"] = "StorageClass",
  ["type.definition"] = "Typedef",
  ["function.call"] = "Function",
  ["variable"] = "Identifier",
  ["variable.parameter"] = "Identifier",
  ["variable.member"] = "Identifier",
  ["module"] = "Include",
  ["attribute"] = "PreProc",
  ["string.special"] = "Special",
  ["string.special.path"] = "Underlined",
  ["string.special.url"] = "Underlined",
  ["punctuation.special"] = "Special",
}

local function install_legacy_groups()
  local highlighter = vim.treesitter.highlighter
  if M.has_start() or not highlighter or type(highlighter.hl_map) ~= "table" then
    return
  end
  for capture, group in pairs(legacy_groups) do
    rawset(highlighter.hl_map, capture, group)
  end
end

function M.has_start()
  return vim.treesitter.start ~= nil
end

-- ---------------------------------------------------------------- attach

local function start_highlight(bufnr)
  if vim.treesitter.start then
    vim.treesitter.start(bufnr, M.lang)
    return
  end
  -- Neovim 0.7
  install_legacy_groups()
  local highlighter = vim.treesitter.highlighter
  if highlighter.active[bufnr] then
    return
  end
  highlighter.new(vim.treesitter.get_parser(bufnr, M.lang))
end

function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not M.nvim_treesitter then
    M.register_nvim_treesitter() -- nvim-treesitter may load after setup()
  end
  if not M.ensure_language() then
    return false
  end
  M.ensure_queries()
  local ok, err = pcall(function()
    if config.highlight ~= false then
      start_highlight(bufnr)
    end
    if config.indent ~= false then
      vim.bo[bufnr].indentexpr = "v:lua.require'openprose.treesitter'.indentexpr()"
      if not vim.bo[bufnr].indentkeys:find("=elif", 1, true) then
        vim.bo[bufnr].indentkeys = vim.bo[bufnr].indentkeys .. ",<:>,0=elif,0=else,0=catch,0=finally"
      end
    end
    if config.fold ~= false then
      for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
        M.set_fold_options(win)
      end
    end
  end)
  if not ok then
    util.notify("Tree-sitter setup failed: " .. tostring(err), vim.log.levels.ERROR, "attach")
    return false
  end
  return true
end

function M.set_fold_options(win)
  if not loaded then
    return
  end
  local wo = vim.wo[win]
  local expr = "v:lua.require'openprose.treesitter'.foldexpr()"
  if vim.treesitter.foldexpr and vim.treesitter.language.register then
    expr = "v:lua.vim.treesitter.foldexpr()"
  end
  if wo.foldmethod == "expr" and wo.foldexpr == expr then
    return -- already set up: keep the window's fold state
  end
  wo.foldmethod = "expr"
  wo.foldexpr = expr
  if config.foldlevel then
    wo.foldlevel = config.foldlevel
  end
end

-- ------------------------------------------------------------------ folds

-- Fold levels for Neovims without vim.treesitter.foldexpr(): computed from
-- folds.scm once per buffer change and cached.
local fold_cache = {}

local function compute_folds(bufnr)
  local parser = vim.treesitter.get_parser(bufnr, M.lang)
  local tree = parser:parse()[1]
  local query = M.get_query("folds")
  local count = vim.api.nvim_buf_line_count(bufnr)
  local levels, starts = {}, {}
  for i = 0, count - 1 do
    levels[i] = 0
  end
  if query then
    local seen = {}
    for _, node in query:iter_captures(tree:root(), bufnr, 0, count) do
      local srow, _, erow, ecol = node:range()
      if ecol == 0 and erow > srow then
        erow = erow - 1
      end
      local key = srow .. ":" .. erow
      if erow > srow and not seen[key] then
        seen[key] = true
        starts[srow] = true
        for row = srow, erow do
          levels[row] = levels[row] + 1
        end
      end
    end
  end
  return { levels = levels, starts = starts }
end

function M.foldexpr(lnum)
  lnum = lnum or vim.v.lnum
  local bufnr = vim.api.nvim_get_current_buf()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local cached = fold_cache[bufnr]
  if not cached or cached.tick ~= tick then
    local ok, folds = pcall(compute_folds, bufnr)
    if not ok then
      return "0"
    end
    cached = { tick = tick, folds = folds }
    fold_cache[bufnr] = cached
  end
  local row = lnum - 1
  local level = cached.folds.levels[row] or 0
  if cached.folds.starts[row] and level > 0 then
    return ">" .. level
  end
  return tostring(level)
end

-- ----------------------------------------------------------------- indent

local function node_at(bufnr, row, col)
  local ok, parser = pcall(vim.treesitter.get_parser, bufnr, M.lang)
  if not ok or not parser then
    return nil
  end
  local tree = parser:parse()[1]
  if not tree then
    return nil
  end
  return tree:root():descendant_for_range(row, col, row, col)
end

-- Whether (row, col) lies inside a string or condition that started on an
-- earlier line: such text keeps the indentation the author gave it.
local function inside_multiline_text(bufnr, row, col)
  local node = node_at(bufnr, row, col)
  while node do
    local t = node:type()
    if t == "string" or t == "condition" then
      return (node:start()) < row
    end
    node = node:parent()
  end
  return false
end

local function strip_comment(line)
  local in_string = false
  for i = 1, #line do
    local c = line:sub(i, i)
    if c == '"' then
      in_string = not in_string
    elseif c == "#" and not in_string then
      return line:sub(1, i - 1)
    end
  end
  return line
end

local openers = {
  elif = { "if", "elif" },
  ["else"] = { "if", "elif" },
  catch = { "try" },
  finally = { "try", "catch" },
}

-- The nearest line above `lnum` that opens what `word` continues (`if` or
-- `elif` for `else`, `try` for `catch`, …) at an indentation of at most
-- `limit`; nil when a top-level statement of another kind comes first.
local function opener_indent(lnum, word, limit)
  local wanted = openers[word]
  for l = lnum - 1, 1, -1 do
    local text = vim.fn.getline(l)
    if text:match("%S") and not text:match("^%s*#") then
      local head = text:match("^%s*([%a_]+)")
      local ind = vim.fn.indent(l)
      local is_opener = head ~= nil
        and vim.tbl_contains(wanted, head)
        and text:match("^%s*" .. head .. "[%s:]") ~= nil
      if is_opener and ind <= limit then
        return ind
      end
      if ind == 0 and not is_opener then
        return nil
      end
    end
  end
  return nil
end

-- The line whose indentation a new line after `prev` is measured from, and
-- its code: when `prev` ends a multi-line string or condition, the line that
-- opened it.
local function reference_line(bufnr, prev)
  local text = vim.fn.getline(prev)
  local first = #(text:match("^%s*"))
  local indent = vim.fn.indent(prev)
  if inside_multiline_text(bufnr, prev - 1, first) then
    local node = node_at(bufnr, prev - 1, first)
    while node and node:type() ~= "string" and node:type() ~= "condition" do
      node = node:parent()
    end
    if node then
      indent = vim.fn.indent(node:start() + 1)
    end
  end
  return indent, strip_comment(text):gsub("%s+$", "")
end

-- Indentation is part of OpenProse's syntax, so this never moves a line
-- that already has a valid indentation (which makes `=` safe):
--   * a new, empty line gets one level more than a line ending in `:` and
--     the same indentation as any other line;
--   * `elif`/`else` line up with their `if`, `catch`/`finally` with their
--     `try`, as soon as the word is typed;
--   * the first line of a body that is not indented deeper than its header
--     gets one level;
--   * lines inside multi-line strings and conditions keep theirs.
function M.indentexpr(lnum)
  lnum = lnum or vim.v.lnum
  local bufnr = vim.api.nvim_get_current_buf()
  local line = vim.fn.getline(lnum)
  local current = vim.fn.indent(lnum)
  local blank = not line:match("%S")
  if inside_multiline_text(bufnr, lnum - 1, #(line:match("^%s*"))) then
    return -1
  end
  if not blank then
    local word = line:match("^%s*([%a_]+)")
    local whole_word = word and (line:match("^%s*" .. word .. "$") or line:match("^%s*" .. word .. "[^%w_%-]"))
    if word and openers[word] and whole_word then
      return opener_indent(lnum, word, current) or current
    end
  end
  local prev = vim.fn.prevnonblank(lnum - 1)
  if prev == 0 then
    return blank and 0 or current
  end
  local prev_indent, code = reference_line(bufnr, prev)
  local opens_body = code:sub(-1) == ":"
  if blank then
    return opens_body and prev_indent + vim.fn.shiftwidth() or prev_indent
  end
  if opens_body and current <= prev_indent then
    return prev_indent + vim.fn.shiftwidth()
  end
  return current
end

-- ------------------------------------------------------------------ build

-- Compiles src/parser.c and src/scanner.c of the grammar into
-- <install_dir>/openprose.so. opts.sync runs the compiler synchronously;
-- opts.on_done(ok, message) is called either way.
function M.build_parser(opts)
  opts = opts or {}
  local src = util.join(M.grammar_dir(), "src")
  local done = function(ok, msg)
    util.notify(msg, ok and vim.log.levels.INFO or vim.log.levels.ERROR)
    if opts.on_done then
      opts.on_done(ok, msg)
    end
  end
  if not util.exists(util.join(src, "parser.c")) then
    done(false, "grammar sources not found in " .. src .. " (set grammar_dir in setup())")
    return
  end
  local out_dir = opts.install_dir or M.install_dir()
  vim.fn.mkdir(out_dir, "p")
  local out = util.join(out_dir, M.lang .. ".so")
  local tmp = out .. ".tmp"
  local cc = config.cc or vim.env.CC or "cc"
  local cmd = {
    cc, "-o", tmp, "-shared", "-fPIC", "-O2", "-std=c11", "-I", src,
    util.join(src, "parser.c"), util.join(src, "scanner.c"),
  }
  local function finish(code, output)
    if code ~= 0 then
      pcall(os.remove, tmp)
      done(false, "building the parser failed (" .. cc .. "):\n" .. output)
      return
    end
    -- Rename into place: a parser that is already loaded keeps its old file.
    local ok, err = os.rename(tmp, out)
    if not ok then
      done(false, "cannot move the parser into place: " .. tostring(err))
      return
    end
    if loaded then
      done(true, "parser rebuilt at " .. out .. "; restart Neovim to load it")
      return
    end
    config.parser_path = config.parser_path or out
    done(true, "parser built at " .. out)
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == "prose" then
        M.attach(buf)
      end
    end
  end
  if opts.sync then
    local output = vim.fn.system(cmd)
    finish(vim.v.shell_error, output)
    return
  end
  local lines = {}
  local collect = function(_, data)
    for _, l in ipairs(data or {}) do
      if l ~= "" then
        table.insert(lines, l)
      end
    end
  end
  local job = vim.fn.jobstart(cmd, {
    on_stdout = collect,
    on_stderr = collect,
    on_exit = function(_, code)
      vim.schedule(function()
        finish(code, table.concat(lines, "\n"))
      end)
    end,
  })
  if job <= 0 then
    done(false, "cannot run " .. cc)
  else
    util.notify("building the OpenProse parser…")
  end
end

return M
