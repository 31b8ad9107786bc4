"""OpenProse grammar for tree-sitter.

``language()`` returns a PyCapsule; wrap it with ``tree_sitter.Language``.
The query files ship inside the package so editors and tests read the same
copies the grammar repository maintains.
"""

from ._binding import language

__all__ = ["language", "query_text", "QUERY_NAMES"]

QUERY_NAMES = ("highlights", "locals", "folds", "indents", "injections")


def query_text(name: str) -> str:
    """Return the text of one of the bundled ``queries/*.scm`` files."""
    # Imported here: importlib.resources pulls in tempfile, shutil and the compressors,
    # a noticeable share of a one-file `prose check`, which never reads a query.
    from importlib.resources import files as _files

    if name not in QUERY_NAMES:
        raise ValueError(f"unknown query {name!r}; expected one of {', '.join(QUERY_NAMES)}")
    return (_files(__package__) / "queries" / f"{name}.scm").read_text(encoding="utf-8")
