"""Language server for OpenProse programs (pygls 2).

All language knowledge (parsing, checking, formatting, running) comes from
the `openprose` runtime; this package only adapts it to LSP.
"""

__version__ = "0.1.0"
