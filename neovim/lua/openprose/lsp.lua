-- The OpenProse language server (`prose lsp`): starting it for `prose`
-- buffers and the run/stop commands it executes.
local util = require("openprose.util")
local runlog = require("openprose.runlog")

local M = {}

M.name = "openprose"

local config = {}
local started_for_root = {} -- Neovim 0.7: root dir -> client id

-- How the last server process ended: { code, signal, client_id }.
M.last_exit = nil

function M.configure(cfg)
  config = cfg or {}
end

local function client_config(root_dir)
  local handlers = vim.tbl_extend("force", {
    ["openprose/runEvent"] = runlog.handler,
  }, config.handlers or {})
  return {
    name = M.name,
    cmd = config.cmd,
    root_dir = root_dir,
    handlers = handlers,
    settings = config.settings,
    init_options = config.init_options,
    on_attach = config.on_attach,
    on_exit = function(code, signal, client_id)
      M.last_exit = { code = code, signal = signal, client_id = client_id }
      if code ~= 0 then
        util.notify(
          string.format("language server exited with code %s (signal %s)", tostring(code), tostring(signal)),
          vim.log.levels.WARN
        )
      end
      if config.on_exit then
        config.on_exit(code, signal, client_id)
      end
    end,
    capabilities = config.capabilities,
  }
end

local function executable()
  local cmd = config.cmd
  if type(cmd) ~= "table" or not cmd[1] then
    return false
  end
  if vim.fn.executable(cmd[1]) == 1 then
    return true
  end
  util.notify(
    "language server not started: " .. tostring(cmd[1]) .. " is not executable (set lsp.cmd in setup())",
    vim.log.levels.WARN,
    "noserver"
  )
  return false
end

-- Neovim 0.11: describe the server with vim.lsp.config and let
-- vim.lsp.enable start it for every `prose` buffer.
local function enable_native()
  local cfg = client_config(nil)
  cfg.root_dir = nil
  cfg.filetypes = { "prose" }
  cfg.root_markers = config.root_markers
  vim.lsp.config(M.name, cfg)
  vim.lsp.enable(M.name)
end

-- Neovim 0.8–0.10: vim.lsp.start reuses a client with the same name and root.
-- Neovim 0.7: start_client once per root and attach each buffer to it.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= "" or not executable() then
    return nil
  end
  local root = util.root_dir(bufnr, config.root_markers or { ".git" })
  if vim.lsp.start then
    return vim.lsp.start(client_config(root), { bufnr = bufnr })
  end
  local id = started_for_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(client_config(root))
    if not id then
      return nil
    end
    started_for_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

function M.setup()
  if config.enabled == false then
    return
  end
  if vim.lsp.config and vim.lsp.enable then
    if executable() then
      enable_native()
    end
    return
  end
  local group = vim.api.nvim_create_augroup("openprose_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "prose",
    callback = function(args)
      M.start(args.buf)
    end,
  })
  -- Buffers that were already open when setup() ran.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == "prose" then
      M.start(buf)
    end
  end
end

-- The client serving `bufnr`, if any.
function M.client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
  end
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == M.name then
      return client
    end
  end
  return nil
end

local function request(client, method, params, handler, bufnr)
  if util.has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

-- Sends workspace/executeCommand to the buffer's server. `on_result(err,
-- result)` is optional; by default problems are reported with vim.notify.
function M.execute(bufnr, command, arguments, on_result)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = M.client(bufnr)
  if not client then
    util.notify("no OpenProse language server is attached to this buffer", vim.log.levels.ERROR)
    if on_result then
      on_result({ message = "no client" }, nil)
    end
    return false
  end
  local params = { command = command, arguments = arguments }
  request(client, "workspace/executeCommand", params, function(err, result)
    if on_result then
      on_result(err, result)
    elseif err then
      util.notify(command .. " failed: " .. tostring(err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end, bufnr)
  return true
end

-- :ProseRun / :ProseRunSimulated
function M.run(bufnr, opts)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  opts = opts or {}
  local args = { vim.uri_from_bufnr(bufnr) }
  if opts.backend then
    args[2] = { backend = opts.backend }
  end
  return M.execute(bufnr, "openprose.run", args, opts.on_result)
end

-- :ProseStop
function M.stop(bufnr, opts)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  opts = opts or {}
  return M.execute(bufnr, "openprose.stop", { vim.uri_from_bufnr(bufnr) }, opts.on_result)
end

return M
