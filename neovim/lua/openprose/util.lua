-- Small helpers shared by the openprose modules, written against the oldest
-- supported Neovim (0.7) with newer APIs used where they exist.
local M = {}

M.uv = vim.uv or vim.loop

function M.has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

-- Directory of this plugin (the folder holding lua/, plugin/, queries/).
function M.plugin_root()
  local source = debug.getinfo(1, "S").source
  if source:sub(1, 1) == "@" then
    source = source:sub(2)
  end
  return vim.fn.fnamemodify(source, ":p:h:h:h")
end

function M.join(...)
  return table.concat({ ... }, "/")
end

function M.exists(path)
  return path ~= nil and M.uv.fs_stat(path) ~= nil
end

local notified = {}

function M.notify(msg, level, once_key)
  if once_key then
    if notified[once_key] then
      return
    end
    notified[once_key] = true
  end
  level = level or vim.log.levels.INFO
  if vim.in_fast_event() then
    vim.schedule(function()
      vim.notify("[openprose] " .. msg, level)
    end)
  else
    vim.notify("[openprose] " .. msg, level)
  end
end

-- The directory a project's language server should treat as its root: the
-- nearest ancestor holding one of `markers`, else the file's own directory.
function M.root_dir(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return vim.fn.getcwd()
  end
  local dir = vim.fn.fnamemodify(name, ":p:h")
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(markers, { upward = true, path = dir })[1]
    if found then
      return vim.fn.fnamemodify(found, ":h")
    end
    return dir
  end
  for _, marker in ipairs(markers) do
    local hit = vim.fn.finddir(marker, dir .. ";")
    if hit ~= "" then
      -- `:p` gives a directory a trailing slash: strip it, then the marker.
      return vim.fn.fnamemodify(hit, ":p:h:h")
    end
    hit = vim.fn.findfile(marker, dir .. ";")
    if hit ~= "" then
      return vim.fn.fnamemodify(hit, ":p:h")
    end
  end
  return dir
end

return M
