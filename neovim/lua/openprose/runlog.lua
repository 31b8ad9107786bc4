-- Shows `openprose/runEvent` notifications from the language server: one
-- line per event in a scratch buffer ("openprose://runs"), plus a message
-- when a run starts and ends. Tool calls (tool.start / tool.end) are indented
-- under the session they belong to, found by the event's `session` id.
local util = require("openprose.util")

local M = {}

local config = { open_log = true, notify = true, max_events = 2000 }

M.BUFFER_NAME = "openprose://runs"

-- The kinds of run event (docs/run-events.schema.json, generated from
-- runtime/openprose/events.py; the Neovim tests check the two agree). Every
-- kind gets a line; an unknown kind from a newer server is shown the same way.
M.EVENT_TYPES = {
  "run.start", "run.end", "session.start", "session.end", "tool.start", "tool.end",
  "branch.start", "branch.end", "condition", "choice", "input", "warning",
}

-- Every event received, oldest first: { uri, runId, event }.
M.events = {}
-- Per run id: { uri, status, run_dir, events = {…}, sessions = { [id] = {…} },
-- tools = { { session, tool, summary, status, duration, rule, error }, … } }.
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

local function seconds(value)
  if type(value) ~= "number" then
    return ""
  end
  return string.format(" (%.2fs)", value)
end

-- What a tool line says about its session: the binding, else the prompt.
local function session_name(params)
  local event = params.event or {}
  local run = M.runs[params.runId]
  local session = run and not is_nil(event.session) and run.sessions[event.session]
  if not session then
    return is_nil(event.session) and "" or ("  ‹ " .. tostring(event.session))
  end
  if not is_nil(session.binding) then
    return "  ‹ " .. session.binding
  end
  if not is_nil(session.prompt) then
    return '  ‹ "' .. one_line(session.prompt, 40) .. '"'
  end
  return "  ‹ " .. tostring(event.session)
end

local function format_tool(params)
  local event = params.event
  local label = tostring(is_nil(event.tool) and "tool" or event.tool)
  if not is_nil(event.summary) and event.summary ~= "" then
    label = label .. ": " .. one_line(event.summary, 72)
  end
  local head = string.format("[%s]   %-11s", clock(event.t), event.type)
  local lines = {}
  if event.type == "tool.start" then
    table.insert(lines, head .. " " .. label .. session_name(params))
    return lines
  end
  local status = is_nil(event.status) and "ok" or event.status
  table.insert(lines, head .. " [" .. status .. "] " .. label .. seconds(event.duration) .. session_name(params))
  if not is_nil(event.rule) then
    table.insert(lines, "      denied by: " .. one_line(event.rule, 200))
  end
  if not is_nil(event.error) then
    table.insert(lines, "      " .. (status == "denied" and "reason" or "error") .. ": " .. one_line(event.error, 200))
  end
  return lines
end

function M.format(params)
  local event = params.event or {}
  local kind = event.type or "?"
  if kind == "tool.start" or kind == "tool.end" then
    return format_tool(params)
  end
  local lines = {}
  local head = string.format("[%s] %-13s", clock(event.t), kind)
  local parts = {}
  if kind == "run.start" then
    table.insert(parts, "run " .. tostring(params.runId))
    if not is_nil(params.uri) then
      table.insert(parts, vim.uri_to_fname(params.uri))
    end
  end
  local branch = kind == "branch.start" or kind == "branch.end"
  if type(event.path) == "table" and #event.path > 0 then
    table.insert(parts, "[" .. table.concat(vim.tbl_map(tostring, event.path), " › ") .. "]")
  end
  if not is_nil(event.binding) and not branch then -- a branch's name ends its path
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
  if not is_nil(event.reason) then
    table.insert(parts, "(" .. one_line(event.reason, 100) .. ")")
  end
  if kind == "session.start" and not is_nil(event.agent) then
    table.insert(parts, "(" .. event.agent .. (is_nil(event.model) and "" or (", " .. event.model)) .. ")")
  end
  if kind == "warning" then
    if not is_nil(event.code) then
      table.insert(parts, event.code)
    end
    if type(event.line) == "number" then
      table.insert(parts, "at line " .. event.line)
    end
  end
  table.insert(lines, head .. " " .. table.concat(parts, " "))
  if not is_nil(event.error) then
    table.insert(lines, (kind == "warning" and "    message: " or "    error: ") .. one_line(event.error, 200))
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
  local run = M.runs[id] or { uri = params.uri, events = {}, sessions = {}, tools = {} }
  M.runs[id] = run
  table.insert(run.events, params.event)
  local event = params.event or {}
  if event.type == "session.start" and not is_nil(event.session) then
    run.sessions[event.session] = { binding = event.binding, prompt = event.prompt, agent = event.agent }
  elseif event.type == "tool.start" then
    table.insert(run.tools, {
      session = event.session,
      tool = event.tool,
      summary = event.summary,
      status = "running",
    })
  elseif event.type == "tool.end" then
    local call
    for _, candidate in ipairs(run.tools) do
      if candidate.status == "running" and candidate.session == event.session and candidate.tool == event.tool
        and candidate.summary == event.summary then
        call = candidate
        break
      end
    end
    if not call then
      call = { session = event.session, tool = event.tool, summary = event.summary }
      table.insert(run.tools, call)
    end
    call.status = is_nil(event.status) and "ok" or event.status
    call.duration = not is_nil(event.duration) and event.duration or nil
    call.rule = not is_nil(event.rule) and event.rule or nil
    call.error = not is_nil(event.error) and event.error or nil
  end
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
  elseif event.type == "tool.end" and event.status == "denied" and config.notify then
    local what = tostring(event.tool) .. (is_nil(event.summary) and "" or (": " .. one_line(event.summary, 60)))
    util.notify("denied " .. what .. (is_nil(event.rule) and "" or (" (" .. event.rule .. ")")), vim.log.levels.WARN)
  end
  pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "OpenProseRunEvent", modeline = false })
end

-- LSP handler signature (err, result, ctx, config), the same from 0.7 on.
function M.handler(_, result)
  M.on_event(result)
end

return M
