"""File positions of the few nodes that findings and fixes point at.

LibCST's PositionProvider regenerates the code of the whole module to count
lines and columns, which costs about as much as the parse. Most anchors are
expressions (a call, a name): the code of such a node, found exactly once
among the lines of its top-level statement (known from ``ast``), is where it
is. Other nodes, and expressions written twice in their statement, are
measured by regenerating only that statement, each as a module of its own,
its lines shifted to where the statement starts in the file.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, PositionProvider

from orderlint.extract.walk import walk
from orderlint.regions import Statement, split_lines



def positions_of(module: cst.Module, nodes: Iterable[cst.CSTNode], statements: Optional[List[Statement]],
                 source: str = "", ancestors: Mapping[int, Sequence[cst.CSTNode]] = {}) -> Dict[cst.CSTNode, CodeRange]:
    """``node -> CodeRange`` (1-based lines, 0-based columns, as PositionProvider gives them) for ``nodes``.

    ``statements``: where each top-level statement of ``module`` is in ``source`` (the text LibCST parsed);
    without them (or when they do not fit the module), the whole module is measured. ``ancestors``: those
    known (from the module down) by node id, which place a node in its statement without a walk.
    """
    wanted = {id(node): node for node in nodes}
    if statements is None or len(statements) != len(module.body):
        everything = _measure(module)
        return {node: everything[node] for node in wanted.values()}
    lines = split_lines(source)
    found: Dict[cst.CSTNode, CodeRange] = {}
    placed: Dict[int, List[cst.CSTNode]] = {}  # id(top-level statement) -> its nodes
    unplaced = set()
    for key, node in wanted.items():
        chain = ancestors.get(key)
        if chain is None:
            unplaced.add(key)
        else:
            placed.setdefault(id(chain[1] if len(chain) > 1 else node), []).append(node)
    for statement, where in zip(module.body, statements):
        inside = placed.get(id(statement), [])
        if unplaced:
            inside = inside + [wanted[id(node)] for node in walk(statement) if id(node) in unplaced]
        if not inside:
            continue
        text = _Text(lines, where)
        unmeasured = []
        for node in inside:
            span = text.locate(module, node)
            if span is None:
                unmeasured.append(node)
            else:
                found[node] = span
        if unmeasured:
            alone = _measure(module.with_changes(body=[statement]))
            shift = where.line - alone[statement].start.line
            for node in unmeasured:
                span = alone[node]
                found[node] = CodeRange(CodePosition(span.start.line + shift, span.start.column),
                                        CodePosition(span.end.line + shift, span.end.column))
        if len(found) == len(wanted):
            break
    return found


class _Text:
    """The lines a top-level statement covers, to find its expressions in."""

    def __init__(self, lines: List[str], where: Statement):
        self._first = where.first
        covered = lines[where.first - 1 : where.last]
        self._text = "".join(covered)
        self._starts = [0]
        for line in covered[:-1]:
            self._starts.append(self._starts[-1] + len(line))

    def locate(self, module: cst.Module, node: cst.CSTNode) -> Optional[CodeRange]:
        """The node's syntactic range (an expression's parentheses left out), when its code occurs once here."""
        if not isinstance(node, cst.BaseExpression):
            return None
        code = module.code_for_node(node)
        left = sum(len(module.code_for_node(paren)) for paren in node.lpar)
        right = sum(len(module.code_for_node(paren)) for paren in node.rpar)
        code = code[left : len(code) - right]
        if not code.strip():
            return None
        offset = self._text.find(code)
        if offset < 0 or self._text.find(code, offset + 1) >= 0:
            return None
        return CodeRange(self._position(offset), self._position(offset + len(code)))

    def _position(self, offset: int) -> CodePosition:
        row = bisect_right(self._starts, offset) - 1
        return CodePosition(self._first + row, offset - self._starts[row])


def _measure(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """What ``MetadataWrapper(module).resolve(PositionProvider)`` gives, without the wrapper's visitor pass."""
    provider = PositionProvider()
    provider._gen_impl(module)
    return provider._computed
