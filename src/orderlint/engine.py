"""Linting one source text: a cheap text test, one parse, one indexing pass
shared by every rule, rules run on the extracted sequences, positions computed
only for what was found."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from orderlint import noqa
from orderlint.diagnostics import Diagnostic
from orderlint.extract.index import ModuleIndex, NameResolver
from orderlint.extract.pipelines import Pipeline, PipelineExtractor, Step
from orderlint.extract.purpose import Purpose, pipeline_purpose
from orderlint.extract.sequences import SequenceTracer
from orderlint.extract.values import Evaluator
from orderlint.interpret import Interpreter
from orderlint.rules.base import Finding, Rule
from orderlint.rules.transforms import PipelineRule

SYNTAX_ERROR = "OL000"

# A file can only hold a finding of a family if its text contains the family's trigger.
PIPELINE_TRIGGER = "transforms"
PIPELINE_CALLS = frozenset({"Compose", "ToTensor"})


class FileContext:
    """Everything rules may ask about one parsed file; each piece is computed once."""

    def __init__(self, module: cst.Module, index: ModuleIndex):
        self.module = module
        self.index = index
        self.resolver = NameResolver(index)
        self.evaluate = Evaluator(self.resolver.qualify, index.constants)
        self.tracer = SequenceTracer(module, self.evaluate)
        self.extractor = PipelineExtractor(module, self.resolver, self.evaluate, self.tracer)
        self.transform_of = self.extractor.transform_of
        self._purposes: Dict[int, Optional[Purpose]] = {}
        self._pipelines: Optional[List[Pipeline]] = None

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def label_call(self, call: cst.Call) -> str:
        return self.code(call.func)

    def label(self, step: Step) -> str:
        if isinstance(step.node, cst.Call):
            return self.label_call(step.node)
        return self.code(step.node) if step.node is not None else "<unknown step>"

    @property
    def pipelines(self) -> List[Pipeline]:
        if self._pipelines is None:
            self._pipelines = self.extractor.pipelines(self.index.calls.get("Compose", []))
        return self._pipelines

    def purpose(self, pipeline: Pipeline) -> Optional[Purpose]:
        key = id(pipeline.node)
        if key not in self._purposes:
            self._purposes[key] = pipeline_purpose(pipeline.site, self.code)
        return self._purposes[key]


def _findings(ctx: FileContext, rules: Sequence[Rule]) -> Iterable[tuple]:
    pipeline_rules = [r for r in rules if isinstance(r, PipelineRule)]
    if pipeline_rules:
        interpreter = Interpreter(ctx.code)
        for pipeline in ctx.pipelines:
            for path in pipeline.paths:
                walk = interpreter.walk(path)
                for rule in pipeline_rules:
                    for finding in rule.check(walk, pipeline, ctx):
                        yield rule, finding
    for rule in rules:
        check_calls = getattr(rule, "check_calls", None)
        if check_calls is not None:
            for finding in check_calls(ctx):
                yield rule, finding


def syntax_error(path: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(path, row, column, SYNTAX_ERROR, message, name="syntax-error", end_row=row, end_column=column)


def parse(source: str) -> FileContext:
    """Parses once and indexes once; raises ``ParserSyntaxError`` or ``RecursionError``."""
    module = cst.parse_module(source)
    index = ModuleIndex(module, PIPELINE_CALLS)
    module.visit(index)
    return FileContext(module, index)


def lint_source(source: str, path: str, rules: Sequence[Rule]) -> List[Diagnostic]:
    """Diagnostics for one file's text, sorted, with ``# noqa`` applied."""
    file_noqa = noqa.file_suppression(source)
    if file_noqa is not None:
        if "*" in file_noqa:
            return []
        rules = [r for r in rules if r.code not in file_noqa]
    if not rules or PIPELINE_TRIGGER not in source:
        return []
    try:
        ctx = parse(source)
    except cst.ParserSyntaxError as error:
        return [syntax_error(path, f"could not parse: {error.message}", error.raw_line, error.raw_column + 1)]
    except RecursionError:
        return [syntax_error(path, "could not parse: the code is nested too deeply")]

    seen = set()
    found: List[tuple] = []
    for rule, finding in _findings(ctx, rules):
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
                       end_row=where.end.line, end_column=where.end.column + 1, url=rule.url)
        )
    return sorted(diagnostics, key=Diagnostic.sort_key)
