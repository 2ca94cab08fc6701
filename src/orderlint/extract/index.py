"""One pass over a module that collects what every extractor needs: imports
(for name resolution), module-level constants, and the call sites of the
names the enabled rule families care about, each with its ancestor chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Tuple

import libcst as cst

from orderlint.extract.walk import children


@dataclass(frozen=True)
class CallSite:
    node: cst.Call
    # From the Module down to the call's direct parent.
    ancestors: Tuple[cst.CSTNode, ...]

    def enclosing(self, *types: type) -> Optional[cst.CSTNode]:
        for node in reversed(self.ancestors):
            if isinstance(node, types):
                return node
        return None


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a Name or a chain of Attributes on a Name, else None."""
    # ``type() is`` rather than isinstance(): LibCST's node classes are ABCs, whose isinstance() goes through
    # ABCMeta's slow check when it fails (most of the time, here); Name and Attribute have no subclasses.
    if type(node) is cst.Name:
        return node.value
    parts = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def last_name(node: cst.BaseExpression) -> Optional[str]:
    kind = type(node)
    if kind is cst.Name:
        return node.value
    if kind is cst.Attribute:
        return node.attr.value
    return None


def _module_path(node: cst.BaseExpression) -> str:
    return dotted_name(node) or ""


# The nodes the extractors look for in a whole module, recorded by the index's walk so that none of them
# walks the module again.
RECORDED = frozenset({cst.Call, cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Assign, cst.AnnAssign})


class Recorded(NamedTuple):
    number: int  # the node's place in a depth-first, source-order walk of the module
    node: cst.CSTNode
    ancestors: Tuple[cst.CSTNode, ...]  # from the Module down to the node's direct parent


class ModuleIndex:
    """Built once per file by one walk of the tree."""

    def __init__(self, module: cst.Module, wanted_calls: FrozenSet[str]):
        self.module = module
        self.imports: Dict[str, str] = {}
        self.star_imports: List[str] = []
        self.constants: Dict[str, cst.BaseExpression] = {}
        self.calls: Dict[str, List[CallSite]] = {}
        # Every node of a RECORDED type, and every ``x.param_groups``, in walk order.
        self.recorded: List[Recorded] = []
        self._wanted = set(wanted_calls)
        self._canonical = frozenset(wanted_calls)
        self._reassigned: set = set()
        for statement in module.body:
            self._module_level(statement)
        # Depth-first, with the path from the module kept in one list: the ancestors tuple is built
        # only for the nodes recorded, not for every node.
        path: List[cst.CSTNode] = []
        stack: List[Tuple[cst.CSTNode, int]] = [(module, 0)]
        number = 0
        while stack:
            node, depth = stack.pop()
            del path[depth:]
            kind = type(node)
            if kind in RECORDED or (kind is cst.Attribute and node.attr.value == "param_groups"):
                self.recorded.append(Recorded(number, node, tuple(path)))
                if kind is cst.Call:
                    self._call(node, self.recorded[-1].ancestors)
            elif kind is cst.Import or kind is cst.ImportFrom:
                # `try: from torch.amp import GradScaler` / `except ImportError: from torch.cuda.amp import
                # GradScaler`: the name is what the `try` imports wherever that import works.
                fallback = any(type(ancestor) is cst.ExceptHandler for ancestor in path)
                (self._import if kind is cst.Import else self._import_from)(node, fallback)
            number += 1
            path.append(node)
            stack.extend((child, depth + 1) for child in reversed(children(node)))

    def _module_level(self, statement: cst.CSTNode) -> None:
        if not isinstance(statement, cst.SimpleStatementLine):
            return
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        self._constant(target.target.value, small.value)
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                self._constant(small.target.value, small.value)

    def _bind(self, local: str, qualified: str, fallback: bool) -> None:
        """An import binds ``local``; one in an ``except`` handler does not replace an earlier binding."""
        if not fallback or local not in self.imports:
            self.imports[local] = qualified

    def _import(self, node: cst.Import, fallback: bool = False) -> None:
        for alias in node.names:
            full = _module_path(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, full, fallback)
            else:
                top = full.split(".")[0]
                self._bind(top, top, fallback)

    def _import_from(self, node: cst.ImportFrom, fallback: bool = False) -> None:
        if node.relative or node.module is None:
            return
        module = _module_path(node.module)
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(module)
            return
        for alias in node.names:
            name = _module_path(alias.name)
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
            self._bind(local, f"{module}.{name}", fallback)
            if name in self._wanted:
                self._wanted.add(local)  # `from ... import Compose as C`: record calls to C too

    def _constant(self, name: str, value: cst.BaseExpression) -> None:
        if name in self.constants or name in self._reassigned:
            self.constants.pop(name, None)
            self._reassigned.add(name)
        else:
            self.constants[name] = value

    def _call(self, node: cst.Call, ancestors: Tuple[cst.CSTNode, ...]) -> None:
        name = last_name(node.func)
        if name in self._wanted:
            canonical = name if name in self._canonical else self.imports.get(name, name).rsplit(".", 1)[-1]
            self.calls.setdefault(canonical, []).append(CallSite(node, ancestors))


class NameResolver:
    """Resolves names to qualified names through the module's imports.

    Costs a dictionary look-up per name instead of LibCST's scope analysis; a
    local variable that shadows an import is not detected (rare in practice).
    """

    def __init__(self, index: ModuleIndex):
        self._imports = index.imports
        self._star = index.star_imports
        self._constants = index.constants

    def qualify(self, node: cst.BaseExpression, _depth: int = 0) -> Optional[str]:
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self._imports.get(head)
        if base is None:
            # A module-level alias of an import: `T = torchvision.transforms`.
            alias = self._constants.get(head)
            if alias is None or _depth > 3 or not isinstance(alias, (cst.Name, cst.Attribute)):
                return None
            base = self.qualify(alias, _depth + 1)
            if base is None:
                return None
        return f"{base}.{rest}" if rest else base

    def candidates(self, node: cst.BaseExpression) -> List[str]:
        """The qualified name, or for a bare name under ``from m import *``, each ``m.name``."""
        qualified = self.qualify(node)
        if qualified is not None:
            return [qualified]
        if isinstance(node, cst.Name):
            return [f"{module}.{node.value}" for module in reversed(self._star)]
        return []
