"""Evaluating the literal value of an expression, where the code makes it knowable.

Literals, tuples and lists of literals, arithmetic on them, module-level
constants and torch dtypes evaluate; anything else is ``UNKNOWN``.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Callable, Mapping, Optional

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
            return ast.literal_eval(node.value)
        if isinstance(node, cst.SimpleString):
            return node.evaluated_value
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

    def _dtype(self, node: cst.BaseExpression) -> Any:
        dtype = dtype_of(self._qualify(node))
        return UNKNOWN if dtype is None else dtype
