"""Applying fixes without ever losing data.

Edits of the fixes allowed (safe, or safe and unsafe) are applied where they
do not overlap; the text is linted again and the loop repeats until nothing
changes (at most ``MAX_ROUNDS`` times). A text that no longer parses is never
kept. Files are written atomically (a temporary file in the same directory,
then a rename) in their own encoding, BOM, line endings and file mode.
"""

from __future__ import annotations

import difflib
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import libcst as cst

from orderlint.atomic import atomic_file
from orderlint.diagnostics import Diagnostic

MAX_ROUNDS = 10
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class FixOutcome:
    text: str
    fixed: int = 0
    applied: List[str] = field(default_factory=list)  # the codes of the fixes applied, in order
    remaining: List[Diagnostic] = field(default_factory=list)
    note: Optional[str] = None  # why fixing stopped early, when it did


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    fix = diagnostic.fix
    return bool(fix) and (fix["applicability"] == "safe" or unsafe)


def _line_starts(text: str) -> List[int]:
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


def newline_of(text: str) -> str:
    match = _LINE_BREAK.search(text)
    return match.group(0) if match else "\n"


def _overlap(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    """Spans that touch the same text; two insertions at one point conflict too (their order is unknown)."""
    if a[0] == a[1] or b[0] == b[1]:
        return a[0] == b[0] or (a[0] < b[0] < a[1]) or (b[0] < a[0] < b[1])
    return a[0] < b[1] and b[0] < a[1]


def apply_fixes(text: str, diagnostics: Sequence[Diagnostic], unsafe: bool) -> Tuple[str, List[Diagnostic]]:
    """Applies every applicable fix that does not overlap an earlier one; returns (text, diagnostics fixed)."""
    starts = _line_starts(text)

    def offset(point: dict) -> int:
        return starts[point["row"] - 1] + point["column"] - 1

    newline = newline_of(text)
    chosen: List[Tuple[int, int, str]] = []
    taken: List[Tuple[int, int]] = []
    applied: List[Diagnostic] = []
    for diagnostic in diagnostics:
        if not applicable(diagnostic, unsafe):
            continue
        spans = [(offset(e["location"]), offset(e["end_location"]), e["content"].replace("\n", newline))
                 for e in diagnostic.fix["edits"]]
        if any(_overlap(span[:2], other) for span in spans for other in taken):
            continue  # overlaps a fix already chosen: the next round gets it
        chosen.extend(spans)
        taken.extend((start, end) for start, end, _ in spans)
        applied.append(diagnostic)
    for start, end, content in sorted(chosen, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + content + text[end:]
    return text, applied


def parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True


def fix_text(text: str, lint: Callable[[str], List[Diagnostic]], unsafe: bool) -> FixOutcome:
    outcome = FixOutcome(text)
    diagnostics = lint(text)
    for _ in range(MAX_ROUNDS):
        fixed, applied = apply_fixes(outcome.text, diagnostics, unsafe)
        if not applied:
            break
        if not parses(fixed):
            outcome.note = "a fix produced code that does not parse; it was not applied (please report it)"
            break
        outcome.text, outcome.fixed = fixed, outcome.fixed + len(applied)
        outcome.applied += [d.code for d in applied]
        diagnostics = lint(outcome.text)
    else:
        if any(applicable(d, unsafe) for d in diagnostics):
            outcome.note = f"fixes still apply after {MAX_ROUNDS} rounds; stopped (please report it)"
    outcome.remaining = diagnostics
    return outcome


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=path, tofile=path))


def write_atomically(path: Path, text: str, encoding: str) -> None:
    """Replaces ``path`` with ``text`` in ``encoding`` (a BOM comes back with utf-8-sig), keeping its mode."""
    data = text.encode(encoding)
    with atomic_file(path, stat.S_IMODE(path.stat().st_mode)) as out:
        out.write(data)
