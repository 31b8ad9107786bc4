-- Shows `openprose/runEvent` notifications from the language server: one
-- line per event in a scratch buffer ("openprose://runs"), plus a message
-- when a run starts and ends.
local util = require("openprose.util")

local M = {}

local config = { open_log = true, notify = true, max_events = 2000 }

M.BUFFER_NAME = "openprose://runs"

-- Every event received, oldest first: { uri, runId, event }.
M.events = {}
-- Per run id: { uri, status, run_dir, events = {…} }.
M.runs = {}
M.last_event = nil

function M.configure(cfg)
  config = vim.tbl_extend("force", config, cfg or {})
end

local function is_nil(v)
  return v == nil or v == vim.NIL
end

local function clock(t)
  if type(t) ~= "number" then
    return os.date("%H:%M:%S")
  end
  if t > 1e9 then
    return os.date("%H:%M:%S", math.floor(t))
  end
  return string.format("+%.2fs", t)
end

local function one_line(text, width)
  text = tostring(text):gsub("%s+", " ")
  text = vim.trim(text)
  if #text > width then
    text = text:sub(1, width - 1) .. "…"
  end
  return text
end

local function json(value)
  local ok, text = pcall(vim.fn.json_encode, value)
  return ok and text or vim.inspect(value)
end

function M.format(params)
  local event = params.event or {}
  local kind = event.type or "?"
  local lines = {}
  local head = string.format("[%s] %-13s", clock(event.t), kind)
  local parts = {}
  if kind == "run.start" then
    table.insert(parts, "run " .. tostring(params.runId))
    if not is_nil(params.uri) then
      table.insert(parts, vim.uri_to_fname(params.uri))
    end
  end
  if not is_nil(event.binding) then
    table.insert(parts, event.binding .. " =")
  end
  if not is_nil(event.status) then
    table.insert(parts, "[" .. event.status .. "]")
  end
  if not is_nil(event.prompt) then
    table.insert(parts, '"' .. one_line(event.prompt, 72) .. '"')
  end
  if not is_nil(event.answer) then
    table.insert(parts, "-> " .. tostring(event.answer)) -- a condition's or choice's answer
  end
  table.insert(lines, head .. " " .. table.concat(parts, " "))
  if not is_nil(event.error) then
    table.insert(lines, "    error: " .. one_line(event.error, 200))
  end
  if not is_nil(event.outputs) and type(event.outputs) == "table" and next(event.outputs) then
    table.insert(lines, "    outputs: " .. one_line(json(event.outputs), 200))
  end
  if not is_nil(event.run_dir) then
    table.insert(lines, "    run dir: " .. event.run_dir)
  end
  return lines
end

function M.buffer(create)
  local existing = vim.fn.bufnr(M.BUFFER_NAME)
  if existing > 0 and vim.api.nvim_buf_is_valid(existing) then
    return existing
  end
  if not create then
    return nil
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, M.BUFFER_NAME)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "openprose-runs"
  return buf
end

local function append(lines)
  local buf = M.buffer(true)
  vim.bo[buf].modifiable = true
  local count = vim.api.nvim_buf_line_count(buf)
  local empty = count == 1 and vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] == ""
  if empty then
    vim.api.nvim_buf_set_lines(buf, 0, 1, false, lines)
  else
    vim.api.nvim_buf_set_lines(buf, count, count, false, lines)
  end
  vim.bo[buf].modifiable = false
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
  end
end

-- Opens the log in a split below the current window unless it is visible.
function M.open()
  local buf = M.buffer(true)
  if #vim.fn.win_findbuf(buf) > 0 then
    return
  end
  local current = vim.api.nvim_get_current_win()
  vim.cmd("botright 10split")
  vim.api.nvim_win_set_buf(0, buf)
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(buf), 0 })
  vim.api.nvim_set_current_win(current)
end

local function record(params)
  table.insert(M.events, params)
  if #M.events > config.max_events then
    table.remove(M.events, 1)
  end
  M.last_event = params
  local id = params.runId
  if is_nil(id) then
    return
  end
  local run = M.runs[id] or { uri = params.uri, events = {} }
  M.runs[id] = run
  table.insert(run.events, params.event)
  local event = params.event or {}
  if event.type == "run.start" then
    run.status = "running"
  elseif event.type == "run.end" then
    run.status = is_nil(event.status) and "ok" or event.status
    run.run_dir = not is_nil(event.run_dir) and event.run_dir or nil
    run.error = not is_nil(event.error) and event.error or nil
  end
end

-- Handler for the `openprose/runEvent` notification.
function M.on_event(params)
  if type(params) ~= "table" then
    return
  end
  if vim.in_fast_event() then
    vim.schedule(function()
      M.on_event(params)
    end)
    return
  end
  record(params)
  append(M.format(params))
  local event = params.event or {}
  if event.type == "run.start" then
    if config.open_log then
      M.open()
    end
    if config.notify then
      util.notify("run " .. tostring(params.runId) .. " started")
    end
  elseif event.type == "run.end" and config.notify then
    local status = is_nil(event.status) and "ok" or event.status
    local level = status == "ok" and vim.log.levels.INFO or vim.log.levels.WARN
    local msg = "run " .. tostring(params.runId) .. " ended: " .. status
    if not is_nil(event.error) then
      msg = msg .. " (" .. one_line(event.error, 120) .. ")"
    end
    util.notify(msg, level)
  end
  pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "OpenProseRunEvent", modeline = false })
end

-- LSP handler signature (err, result, ctx, config), the same from 0.7 on.
function M.handler(_, result)
  M.on_event(result)
end

return M
