"""A content cache of results: an unchanged file with unchanged settings is not linted again.

One JSON file per (orderlint version, rule selection) under ``.orderlint_cache/``,
mapping each path to its size, modification time, content hash and diagnostics.
A file whose size and mtime are unchanged is trusted without being read; one
whose bytes hash the same is reused after reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from orderlint import __version__
from orderlint.diagnostics import Diagnostic

CACHE_DIR = ".orderlint_cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This directory is a cache created by orderlint.\n"


def _code_fingerprint() -> str:
    """orderlint's own modules (size and modification time): an edited rule never serves stale results,
    even without a version change (an editable install under development)."""
    package = Path(__file__).parent
    parts = []
    for module in sorted(package.rglob("*.py")):
        stat = module.stat()
        parts.append(f"{module.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Cache:
    def __init__(self, root: Path, settings: Sequence[str]):
        self.directory = root / CACHE_DIR
        digest = hashlib.sha256("\0".join([__version__, _code_fingerprint(), *settings]).encode()).hexdigest()[:16]
        self._file = self.directory / __version__ / f"{digest}.json"
        self._entries: Dict[str, dict] = {}
        self._dirty = False
        try:
            self._entries = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._entries = {}

    @staticmethod
    def _key(path: Path) -> str:
        return str(path.resolve())

    def get(self, path: Path, codes: Tuple[str, ...]) -> Optional[List[Diagnostic]]:
        entry = self._entries.get(self._key(path))
        if entry is None or entry["codes"] != list(codes):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        if (stat.st_size, stat.st_mtime_ns) != (entry["size"], entry["mtime"]):
            try:
                data = path.read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                return None
            entry["size"], entry["mtime"] = stat.st_size, stat.st_mtime_ns
            self._dirty = True
        return [Diagnostic(**{**fields, "path": str(path)}) for fields in entry["diagnostics"]]

    def put(self, path: Path, codes: Tuple[str, ...], data: bytes, diagnostics: List[Diagnostic]) -> None:
        try:
            stat = path.stat()
        except OSError:
            return
        self._entries[self._key(path)] = {
            "codes": list(codes),
            "size": stat.st_size,
            "mtime": stat.st_mtime_ns,
            "sha256": hashlib.sha256(data).hexdigest(),
            "diagnostics": [asdict(d) for d in diagnostics],
        }
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            tag = self.directory / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text(_TAG, encoding="utf-8")
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("*\n", encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self._file.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self._entries, out)
            os.replace(temporary, self._file)
        except OSError:
            pass  # a cache that cannot be written only costs speed
