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
from typing import Callable, Iterator, Mapping, Optional, Sequence, TextIO

from importlib import import_module

from orderlint.atomic import atomic_file
from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, Sources, display_path

__all__ = ["Context", "Sources", "display_path", "statistics", "output", "FORMATS", "DEFAULT_FORMAT"]


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


class _Formats(Mapping[str, Format]):
    """Format name -> function, each module imported when its format is first used (a run needs one)."""

    _WHERE = {
        "full": "full:full",
        "concise": "concise:concise",
        "json": "json_array:as_json",
        "json-lines": "json_lines:json_lines",
        "sarif": "sarif:sarif",
        "github": "github:github",
        "gitlab": "gitlab:gitlab",
        "junit": "junit:junit",
    }

    def __getitem__(self, name: str) -> Format:
        module, function = self._WHERE[name].split(":")
        return getattr(import_module(f"orderlint.report.{module}"), function)

    def __iter__(self) -> Iterator[str]:
        return iter(self._WHERE)

    def __len__(self) -> int:
        return len(self._WHERE)


FORMATS: Mapping[str, Format] = _Formats()
DEFAULT_FORMAT = "full"
