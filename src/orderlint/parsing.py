"""How orderlint has LibCST parse a file: without re-validating code CPython
has already parsed, and, for editors, statement by statement.

An editor lints the same file again after every keystroke, and a keystroke
changes one top-level statement: the others are parsed once and reused
(LibCST nodes are immutable, so a later module can hold them as they are).
Each statement is parsed with the whole file's indentation and line break,
so that the module assembled from them generates the same code as one parse
of the file. The command line parses each file once and does not use this.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import List, Optional, Tuple

import libcst as cst
from libcst._nodes.base import CSTNode

from orderlint.regions import Statement, split_lines

_FIRST_INDENT = re.compile(r"^([ \t]+)\S", re.MULTILINE)
_PARSING = threading.Lock()


def parse_unvalidated(source: str, config: cst.PartialParserConfig = cst.PartialParserConfig()) -> cst.Module:
    """``cst.parse_module`` without validating every node the parser builds (a node's ``__post_init__``
    only validates; LibCST's own comment there suggests skipping it for parsed trees): 5% of the parse.
    Only for code CPython has parsed: validation also refuses some invalid code the grammar lets through."""
    with _PARSING:
        validate = CSTNode.__post_init__
        CSTNode.__post_init__ = _no_validation
        try:
            return cst.parse_module(source, config)
        finally:
            CSTNode.__post_init__ = validate


def _no_validation(node: CSTNode) -> None:
    pass


class StatementCache:
    """Parsed top-level statements by their text, the least recently used dropped beyond ``max_chars``."""

    def __init__(self, max_chars: int = 2_000_000):
        self._max_chars = max_chars
        self._chars = 0
        self._parsed: "OrderedDict[Tuple[str, str, str], Tuple[cst.BaseStatement, ...]]" = OrderedDict()

    def module(self, source: str, statements: List[Statement]) -> Optional[cst.Module]:
        """The module of ``source`` (whose top-level statements are ``statements``), or None when its
        statements do not parse one by one as they do together."""
        lines = split_lines(source)
        newline = lines[0][len(lines[0].rstrip("\r\n")):] if lines else ""
        newline = newline or "\n"
        indent = _FIRST_INDENT.search(source)
        indent = indent.group(1) if indent else " " * 4
        config = cst.PartialParserConfig(default_indent=indent, default_newline=newline)
        body: List[cst.BaseStatement] = []
        for where in statements:
            text = "".join(lines[where.first - 1 : where.last])
            key = (text, indent, newline)
            parsed = self._parsed.get(key)
            if parsed is None:
                parsed = tuple(parse_unvalidated(text, config).body)
                self._remember(key, parsed)
            else:
                self._parsed.move_to_end(key)
            body.extend(parsed)
        if len(body) != len(statements):
            return None
        return cst.Module(body=body, default_indent=indent, default_newline=newline,
                          has_trailing_newline=source.endswith(("\n", "\r")))

    def _remember(self, key: Tuple[str, str, str], parsed: Tuple[cst.BaseStatement, ...]) -> None:
        self._parsed[key] = parsed
        self._chars += len(key[0])
        while self._chars > self._max_chars and len(self._parsed) > 1:
            (text, _, _), _ = self._parsed.popitem(last=False)
            self._chars -= len(text)
