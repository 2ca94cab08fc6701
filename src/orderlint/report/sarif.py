"""``sarif``: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

Every rule orderlint knows is described under ``tool.driver.rules`` with its
documentation; each result points at its file by a URI relative to the
working directory (``uriBaseId`` ``%SRCROOT%``, which GitHub resolves against
the repository root), with columns counted in code points as orderlint counts them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO
from urllib.parse import quote

from orderlint import __version__
from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, cell_of, display_path, end_of

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/orderlint/orderlint"
SRCROOT = "%SRCROOT%"

# Codes that are not rules: reported on files orderlint could not check.
PSEUDO_RULES = {
    "OL000": ("syntax-error", "The file could not be read as Python: it does not parse, or its bytes do not decode.",
              "orderlint cannot check a file it cannot parse; the rest of the run goes on."),
    "OL999": ("internal-error", "orderlint failed while checking the file: a bug in orderlint.",
              "The file was not checked. Please report it at https://github.com/orderlint/orderlint/issues."),
}


def _plain_help(rule) -> str:
    def block(code: str) -> str:
        return "\n".join("    " + line for line in code.splitlines())

    return (f"{rule.summary}\n\nWhy is this bad?\n{rule.why}\n\nExample:\n{block(rule.example)}\n\n"
            f"Use instead:\n{block(rule.use_instead)}\n")


def _markdown_help(rule) -> str:
    """The sections of ``orderlint rule CODE``, as Markdown."""
    return (f"# {rule.code} {rule.name}\n\nkind: {rule.kind} | default: {rule.default} | fix: {rule.fix}\n\n"
            f"## What it does\n{rule.summary}\n\n## Why is this bad?\n{rule.why}\n\n"
            f"## Example\n```python\n{rule.example}\n```\n\n## Use instead\n```python\n{rule.use_instead}\n```\n")


def rule_descriptors() -> List[dict]:
    from orderlint.rules import ALL_RULES

    descriptors = []
    for code, (name, short, full) in PSEUDO_RULES.items():
        descriptors.append({
            "id": code, "name": name,
            "shortDescription": {"text": short}, "fullDescription": {"text": full},
            "help": {"text": f"{short}\n\n{full}\n", "markdown": f"# {code} {name}\n\n{short}\n\n{full}\n"},
            "defaultConfiguration": {"level": "error"},
        })
    for rule in ALL_RULES:
        descriptors.append({
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.why},
            "help": {"text": _plain_help(rule), "markdown": _markdown_help(rule)},
            "helpUri": rule.url,
            "defaultConfiguration": {"level": "error", "enabled": not rule.preview},
            "properties": {"tags": [kind.strip() for kind in rule.kind.split("/")], "kind": rule.kind, "fix": rule.fix},
        })
    return sorted(descriptors, key=lambda descriptor: descriptor["id"])


def artifact_location(path: str) -> dict:
    """A relative URI (against ``%SRCROOT%``) for a file below the working directory, else a ``file:`` URI."""
    shown = display_path(path)
    if shown != "-" and os.path.isabs(shown):
        return {"uri": Path(shown).as_uri()}
    return {"uri": quote(Path(shown).as_posix() if shown != "-" else shown, safe="/"), "uriBaseId": SRCROOT}


def result(d: Diagnostic, index: Dict[str, int]) -> dict:
    end_row, end_column = end_of(d)
    entry = {"ruleId": d.code}
    if d.code in index:
        entry["ruleIndex"] = index[d.code]
    physical: dict = {"artifactLocation": artifact_location(d.path)}
    message = d.message
    if cell_of(d):  # a notebook's rows are not the JSON file's lines: point at the file, say where
        message = f"cell {cell_of(d)}:{d.row}:{d.column}: {message}"
    else:
        physical["region"] = {"startLine": d.row, "startColumn": d.column, "endLine": end_row, "endColumn": end_column}
    entry.update({"level": "error", "message": {"text": message}, "locations": [{"physicalLocation": physical}]})
    return entry


def _directory_uri(directory: Path) -> str:
    uri = directory.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def sarif(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    rules = rule_descriptors()
    index = {descriptor["id"]: number for number, descriptor in enumerate(rules)}
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "orderlint", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(Path.cwd())}},
            "columnKind": "unicodeCodePoints",
            "results": [result(d, index) for d in diagnostics],
        }],
    }
    json.dump(log, out, indent=2)
    out.write("\n")
