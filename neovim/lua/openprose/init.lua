-- OpenProse support for Neovim 0.7+.
--
--   require("openprose").setup({
--     parser_path = nil,            -- explicit path to a compiled openprose.so
--     grammar_dir = nil,            -- tree-sitter-openprose checkout (default: ../tree-sitter-openprose)
--     parser_install_dir = nil,     -- where :ProseBuildParser writes openprose.so
--     cc = nil,                     -- C compiler for :ProseBuildParser (default $CC, then cc)
--     auto_build = true,            -- build the parser on first use when none is found
--     python = nil,                 -- Python with tree_sitter_openprose (default: the `prose` command's; false: never)
--     highlight = true, fold = true, foldlevel = 99, indent = true,
--     lsp = { enabled = true, cmd = { "prose", "lsp" }, root_markers = { ".git" } },
--     runs = { open_log = true, notify = true },
--   })
local util = require("openprose.util")

local M = {}

M.defaults = {
  parser_path = nil,
  grammar_dir = nil,
  parser_install_dir = nil,
  cc = nil,
  auto_build = true,
  python = nil,
  highlight = true,
  fold = true,
  foldlevel = 99,
  indent = true,
  lsp = {
    enabled = true,
    cmd = { "prose", "lsp" },
    root_markers = { ".git" },
  },
  runs = {
    open_log = true,
    notify = true,
  },
}

M.config = vim.deepcopy(M.defaults)

local function normalize(opts)
  opts = vim.deepcopy(opts or {})
  if opts.lsp == false then
    opts.lsp = { enabled = false }
  end
  if type(opts.lsp) == "table" and type(opts.lsp.cmd) == "string" then
    opts.lsp.cmd = { opts.lsp.cmd }
  end
  return opts
end

-- `*.prose` -> filetype `prose`. vim.filetype.add drives detection from 0.8
-- on; 0.7 only consults it when g:do_filetype_lua is set, so an autocmd
-- does the job there.
function M.register_filetype()
  if util.has("0.8") and vim.filetype and vim.filetype.add then
    vim.filetype.add({ extension = { prose = "prose" } })
    return
  end
  local group = vim.api.nvim_create_augroup("openprose_filetype", { clear = true })
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = group,
    pattern = "*.prose",
    command = "setfiletype prose",
  })
end

local function buffer_options(bufnr)
  vim.bo[bufnr].commentstring = "# %s"
  vim.bo[bufnr].comments = ":#"
  vim.bo[bufnr].expandtab = true
  vim.bo[bufnr].shiftwidth = 2
  vim.bo[bufnr].softtabstop = 2
end

function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  buffer_options(bufnr)
  require("openprose.treesitter").attach(bufnr)
end

function M.create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("ProseRun", function()
    M.run()
  end, { desc = "Run this OpenProse program (openprose.run)" })
  cmd("ProseRunSimulated", function()
    M.run(0, { backend = "simulated" })
  end, { desc = "Run this OpenProse program with the simulated backend" })
  cmd("ProseStop", function()
    M.stop()
  end, { desc = "Stop the run of this OpenProse program (openprose.stop)" })
  cmd("ProseRunLog", function()
    require("openprose.runlog").open()
  end, { desc = "Show the OpenProse run log" })
  cmd("ProseBuildParser", function(args)
    M.build_parser({ sync = args.bang })
  end, { bang = true, desc = "Compile the OpenProse Tree-sitter parser (! waits for it)" })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), normalize(opts))
  local cfg = M.config

  -- The plugin folder carries queries/openprose/*.scm and parser/.
  local root = util.plugin_root()
  if not vim.tbl_contains(vim.api.nvim_list_runtime_paths(), root) then
    vim.opt.runtimepath:append(root)
  end

  require("openprose.treesitter").configure(cfg)
  require("openprose.treesitter").register_nvim_treesitter()
  require("openprose.runlog").configure(cfg.runs)
  require("openprose.lsp").configure(cfg.lsp)

  M.register_filetype()
  M.create_commands()

  local group = vim.api.nvim_create_augroup("openprose", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "prose",
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  vim.api.nvim_create_autocmd("BufWinEnter", {
    group = group,
    pattern = "*.prose",
    callback = function(args)
      if cfg.fold ~= false and vim.bo[args.buf].filetype == "prose" then
        require("openprose.treesitter").set_fold_options(vim.api.nvim_get_current_win())
      end
    end,
  })

  require("openprose.lsp").setup()

  -- Buffers opened before setup() ran.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == "prose" then
      M.attach(buf)
    end
  end
  M._did_setup = true
  return M
end

function M.run(bufnr, opts)
  return require("openprose.lsp").run(bufnr, opts)
end

function M.stop(bufnr, opts)
  return require("openprose.lsp").stop(bufnr, opts)
end

function M.build_parser(opts)
  require("openprose.treesitter").configure(M.config)
  return require("openprose.treesitter").build_parser(opts)
end

return M
