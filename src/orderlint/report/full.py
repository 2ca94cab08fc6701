"""``full`` (the default): each diagnostic as ``path:row:col: CODE message``
followed by the source it points at, the span underlined, in the manner of
ruff's full output::

    train.py:3:23: OL101 `T.Normalize` runs before `T.ToTensor`: ...
      |
    3 | pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])
      |                       ^^^^^^^^^^^^^^^^^^^^^^^^^ OL101
      |

A span over several lines is drawn with a bracket in the margin, and the
middle of a long one is elided. The source is read at report time (see
``Sources``); when it cannot be read, only the first line is printed.
"""

from __future__ import annotations

import unicodedata
from typing import List, Optional, Sequence, TextIO

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, code_and_mark, cell_of, end_of, location, summary

TAB_WIDTH = 4
MAX_SPAN_LINES = 5  # longer spans show their first two and last two lines


def _cell(char: str) -> str:
    """How one character is drawn: tabs expanded, control characters made visible."""
    if char == "\t":
        return " " * TAB_WIDTH
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ... ␟
    if code == 0x7F:
        return "\u2421"
    return char


def _width(text: str) -> int:
    """Terminal cells ``text`` takes once drawn."""
    width = 0
    for char in text:
        if char == "\t":
            width += TAB_WIDTH
        elif unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += 2
        else:
            width += 1
    return width


def _draw(line: str) -> str:
    return "".join(_cell(char) for char in line)


def _offset(line: str, column: int) -> int:
    """The cell where 1-based ``column`` of ``line`` is drawn (just past the end at most)."""
    return _width(line[: max(0, min(column, len(line) + 1) - 1)])


def snippet(d: Diagnostic, lines: Optional[List[str]]) -> List[str]:
    """The source block under a diagnostic's first line; empty when the lines are not available."""
    if lines is None or not 1 <= d.row <= len(lines):
        return []
    end_row, end_column = end_of(d)
    end_row = min(end_row, len(lines))
    width = len(str(end_row))
    blank = " " * width + " |"

    def numbered(row: int, text: str) -> str:
        return f"{row:>{width}} | {text}".rstrip()

    def marked(text: str) -> str:
        return f"{blank} {text}".rstrip()

    out = [blank]
    if end_row == d.row:
        line = lines[d.row - 1]
        start = _offset(line, d.column)
        carets = max(1, _offset(line, end_column) - start) if end_column > d.column else 1
        out += [numbered(d.row, _draw(line)), marked(" " * start + "^" * carets + f" {d.code}")]
    else:
        first, last = lines[d.row - 1], lines[end_row - 1]
        out += [numbered(d.row, "  " + _draw(first)), marked(" " + "_" * (_offset(first, d.column) + 1) + "^")]
        middle = list(range(d.row + 1, end_row))
        if end_row - d.row + 1 > MAX_SPAN_LINES:
            middle = middle[:1] + [0] + middle[-1:]
        for row in middle:
            out.append(numbered(row, "| " + _draw(lines[row - 1])) if row else f"{blank} | ...")
        out.append(numbered(end_row, "| " + _draw(last)))
        out.append(marked("|" + "_" * (_offset(last, max(1, end_column - 1)) + 1) + f"^ {d.code}"))
    out.append(blank)
    return out


def full(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    context = context or Context()
    for d in diagnostics:
        out.write(f"{location(d)}: {code_and_mark(d, context)} {d.message}\n")
        for text in snippet(d, context.sources.lines(d.path, cell_of(d))):
            out.write(text + "\n")
        out.write("\n")
    out.write(summary(diagnostics, context))
