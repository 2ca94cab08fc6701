"""Finding the files to lint and reading them."""

from __future__ import annotations

import fnmatch
import io
import os
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

# ruff's default excludes.
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache", ".nox",
    ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", ".vscode",
    "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages", "venv",
    ".orderlint_cache",
)


class SourceError(Exception):
    """The file's bytes are not text Python can read; reported as OL000."""

    def __init__(self, message: str, row: int = 1, column: int = 1):
        super().__init__(message)
        self.row, self.column = row, column


def decode(data: bytes) -> str:
    """Decodes as Python does: BOM, then a PEP 263 coding cookie, else UTF-8."""
    return decode_with_encoding(data)[0]


def decode_with_encoding(data: bytes) -> Tuple[str, str]:
    """The text and the encoding to write it back in (``utf-8-sig`` when it had a BOM)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"could not decode: {error}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise SourceError(f"could not decode as {encoding}: {error.reason} (byte 0x{data[error.start]:02x})", row, column) from None
    except LookupError:
        raise SourceError(f"could not decode: unknown encoding `{encoding}`") from None
    if text.startswith("\ufeff"):
        return text[1:], "utf-8-sig" if encoding == "utf-8" else encoding
    return text, encoding


# gitignore -------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    regex: "re.Pattern[str]"
    negate: bool
    dir_only: bool


def _translate(glob: str) -> str:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(glob[i]))
                i += 1
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end + 1
        elif glob[i] == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def parse_gitignore(text: str) -> List[_Pattern]:
    patterns = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        body = _translate(line.lstrip("/"))
        regex = re.compile(f"^{body}$" if anchored else f"^(?:.*/)?{body}$")
        patterns.append(_Pattern(regex, negate, dir_only))
    return patterns


class GitIgnore:
    """The .gitignore files that apply to a directory tree, each relative to its own directory."""

    def __init__(self) -> None:
        self._levels: List[Tuple[Path, List[_Pattern]]] = []

    def load(self, directory: Path) -> "GitIgnore":
        child = GitIgnore()
        child._levels = list(self._levels)
        ignore_file = directory / ".gitignore"
        if ignore_file.is_file():
            try:
                child._levels.append((directory, parse_gitignore(ignore_file.read_text(encoding="utf-8", errors="replace"))))
            except OSError:
                pass
        return child

    def ignored(self, path: Path, is_dir: bool) -> bool:
        verdict = False
        for base, patterns in self._levels:
            try:
                relative = path.relative_to(base).as_posix()
            except ValueError:
                continue
            for pattern in patterns:
                if pattern.dir_only and not is_dir:
                    continue
                if pattern.regex.match(relative):
                    verdict = not pattern.negate
        return verdict


def _repository_ignores(start: Path) -> GitIgnore:
    """The .gitignore files above ``start``, up to its repository's root (none outside a repository)."""
    if (start / ".git").exists():
        return GitIgnore()
    parents = []
    for parent in start.parents:
        parents.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return GitIgnore()
    ignores = GitIgnore()
    for directory in reversed(parents):
        ignores = ignores.load(directory)
    return ignores


# discovery -------------------------------------------------------------------


def _glob_match(relative: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relative, p) or
               fnmatch.fnmatchcase(relative, p.rstrip("/") + "/*") for p in patterns)


def discover(paths: Sequence[Path], root: Path, exclude: Sequence[str], respect_gitignore: bool) -> Iterator[Path]:
    """Python files and Jupyter notebooks under ``paths``; a file named explicitly is always included. Sorted, without duplicates."""
    found = set()
    for path in paths:
        if path.is_file() or not path.exists():
            found.add(path)  # a missing path is reported when it is read
            continue
        start = path.resolve()
        ignores = _repository_ignores(start) if respect_gitignore else GitIgnore()
        found.update(_walk(start, path, root.resolve(), exclude, ignores if respect_gitignore else None))
    return iter(sorted(found))


def _walk(directory: Path, shown: Path, root: Path, exclude: Sequence[str], ignores: Optional[GitIgnore]) -> Iterator[Path]:
    if ignores is not None:
        ignores = ignores.load(directory)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        full = Path(entry.path)
        try:
            relative = full.relative_to(root).as_posix()
        except ValueError:
            relative = entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file()
        except OSError:
            continue
        if is_dir:
            if (entry.name.startswith(".") or entry.name in DEFAULT_EXCLUDE or (full / "pyvenv.cfg").exists()
                    or _glob_match(relative, entry.name, exclude) or (ignores and ignores.ignored(full, True))):
                continue
            yield from _walk(full, shown / entry.name, root, exclude, ignores)
        elif is_file and entry.name.endswith((".py", ".ipynb")):
            if _glob_match(relative, entry.name, exclude) or (ignores and ignores.ignored(full, False)):
                continue
            yield shown / entry.name
