"""``github``: GitHub Actions workflow commands, shown as annotations on the
pull request's diff, with the escaping of GitHub's own toolkit
(``@actions/core``: ``escapeData`` for the message, ``escapeProperty`` for
the properties)."""

from __future__ import annotations

from typing import Optional, Sequence, TextIO

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, cell_of, display_path, end_of


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    for d in diagnostics:
        end_row, end_column = end_of(d)
        properties = [("title", f"orderlint ({d.code})"), ("file", display_path(d.path))]
        message = d.message
        if cell_of(d):  # a notebook's rows are not the JSON file's lines: annotate the file, say where
            message = f"cell {cell_of(d)}:{d.row}:{d.column}: {message}"
        else:
            properties += [("line", str(d.row)), ("col", str(d.column)),
                           ("endLine", str(end_row)), ("endColumn", str(end_column))]
        joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
        out.write(f"::error {joined}::{escape_data(message)}\n")
