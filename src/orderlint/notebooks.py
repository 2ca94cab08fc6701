"""Jupyter notebooks: the code cells as one Python source, and back.

A notebook (nbformat 4) is linted as the concatenation of its code cells, in
order. IPython syntax that is not Python is masked line by line so that every
other line keeps its text, and so its column:

- a cell whose first non-blank line is a cell magic (``%%time``, ``%%bash``)
  is left out whole;
- a line magic (``%matplotlib inline``), a shell escape (``!pip install``),
  their assignment forms (``files = !ls``, ``t = %timeit -o f()``) and help
  lines (``obj?``, ``??obj``) become ``pass  # orderlint-magic N`` with the
  line's indentation (a statement, so an indented block stays a block).

Only lines that start a logical line are masked: a ``%`` that continues an
expression inside brackets or after a backslash is Python's modulo.

Each cell is preceded by a marker comment line, ``# orderlint-cell N``. The
markers make the map back to cells trivial and let :func:`write_back` cut a
fixed source into cells again even when a fix added or removed lines.

Positions: cell numbers are 1-based indexes among *all* cells (markdown cells
included), as Jupyter front ends and ruff number them; rows are 1-based within
the cell; columns are unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from json.decoder import scanstring
from typing import Iterator, List, Optional, Sequence, Tuple

from orderlint.diagnostics import Diagnostic
from orderlint.files import SourceError

SUFFIX = ".ipynb"
CELL_MARKER = "# orderlint-cell "
_MARKER = re.compile(r"^# orderlint-cell (\d+)$")
_MASK = "pass  # orderlint-magic "
_MASKED = re.compile(r"^([ \t]*)pass  # orderlint-magic (\d+)$")
_LINE_WITH_END = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # Python's line breaks

# IPython escapes at the start of a logical line.
_LINE_MAGIC = re.compile(r"[ \t]*(%|!)")
_ASSIGNED_MAGIC = re.compile(r"[ \t]*[\w.]+(?:[ \t]*,[ \t]*[\w.]+)*[ \t]*=[ \t]*(%|!)(?!=)")
_HELP = re.compile(r"[ \t]*(?:\?{1,2}[\w.]+|[\w.]+(?:\(\))?\?{1,2})[ \t]*(?:#.*)?$")
_CELL_MAGIC = re.compile(r"[ \t]*%%")


def is_notebook(path: str) -> bool:
    return path.lower().endswith(SUFFIX)


class NotebookError(SourceError):
    """Not a notebook orderlint can read: reported as OL000 on the file."""


@dataclass
class Cell:
    """One code cell that is part of the linted source."""

    index: int  # 0-based index among all cells of the notebook
    text: str  # the cell's source as stored, joined
    masked: List[str]  # the cell's lines as linted, without line breaks
    ends: List[str] = field(default_factory=list)  # each line's break as stored ("" for a last line without one)
    magics: List[str] = field(default_factory=list)  # original text of the masked lines, in order
    start: int = 0  # 1-based row in the concatenated source of the cell's first line
    as_list: bool = True  # how the notebook stores the source: a list of lines, or one string

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass
class Notebook:
    text: str  # the notebook's JSON text, as read
    cells: List[Cell]  # the code cells that are linted, in order
    source: str  # what is linted: markers and masked cells
    python: bool = True  # False for a notebook whose kernel is another language: nothing is linted

    def locate(self, row: int) -> Tuple[int, int]:
        """(cell number, row in cell) of a 1-based row of ``source``."""
        if not self.cells:
            return 1, 1
        cell = self.cells[0]
        for candidate in self.cells:
            if candidate.start - 1 <= row:  # a marker row belongs to the cell it introduces
                cell = candidate
            else:
                break
        in_cell = row - cell.start + 1
        return cell.number, max(1, min(in_cell, max(1, len(cell.masked))))


# reading ---------------------------------------------------------------------


def decode(data: bytes) -> str:
    """A notebook is UTF-8 JSON (a BOM is tolerated)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotebookError(f"invalid notebook: not UTF-8 ({error.reason} at byte {error.start})") from None


