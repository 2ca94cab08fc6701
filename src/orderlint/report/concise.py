"""``concise``: one ``path:row:col: CODE message`` line per diagnostic, then a summary."""

from __future__ import annotations

from typing import Optional, Sequence, TextIO

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, code_and_mark, location, summary


def concise(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    for d in diagnostics:
        out.write(f"{location(d)}: {code_and_mark(d, context)} {d.message}\n")
    out.write(summary(diagnostics, context))
