"""One parsed file as every rule family sees it: the tree, its index, name
resolution, value evaluation and sequence tracing, each built once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, List, Optional, Tuple

import libcst as cst

from orderlint.extract.index import ModuleIndex, NameResolver
from orderlint.extract.sequences import SequenceTracer
from orderlint.extract.values import Evaluator
from orderlint.regions import Statement


@dataclass(frozen=True)
class Settings:
    """The project settings rules read (``[tool.orderlint]``)."""

    # The oldest torch the project supports (``torch-version = "2.4"``); None: a current one.
    torch_version: Optional[Tuple[int, ...]] = None


class FileContext:
    def __init__(self, module: cst.Module, index: ModuleIndex, settings: Settings = Settings(), source: str = "",
                 statements: Optional[List[Statement]] = None):
        self.module = module
        self.source = source  # the text parsed (irrelevant regions blanked): cheap to search, unlike module.code
        self.statements = statements  # where each top-level statement of ``source`` is (see positions.py)
        self.index = index
        self.settings = settings
        self.resolver = NameResolver(index)
        self.evaluate = Evaluator(self.resolver.qualify, index.constants)
        self.tracer = SequenceTracer(module, self.evaluate)
        self._memo: Dict[Hashable, Any] = {}

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def label_call(self, call: cst.Call) -> str:
        """How a message names a call: its callee as written (``T.Normalize``)."""
        return self.code(call.func)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Computes an extraction once per file, whichever rule asks first."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]
