"""Following how a sequence of steps is built before it is used.

``Compose([...])`` is easy; real code builds the list in a variable
(``t = [...]; t.append(...)``, ``t += [...]``, ``base + [...]``, ``*extra``),
under conditions and in loops, and names single steps (``normalize =
T.Normalize(...)``). The tracer executes the statements of the enclosing
scope abstractly, up to the statement that uses the sequence, and returns
every concrete ordering the code can produce (its *paths*), each element
tagged with the conditions under which it was added.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import libcst as cst

from orderlint.extract.index import CallSite, dotted_name
from orderlint.extract.values import Evaluator, UNKNOWN

# Every independent `if` doubles the orderings; 7 of them are still enumerated in full.
MAX_PATHS = 128
MAX_UNROLL = 8
Guard = Tuple[str, ...]


@dataclass(frozen=True)
class Element:
    node: cst.BaseExpression
    guard: Guard = ()


class Opaque:
    """Something the tracer cannot see: an unknown number of unknown steps."""

    def __repr__(self) -> str:
        return "OPAQUE"


OPAQUE = Opaque()
Item = Union[Element, Opaque]
Path = Tuple[Item, ...]


@dataclass(frozen=True)
class ListValue:
    paths: Tuple[Path, ...]
    # The expression assigned, when the list was assigned once and never changed (for its literal value).
    source: Optional[cst.BaseExpression] = None


@dataclass(frozen=True)
class ExprValue:
    node: cst.BaseExpression
    guard: Guard = ()


Binding = Tuple[Union[ListValue, ExprValue], ...]
Env = Dict[str, Binding]

_OPAQUE_LIST = (ListValue(((OPAQUE,),)),)
_LIST_METHODS = {"append", "extend", "insert"}
_MUTATORS = {"pop", "remove", "clear", "reverse", "sort", "__setitem__", "__delitem__"}


def cap(paths) -> Tuple[Path, ...]:
    unique = list(dict.fromkeys(paths))
    return tuple(unique[:MAX_PATHS])


def product(parts: Sequence[Tuple[Path, ...]]) -> Tuple[Path, ...]:
    paths: Tuple[Path, ...] = ((),)
    for options in parts:
        paths = cap(tuple(a + b for a, b in itertools.product(paths, options)))
    return paths


def _target_key(node: cst.BaseExpression) -> Optional[str]:
    return dotted_name(node)


class SequenceTracer:
    def __init__(self, module: cst.Module, evaluate: Evaluator):
        self._module = module
        self._evaluate = evaluate
        self._module_env: Optional[Env] = None

    def code(self, node: cst.CSTNode) -> str:
        return self._module.code_for_node(node).strip()

    def negated(self, test: cst.BaseExpression) -> str:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.code(test.expression)
        if isinstance(test, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            return f"not {self.code(test)}"
        return f"not ({self.code(test)})"

    # Environments ---------------------------------------------------------

    def env_at(self, site: CallSite) -> Env:
        """The bindings in effect just before the statement that holds ``site``."""
        chain = set(map(id, site.ancestors))
        scope = site.enclosing(cst.FunctionDef, cst.ClassDef, cst.Module)
        env: Env = self._class_attributes(site, scope)
        if isinstance(scope, cst.FunctionDef):
            env.update(parameters(scope))
        body = scope.body.body if isinstance(scope, (cst.FunctionDef, cst.ClassDef)) else scope.body
        if isinstance(body, Sequence):
            self._run(body, env, (), chain)
        return env

    def _class_attributes(self, site: CallSite, scope) -> Env:
        """In a method, the class body's assignments, seen as ``self.NAME`` and ``cls.NAME``."""
        if not isinstance(scope, cst.FunctionDef):
            return {}
        position = site.ancestors.index(scope)
        if position < 2 or not isinstance(site.ancestors[position - 2], cst.ClassDef):
            return {}
        class_env: Env = {}
        self._run(site.ancestors[position - 2].body.body, class_env, (), set())
        return {f"{owner}.{name}": binding for name, binding in class_env.items() for owner in ("self", "cls")}

    def env_after(self, function: cst.FunctionDef) -> Env:
        """The bindings in effect at the end of a function's body (``self.conv = ...`` in ``__init__``)."""
        env: Env = {}
        if isinstance(function.body, cst.IndentedBlock):
            self._run(function.body.body, env, (), set())
        return env

    def value_of(self, node: cst.BaseExpression, env: Env) -> cst.BaseExpression:
        """The expression a variable holds when it was assigned exactly once, else the node itself."""
        binding = self.lookup(env, node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        if binding and len(binding) == 1:
            held = binding[0]
            if isinstance(held, ExprValue):
                return held.node
            if held.source is not None:
                return held.source
        return node

    def _module_bindings(self) -> Env:
        if self._module_env is None:
            self._module_env = {}
            self._run(self._module.body, self._module_env, (), set())
        return self._module_env

    def lookup(self, env: Env, node: cst.BaseExpression) -> Optional[Binding]:
        key = _target_key(node)
        if key is None:
            return None
        if key in env:
            return env[key]
        if env is not self._module_env:
            return self._module_bindings().get(key)
        return None

    # Statements -----------------------------------------------------------

    def _run(self, statements, env: Env, guard: Guard, chain) -> bool:
        """Executes statements in order; True once the statement holding the target was reached."""
        for statement in statements:
            if id(statement) in chain:
                self._enter(statement, env, guard, chain)
                return True
            self._statement(statement, env, guard)
        return False

    def _enter(self, statement, env: Env, guard: Guard, chain) -> None:
        """Descends into the compound statement that holds the target, along the branch that holds it."""
        if isinstance(statement, cst.If):
            if id(statement.body) in chain:
                self._run(statement.body.body, env, guard + (self.code(statement.test),), chain)
            elif statement.orelse is not None:
                self._enter_else(statement.orelse, env, guard + (self.negated(statement.test),), chain)
        elif isinstance(statement, (cst.For, cst.While, cst.With, cst.Try, cst.TryStar)):
            for block in _blocks(statement):
                if id(block) in chain:
                    self._run(block.body, env, guard, chain)

    def _enter_else(self, orelse, env, guard, chain) -> None:
        if isinstance(orelse, cst.If):
            self._enter(orelse, env, guard, chain)
        else:
            self._run(orelse.body.body, env, guard, chain)

    def _statement(self, statement, env: Env, guard: Guard) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small, env, guard)
        elif isinstance(statement, cst.If):
            self._if(statement, env, guard)
        elif isinstance(statement, cst.For):
            self._loop(statement, env, guard, _literal_range(statement, self._evaluate))
        elif isinstance(statement, cst.While):
            self._loop(statement, env, guard, None)
        elif isinstance(statement, (cst.With, cst.Try, cst.TryStar)):
            for block in _blocks(statement):
                self._run(block.body, env, guard, set())

    def _if(self, statement: cst.If, env: Env, guard: Guard) -> None:
        then_env = dict(env)
        self._run(statement.body.body, then_env, guard + (self.code(statement.test),), set())
        else_env = dict(env)
        orelse = statement.orelse
        if isinstance(orelse, cst.If):
            self._if(orelse, else_env, guard + (self.negated(statement.test),))
        elif orelse is not None:
            self._run(orelse.body.body, else_env, guard + (self.negated(statement.test),), set())
        for key in set(then_env) | set(else_env):
            if key not in else_env or then_env.get(key) == else_env[key]:
                env[key] = then_env[key]
            elif key not in then_env:
                env[key] = else_env[key]
            else:
                env[key] = _merge(then_env[key], else_env[key])

    def _loop(self, statement, env: Env, guard: Guard, count: Optional[int]) -> None:
        if count is not None:
            for _ in range(count):
                self._run(statement.body.body, env, guard, set())
            return
        # An unknown number of iterations: whatever the body changes becomes unknown from here on.
        body_env = dict(env)
        self._run(statement.body.body, body_env, guard, set())
        for key, binding in body_env.items():
            if env.get(key) != binding:
                env[key] = _OPAQUE_LIST

    def _small(self, small, env: Env, guard: Guard) -> None:
        if isinstance(small, cst.Assign):
            value = self._bind(small.value, env, guard)
            for target in small.targets:
                self._assign(target.target, value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._assign(small.target, self._bind(small.value, env, guard), env)
        elif isinstance(small, cst.AugAssign) and isinstance(small.operator, cst.AddAssign):
            key = _target_key(small.target)
            if key is not None and self._is_list_expression(small.target, env):
                current = self.paths(small.target, env)
                env[key] = (ListValue(product([current, self.paths(small.value, env, guard)])),)
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            self._method_call(small.value, env, guard)
        elif isinstance(small, cst.Del):
            for target in _del_targets(small.target):
                key = _target_key(target)
                if key in env:
                    env[key] = _OPAQUE_LIST

    def _assign(self, target: cst.BaseExpression, value: Binding, env: Env) -> None:
        key = _target_key(target)
        if key is not None:
            env[key] = value
        elif isinstance(target, cst.Subscript):
            base = _target_key(target.value)
            if base in env:
                env[base] = _OPAQUE_LIST  # t[i] = ...: the list changed in a way not followed

    def _bind(self, value: cst.BaseExpression, env: Env, guard: Guard) -> Binding:
        if self._is_list_expression(value, env):
            return (ListValue(self.paths(value, env, guard), value),)
        return (ExprValue(value, guard),)

    def _is_list_expression(self, node, env: Env) -> bool:
        if isinstance(node, (cst.List, cst.Tuple)):
            return True
        if isinstance(node, cst.BinaryOperation):
            return self._is_list_expression(node.left, env) or self._is_list_expression(node.right, env)
        if isinstance(node, (cst.Name, cst.Attribute)):
            binding = self.lookup(env, node)
            return bool(binding) and all(isinstance(v, ListValue) for v in binding)
        if isinstance(node, cst.IfExp):
            return self._is_list_expression(node.body, env) or self._is_list_expression(node.orelse, env)
        copied = _copied(node)
        return copied is not None and (isinstance(copied, (cst.List, cst.Tuple)) or self._is_list_expression(copied, env))

    def _method_call(self, call: cst.Call, env: Env, guard: Guard) -> None:
        if not isinstance(call.func, cst.Attribute):
            return
        key = _target_key(call.func.value)
        method = call.func.attr.value
        if key is None or key not in env or not any(isinstance(v, ListValue) for v in env[key]):
            return
        current = self.paths(call.func.value, env)
        args = [a.value for a in call.args]
        if method == "append" and len(args) == 1:
            env[key] = (ListValue(product([current, self._element_paths(args[0], env, guard)])),)
        elif method == "extend" and len(args) == 1:
            env[key] = (ListValue(product([current, self.paths(args[0], env, guard)])),)
        elif method == "insert" and len(args) == 2:
            env[key] = (ListValue(self._insert(current, args[0], args[1], env, guard)),)
        elif method in _MUTATORS:
            env[key] = _OPAQUE_LIST

    def _insert(self, current, index_node, value, env, guard) -> Tuple[Path, ...]:
        index = self._evaluate(index_node)
        if not isinstance(index, int):
            return ((OPAQUE,),)
        new = self._element_paths(value, env, guard)
        result = []
        for path in current:
            for element in new:
                position = index if index >= 0 else max(len(path) + index, 0)
                result.append(path[:position] + element + path[position:])
        return cap(result)

    # Expressions ----------------------------------------------------------

    def paths(self, node: cst.BaseExpression, env: Env, guard: Guard = ()) -> Tuple[Path, ...]:
        """Every ordering of elements the expression can stand for."""
        if isinstance(node, (cst.List, cst.Tuple)):
            parts = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    parts.append(self.paths(element.value, env, guard))
                else:
                    parts.append(self._element_paths(element.value, env, guard))
            return product(parts)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Add):
                return product([self.paths(node.left, env, guard), self.paths(node.right, env, guard)])
            if isinstance(node.operator, cst.Multiply):
                times = self._evaluate(node.right)
                if isinstance(times, int) and 0 <= times <= MAX_UNROLL:
                    return product([self.paths(node.left, env, guard)] * times)
            return ((OPAQUE,),)
        if isinstance(node, cst.IfExp):
            return cap(
                self.paths(node.body, env, guard + (self.code(node.test),))
                + self.paths(node.orelse, env, guard + (self.negated(node.test),))
            )
        if isinstance(node, (cst.Name, cst.Attribute)):
            binding = self.lookup(env, node)
            if binding and all(isinstance(v, ListValue) for v in binding):
                return cap(tuple(p for v in binding for p in v.paths))
            return ((OPAQUE,),)
        copied = _copied(node)
        if copied is not None:
            return self.paths(copied, env, guard)
        return ((OPAQUE,),)

    def _element_paths(self, node: cst.BaseExpression, env: Env, guard: Guard) -> Tuple[Path, ...]:
        """One element, with a name resolved to what was assigned to it (each assignment a path)."""
        if isinstance(node, cst.IfExp):
            return cap(
                self._element_paths(node.body, env, guard + (self.code(node.test),))
                + self._element_paths(node.orelse, env, guard + (self.negated(node.test),))
            )
        if isinstance(node, (cst.Name, cst.Attribute)):
            binding = self.lookup(env, node)
            if binding and all(isinstance(v, ExprValue) for v in binding):
                return cap(tuple((Element(v.node, guard + v.guard),) for v in binding))
        return ((Element(node, guard),),)

    def resolve(self, node: cst.BaseExpression, env: Env) -> Tuple[Element, ...]:
        """The expressions a single name may hold (itself when it is not a traced variable)."""
        return tuple(path[0] for path in self._element_paths(node, env, ()) if isinstance(path[0], Element))