def _cell_text(source) -> Optional[str]:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    return None


def read_notebook(text: str) -> Notebook:
    """Parses a notebook's JSON text; raises ``NotebookError`` with a message for users."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"invalid notebook: not valid JSON: {error.msg}", error.lineno, error.colno) from None
    except (ValueError, RecursionError) as error:
        raise NotebookError(f"invalid notebook: not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        if isinstance(document, dict) and isinstance(document.get("worksheets"), list):
            raise NotebookError("invalid notebook: nbformat 3 is not supported; "
                                "convert it with `jupyter nbconvert --to notebook --nbformat 4`")
        raise NotebookError("invalid notebook: the JSON has no `cells` list")
    python = _language(document).lower() in ("", "python", "python3", "ipython", "ipython3")

    cells: List[Cell] = []
    for index, raw in enumerate(document["cells"]):
        if not isinstance(raw, dict):
            raise NotebookError(f"invalid notebook: cell {index + 1} is not an object")
        if raw.get("cell_type") != "code":
            continue
        cell_text = _cell_text(raw.get("source", ""))
        if cell_text is None:
            raise NotebookError(f"invalid notebook: cell {index + 1}: `source` must be a string or a list of strings")
        masked = _mask(cell_text)
        if masked is None:  # a cell magic: the cell is not Python
            continue
        lines, ends, magics = masked
        cells.append(Cell(index, cell_text, lines, ends, magics, as_list=isinstance(raw.get("source"), list)))

    parts: List[str] = []
    row = 1
    for cell in cells if python else []:
        parts.append(f"{CELL_MARKER}{cell.number}\n")
        row += 1
        cell.start = row
        parts.extend(line + (end or "\n") for line, end in zip(cell.masked, cell.ends))
        row += len(cell.masked)
    return Notebook(text, cells if python else [], "".join(parts), python)


def _language(document: dict) -> str:
    """The kernel's language from the notebook's metadata; "" when it does not say."""
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for key, field_name in (("language_info", "name"), ("kernelspec", "language")):
        table = metadata.get(key)
        if isinstance(table, dict) and isinstance(table.get(field_name), str):
            return table[field_name]
    return ""


def _lines(text: str) -> List[Tuple[str, str]]:
    """A text's lines as (content, line break), breaks as Python counts them (``\\r\\n``, ``\\r``, ``\\n``)."""
    result = []
    for line in _LINE_WITH_END.findall(text):
        content = line.rstrip("\r\n")
        result.append((content, line[len(content):]))
    return result


def _mask(text: str) -> Optional[Tuple[List[str], List[str], List[str]]]:
    """(lines as linted, their breaks, original masked lines), or None for a cell-magic cell."""
    split = _lines(text)
    lines = [content for content, _ in split]
    first = next((line for line in lines if line.strip()), "")
    if _CELL_MAGIC.match(first):
        return None
    out: List[str] = []
    magics: List[str] = []
    scanner = _LogicalLines()
    continued_magic = False
    indent = ""
    for line in lines:
        if continued_magic or (scanner.at_start and (_LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line)
                                                     or _HELP.match(line))):
            if not continued_magic:  # a continuation line keeps the magic's indentation, whatever its own
                indent = line[: len(line) - len(line.lstrip(" \t"))]
            out.append(f"{indent}{_MASK}{len(magics)}")
            magics.append(line)
            continued_magic = line.endswith("\\")
            continue
        out.append(line)
        scanner.feed(line)
    return out, [end for _, end in split], magics


