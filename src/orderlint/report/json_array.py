"""``json``: a JSON array of diagnostics with ruff's field names."""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence, TextIO

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, cell_of


def record(d: Diagnostic) -> dict:
    """One diagnostic as ruff's JSON output spells it (shared with ``json-lines``)."""
    entry = {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "filename": os.path.abspath(d.path) if d.path != "-" else d.path,
        "location": {"row": d.row, "column": d.column},
        "end_location": {"row": d.end_row or d.row, "column": d.end_column or d.column},
        "fix": d.fix,
        "url": d.url,
        "noqa_row": d.row,
        "cell": cell_of(d),  # notebooks: rows count from the top of this cell; null elsewhere, as in ruff
    }
    return entry


def as_json(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    json.dump([record(d) for d in diagnostics], out, indent=2)
    out.write("\n")
