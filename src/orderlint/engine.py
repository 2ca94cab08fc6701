"""Linting one source text: a cheap text test per rule family, one parse and
one indexing pass shared by every family, then the families' rules; file
positions are computed only when something was found."""

from __future__ import annotations

import ast
import re
import sys
import threading
from typing import Callable, List, Optional, Sequence, TypeVar

import libcst as cst

from orderlint import noqa
from orderlint.context import FileContext, Settings
from orderlint.diagnostics import Diagnostic
from orderlint.extract.index import ModuleIndex
from orderlint.positions import positions_of
from orderlint.regions import relevant_source
from orderlint.rules import FAMILIES
from orderlint.rules.base import Family, Rule
from orderlint.parsing import StatementCache, parse_unvalidated

SYNTAX_ERROR = "OL000"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks LibCST counts


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
    else:
        # Valid Python that LibCST's grammar lacks. Its message holds the right position
        # (``error at LINE:COLUMN``, column 0-based); ``raw_line`` can be a line further on.
        where = _LIBCST_POSITION.search(error.message)
        if where is not None:
            return syntax_error(path, f"could not parse: valid Python that LibCST cannot parse yet ({where.group(3)})",
                                int(where.group(1)), int(where.group(2)) + 1)
    return syntax_error(path, f"could not parse: {error.message}", error.raw_line, error.raw_column + 1)


_LIBCST_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)


class Refused(cst.ParserSyntaxError):
    """Code CPython refuses before it parses anything: null bytes, or nesting deeper than it accepts.
    It is never handed to LibCST, whose native parser overflows its stack on deep nesting (a
    segmentation fault, which nothing can catch) and accepts null bytes."""


# CPython's own limits on nesting (brackets: 200 levels; its parser's stack: about 3000).
_TOO_DEEP = ("too many nested parentheses", "too complex", "too many levels of indentation", "parser stack overflow")


def _refuse(source: str) -> None:
    """Raises ``Refused`` for code CPython refuses outright; other syntax errors are LibCST's to report."""
    if "\0" in source:
        offset = source.index("\0")
        line = source.count("\n", 0, offset) + 1
        raise Refused("source code cannot contain null bytes", lines=source.splitlines(), raw_line=line,
                      raw_column=offset - (source.rfind("\n", 0, offset) + 1))
    try:
        compile(source, "<orderlint>", "exec", ast.PyCF_ONLY_AST)
    except SyntaxError as error:
        if any(reason in str(error.msg) for reason in _TOO_DEEP):
            raise Refused(f"the code is nested too deeply ({error.msg})", lines=source.splitlines(),
                          raw_line=error.lineno or 1, raw_column=max((error.offset or 1) - 1, 0)) from None
    except (RecursionError, MemoryError):  # CPython reports its parser's stack overflowing as MemoryError
        raise Refused("the code is nested too deeply", lines=source.splitlines(), raw_line=1, raw_column=0) from None
    except ValueError:
        pass


def parse(source: str, families: Sequence[Family] = FAMILIES, whole: bool = False,
          settings: Settings = Settings(), cache: Optional[StatementCache] = None) -> FileContext:
    """Parses once (only the regions that can matter, unless ``whole``; statement by statement
    through ``cache`` if given) and indexes once; raises ``ParserSyntaxError`` (``Refused`` for
    null bytes and nesting deeper than CPython accepts) or ``RecursionError``."""
    statements = None
    if not whole:
        source, statements = relevant_source(source, (t for family in families for t in family.triggers))
    if statements is None:  # ast could not parse it (or was not asked): check CPython's limits here
        _refuse(source)
        module = cst.parse_module(source)
    else:  # valid Python (ast parsed it): LibCST's node validation has nothing left to catch
        module = cache.module(source, statements) if cache is not None else None
        if module is None:
            module = parse_unvalidated(source)
    index = ModuleIndex(module, frozenset().union(*(f.call_names for f in families)))
    return FileContext(module, index, settings, source=source, statements=statements)


