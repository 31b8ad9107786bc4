"""What the cursor is on, read from the syntax tree.

Hover and semantic tokens both need to know whether an identifier is a
property key, a model name, a parallel modifier and so on; those questions
are answered once here from node types and field names.
"""

from __future__ import annotations

from dataclasses import dataclass

import tree_sitter as ts

from openprose.resolve import KEYWORD_PROPERTIES


@dataclass(frozen=True)
class Role:
    """The role of a word in the program, for hover and highlighting."""

    kind: str  # keyword | property | permission | value | strategy | policy | modifier | pipe | name | number
    word: str
    node: ts.Node
    key: str | None = None  # for values: the property or modifier they belong to


def text_of(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def node_at(tree: ts.Tree, offset: int) -> ts.Node | None:
    """The smallest node at an offset, preferring a word that ends at the cursor."""
    root = tree.root_node
    node = root.descendant_for_byte_range(offset, offset)
    if offset > 0 and (node is None or not _is_word(node)):
        before = root.descendant_for_byte_range(offset - 1, offset - 1)
        if before is not None and _is_word(before):
            return before
    return node


def _is_word(node: ts.Node) -> bool:
    return node.child_count == 0 and node.type not in {"\n", ":", ",", ")", "(", "]", "[", "}", "{", "="}


def field_of(node: ts.Node) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for index in range(parent.child_count):
        child = parent.child(index)
        if child is not None and child.id == node.id:
            return parent.field_name_for_child(index)
    return None


def _under_permissions(prop: ts.Node) -> bool:
    block = prop.parent
    owner = block.parent if block is not None else None
    if owner is None or owner.type != "property":
        return False
    key = owner.child_by_field_name("key")
    return key is not None and text_of(key) == "permissions"


def classify(node: ts.Node) -> Role | None:
    """The role of a leaf (or of the string it sits in), or None for ordinary names."""
    if node.type in ("string_content", '"') and node.parent is not None and node.parent.type == "string":
        return _classify_value(node.parent, text_of(node.parent).strip('"'))
    if node.type == "string":
        return _classify_value(node, text_of(node).strip('"'))
    if node.type == "number":
        parent = node.parent
        if parent is not None and parent.type == "modifier":
            key = parent.child_by_field_name("key")
            if key is not None:
                return Role("value", text_of(node), node, text_of(key))
        return None
    if node.type in ("true", "false", "null"):
        role = _classify_value(node, node.type)
        return role if role is not None else Role("keyword", node.type, node)
    if node.type != "identifier":
        if not node.is_named and node.type.isalpha():
            return Role("keyword", node.type, node)
        return None
    parent = node.parent
    if parent is None:
        return None
    field = field_of(node)
    word = text_of(node)
    if parent.type == "property" and field == "key":
        return Role("permission" if _under_permissions(parent) else "property", word, node)
    if parent.type == "modifier":
        if field == "key":
            return Role("modifier", word, node)
        return _classify_value(node, word)
    if parent.type == "property" and field == "value":
        return _classify_value(node, word)
    if parent.type == "pipe_stage" and field == "operator":
        return Role("pipe", word, node)
    return None


def _classify_value(node: ts.Node, word: str) -> Role | None:
    """A value of a property or a parallel/loop modifier."""
    parent = node.parent
    if parent is None:
        return None
    if parent.type == "modifier":
        key = parent.child_by_field_name("key")
        if key is None:
            return Role("strategy", word, node)
        key_text = text_of(key)
        if key_text == "on-fail":
            return Role("policy", word, node, key_text)
        return Role("value", word, node, key_text)
    if parent.type == "property":
        key = parent.child_by_field_name("key")
        if key is None:
            return None
        key_text = text_of(key)
        if key_text in KEYWORD_PROPERTIES or (_under_permissions(parent) and node.type == "identifier"):
            return Role("value", word, node, "permission" if _under_permissions(parent) else key_text)
        if key_text == "model":
            return Role("value", word, node, key_text)
    return None