class _LogicalLines:
    """Tracks whether the next physical line starts a logical line: not inside
    brackets, a string or a backslash continuation. Coarse, and only used to
    tell ``%`` the magic from ``%`` the operator."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None  # the open string's delimiter, when it spans lines
        self.backslash = False

    @property
    def at_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.backslash

    def feed(self, line: str) -> None:
        self.backslash = False
        i, n = 0, len(line)
        while i < n:
            if self.quote is not None:
                if line[i] == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            char = line[i]
            if char == "#":
                break
            if char in "\"'":
                delimiter = char * 3 if line.startswith(char * 3, i) else char
                self.quote = delimiter
                i += len(delimiter)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and i + 1 == n:
                self.backslash = True
            i += 1
        if self.quote is not None and len(self.quote) == 1 and not self.backslash:
            if not line.endswith("\\"):
                self.quote = None  # an unterminated one-line string: a syntax error, not our concern
            else:
                self.backslash = True


# positions of the cells' sources in the JSON text -----------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    return _WHITESPACE.match(text, i).end()


def _members(text: str, i: int) -> Iterator[Tuple[str, int, int]]:
    """(key, value start, value end) of the JSON object at ``text[i] == '{'``."""
    i = _skip(text, i + 1)
    if text[i] == "}":
        return
    while True:
        key, i = scanstring(text, i + 1)
        i = _skip(text, i)
        i = _skip(text, i + 1)  # the colon
        _, end = _DECODER.raw_decode(text, i)
        yield key, i, end
        i = _skip(text, end)
        if text[i] == "}":
            return
        i = _skip(text, i + 1)  # the comma


def _elements(text: str, i: int) -> Iterator[Tuple[int, int]]:
    """(start, end) of each value of the JSON array at ``text[i] == '['``."""
    i = _skip(text, i + 1)
    if text[i] == "]":
        return
    while True:
        _, end = _DECODER.raw_decode(text, i)
        yield i, end
        i = _skip(text, end)
        if text[i] == "]":
            return
        i = _skip(text, i + 1)


def _source_spans(text: str) -> Iterator[Tuple[int, int, int]]:
    """(cell index, start, end) of every cell's ``source`` value, for a text ``json.loads`` accepted."""
    start = _skip(text, 0)
    if text[start:start + 1] != "{":
        return
    cells = None
    for key, value_start, _ in _members(text, start):
        if key == "cells":
            cells = value_start  # the last one wins, as in json.loads
    if cells is None or text[cells] != "[":
        return
    for index, (cell_start, _) in enumerate(_elements(text, cells)):
        if text[cell_start] != "{":
            continue
        source = None
        for key, value_start, value_end in _members(text, cell_start):
            if key == "source":
                source = (value_start, value_end)
        if source is not None:
            yield (index, *source)


# diagnostics -----------------------------------------------------------------


def map_diagnostic(notebook: Notebook, diagnostic: Diagnostic) -> Diagnostic:
    """A diagnostic on the concatenated source, moved to its cell."""
    cell, row = notebook.locate(diagnostic.row)
    end_cell, end_row = notebook.locate(diagnostic.end_row or diagnostic.row)
    end_column = diagnostic.end_column
    if end_cell != cell:  # a range cannot leave its cell: end it at the start
        end_row, end_column = row, diagnostic.column
    fix = diagnostic.fix
    if fix and isinstance(fix.get("edits"), list):
        fix = {**fix, "edits": [_map_edit(notebook, edit) for edit in fix["edits"]]}
    return replace(diagnostic, row=row, end_row=end_row, end_column=end_column, cell=cell, fix=fix)


def _map_edit(notebook: Notebook, edit: dict) -> dict:
    edit = dict(edit)
    for key in ("location", "end_location"):
        where = edit.get(key)
        if isinstance(where, dict) and isinstance(where.get("row"), int):
            edit[key] = {**where, "row": notebook.locate(where["row"])[1]}
    return edit


