"""Fixes as rules propose them: edits anchored on syntax nodes, turned into
text positions by the engine. Helpers here build the edits rules share
(reordering list elements, setting a keyword argument, adding an import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import libcst as cst

from orderlint.extract.walk import walk

SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace ``node``'s text with ``content``; insert ``content`` just before or after it; or
    (``line_before``) insert ``content`` as a new line above the line where ``node`` starts, indented like it."""

    node: cst.CSTNode
    content: str
    where: str = "replace"  # "replace", "before", "after" or "line_before"


@dataclass(frozen=True)
class Fix:
    applicability: str  # SAFE or UNSAFE
    message: str
    edits: Tuple[Edit, ...]


def list_positions(scope: cst.CSTNode) -> Dict[int, Tuple[cst.List, int]]:
    """For every element of a list or tuple literal under ``scope``: (id of its value) -> (literal, index)."""
    return {id(element.value): (node, index) for node in walk(scope) if isinstance(node, (cst.List, cst.Tuple))
            for index, element in enumerate(node.elements)}


def move_fix(positions: Dict[int, Tuple[cst.List, int]], code, moved: cst.CSTNode, anchor: cst.CSTNode, after: bool,
             message: str) -> Optional[Fix]:
    """An unsafe fix moving one list element just before or after another, when one list literal holds both.
    ``positions`` comes from ``list_positions`` of the scope that holds them."""
    found, target = positions.get(id(moved)), positions.get(id(anchor))
    if found is None or target is None or found[0] is not target[0]:
        return None
    (sequence, source), (_, anchor_index) = found, target
    shift = 1 if source > anchor_index else 0  # removing the moved element first shifts the anchor left
    destination = anchor_index + shift if after else anchor_index - 1 + shift
    return Fix(UNSAFE, message, move_element(code, sequence, source, destination))


def move_element(code, sequence: cst.List, source: int, target: int) -> Tuple[Edit, ...]:
    """Move element ``source`` to position ``target`` of a list literal.

    Only the element values change places: commas, line breaks and comments stay
    where they are, so the list keeps its layout."""
    values = [element.value for element in sequence.elements]
    order = list(range(len(values)))
    order.insert(target, order.pop(source))
    return tuple(Edit(values[position], code(values[moved])) for position, moved in enumerate(order) if position != moved)


def set_keyword(code, call: cst.Call, keyword: str, value: str) -> Edit:
    """``keyword=value`` on a call: replaces an existing value, or adds the argument at the end."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return Edit(arg.value, value)
    if not call.args:
        return Edit(call, f"{code(call.func)}({keyword}={value})")
    return Edit(call.args[-1].value, f", {keyword}={value}", where="after")


def insert_first_argument(code, call: cst.Call, text: str) -> Tuple[Edit, ...]:
    """``f(a, b=1)`` -> ``f(text, a, b=1)``; ``f()`` -> ``f(text)``."""
    if call.args:
        return (Edit(call.args[0], f"{text}, ", where="before"),)
    return (Edit(call, f"{code(call.func)}({text})"),)


def module_alias(index, module: str) -> Optional[str]:
    """The local name under which ``import module`` is bound in the file, if any."""
    for local, qualified in index.imports.items():
        if qualified == module:
            return local
    return None


def torch_name(ctx, edits: list) -> str:
    """The local name of the ``torch`` module; appends an ``import torch`` edit when the file lacks one."""
    name = module_alias(ctx.index, "torch")
    if name is None:
        edits.append(add_import(ctx, "import torch"))
        name = "torch"
    return name


def add_import(ctx, statement: str) -> Edit:
    """Insert an import statement after the file's last top-level import (or at the top)."""
    body = ctx.module.body
    last_import = None
    for node in body:
        if isinstance(node, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in node.body):
            last_import = node
        elif last_import is not None:
            break
    if last_import is not None:
        return Edit(last_import, f"\n{statement}", where="after")
    return Edit(_first_code_statement(body), f"{statement}\n", where="before")


def _first_code_statement(body):
    """The first statement after a module docstring and ``from __future__`` imports."""
    for position, node in enumerate(body):
        if isinstance(node, cst.SimpleStatementLine):
            first = node.body[0]
            if position == 0 and isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            if isinstance(first, cst.ImportFrom) and isinstance(first.module, cst.Name) and first.module.value == "__future__":
                continue
        return node
    return body[-1]
