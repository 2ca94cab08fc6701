"""Running a check over files: per-file rules, reading, the cache, worker processes.

Output never depends on the number of processes: results are collected per
file and sorted before they are reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import partial
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from orderlint import fixes
from orderlint.cache import Cache
from orderlint.config import Config
from orderlint.context import Settings
from orderlint.diagnostics import Diagnostic
from orderlint.engine import lint_source, syntax_error
from orderlint.files import SourceError, decode, decode_with_encoding
from orderlint.notebooks import decode as decode_notebook, is_notebook, lint_notebook, read_notebook, write_back
from orderlint.rules import RULES_BY_CODE
from orderlint.rules.base import Rule
from orderlint.parsing import StatementCache

INTERNAL_ERROR = "OL999"
# Below this many files to lint, starting worker processes costs more than it saves.
MIN_FILES_PER_WORKER = 8


@dataclass
class Result:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)  # files that could not be read or written: exit code 2
    fixed: int = 0
    fixed_files: List[Tuple[str, int]] = field(default_factory=list)
    diffs: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)  # fixing stopped early in these files

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


def lint_text(source: str, path: str, rules: Sequence[Rule], settings: Settings = Settings(),
              cache: Optional[StatementCache] = None) -> List[Diagnostic]:
    """A file's text (a notebook's JSON text for ``.ipynb``) -> its sorted diagnostics."""
    try:
        if is_notebook(path):
            return lint_notebook(source, path, rules, partial(lint_source, settings=settings))
        return lint_source(source, path, rules, settings, cache)
    except Exception as error:  # a bug in orderlint: reported on the file, the other files' results are kept
        return [internal_error(path, error)]


def internal_error(path: str, error: Exception) -> Diagnostic:
    return Diagnostic(path, 1, 1, INTERNAL_ERROR,
                      f"internal error while checking this file ({type(error).__name__}: {error}); "
                      "please report it at https://github.com/orderlint/orderlint/issues with the file",
                      name="internal-error")


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


@dataclass(frozen=True)
class Job:
    path: str
    codes: Tuple[str, ...]
    settings: Settings
    fix: Optional[str] = None  # None, "safe" or "unsafe": which fixes to apply
    diff: bool = False  # with fix: show the changes instead of writing them


@dataclass
class FileOutcome:
    path: str
    diagnostics: List[Diagnostic]
    error: Optional[str] = None  # the file could not be read or written
    data: Optional[bytes] = None  # the bytes linted, for the cache
    fixed: int = 0
    diff: str = ""
    note: Optional[str] = None


def _process(job: Job) -> FileOutcome:
    """Worker entry point: lint one file (and fix it, if asked)."""
    data, error = read(Path(job.path))
    if data is None:
        return FileOutcome(job.path, [], error)
    rules = [RULES_BY_CODE[c] for c in job.codes]
    diagnostics = lint_bytes(data, job.path, rules, job.settings)
    if job.fix is None or not any(fixes.applicable(d, job.fix == "unsafe") for d in diagnostics):
        return FileOutcome(job.path, diagnostics, data=data)
    try:
        return _fix_file(job, data, rules)
    except Exception as error:  # a bug in a fix: the file is left untouched and the bug reported
        return FileOutcome(job.path, diagnostics + [internal_error(job.path, error)])


def fix_source(source: str, path: str, rules: Sequence[Rule], settings: Settings, unsafe: bool) -> fixes.FixOutcome:
    """Fixes a file's text (a notebook's JSON text for .ipynb); ``remaining`` as lint_text reports them."""
    if not is_notebook(path):
        return fixes.fix_text(source, lambda text: lint_text(text, path, rules, settings), unsafe)
    notebook = read_notebook(source)
    outcome = fixes.fix_text(notebook.source, lambda text: lint_source(text, path, rules, settings), unsafe)
    outcome.text = write_back(notebook, outcome.text)
    outcome.remaining = lint_text(outcome.text, path, rules, settings)
    return outcome


def _fix_file(job: Job, data: bytes, rules: Sequence[Rule]) -> FileOutcome:
    path = Path(job.path)
    source, encoding = (decode_notebook(data), "utf-8") if is_notebook(job.path) else decode_with_encoding(data)
    outcome = fix_source(source, job.path, rules, job.settings, job.fix == "unsafe")
    result = FileOutcome(job.path, outcome.remaining, fixed=outcome.fixed, note=outcome.note)
    if outcome.text == source:
        return result
    if job.diff:
        result.diff = fixes.unified_diff(job.path, source, outcome.text)
        return result
    try:
        fixes.write_atomically(path, outcome.text, encoding)
    except (OSError, UnicodeEncodeError) as error:
        result.error = f"{path}: cannot write the fixes: {getattr(error, 'strerror', None) or error}"
    return result


def check_files(files: Sequence[Path], rules: Sequence[Rule], config: Config, jobs: int = 1,
                cache: Optional[Cache] = None, fix: Optional[str] = None, diff: bool = False) -> Result:
    result = Result()
    pending: List[Job] = []
    for path in files:
        codes = tuple(r.code for r in rules_for(str(path), rules, config))
        cached = cache.get(path, codes) if cache is not None and fix is None else None
        if cached is not None:
            result.diagnostics.extend(cached)
        else:
            pending.append(Job(str(path), codes, config.settings, fix, diff))
    workers = min(jobs, len(pending) // MIN_FILES_PER_WORKER)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor  # 20 ms of start-up that a small run does not need

        with ProcessPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(_process, pending, chunksize=max(1, len(pending) // (workers * 8))))
    else:
        outcomes = [_process(job) for job in pending]
    for outcome, job in zip(outcomes, pending):
        result.diagnostics.extend(outcome.diagnostics)
        result.fixed += outcome.fixed
        if outcome.fixed:
            result.fixed_files.append((outcome.path, outcome.fixed))
        if outcome.diff:
            result.diffs.append(outcome.diff)
        if outcome.note:
            result.notes.append(f"{outcome.path}: {outcome.note}")
        if outcome.error:
            result.errors.append(outcome.error)
        elif cache is not None and outcome.data is not None and not any(d.code == INTERNAL_ERROR for d in outcome.diagnostics):
            cache.put(Path(outcome.path), job.codes, outcome.data, outcome.diagnostics)
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
