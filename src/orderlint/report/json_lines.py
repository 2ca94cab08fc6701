"""``json-lines``: one JSON object per line, with the fields of ``json``."""

from __future__ import annotations

import json
from typing import Optional, Sequence, TextIO

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context
from orderlint.report.json_array import record


def json_lines(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    for d in diagnostics:
        out.write(json.dumps(record(d)) + "\n")
