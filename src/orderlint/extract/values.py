"""Evaluating the literal value of an expression, where the code makes it knowable.

Literals, tuples and lists of literals, arithmetic on them, module-level
constants and torch dtypes evaluate; anything else is ``UNKNOWN``.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

import libcst as cst


class _Unknown:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()

_FLOAT_DTYPES = {"float", "float32", "float64", "double", "float16", "half", "bfloat16"}
_INT_DTYPES = {"uint8": "uint8"}

_BINARY = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
}


def string_value(node: cst.SimpleString) -> Optional[str]:
    """A ``str`` literal's value; None for a bytes literal and for an escape Python refuses
    (``'\\x'``, ``'\\N{nope}'``), which LibCST parses."""
    try:
        value = node.evaluated_value
    except (SyntaxError, ValueError):
        return None
    return value if isinstance(value, str) else None


def _number(node) -> Any:
    if isinstance(node, cst.Float):
        return float(node.value)
    try:
        return int(node.value, 0)
    except ValueError:  # "00": the only literal int() refuses with base 0
        return 0


class Dtype(str):
    """A torch dtype, reduced to what pipelines care about: 'float' or 'uint8' (or another name)."""


def dtype_of(qualified_name: Optional[str]) -> Optional[Dtype]:
    if not qualified_name or not qualified_name.startswith("torch."):
        return None
    name = qualified_name[len("torch.") :]
    if name in _FLOAT_DTYPES:
        return Dtype("float")
    if name in _INT_DTYPES or name in {"int8", "int16", "int32", "int64", "long", "int", "bool"}:
        return Dtype(name)
    return None


class Evaluator:
    """Evaluates expressions of one module.

    ``qualify`` resolves a name or attribute to its qualified name (for dtypes);
    ``constants`` maps module-level names assigned once to their expression.
    """

    def __init__(self, qualify: Callable[[cst.BaseExpression], Optional[str]], constants: Mapping[str, cst.BaseExpression]):
        self._qualify = qualify
        self._constants = constants

    def __call__(self, node: Optional[cst.BaseExpression], _depth: int = 0) -> Any:
        if node is None or _depth > 20:
            return UNKNOWN
        if isinstance(node, (cst.Integer, cst.Float)):
            return _number(node)
        if isinstance(node, cst.SimpleString):
            try:
                return node.evaluated_value
            except (SyntaxError, ValueError):  # an escape Python refuses, which LibCST parses
                return UNKNOWN
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.value]
            if node.value in self._constants:
                return self(self._constants[node.value], _depth + 1)
            return self._dtype(node)
        if isinstance(node, cst.Attribute):
            return self._dtype(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            items = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    return UNKNOWN
                value = self(element.value, _depth + 1)
                if value is UNKNOWN:
                    return UNKNOWN
                items.append(value)
            return tuple(items) if isinstance(node, cst.Tuple) else list(items)
        if isinstance(node, cst.UnaryOperation):
            value = self(node.expression, _depth + 1)
            if isinstance(value, (int, float)):
                if isinstance(node.operator, cst.Minus):
                    return -value
                if isinstance(node.operator, cst.Plus):
                    return value
            return UNKNOWN
        if isinstance(node, cst.BinaryOperation):
            op = _BINARY.get(type(node.operator))
            left, right = self(node.left, _depth + 1), self(node.right, _depth + 1)
            if op is None or left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            try:
                return op(left, right)
            except Exception:  # division by zero, list * float: not a knowable value
                return UNKNOWN
        return UNKNOWN

    def within(self, function: Optional[cst.FunctionDef]) -> "Evaluator":
        """This evaluator inside ``function``: a parameter's default and a name assigned once there are
        known; any other name the function binds hides the module constant of the same name."""
        if function is None:
            return self
        constants = dict(self._constants)
        for name, value in local_bindings(function).items():
            if value is None:
                constants.pop(name, None)
            else:
                constants[name] = value
        return Evaluator(self._qualify, constants)

    def _dtype(self, node: cst.BaseExpression) -> Any:
        dtype = dtype_of(self._qualify(node))
        return UNKNOWN if dtype is None else dtype


def _bound_names(target: cst.BaseExpression) -> list:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _bound_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return []


def _bindings_of(node: cst.CSTNode) -> list:
    """(name, expression bound or None) for each name a statement binds by itself."""
    if isinstance(node, cst.Assign):
        found = []
        for target in node.targets:
            single = isinstance(target.target, cst.Name)
            found += [(name, node.value if single else None) for name in _bound_names(target.target)]
        return found
    if isinstance(node, cst.AnnAssign):
        return [(name, node.value) for name in _bound_names(node.target)]
    unknown: list = []
    if isinstance(node, (cst.AugAssign, cst.For)):
        unknown = _bound_names(node.target)
    elif isinstance(node, cst.With):
        unknown = [n for item in node.items if item.asname is not None for n in _bound_names(item.asname.name)]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        unknown = [node.name.value]
    elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
        for alias in node.names:
            name = alias.asname.name if alias.asname is not None else alias.name
            while isinstance(name, cst.Attribute):
                name = name.value
            unknown += _bound_names(name)
    elif isinstance(node, (cst.Global, cst.Nonlocal)):
        unknown = [item.name.value for item in node.names]
    elif isinstance(node, cst.ExceptHandler) and node.name is not None:
        unknown = _bound_names(node.name.name)
    # Bound to something unknowable: recorded twice, so it never counts as a single assignment.
    return [(name, None) for name in unknown] * 2


def _statements(body) -> Iterator[cst.CSTNode]:
    """Every statement (and small statement) of a body, compound statements' bodies included, nested
    scopes excluded. Names bound inside expressions (``:=``) are not followed."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, cst.SimpleStatementLine):
            stack.extend(node.body)
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(node, cst.BaseCompoundStatement):
            for block in _blocks(node):
                stack.extend(block.body if isinstance(block, cst.IndentedBlock) else [block])
            if isinstance(node, (cst.Try, cst.TryStar)):
                stack.extend(node.handlers)


def _blocks(node: cst.BaseCompoundStatement) -> list:
    blocks = [node.body]
    orelse = getattr(node, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            blocks.append(orelse.body)
            orelse = orelse.orelse
        else:
            blocks.append(orelse.body)
            orelse = None
    final = getattr(node, "finalbody", None)
    if final is not None:
        blocks.append(final.body)
    for case in getattr(node, "cases", ()):
        blocks.append(case.body)
    return blocks


def local_bindings(function: cst.FunctionDef) -> Dict[str, Optional[cst.BaseExpression]]:
    """Each name ``function`` binds: the expression when bound once (a parameter's default, a single
    assignment), None when rebound or bound to something unknowable."""
    values: Dict[str, Optional[cst.BaseExpression]] = {}

    def bind(name: str, value: Optional[cst.BaseExpression]) -> None:
        values[name] = None if name in values else value

    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        bind(param.name.value, param.default)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            bind(star.name.value, None)
    if isinstance(function.body, cst.IndentedBlock):
        for statement in _statements(function.body.body):
            for name, value in _bindings_of(statement):
                bind(name, value)
    return values
