"""Walking a LibCST tree without rebuilding it.

``CSTVisitor`` passes rebuild every node on the way back up (a visitor pass
costs about as much as the parse); reading the node fields directly costs a
fraction of that. Whitespace, commas, parentheses and other trivia are skipped.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, List, Tuple, Type

import libcst as cst

_TRIVIA = ("whitespace", "lpar", "rpar", "comma", "semicolon", "colon", "dot", "equal", "header", "footer",
           "leading_lines", "lines_after_decorators", "newline", "lbracket", "rbracket", "lbrace", "rbrace",
           "operator", "asynchronous", "prefix", "suffix", "star_tok", "arrow", "indent")
_FIELDS: Dict[Type[cst.CSTNode], Tuple[str, ...]] = {}
# isinstance() against CSTNode goes through ABCMeta's slow check; a type-keyed cache does not.
_IS_NODE: Dict[type, bool] = {}


def _is_node(value) -> bool:
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


def _child_fields(node_type: Type[cst.CSTNode]) -> Tuple[str, ...]:
    fields = _FIELDS.get(node_type)
    if fields is None:
        fields = tuple(f.name for f in dataclasses.fields(node_type)
                       if not any(trivia in f.name for trivia in _TRIVIA))
        _FIELDS[node_type] = fields
    return fields


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    kind = type(node)
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _child_fields(kind)
    found: List[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        value_kind = type(value)
        if value_kind is tuple or value_kind is list:
            found += value  # the sequences of a LibCST node hold nodes only
        else:
            is_node = _IS_NODE.get(value_kind)
            if is_node is None:
                is_node = _is_node(value)
            if is_node:
                found.append(value)
    return found


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below ``node`` (itself included), parents before children, in source order."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
