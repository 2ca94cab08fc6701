"""``[tool.orderlint]`` in the nearest ``pyproject.toml``, and rule selection."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

from orderlint.context import Settings
from orderlint.rules import ALL_RULES
from orderlint.rules.base import Rule


class ConfigError(Exception):
    """A configuration or usage mistake: reported on one line, exit code 2."""


_LIST_KEYS = ("select", "extend-select", "ignore", "extend-ignore", "exclude", "extend-exclude")
_BOOL_KEYS = ("preview", "respect-gitignore")
KNOWN_KEYS = frozenset(_LIST_KEYS + _BOOL_KEYS + ("per-file-ignores", "torch-version"))
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass
class Config:
    root: Path
    source: Optional[Path] = None
    select: Optional[List[str]] = None
    extend_select: List[str] = field(default_factory=list)
    ignore: List[str] = field(default_factory=list)
    preview: bool = False
    exclude: Optional[List[str]] = None
    extend_exclude: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    respect_gitignore: bool = True
    settings: Settings = field(default_factory=Settings)


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.orderlint]`` table."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                if "orderlint" in candidate.read_text(encoding="utf-8") and "orderlint" in _read_toml(candidate).get("tool", {}):
                    return candidate
            except (OSError, UnicodeDecodeError):
                continue
    return None


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def load_config(path: Optional[Path], cwd: Path) -> Config:
    if path is None:
        return Config(root=cwd)
    table = _read_toml(path).get("tool", {}).get("orderlint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.orderlint] must be a table")
    where = f"{path}: [tool.orderlint]"
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        hint = closest(unknown[0], sorted(KNOWN_KEYS))
        suggestion = f" (did you mean `{hint}`?)" if hint else ""
        raise ConfigError(f"{where}: unknown key `{unknown[0]}`{suggestion}")
    config = Config(root=path.parent, source=path)
    for key in _LIST_KEYS:
        if key in table:
            value = table[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: `{key}` must be a list of strings, got {_type_name(value)}")
    for key in _BOOL_KEYS:
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{where}: `{key}` must be a boolean, got {_type_name(table[key])}")
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict) or not all(
        isinstance(v, list) and all(isinstance(c, str) for c in v) for v in pfi.values()
    ):
        raise ConfigError(f"{where}: `per-file-ignores` must be a table of lists of strings")
    config.select = table.get("select")
    config.extend_select = table.get("extend-select", [])
    config.ignore = table.get("ignore", []) + table.get("extend-ignore", [])
    config.preview = table.get("preview", False)
    config.exclude = table.get("exclude")
    config.extend_exclude = table.get("extend-exclude", [])
    config.per_file_ignores = pfi
    config.respect_gitignore = table.get("respect-gitignore", True)
    if "torch-version" in table:
        config.settings = Settings(torch_version=_torch_version(table["torch-version"], where))
    for codes in pfi.values():
        validate_selectors(codes, f"{where}: per-file-ignores")
    for key in ("select", "extend-select", "ignore", "extend-ignore"):
        validate_selectors(table.get(key, []), f"{where}: `{key}`")
    return config


def _torch_version(value, where: str):
    """``"2.4"`` -> (2, 4): the oldest torch the project supports, like ruff's ``target-version``."""
    match = _VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        shown = repr(value) if isinstance(value, str) else _type_name(value)
        raise ConfigError(f'{where}: `torch-version` must be a version string like "2.4", got {shown}')
    return tuple(int(part) for part in match.groups() if part is not None)


def _type_name(value) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _matches(selector: str, rule: Rule) -> bool:
    return selector == "ALL" or rule.code.startswith(selector)


def validate_selectors(selectors: Iterable[str], where: str) -> None:
    for selector in selectors:
        if selector.upper() == "OL000" or selector.upper() == "ALL":
            continue
        if not any(_matches(selector.upper(), rule) for rule in ALL_RULES):
            hint = closest(selector.upper(), [rule.code for rule in ALL_RULES])
            suggestion = f"; did you mean `{hint}`?" if hint else "; `orderlint rules` lists them"
            raise ConfigError(f"{where}: unknown rule code or prefix `{selector}`{suggestion}")


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def closest(word: str, candidates: Sequence[str]) -> Optional[str]:
    """The candidate fewest edits away (at most 2), for "did you mean" hints."""
    best = min(candidates, key=lambda c: _edit_distance(word, c), default=None)
    return best if best is not None and _edit_distance(word, best) <= 2 else None


def select_rules(
    select: Optional[Sequence[str]], extend_select: Sequence[str], ignore: Sequence[str], preview: bool
) -> List[Rule]:
    """ruff's semantics: ``select`` (default: every stable rule) plus ``extend-select``, minus ``ignore``;
    the more specific selector wins (``select = ["OL101"]`` beats ``ignore = ["OL1"]``).

    A preview rule is enabled by ``preview``, or by naming its exact code.
    """
    chosen = [s.upper() for s in (select if select is not None else ["ALL"])] + [s.upper() for s in extend_select]
    ignored = [s.upper() for s in ignore]
    enabled = []
    for rule in ALL_RULES:
        selected_by = _specificity(chosen, rule)
        if selected_by < 0 or _specificity(ignored, rule) >= selected_by:
            continue
        if rule.preview and not preview and rule.code not in chosen:
            continue
        enabled.append(rule)
    return enabled


def _specificity(selectors: Sequence[str], rule: Rule) -> int:
    return max((0 if s == "ALL" else len(s) for s in selectors if _matches(s, rule)), default=-1)