def parameters(function: cst.FunctionDef) -> Env:
    """A function's parameters, bound to what the function cannot know: they shadow module globals of the
    same name (``def train(criterion)`` is not the module's ``criterion = nn.NLLLoss()``)."""
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [star for star in (params.star_arg, params.star_kwarg) if isinstance(star, cst.Param)]
    return {param.name.value: _OPAQUE_LIST for param in every}


def _copied(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """``x`` for ``list(x)``, ``tuple(x)``, ``copy.copy(x)``, ``copy.deepcopy(x)``, ``x.copy()``."""
    if not isinstance(node, cst.Call):
        return None
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "copy" and not node.args:
        return node.func.value
    if len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star:
        if dotted_name(node.func) in ("list", "tuple", "copy.copy", "copy.deepcopy", "deepcopy"):
            return node.args[0].value
    return None


def _merge(a: Binding, b: Binding) -> Binding:
    if all(isinstance(v, ListValue) for v in a + b):
        return (ListValue(cap(tuple(p for v in a + b for p in v.paths))),)
    if all(isinstance(v, ExprValue) for v in a + b):
        return tuple(dict.fromkeys(a + b))
    return _OPAQUE_LIST




def _blocks(statement) -> List[cst.BaseSuite]:
    if isinstance(statement, (cst.For, cst.While, cst.With)):
        return [statement.body]
    blocks = [statement.body]
    blocks += [handler.body for handler in statement.handlers]
    if statement.orelse is not None:
        blocks.append(statement.orelse.body)
    if statement.finalbody is not None:
        blocks.append(statement.finalbody.body)
    return blocks


def _literal_range(statement: cst.For, evaluate: Evaluator) -> Optional[int]:
    """The iteration count of ``for _ in range(...)`` / ``for x in (a, b)`` when literal and small."""
    iterable = statement.iter
    if isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "range" and 1 <= len(iterable.args) <= 3:
        bounds = [evaluate(arg.value) for arg in iterable.args]
        literal = all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) and (len(bounds) < 3 or bounds[2] != 0)
        count = len(range(*bounds)) if literal else UNKNOWN
    else:
        value = evaluate(iterable)
        count = len(value) if isinstance(value, (list, tuple)) else UNKNOWN
    return count if isinstance(count, int) and 0 <= count <= MAX_UNROLL else None


def _del_targets(target) -> List[cst.BaseExpression]:
    if isinstance(target, cst.Tuple):
        return [e.value for e in target.elements]
    return [target]
