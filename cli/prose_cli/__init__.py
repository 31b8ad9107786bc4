"""The `prose` command: the composition root over the runtime (`openprose`) and the server (`openprose_lsp`).

Only this package knows both, and the terminal UI (live run tree, plain progress
lines) lives here, so the runtime stays a library and the server an LSP adapter.
"""
