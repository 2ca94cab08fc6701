"""``# noqa`` comments, in the manner of flake8 and ruff."""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Optional

# None means "every code" (a bare ``# noqa``).
Suppressions = Dict[int, Optional[FrozenSet[str]]]

_LINE = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE = re.compile(r"#\s*orderlint:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def _codes(text: Optional[str]) -> Optional[FrozenSet[str]]:
    return None if text is None else frozenset(c.upper() for c in _CODE.findall(text))


def file_suppression(source: str) -> Optional[Optional[FrozenSet[str]]]:
    """For ``# orderlint: noqa`` anywhere: None when absent, else the codes it names (None = all)."""
    if "orderlint" not in source:
        return None
    match = _FILE.search(source)
    if match is None:
        return None
    return _codes(match.group("codes")) or frozenset({"*"})


def line_suppressions(source: str) -> Suppressions:
    result: Suppressions = {}
    if "noqa" not in source and "NOQA" not in source:
        return result
    for number, line in enumerate(source.splitlines(), start=1):
        if "#" not in line:
            continue
        match = _LINE.search(line)
        if match and not _FILE.search(line):
            result[number] = _codes(match.group("codes"))
    return result


def suppressed(code: str, row: int, suppressions: Suppressions) -> bool:
    if row not in suppressions:
        return False
    codes = suppressions[row]
    return codes is None or code in codes