def _fix_record(fix, positions, lines: List[str]) -> Optional[dict]:
    """A fix in ruff's JSON shape: 1-based rows and columns of text edits."""
    if fix is None:
        return None
    edits = []
    for edit in fix.edits:
        span = positions[edit.node]
        if edit.where == "line_before":
            line = lines[span.start.line - 1]
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            point = {"row": span.start.line, "column": 1}
            edits.append({"content": f"{indent}{edit.content}\n", "location": point, "end_location": point})
            continue
        start = end = None
        if edit.where in ("replace", "before"):
            start = {"row": span.start.line, "column": span.start.column + 1}
        if edit.where in ("replace", "after"):
            end = {"row": span.end.line, "column": span.end.column + 1}
        edits.append({"content": edit.content, "location": start or end, "end_location": end or start})
    return {"applicability": fix.applicability, "message": fix.message, "edits": edits}


_T = TypeVar("_T")
# LibCST's visitors (and a few of orderlint's own walks) recurse once per level of nesting. A file
# nested deeper than the default recursion limit allows (a long implicit string concatenation, a
# long `elif` chain, `a + b + ...`) is linted again on a thread with a large stack.
DEEP_STACK_SIZE = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 150_000


def on_deep_stack(function: Callable[..., _T], *args) -> _T:
    """``function(*args)`` on a thread with a large stack and a high recursion limit."""
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as error:  # re-raised on the calling thread
            outcome.append((False, error))

    previous_limit = sys.getrecursionlimit()
    try:
        previous_size = threading.stack_size(DEEP_STACK_SIZE)
    except (ValueError, RuntimeError) as error:  # a platform without settable thread stacks
        raise RecursionError("no deep stack available") from error
    try:
        sys.setrecursionlimit(max(previous_limit, DEEP_RECURSION_LIMIT))
        thread = threading.Thread(target=target, name="orderlint-deep", daemon=True)
        try:
            thread.start()
        except (RuntimeError, MemoryError) as error:  # no memory for the stack
            raise RecursionError("no deep stack available") from error
        thread.join()
    finally:
        threading.stack_size(previous_size)
        sys.setrecursionlimit(previous_limit)
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _from_recursion(error: BaseException) -> bool:
    """A RecursionError, or an error raised while one unwound: LibCST's code generation turns
    a RecursionError into a KeyError (``record_syntactic_position`` looks up the node that failed)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, RecursionError):
            return True
        seen.add(id(error))
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return False


def deeply(function: Callable[..., _T], *args) -> _T:
    """``function(*args)``, again on a deep stack if it runs out of recursion; raises
    ``RecursionError`` when even that is not deep enough."""
    for attempt in (function, lambda *arguments: on_deep_stack(function, *arguments)):
        try:
            return attempt(*args)
        except Exception as error:
            if not _from_recursion(error):
                raise
    raise RecursionError("the code is nested too deeply")


def lint_source(source: str, path: str, rules: Sequence[Rule], settings: Settings = Settings(),
                cache: Optional[StatementCache] = None) -> List[Diagnostic]:
    """Diagnostics for one file's text, sorted, with ``# noqa`` applied (``cache``: see statement_cache)."""
    try:
        return deeply(_lint_source, source, path, rules, settings, cache)
    except RecursionError:
        return [syntax_error(path, "could not analyse: the code is nested too deeply")]


def _lint_source(source: str, path: str, rules: Sequence[Rule], settings: Settings,
                 cache: Optional[StatementCache]) -> List[Diagnostic]:
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
        ctx = parse(source, [family for family, _ in active], settings=settings, cache=cache)
    except Refused as error:
        return [syntax_error(path, f"could not parse: {error.message}", error.raw_line, error.raw_column + 1)]
    except cst.ParserSyntaxError as error:
        return [_parse_failure(source, path, error)]

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
    anchors = [finding.node for _, finding in found]
    anchors += [edit.node for _, finding in found if finding.fix for edit in finding.fix.edits]
    positions = positions_of(ctx.module, anchors, ctx.statements, ctx.source,
                             {id(r.node): r.ancestors for r in ctx.index.recorded})
    suppressions = noqa.line_suppressions(source)
    lines = _LINE_BREAK.split(source)
    diagnostics = []
    for rule, finding in found:
        where = positions[finding.node]
        row, column = where.start.line, where.start.column + 1
        if noqa.suppressed(rule.code, row, suppressions):
            continue
        diagnostics.append(
            Diagnostic(path, row, column, rule.code, finding.message, name=rule.name,
                       end_row=where.end.line, end_column=where.end.column + 1, url=rule.url,
                       fix=_fix_record(finding.fix, positions, lines))
        )
    return sorted(diagnostics, key=Diagnostic.sort_key)
