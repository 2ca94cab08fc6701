"""Parse only what matters: the top-level statements that can hold a finding.

The standard library's ``ast`` (an order of magnitude cheaper than LibCST)
finds the top-level statements; those that mention none of the active
families' triggers are blanked out line for line, so LibCST parses a text
with the same lines, and every position it reports is a position in the
original file. Kept as well: imports and module-level code (they resolve
names and run the script), the module-level assignments whose names kept
code reads (constants; a model's table of pretrained configurations that no
kept code reads is dropped), the top-level functions and classes that kept
code calls (a training loop's helpers), and those that call kept code.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Lines as ast and LibCST count them (str.splitlines would also break at form feeds and U+2028).
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> List[str]:
    """``text``'s lines with their line breaks, as ast and LibCST count them."""
    return _LINES.findall(text)


def _span(statement: ast.stmt) -> Tuple[int, int]:
    first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
    return first, statement.end_lineno or statement.lineno


def _assigned_names(statement: ast.stmt) -> Optional[Set[str]]:
    """The names a plain module-level assignment binds (an empty set for a docstring); None for everything
    else: definitions, imports and module-level code (``if``/``for``/``try``, calls, ``os.environ[k] = v``)."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return set()
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return None
    names: Set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif not isinstance(node, (ast.Tuple, ast.List, ast.Starred, ast.expr_context)):
                return None  # an attribute or item is set: module-level code with an effect
    return names


def _always_kept(statement: ast.stmt) -> bool:
    """Imports (also under ``try:``) and module-level code such as ``for ...: layers.append(...)``."""
    return not isinstance(statement, _DEFINITIONS) and _assigned_names(statement) is None


_CALLED = re.compile(r"\b(\w+)\s*\(")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


class _Calls:
    """Names followed by ``(``, by line, from one pass over the file: every call (and a few harmless
    extras, such as ``def f(``, which can only keep more code, never less)."""

    def __init__(self, source: str, lines: List[str]):
        line_ends = list(accumulate(len(line) for line in lines))
        self._lines: List[int] = []
        self._names: List[str] = []
        for match in _CALLED.finditer(source):
            self._lines.append(bisect_right(line_ends, match.start()) + 1)
            self._names.append(match.group(1))

    def within(self, span: Tuple[int, int]) -> Set[str]:
        start, end = span
        return set(self._names[bisect_left(self._lines, start) : bisect_right(self._lines, end)])


class Statement(NamedTuple):
    """Where a top-level statement of the reduced text is: the line LibCST's statement starts on (a
    definition's ``def``/``class`` line), and all the lines it covers (decorators included)."""

    line: int
    first: int
    last: int


class Reduced(NamedTuple):
    text: str
    statements: Optional[List[Statement]]  # each top-level statement LibCST will see (None: ``ast`` could not tell)


def relevant_source(source: str, triggers: Iterable[str]) -> Reduced:
    """``source`` with the top-level statements that cannot matter replaced by empty lines."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return Reduced(source, None)  # LibCST will parse it whole (and report the error)
    if len(tree.body) < 2:
        return Reduced(source, _statements(tree.body, [True] * len(tree.body)))
    lines = split_lines(source)
    spans = [_span(statement) for statement in tree.body]
    texts = ["".join(lines[start - 1 : end]) for start, end in spans]
    triggers = tuple(triggers)
    kept = [_always_kept(statement) or any(t in text for t in triggers) for statement, text in zip(tree.body, texts)]
    calls = _Calls(source, lines)
    _keep_dependencies(tree.body, spans, texts, kept, calls)
    _keep_shared_lines(spans, kept)
    blank: List[bool] = [False] * len(lines)
    for statement, (start, end), keep in zip(tree.body, spans, kept):
        if not keep:
            _blank(blank, start, end)
        elif isinstance(statement, ast.ClassDef):
            _blank_unused_methods(statement, lines, triggers, calls, blank)
    statements = _statements(tree.body, kept)
    if not any(blank):
        return Reduced(source, statements)
    return Reduced("".join(_line_ending(line) if blank[i] else line for i, line in enumerate(lines)), statements)


def _statements(body: List[ast.stmt], kept: List[bool]) -> List[Statement]:
    """The kept top-level statements as LibCST groups them: statements that share a line (``a = 1; b = 2``)
    are one LibCST statement."""
    found: List[Statement] = []
    for statement, keep in zip(body, kept):
        if not keep:
            continue
        first, last = _span(statement)
        if found and first <= found[-1].last:
            found[-1] = found[-1]._replace(last=max(last, found[-1].last))
        else:
            found.append(Statement(statement.lineno, first, last))
    return found


def _blank(blank: List[bool], start: int, end: int) -> None:
    for number in range(start - 1, min(end, len(blank))):
        blank[number] = True


def _blank_unused_methods(cls: ast.ClassDef, lines: List[str], triggers: Tuple[str, ...], calls: _Calls,
                          blank: List[bool]) -> None:
    """In a kept class: ``__init__``, members that mention a trigger, the methods they call and the methods
    that call them (``fit()`` calling ``self.training_step()``) stay."""
    members = cls.body
    spans = [_span(member) for member in members]
    texts = ["".join(lines[start - 1 : end]) for start, end in spans]
    kept = [
        not isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) or member.name == "__init__"
        or any(t in text for t in triggers)
        for member, text in zip(members, texts)
    ]
    _keep_dependencies(members, spans, texts, kept, calls)
    _keep_shared_lines(spans, kept)
    if not any(kept) or spans[0][0] <= cls.lineno:
        return  # an emptied body would not parse; a one-line class has nothing to gain
    for (start, end), keep in zip(spans, kept):
        if not keep:
            _blank(blank, start, end)


def _keep_dependencies(body: List[ast.stmt], spans: List[Tuple[int, int]], texts: List[str], kept: List[bool],
                       calls: _Calls) -> None:
    """Keeps, until nothing changes: the definitions that kept code calls (a training loop's helpers), the
    module-level assignments that kept code reads, and the definitions and assignments that call a kept
    definition (``main()`` calling ``train(model, criterion)``, ``fit()`` calling ``self._run_epoch()``):
    they hold its arguments and loops. A caller's own callees are not needed, only what it reads."""
    called_by: Dict[int, Set[str]] = {}

    def called(i: int) -> Set[str]:
        if i not in called_by:
            called_by[i] = calls.within(spans[i])
        return called_by[i]

    definitions = {s.name: i for i, s in enumerate(body) if isinstance(s, _DEFINITIONS)}
    assignments: Dict[str, List[int]] = {}
    for i, statement in enumerate(body):
        if not kept[i] and not isinstance(statement, _DEFINITIONS):
            for name in _assigned_names(statement) or ():
                assignments.setdefault(name, []).append(i)
    frontier = [(i, True) for i, keep in enumerate(kept) if keep]  # (statement, are its callees needed)
    while frontier:
        while frontier:
            i, full = frontier.pop()
            for name in called(i) if full else ():
                target = definitions.get(name)
                if target is not None and not kept[target]:
                    kept[target] = True
                    frontier.append((target, True))
            for name in set(_IDENTIFIER.findall(texts[i])) if assignments else ():
                for target in assignments.pop(name, ()):
                    if not kept[target]:
                        kept[target] = True
                        frontier.append((target, True))
        kept_names = {s.name for s, keep in zip(body, kept) if keep and isinstance(s, _DEFINITIONS)}
        for i, keep in enumerate(kept):
            if not keep and called(i) & kept_names:
                kept[i] = True
                frontier.append((i, False))


def _keep_shared_lines(spans: List[Tuple[int, int]], kept: List[bool]) -> None:
    """Statements that share a line (``a = 1; def ...`` cannot) must be kept or blanked together."""
    for i in range(1, len(spans)):
        if spans[i][0] <= spans[i - 1][1] and kept[i] != kept[i - 1]:
            kept[i] = kept[i - 1] = True


def _line_ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""
