"""OpenProse runtime: syntax model, checker, formatter, interpreter and CLI."""

__version__ = "0.1.0"
