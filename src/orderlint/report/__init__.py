"""Output formats: each one a module of this package, registered in ``FORMATS``.

A format is ``format(diagnostics, out, context=None)``: it writes the sorted
diagnostics to ``out``; ``context`` (see ``Context``) gives the formats that
need them the source text and the list of checked files.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Sequence, TextIO

from orderlint.atomic import atomic_file
from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, Sources, display_path
from orderlint.report.concise import concise
from orderlint.report.full import full
from orderlint.report.github import github
from orderlint.report.gitlab import gitlab
from orderlint.report.json_array import as_json
from orderlint.report.json_lines import json_lines
from orderlint.report.junit import junit
from orderlint.report.sarif import sarif

__all__ = ["Context", "Sources", "display_path", "concise", "as_json", "statistics", "output", "FORMATS", "DEFAULT_FORMAT"]


def statistics(diagnostics: Sequence[Diagnostic], out: TextIO) -> None:
    counts = Counter((d.code, d.name) for d in diagnostics)
    for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        out.write(f"{count:>5}\t{code}\t{name}\n")
    if not counts:
        out.write("All checks passed!\n")


@contextmanager
def output(path: Optional[Path]) -> Iterator[TextIO]:
    """Standard output, or ``path`` written atomically, so a reader never sees half a report
    and a failed run leaves the old one in place."""
    if path is None:
        yield sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        yield text
        text.flush()
        text.detach()


Format = Callable[..., None]
FORMATS: Dict[str, Format] = {
    "full": full,
    "concise": concise,
    "json": as_json,
    "json-lines": json_lines,
    "sarif": sarif,
    "github": github,
    "gitlab": gitlab,
    "junit": junit,
}
DEFAULT_FORMAT = "full"
