"""``gitlab``: GitLab's Code Quality report (a JSON array), shown in merge requests.

Each issue's fingerprint identifies it across commits: a SHA-256 of the path,
the code, the message and the stripped text of the reported line, but not the
line number, so editing the file above a finding does not make it new. Equal
findings on equal lines of one file are told apart by their order.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Dict, Optional, Sequence, TextIO, Tuple

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, cell_of, display_path, end_of


def gitlab_path(path: str) -> str:
    """Relative to the project (``$CI_PROJECT_DIR`` in a GitLab job, else the working directory)."""
    root = os.environ.get("CI_PROJECT_DIR")
    if root and path != "-":
        relative = os.path.relpath(os.path.abspath(path), root)
        if not relative.startswith(".."):
            return Path(relative).as_posix()
    shown = display_path(path)
    return shown if shown == "-" else Path(shown).as_posix()


def fingerprint(path: str, code: str, message: str, line: str, occurrence: int = 0) -> str:
    parts = [path, code, message, line.strip()]
    if occurrence:
        parts.append(str(occurrence))
    return hashlib.sha256("\0".join(parts).encode("utf-8", errors="surrogatepass")).hexdigest()


def gitlab(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    context = context or Context()
    seen: Dict[Tuple[str, str, str, str], int] = {}
    issues = []
    for d in diagnostics:
        path = gitlab_path(d.path)
        cell = cell_of(d)
        line = context.sources.line(d.path, d.row, cell) or ""
        message = f"cell {cell}: {d.message}" if cell else d.message  # a notebook's rows are not the file's lines
        key = (path, d.code, message, line.strip())
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        issues.append({
            "description": f"{d.code} {message}",
            "check_name": d.code,
            "fingerprint": fingerprint(path, d.code, message, line, occurrence),
            "severity": "major",
            "location": {"path": path, "lines": {"begin": 1, "end": 1} if cell else {"begin": d.row, "end": end_of(d)[0]}},
        })
    json.dump(issues, out, indent=2)
    out.write("\n")
