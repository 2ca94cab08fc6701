"""Linting one source text: a cheap text test per rule family, one parse and
one indexing pass shared by every family, then the families' rules; file
positions are computed only when something was found."""

from __future__ import annotations

import ast
from typing import List, Optional, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from orderlint import noqa
from orderlint.context import FileContext, Settings
from orderlint.diagnostics import Diagnostic
from orderlint.extract.index import ModuleIndex
from orderlint.regions import relevant_source
from orderlint.rules import FAMILIES
from orderlint.rules.base import Family, Rule

SYNTAX_ERROR = "OL000"


def syntax_error(path: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(path, row, column, SYNTAX_ERROR, message, name="syntax-error", end_row=row, end_column=column)


def _parse_failure(source: str, path: str, error: cst.ParserSyntaxError) -> Diagnostic:
    """OL000 with CPython's message and position, which are more precise than LibCST's."""
    try:
        compile(source, path, "exec", ast.PyCF_ONLY_AST)
    except SyntaxError as python_error:
        return syntax_error(path, f"could not parse: {python_error.msg}", python_error.lineno or 1, python_error.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        pass
    return syntax_error(path, f"could not parse: {error.message}", error.raw_line, error.raw_column + 1)


def parse(source: str, families: Sequence[Family] = FAMILIES, whole: bool = False,
          settings: Settings = Settings()) -> FileContext:
    """Parses once (only the regions that can matter, unless ``whole``) and indexes once;
    raises ``ParserSyntaxError`` or ``RecursionError``."""
    if not whole:
        source = relevant_source(source, (t for family in families for t in family.triggers))
    module = cst.parse_module(source)
    index = ModuleIndex(module, frozenset().union(*(f.call_names for f in families)))
    return FileContext(module, index, settings)


def _fix_record(fix, positions) -> Optional[dict]:
    """A fix in ruff's JSON shape: 1-based rows and columns of text edits."""
    if fix is None:
        return None
    edits = []
    for edit in fix.edits:
        span = positions[edit.node]
        start = end = None
        if edit.where in ("replace", "before"):
            start = {"row": span.start.line, "column": span.start.column + 1}
        if edit.where in ("replace", "after"):
            end = {"row": span.end.line, "column": span.end.column + 1}
        edits.append({"content": edit.content, "location": start or end, "end_location": end or start})
    return {"applicability": fix.applicability, "message": fix.message, "edits": edits}


def lint_source(source: str, path: str, rules: Sequence[Rule], settings: Settings = Settings()) -> List[Diagnostic]:
    """Diagnostics for one file's text, sorted, with ``# noqa`` applied."""
    file_noqa = noqa.file_suppression(source)
    if file_noqa is not None:
        if "*" in file_noqa:
            return []
        rules = [r for r in rules if r.code not in file_noqa]
    enabled = {rule.code for rule in rules}
    active = [
        (family, [r for r in family.rules if r.code in enabled])
        for family in FAMILIES
        if family.triggered_by(source) and any(r.code in enabled for r in family.rules)
    ]
    if not active:
        return []
    try:
        ctx = parse(source, [family for family, _ in active], settings=settings)
    except cst.ParserSyntaxError as error:
        return [_parse_failure(source, path, error)]
    except RecursionError:
        return [syntax_error(path, "could not parse: the code is nested too deeply")]

    seen = set()
    found = []
    for family, family_rules in active:
        for rule, finding in family.run(ctx, family_rules):
            key = (rule.code, id(finding.node))
            if key not in seen:
                seen.add(key)
                found.append((rule, finding))
    if not found:
        return []
    positions = MetadataWrapper(ctx.module, unsafe_skip_copy=True).resolve(PositionProvider)
    suppressions = noqa.line_suppressions(source)
    diagnostics = []
    for rule, finding in found:
        where = positions[finding.node]
        row, column = where.start.line, where.start.column + 1
        if noqa.suppressed(rule.code, row, suppressions):
            continue
        diagnostics.append(
            Diagnostic(path, row, column, rule.code, finding.message, name=rule.name,
                       end_row=where.end.line, end_column=where.end.column + 1, url=rule.url,
                       fix=_fix_record(finding.fix, positions))
        )
    return sorted(diagnostics, key=Diagnostic.sort_key)
