"""What every output format shares: how paths are shown, and the source text
of the files diagnostics point into, read only when a format needs it."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from orderlint.files import SourceError, decode

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer (and LibCST) count as a line break


def display_path(path: str) -> str:
    """Relative to the working directory when below it, else as given."""
    if path == "-":
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def source_lines(text: str) -> List[str]:
    """The lines of a source text, without their line breaks, numbered as diagnostics number them (from 1)."""
    return _LINE_BREAK.split(text)


class Sources:
    """The text of linted files, by the path diagnostics carry. Files are read
    lazily, at report time, and only by the formats that show source (the lint
    path never keeps text around); ``texts`` supplies what cannot be read back,
    such as standard input. Diagnostics come sorted by path, so only the last
    file read is kept. For a notebook diagnostic (``cell`` set), the lines are
    those of that cell."""

    def __init__(self, texts: Optional[Mapping[str, str]] = None):
        self._texts: Dict[str, str] = dict(texts or {})
        self._path: Optional[str] = None
        self._text: Optional[str] = None
        self._key: Optional[Tuple[str, Optional[int]]] = None
        self._lines: Optional[List[str]] = None

    def text(self, path: str) -> Optional[str]:
        if path != self._path:
            self._path, self._text = path, self._texts.get(path)
            if self._text is None:
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    pass
                else:
                    try:
                        self._text = decode(data)
                    except SourceError:  # an OL000 file: show what can be shown
                        self._text = data.decode("utf-8", errors="replace")
        return self._text

    def lines(self, path: str, cell: Optional[int] = None) -> Optional[List[str]]:
        if (path, cell) != self._key:
            text = self.text(path)
            if text is not None and cell is not None:
                text = _notebook_cell(text, cell)
            self._key, self._lines = (path, cell), None if text is None else source_lines(text)
        return self._lines

    def line(self, path: str, row: int, cell: Optional[int] = None) -> Optional[str]:
        """The text of line ``row`` (1-based), or None when the file or the line is gone."""
        lines = self.lines(path, cell)
        if lines is None or not 1 <= row <= len(lines):
            return None
        return lines[row - 1]


def _notebook_cell(text: str, number: int) -> Optional[str]:
    """The source of the 1-based ``number``-th cell of a notebook's JSON text."""
    try:
        cells = json.loads(text).get("cells")
        source = cells[number - 1].get("source", "")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        source = "".join(source)
    return source if isinstance(source, str) else None


def cell_of(d) -> Optional[int]:
    """The notebook cell of a diagnostic (None for a Python file)."""
    return getattr(d, "cell", None)


def location(d) -> str:
    """``path:row:col``, or ``path:cell N:row:col`` in a notebook, as ruff writes them."""
    cell = cell_of(d)
    return f"{display_path(d.path)}:{f'cell {cell}:' if cell else ''}{d.row}:{d.column}"


@dataclass
class Context:
    """What a format may use besides the diagnostics: the source text, and the
    files that were checked (clean ones included) when the caller knows them."""

    sources: Sources = field(default_factory=Sources)
    files: Optional[Sequence[str]] = None
    fixed: int = 0  # fixes applied in this run
    unsafe_fixes: bool = False  # whether unsafe fixes count as available


def fixable(d, context: Optional["Context"]) -> bool:
    fix = d.fix
    return bool(fix) and (fix["applicability"] == "safe" or bool(context and context.unsafe_fixes))


def code_and_mark(d, context: Optional["Context"]) -> str:
    """``OL105 [*]`` for a diagnostic that ``--fix`` would repair, as ruff marks them."""
    return f"{d.code} [*]" if fixable(d, context) else d.code


def end_of(d) -> "tuple[int, int]":
    """The end of a diagnostic's span (exclusive, 1-based); its start when the span is unknown."""
    if d.end_row <= 0 or (d.end_row, d.end_column) < (d.row, d.column):
        return d.row, d.column
    return d.end_row, d.end_column


def _problems(count: int) -> str:
    return f"{count} problem{'s' if count != 1 else ''}"


def summary(diagnostics: Sequence, context: Optional[Context] = None) -> str:
    """The closing lines: counts, what was fixed, and what ``--fix`` / ``--unsafe-fixes`` would repair."""
    fixed = context.fixed if context else 0
    remaining = len(diagnostics)
    if fixed:
        lines = [f"Found {_problems(fixed + remaining)} ({fixed} fixed, {remaining} remaining)."]
    else:
        lines = [f"Found {_problems(remaining)}." if remaining else "All checks passed!"]
    available = sum(1 for d in diagnostics if fixable(d, context))
    hidden = sum(1 for d in diagnostics if d.fix and not fixable(d, context))
    if available:
        lines.append(f"[*] {available} fixable with the `--fix` option.")
    if hidden:
        lines.append(f"({hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option.)")
    return "\n".join(lines) + "\n"
