"""What a rule is: a code, a name, documentation, and a predicate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, FrozenSet, Iterator, Optional, Tuple

import libcst as cst

from orderlint.edits import Fix
from orderlint.extract.sequences import Guard

KINDS = ("crash", "silent", "perf", "deprecated", "safety")
# `if __name__ == "__main__":` is how a script runs at all, not a condition worth naming in a message.
_MAIN_GUARD = re.compile(r"""^__name__\s*==\s*['"]__main__['"]$""")
DOCS_URL = "https://github.com/orderlint/orderlint/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one node, before it gets a file position."""

    node: cst.CSTNode
    message: str
    guard: Guard = ()
    fix: Optional[Fix] = None


class Rule:
    code: str
    name: str
    kind: str  # e.g. "crash / silent": what happens to the user if the bug ships
    default: str = "on"  # or "preview"
    fix: str = "-"  # "safe", "unsafe" or "-"
    summary: str  # what it detects, one sentence
    why: str
    example: str
    use_instead: str

    @property
    def preview(self) -> bool:
        return self.default == "preview"

    @property
    def url(self) -> str:
        return f"{DOCS_URL}#{self.code.lower()}-{self.name}"

    def finding(self, node: cst.CSTNode, message: str, *guards: Guard, fix: Optional[Fix] = None) -> Finding:
        merged: Tuple[str, ...] = tuple(dict.fromkeys(g for guard in guards for g in guard if not _MAIN_GUARD.match(g)))
        if merged:
            message = f"{message} (when {' and '.join(f'`{g}`' for g in merged)})"
        return Finding(node, message, merged, fix)


@dataclass(frozen=True)
class Family:
    """Rules that share one extraction. A file is parsed for a family only when
    its text contains every string of ``requires`` and one of ``triggers``; the
    index records the call sites named in ``call_names`` for the family's extractor."""

    name: str
    triggers: Tuple[str, ...]
    call_names: FrozenSet[str]
    rules: Tuple[Rule, ...]
    run: Callable[..., Iterator[Tuple[Rule, Finding]]]  # (FileContext, enabled rules) -> findings
    requires: Tuple[str, ...] = ()

    def triggered_by(self, source: str) -> bool:
        return all(r in source for r in self.requires) and any(t in source for t in self.triggers)