def lint_notebook(text: str, path: str, rules: Sequence, lint=None) -> List[Diagnostic]:
    """Diagnostics for a notebook's JSON text, with cell numbers and rows within cells.

    ``lint(source, path, rules)`` lints the concatenated source (default: ``engine.lint_source``).
    """
    from orderlint.engine import lint_source, syntax_error

    try:
        notebook = read_notebook(text)
    except NotebookError as error:
        return [syntax_error(path, str(error), error.row, error.column)]
    if not notebook.source:
        return []
    diagnostics = (lint or lint_source)(notebook.source, path, rules)
    return sorted((map_diagnostic(notebook, d) for d in diagnostics), key=Diagnostic.sort_key)


# writing back ----------------------------------------------------------------


def split_cells(notebook: Notebook, source: str) -> List[str]:
    """A (possibly fixed) concatenated source cut back into the cells' texts, magics restored.

    Text before the first marker (e.g. an import a fix added at the top) goes to the first cell.
    """
    pieces: List[List[str]] = [[] for _ in notebook.cells]
    numbers = {cell.number: position for position, cell in enumerate(notebook.cells)}
    current = 0
    for line in _LINE_WITH_END.findall(source):
        match = _MARKER.match(line.rstrip("\r\n"))
        if match and int(match.group(1)) in numbers:
            current = numbers[int(match.group(1))]
            continue
        if pieces:
            pieces[current].append(line)
    texts = []
    for cell, lines in zip(notebook.cells, pieces):
        restored = []
        for line in lines:
            content = line.rstrip("\r\n")
            masked = _MASKED.match(content)
            if masked and int(masked.group(2)) < len(cell.magics):
                restored.append(cell.magics[int(masked.group(2))] + line[len(content):])
            else:
                restored.append(line)
        text = "".join(restored)
        if not cell.text.endswith(("\n", "\r")) and text.endswith("\n"):
            text = text[:-1]
        texts.append(text)
    return texts


def write_back(notebook: Notebook, source: str) -> str:
    """The notebook's JSON text with its code cells replaced by the cells of ``source``
    (the concatenated source, after fixes). Cells whose text is unchanged, and every
    byte outside the changed cells' ``source`` values, are kept exactly as they were."""
    texts = split_cells(notebook, source)
    changed = [(cell, text) for cell, text in zip(notebook.cells, texts) if text != cell.text]
    if not changed:
        return notebook.text
    spans = {index: (start, end) for index, start, end in _source_spans(notebook.text)}
    out: List[str] = []
    position = 0
    for cell, text in changed:
        if cell.index not in spans:  # a code cell without a `source` key: nothing to replace
            continue
        start, end = spans[cell.index]
        out.append(notebook.text[position:start])
        out.append(_encode_source(notebook.text, start, end, text, cell.as_list))
        position = end
    out.append(notebook.text[position:])
    return "".join(out)


def _encode_source(document: str, start: int, end: int, text: str, as_list: bool) -> str:
    """``text`` as a cell's ``source`` value, in the style of the value it replaces."""
    ascii_only = not any(ord(char) > 127 for char in document)

    def string(value: str) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    if not as_list:
        return string(text)
    lines = text.splitlines(keepends=True)
    if not lines:
        return "[]"
    old = document[start:end]
    line_start = document.rfind("\n", 0, start) + 1
    key_indent = re.match(r"[ \t]*", document[line_start:start]).group(0)
    if "\n" in old or (old.strip() == "[]" and "\n" in document[:start]):  # an indented document
        inner = re.match(r"\[([ \t\r\n]*)", old).group(1) if old.strip() != "[]" else ""
        closing = re.search(r"([ \t\r\n]*)\]$", old).group(1) if old.strip() != "[]" else ""
        newline = "\r\n" if "\r\n" in document[:start] else "\n"
        if "\n" not in inner:  # an empty list before: nbformat's layout, one more space than the key
            inner, closing = f"{newline}{key_indent} ", f"{newline}{key_indent}"
        return "[" + inner + ("," + inner).join(string(line) for line in lines) + closing + "]"
    return "[" + ", ".join(string(line) for line in lines) + "]"
