"""Output formats."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Callable, Dict, List, Sequence, TextIO

from orderlint.diagnostics import Diagnostic


def display_path(path: str) -> str:
    """Relative to the working directory when below it, else as given."""
    if path == "-":
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def concise(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    for d in diagnostics:
        out.write(f"{display_path(d.path)}:{d.row}:{d.column}: {d.code} {d.message}\n")
    count = len(diagnostics)
    out.write(f"Found {count} problem{'s' if count != 1 else ''}.\n" if count else "All checks passed!\n")


def as_json(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    records = [
        {
            "code": d.code,
            "name": d.name,
            "message": d.message,
            "filename": os.path.abspath(d.path) if d.path != "-" else d.path,
            "location": {"row": d.row, "column": d.column},
            "end_location": {"row": d.end_row or d.row, "column": d.end_column or d.column},
            "fix": d.fix,
            "url": d.url,
            "noqa_row": d.row,
        }
        for d in diagnostics
    ]
    json.dump(records, out, indent=2)
    out.write("\n")


def statistics(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    counts = Counter((d.code, d.name) for d in diagnostics)
    for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        out.write(f"{count:>5}\t{code}\t{name}\n")
    if not counts:
        out.write("All checks passed!\n")


FORMATS: Dict[str, Callable[[Sequence[Diagnostic], TextIO], None]] = {"concise": concise, "json": as_json}
