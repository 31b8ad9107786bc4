"""Open documents: bytes, syntax tree and analysis, kept current incrementally.

Each `didChange` range edit is applied to the bytes and to the previous tree
(`Tree.edit`), and the next reparse reuses every untouched subtree. Analysis
is lazy: the first feature that needs it (or the diagnostics flush) runs
`analyze` once per document version, so a burst of keystrokes costs one
analysis, not one per keystroke.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts
from lsprotocol import types as lsp
from pygls.uris import to_fs_path

from openprose import syntax
from openprose.analysis import Analysis, analyze, too_large
from openprose.files import MAX_PROGRAM_BYTES, read_program
from openprose.incremental import SemanticCache
from openprose.diagnostics import Diagnostic
from openprose.model import ModelCache

from .diagnostics import DiagnosticCache
from .positions import UTF16, Lines, Text, encode, end_point
from .semantic_tokens import TokenCache
from .symbols import FoldCache, SymbolCache
from .text_diff import minimal_edit


def uri_to_path(uri: str) -> Path | None:
    """Filesystem path of a file: URI; None for untitled or remote documents."""
    if not uri.startswith("file:"):
        return None
    try:
        fs = to_fs_path(uri)
    except Exception:  # a malformed URI is treated as a document without a file
        return None
    return Path(fs) if fs else None


@dataclass
class Document:
    uri: str
    version: int | None
    source: bytes
    encoding: str = UTF16
    path: Path | None = None
    tree: ts.Tree | None = None
    cache: ModelCache = field(default_factory=ModelCache)
    #: Resolution and checker results per statement, beside the model cache (reset with it).
    semantic: SemanticCache = field(default_factory=SemanticCache)
    analysis: Analysis | None = None
    #: Failures of the last run, shown until the next edit or run.
    run_diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Bumped on every content change, so a version-less document is still ordered.
    generation: int = 0
    analysis_seconds: float = 0.0
    #: The tree is known to equal a fresh parse of the bytes (see `_reparse`).
    exact: bool = True
    #: Per-statement results of the editor features, reused across versions.
    tokens: TokenCache = field(default_factory=TokenCache)
    folds: FoldCache = field(default_factory=FoldCache)
    symbols: SymbolCache = field(default_factory=SymbolCache)
    published: DiagnosticCache = field(default_factory=DiagnosticCache)
    #: The workspace folders it was last placed among, and the folder found (see `DocumentStore.workspace_for`).
    workspace: tuple[tuple[Path, ...], Path | None] | None = None
    _text: Text | None = None
    #: The line table of ``source``, carried across edits (see `apply`).
    _lines: Lines | None = None

    @property
    def text(self) -> Text:
        if self._text is None:
            self._text = Text(self.source, self.encoding, self._lines)
            self._lines = self._text.lines
        return self._text

    def apply(self, change: lsp.TextDocumentContentChangeEvent) -> None:
        """Apply one content change, keeping the old tree in step for reuse.

        A whole-document change (full sync) is turned into the one splice that
        differs from the current bytes, so it takes the same incremental path
        (`Tree.edit`, reparse against the old tree, model reuse) as a range edit.
        """
        if not isinstance(change, lsp.TextDocumentContentChangePartial):
            new = encode(change.text)
            splice = minimal_edit(self.source, new)
            if splice is None:
                lines = self._lines
                self._changed()  # same bytes: the tree stays valid, the rest is as for any change
                self._lines = lines
                return
            self._edit(splice.start, splice.old_end, new[splice.start : splice.new_end], new)
            return
        text = self.text
        start = text.offset_at(change.range.start.line, change.range.start.character)
        end = max(start, text.offset_at(change.range.end.line, change.range.end.character))
        self._edit(start, end, encode(change.text))

    def _edit(self, start: int, end: int, inserted: bytes, result: bytes | None = None) -> None:
        """`_splice`, with the line table edited too instead of rebuilt from the whole text."""
        lines = self.text.lines
        self._splice(start, end, inserted, result)
        self._lines = lines.edited(start, end, inserted)

    def _splice(self, start: int, end: int, inserted: bytes, result: bytes | None = None) -> None:
        """Replace ``source[start:end]`` and tell the tree, so the next parse reuses the rest.

        ``result``: the new bytes when the caller has them already (full sync). Otherwise
        they are joined from views of the old bytes: slicing and adding them allocated and
        copied the document three times, over a millisecond per keystroke at a megabyte."""
        if self.tree is not None:
            text = self.text
            start_point = text.point(start)
            self.tree.edit(
                start_byte=start,
                old_end_byte=end,
                new_end_byte=start + len(inserted),
                start_point=start_point,
                old_end_point=text.point(end),
                new_end_point=end_point(start_point, inserted),
            )
        self.cache.note_edit(start, end, start + len(inserted))  # the next build looks only at what this touched
        if result is None:
            with memoryview(self.source) as view:
                result = b"".join((view[:start], inserted, view[end:]))
        self.source = result
        self._changed()

    def verify(self) -> bool:
        """Compare an incremental tree with a fresh parse; on a difference adopt the
        fresh one and drop the analysis. Returns True when the analysis changed."""
        if self.exact or self.tree is None or self.analysis is None:
            return False
        fresh = syntax.parse(self.source)
        self.exact = True
        if _same_shape(self.tree.root_node, fresh.root_node):
            return False
        self.tree = None  # the next analysis parses from scratch
        self.cache = ModelCache()
        self.semantic = SemanticCache()
        self.analysis = None
        return True

    def _changed(self) -> None:
        self._text = None
        self._lines = None
        self.analysis = None
        self.run_diagnostics = []
        self.generation += 1

    def analyze(self, reader: Callable[[Path], bytes], workspace: Path | None = None,
                allow_outside: bool = False) -> Analysis:
        """The analysis of the current bytes, computed at most once per change."""
        if self.analysis is not None:
            return self.analysis
        began = time.perf_counter()
        if len(self.source) > MAX_PROGRAM_BYTES:
            # Not parsed at all: a 50 MB buffer would cost gigabytes and seconds per keystroke.
            self.tree = None
            self.analysis = too_large(self.source, self.path, workspace)
            self.analysis_seconds = time.perf_counter() - began
            return self.analysis
        self.tree, self.exact = _reparse(self.source, self.tree)
        self.analysis = analyze(self.source, self.path, reader=reader, tree=self.tree, cache=self.cache, checks=self.semantic,
                                workspace=workspace, allow_outside=allow_outside)
        self.analysis_seconds = time.perf_counter() - began
        return self.analysis


class DocumentStore:
    """Every open document by URI, plus the `use` reader that prefers them over disk."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self.encoding = UTF16
        #: Workspace folders from the client; `use` stays inside the one holding the document.
        self.workspace_folders: list[Path] = []
        self.allow_outside_workspace = False

    def open(self, uri: str, version: int | None, text: str) -> Document:
        doc = Document(uri, version, encode(text), self.encoding, uri_to_path(uri))
        self._docs[uri] = doc
        return doc

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def all(self) -> list[Document]:
        return list(self._docs.values())

    def close(self, uri: str) -> Document | None:
        return self._docs.pop(uri, None)

    def load(self, uri: str) -> Document | None:
        """An open document, or a closed file read from disk (not kept)."""
        doc = self._docs.get(uri)
        if doc is not None:
            return doc
        path = uri_to_path(uri)
        if path is None:
            return None
        try:
            data = read_program(path)
        except OSError:
            return None
        return Document(uri, None, data, self.encoding, path)

    def read(self, path: Path) -> bytes:
        """Reader for `analyze`: an open buffer's text wins over the file on disk."""
        resolved = _resolved(path)
        for doc in self._docs.values():
            if doc.path is not None and _resolved(doc.path) == resolved:
                return doc.source
        return read_program(path)  # regular files only, size-capped: a FIFO or /dev/zero cannot stall the server

    def workspace_for(self, doc: Document) -> Path | None:
        """The workspace folder holding the document, else its own directory (None: no file).

        Found once per document and set of folders: resolving the paths asks the file
        system for every component, which each keystroke's analysis paid for before."""
        if doc.path is None:
            return None
        folders = tuple(self.workspace_folders)
        if doc.workspace is None or doc.workspace[0] != folders:
            doc.workspace = (folders, _workspace_of(doc.path, folders))
        return doc.workspace[1]

    def analysis(self, doc: Document) -> Analysis:
        return doc.analyze(self.read, self.workspace_for(doc), self.allow_outside_workspace)

    def dependents(self, changed: Document) -> list[Document]:
        """Open documents whose `use` reads the changed one: their contracts may differ now."""
        if changed.path is None:
            return []
        # A `use` that could not be read has no contract to compare, so match
        # on the file name in the source: cheap, and never misses a dependent.
        name = changed.path.name.encode()
        return [doc for doc in self._docs.values() if doc is not changed and name in doc.source]

    def invalidate(self, doc: Document) -> None:
        """Forget an analysis whose inputs (another file) changed; the bytes did not."""
        doc.analysis = None


