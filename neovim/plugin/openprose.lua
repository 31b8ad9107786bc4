-- Loaded at startup: recognise *.prose files and define the commands.
-- Everything else (Tree-sitter, language server) starts in
-- require("openprose").setup().
if vim.g.loaded_openprose then
  return
end
vim.g.loaded_openprose = true

if vim.fn.has("nvim-0.7") == 0 then
  vim.api.nvim_err_writeln("openprose.nvim needs Neovim 0.7 or newer")
  return
end

local openprose = require("openprose")
openprose.register_filetype()
openprose.create_commands()
