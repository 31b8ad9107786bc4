"""Shared test helpers for reading trees and corpus files."""

from __future__ import annotations

import os

import re
from dataclasses import dataclass
from pathlib import Path

import tree_sitter as ts

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
GRAMMAR = REPO / "tree-sitter-openprose"


def sexp(node: ts.Node) -> str:
    """S-expression of named nodes with field names, as the tree-sitter CLI prints it."""
    parts: list[str] = []

    def rec(n: ts.Node, field: str | None) -> None:
        prefix = f"{field}: " if field else ""
        if n.is_missing:
            parts.append(f"{prefix}(MISSING {n.type})")
            return
        parts.append(f"{prefix}({'ERROR' if n.is_error else n.type}")
        for i, child in enumerate(n.children):
            if child.is_named or child.is_missing:
                rec(child, n.field_name_for_child(i))
        parts.append(")")

    rec(node, None)
    return normalize(" ".join(parts))


def normalize(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace(" )", ")").replace("( ", "(")


@dataclass
class CorpusCase:
    file: str
    name: str
    source: str
    expected: str


def read_corpus_cases(directory: Path) -> list[CorpusCase]:
    cases = []
    header = re.compile(r"^={3,}\n(.+?)\n={3,}\n", re.M)
    for path in sorted(directory.glob("*.txt")):
        text = path.read_bytes().decode("utf-8")
        matches = list(header.finditer(text))
        for i, match in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            body = text[match.end() : end]
            source, _, expected = body.partition("\n---\n")
            if "\r\n" in source:
                source = source.replace("\r\n\r\n---", "")
            cases.append(CorpusCase(path.name, match.group(1).strip(), source.strip("\n") + "\n", normalize(expected)))
    return cases


def problem_nodes(node: ts.Node) -> list[ts.Node]:
    out: list[ts.Node] = []
    if node.is_error or node.is_missing:
        return [node]
    if node.has_error:
        for child in node.children:
            out.extend(problem_nodes(child))
    return out


def process_alive(pid: int) -> bool:
    """Whether a process still runs (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except (ProcessLookupError, OSError):
        return False