#: Documents up to this size are parsed from scratch on every change (exact by
#: construction, and only a few milliseconds); larger ones are reparsed
#: incrementally and checked against a fresh parse once edits pause.
EXACT_PARSE_BELOW = 64 * 1024


def _reparse(source: bytes, old: ts.Tree | None) -> tuple[ts.Tree, bool]:
    """The tree of ``source`` and whether it is known to equal a fresh parse.

    An incremental reparse through the indentation scanner can differ from a
    fresh parse of the same bytes (fuzzing found edits where it does), while the
    diagnostics must be those of a fresh analysis. Small documents therefore
    always get a fresh parse; for large ones the incremental tree (fast, and its
    unchanged subtrees let the model cache skip untouched statements) is used
    until `Document.verify` compares it with a fresh parse.
    """
    if old is None or len(source) <= EXACT_PARSE_BELOW:
        return syntax.parse(source), True
    tree = syntax.parse(source, old)
    if tree.root_node.has_error:
        # Error recovery settles differently when old subtrees are reused: a broken
        # document is parsed afresh (a few milliseconds even for long files).
        return syntax.parse(source), True
    return tree, False


def _same_shape(a: ts.Node, b: ts.Node) -> bool:
    if a.child_count != b.child_count or str(a) != str(b):
        return False
    return all(x.start_byte == y.start_byte and x.end_byte == y.end_byte for x, y in zip(a.children, b.children))


def _workspace_of(path: Path, folders: tuple[Path, ...]) -> Path:
    here = _resolved(path.parent)  # the folder it was opened from, not where a symlinked file points
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        root = _resolved(folder)
        if root == here or root in here.parents:
            return root
    return here


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path
