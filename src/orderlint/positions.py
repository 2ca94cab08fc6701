"""File positions of the few nodes that findings and fixes point at.

LibCST's PositionProvider regenerates the code of the whole module to count
lines and columns, which costs about as much as the parse. Findings sit in a
few top-level statements, so only those are regenerated, each as a module of
its own, and its lines are shifted to where the statement starts in the file
(its ``ast`` line, which ``regions`` recorded).
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional

import libcst as cst
from libcst.metadata import CodeRange, CodePosition, MetadataWrapper, PositionProvider

from orderlint.extract.walk import walk


def positions_of(module: cst.Module, nodes: Iterable[cst.CSTNode], statement_lines: Optional[List[int]]) -> Dict[cst.CSTNode, CodeRange]:
    """``node -> CodeRange`` (1-based lines, 0-based columns, as PositionProvider gives them) for ``nodes``.

    ``statement_lines``: the file line where each top-level statement of ``module`` starts; without it
    (or when it does not fit the module), the whole module is measured.
    """
    wanted = {id(node): node for node in nodes}
    if statement_lines is None or len(statement_lines) != len(module.body):
        everything = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return {node: everything[node] for node in wanted.values()}
    found: Dict[cst.CSTNode, CodeRange] = {}
    for statement, first_line in zip(module.body, statement_lines):
        inside = [wanted[id(node)] for node in walk(statement) if id(node) in wanted]
        if not inside:
            continue
        alone = MetadataWrapper(module.with_changes(body=[statement]), unsafe_skip_copy=True).resolve(PositionProvider)
        shift = first_line - alone[statement].start.line
        for node in inside:
            span = alone[node]
            found[node] = CodeRange(CodePosition(span.start.line + shift, span.start.column),
                                    CodePosition(span.end.line + shift, span.end.column))
        if len(found) == len(wanted):
            break
    return found
