"""OpenProse runtime: syntax model, checker, formatter and interpreter (the `prose` command is `prose_cli`)."""

__version__ = "0.1.0"
