"""Parse only what matters: the top-level statements that can hold a finding.

The standard library's ``ast`` (an order of magnitude cheaper than LibCST)
finds the top-level statements; those that mention none of the active
families' triggers are blanked out line for line, so LibCST parses a text
with the same lines, and every position it reports is a position in the
original file. Imports and module-level assignments are always kept (they
resolve names and constants), and so are the top-level functions and classes
that a kept statement calls (a training loop's helpers).
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, List, NamedTuple, Optional, Set, Tuple

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Lines as ast and LibCST count them (str.splitlines would also break at form feeds and U+2028).
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _span(statement: ast.stmt) -> Tuple[int, int]:
    first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
    return first, statement.end_lineno or statement.lineno


def _always_kept(statement: ast.stmt) -> bool:
    """Every module-level statement that is not a definition: imports (also under ``try:``), constants,
    and module-level code such as ``layers = []; for ...: layers.append(...)`` that a kept statement may use."""
    return not isinstance(statement, _DEFINITIONS)


_CALLED = re.compile(r"(\w+)\s*\(")


def _called_names(text: str) -> Set[str]:
    """Names followed by ``(`` in a statement's text: every call (and a few harmless extras, such as
    ``def f(``, which can only keep more code, never less)."""
    return set(_CALLED.findall(text))


class Reduced(NamedTuple):
    text: str
    # The line where each top-level statement LibCST will see starts (None when ``ast`` could not tell).
    statement_lines: Optional[List[int]]


def relevant_source(source: str, triggers: Iterable[str]) -> Reduced:
    """``source`` with the top-level statements that cannot matter replaced by empty lines."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return Reduced(source, None)  # LibCST will parse it whole (and report the error)
    if len(tree.body) < 2:
        return Reduced(source, _statement_lines(tree.body, [True] * len(tree.body)))
    lines = _LINES.findall(source)
    spans = [_span(statement) for statement in tree.body]
    texts = ["".join(lines[start - 1 : end]) for start, end in spans]
    triggers = tuple(triggers)
    kept = [_always_kept(statement) or any(t in text for t in triggers) for statement, text in zip(tree.body, texts)]
    _keep_called_definitions(tree.body, texts, kept)
    _keep_callers(tree.body, texts, kept)
    _keep_shared_lines(spans, kept)
    blank: List[bool] = [False] * len(lines)
    for statement, (start, end), keep in zip(tree.body, spans, kept):
        if not keep:
            _blank(blank, start, end)
        elif isinstance(statement, ast.ClassDef):
            _blank_unused_methods(statement, lines, triggers, blank)
    statement_lines = _statement_lines(tree.body, kept)
    if not any(blank):
        return Reduced(source, statement_lines)
    return Reduced("".join(_line_ending(line) if blank[i] else line for i, line in enumerate(lines)), statement_lines)


def _statement_lines(body: List[ast.stmt], kept: List[bool]) -> List[int]:
    """Where each kept top-level statement starts, as LibCST groups them: statements that share a line
    (``a = 1; b = 2``) are one LibCST statement; a definition starts at its ``def``/``class`` line."""
    starts: List[int] = []
    previous_end = 0
    for statement, keep in zip(body, kept):
        if not keep:
            continue
        if statement.lineno != previous_end:
            starts.append(statement.lineno)
        previous_end = statement.end_lineno or statement.lineno
    return starts


def _blank(blank: List[bool], start: int, end: int) -> None:
    for number in range(start - 1, min(end, len(blank))):
        blank[number] = True


def _blank_unused_methods(cls: ast.ClassDef, lines: List[str], triggers: Tuple[str, ...], blank: List[bool]) -> None:
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
    _keep_called_definitions(members, texts, kept)
    _keep_callers(members, texts, kept)
    _keep_shared_lines(spans, kept)
    if not any(kept) or spans[0][0] <= cls.lineno:
        return  # an emptied body would not parse; a one-line class has nothing to gain
    for (start, end), keep in zip(spans, kept):
        if not keep:
            _blank(blank, start, end)


def _keep_called_definitions(body: List[ast.stmt], texts: List[str], kept: List[bool]) -> None:
    definitions = {s.name: i for i, s in enumerate(body) if isinstance(s, _DEFINITIONS)}
    frontier = [i for i, keep in enumerate(kept) if keep]
    while frontier:
        index = frontier.pop()
        for name in _called_names(texts[index]):
            target = definitions.get(name)
            if target is not None and not kept[target]:
                kept[target] = True
                frontier.append(target)


def _keep_callers(body: List[ast.stmt], texts: List[str], kept: List[bool]) -> None:
    """A function that calls a kept one (``main()`` calling ``train(model, criterion)``, ``fit()`` calling
    ``self._run_epoch()`` calling ``self._run_batch()``) holds its arguments and loops: keep it too, and
    its callers in turn."""
    calls = {i: _called_names(texts[i]) for i, s in enumerate(body) if isinstance(s, _DEFINITIONS) and not kept[i]}
    kept_names = {s.name for s, keep in zip(body, kept) if keep and isinstance(s, _DEFINITIONS)}
    changed = True
    while changed:
        changed = False
        for i, names in list(calls.items()):
            if names & kept_names:
                kept[i] = True
                kept_names.add(body[i].name)
                del calls[i]
                changed = True


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
