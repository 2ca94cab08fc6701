"""Running a check over files: per-file rules, reading, the cache, worker processes.

Output never depends on the number of processes: results are collected per
file and sorted before they are reported.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from orderlint.cache import Cache
from orderlint.config import Config
from orderlint.context import Settings
from orderlint.diagnostics import Diagnostic
from orderlint.engine import lint_source, syntax_error
from orderlint.files import SourceError, decode
from orderlint.notebooks import decode as decode_notebook, is_notebook, lint_notebook
from orderlint.rules import RULES_BY_CODE
from orderlint.rules.base import Rule

INTERNAL_ERROR = "OL999"
# Below this many files to lint, starting worker processes costs more than it saves.
MIN_FILES_PER_WORKER = 8


@dataclass
class Result:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)  # files that could not be read: exit code 2

    @property
    def internal_errors(self) -> bool:
        return any(d.code == INTERNAL_ERROR for d in self.diagnostics)


def rules_for(path: str, rules: Sequence[Rule], config: Config) -> List[Rule]:
    """The rules that apply to one file after ``per-file-ignores``."""
    if not config.per_file_ignores:
        return list(rules)
    try:
        relative = Path(path).resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        relative = Path(path).as_posix()
    ignored = [code.upper() for pattern, codes in config.per_file_ignores.items()
               if fnmatchcase(relative, pattern) or fnmatchcase(Path(relative).name, pattern) for code in codes]
    return [r for r in rules if not any(code == "ALL" or r.code.startswith(code) for code in ignored)]


def lint_text(source: str, path: str, rules: Sequence[Rule], settings: Settings = Settings()) -> List[Diagnostic]:
    """A file's text (a notebook's JSON text for ``.ipynb``) -> its sorted diagnostics."""
    try:
        if is_notebook(path):
            return lint_notebook(source, path, rules, partial(lint_source, settings=settings))
        return lint_source(source, path, rules, settings)
    except Exception as error:  # a bug in orderlint: reported on the file, the other files' results are kept
        return [Diagnostic(path, 1, 1, INTERNAL_ERROR,
                           f"internal error while checking this file ({type(error).__name__}: {error}); "
                           "please report it at https://github.com/orderlint/orderlint/issues with the file",
                           name="internal-error")]


def lint_bytes(data: bytes, path: str, rules: Sequence[Rule], settings: Settings = Settings()) -> List[Diagnostic]:
    try:
        source = decode_notebook(data) if is_notebook(path) else decode(data)
    except SourceError as error:
        return [syntax_error(path, str(error), error.row, error.column)]
    return lint_text(source, path, rules, settings)


def read(path: Path) -> Tuple[Optional[bytes], Optional[str]]:
    try:
        return path.read_bytes(), None
    except FileNotFoundError:
        return None, f"{path}: no such file or directory"
    except IsADirectoryError:
        return None, f"{path}: is a directory"
    except OSError as error:
        return None, f"{path}: cannot read: {error.strerror or error}"


def _lint_file(job: Tuple[str, Tuple[str, ...], Settings]) -> Tuple[str, List[Diagnostic], Optional[str], Optional[bytes]]:
    """Worker entry point: (path, rule codes, settings) -> (path, diagnostics, read error, bytes read)."""
    path, codes, settings = job
    data, error = read(Path(path))
    if data is None:
        return path, [], error, None
    return path, lint_bytes(data, path, [RULES_BY_CODE[c] for c in codes], settings), None, data


def check_files(files: Sequence[Path], rules: Sequence[Rule], config: Config, jobs: int = 1,
                cache: Optional[Cache] = None) -> Result:
    result = Result()
    pending: List[Tuple[str, Tuple[str, ...], Settings]] = []
    for path in files:
        codes = tuple(r.code for r in rules_for(str(path), rules, config))
        cached = cache.get(path, codes) if cache is not None else None
        if cached is not None:
            result.diagnostics.extend(cached)
        else:
            pending.append((str(path), codes, config.settings))
    workers = min(jobs, len(pending) // MIN_FILES_PER_WORKER)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(_lint_file, pending, chunksize=max(1, len(pending) // (workers * 8))))
    else:
        outcomes = [_lint_file(job) for job in pending]
    for (path, diagnostics, error, data), (_, codes, _) in zip(outcomes, pending):
        result.diagnostics.extend(diagnostics)
        if error:
            result.errors.append(error)
        elif cache is not None and not any(d.code == INTERNAL_ERROR for d in diagnostics):
            cache.put(Path(path), codes, data, diagnostics)
    if cache is not None:
        cache.save()
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def shard(files: Sequence[Path], spec: str) -> List[Path]:
    """``i/n``: the i-th of n interleaved parts of the sorted file list (1-based), stable across machines."""
    try:
        index, count = (int(part) for part in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes i/n with 1 <= i <= n, got `{spec}`") from None
    if not 1 <= index <= count:
        raise ValueError(f"--shard takes i/n with 1 <= i <= n, got `{spec}`")
    return [path for number, path in enumerate(sorted(files)) if number % count == index - 1]
