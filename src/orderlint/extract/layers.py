"""Layer stacks: every ``nn.Sequential`` and every module whose ``__init__``
layers are composed in ``forward``, walked through the layer catalogue.

A stack is a list of *applications*: a layer, the tensor it receives (what is
known of it, and which layer produced it directly) and what it produces.
Rules are predicates over applications, whichever way the stack was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import libcst as cst

from orderlint.catalogue import layers as catalogue
from orderlint.catalogue.layers import KEEP, UNKNOWN_TENSOR, Layer, Problem, TensorState
from orderlint.extract.index import CallSite, dotted_name
from orderlint.extract.pipelines import bind_arguments
from orderlint.extract.sequences import OPAQUE, Element, Env, ExprValue, Guard, cap, product
from orderlint.extract.walk import children, walk

MAX_NESTING = 6


@dataclass(frozen=True, eq=False)
class LayerUse:
    """A layer as written: its constructor call (or inline op call); ``layer`` None when not a known layer."""

    node: cst.BaseExpression
    layer: Optional[Layer]
    args: Mapping[str, Any] = field(default_factory=dict)
    guard: Guard = ()

    def has(self, role: str) -> bool:
        return self.layer is not None and role in self.layer.roles


@dataclass(frozen=True)
class Value:
    """A tensor flowing through a stack: what is known of it, and where its facts come from."""

    state: TensorState = UNKNOWN_TENSOR
    previous: Optional[LayerUse] = None  # the layer that produced it directly
    shaped_by: Optional[LayerUse] = None  # the last layer that changed its shape or counts
    output_from: Optional[LayerUse] = None  # the layer that set its output kind (a Softmax, a Linear)


UNKNOWN_VALUE = Value()


@dataclass(frozen=True)
class Application:
    use: LayerUse
    before: Value
    after: Value
    problem: Optional[Problem]


def apply(use: LayerUse, value: Value, out: List[Application]) -> Value:
    """Applies one layer to a value, recording the application."""
    if use.layer is None:
        after = Value(previous=use)
        out.append(Application(use, value, after, None))
        return after
    found = catalogue.problem(use.layer, use.args, value.state)
    state = catalogue.apply(use.layer, use.args, value.state)
    before = value.state
    keeps_counts = found is None and (state.rank, state.channels, state.features) == (before.rank, before.channels, before.features)
    after = Value(
        state,
        previous=use,
        shaped_by=value.shaped_by if keeps_counts else use,
        output_from=value.output_from if use.layer.output == KEEP else use,
    )
    out.append(Application(use, value, after, found))
    return after


def walk_layers(uses: Sequence[LayerUse], value: Value = UNKNOWN_VALUE, out: Optional[List[Application]] = None) -> List[Application]:
    out = [] if out is None else out
    for use in uses:
        value = apply(use, value, out)
    return out


@dataclass(frozen=True)
class LayerStack:
    """An ``nn.Sequential`` (``node`` its call) or a module class (``node`` its ClassDef)."""

    node: cst.CSTNode
    name: str
    walks: Tuple[Tuple[Application, ...], ...]  # one per concrete ordering (Sequential) or one (forward)
    output: Optional[Value] = None  # what the stack returns, when every path agrees


# Finding the layers ------------------------------------------------------------


class LayerExtractor:
    def __init__(self, ctx):
        self._ctx = ctx
        self._sequentials: Dict[int, Tuple[Tuple[LayerUse, ...], ...]] = {}

    # Names -------------------------------------------------------------------

    def layer_of(self, func: cst.BaseExpression) -> Optional[Layer]:
        for name in self._ctx.resolver.candidates(func):
            found = catalogue.lookup(name)
            if found is not None:
                return found
        return None

    def is_sequential(self, func: cst.BaseExpression) -> bool:
        return any(name in ("torch.nn.Sequential", "torch.nn.modules.container.Sequential", "torch.nn.modules.Sequential")
                   for name in self._ctx.resolver.candidates(func))

    def use_of(self, node: cst.BaseExpression, guard: Guard, evaluate) -> LayerUse:
        """The layer a constructor call builds, its arguments evaluated where they are written."""
        if not isinstance(node, cst.Call):
            return LayerUse(node, None, guard=guard)
        layer = self.layer_of(node.func)
        if layer is None:
            return LayerUse(node, None, guard=guard)
        bound = bind_arguments(node, layer.params)
        if bound is None:
            return LayerUse(node, None, guard=guard)  # *args / **kwargs: its facts are hidden
        return LayerUse(node, layer, {name: evaluate(value) for name, value in bound.items()}, guard)

    # Sequential --------------------------------------------------------------

    def sequential(self, site: CallSite) -> Tuple[Tuple[LayerUse, ...], ...]:
        """Every concrete ordering of the layers of the Sequential at ``site``, nested Sequentials flattened."""
        key = id(site.node)
        if key not in self._sequentials:
            env = self._ctx.tracer.env_at(site)
            evaluate = evaluator_in(self._ctx, site.enclosing(cst.FunctionDef))
            self._sequentials[key] = self._sequential_paths(site.node, env, (), evaluate, 0)
        return self._sequentials[key]

    def _sequential_paths(self, call: cst.Call, env: Env, guard: Guard, evaluate, depth: int):
        if depth > MAX_NESTING or any(arg.keyword is not None or arg.star == "**" for arg in call.args):
            return ((LayerUse(call, None, guard=guard),),)
        listed = _ordered_dict_items(call, self._ctx.resolver)
        if listed is not None:
            items = tuple(tuple(_dict_value(item) for item in path) for path in self._ctx.tracer.paths(listed, env, guard))
        else:
            elements = [cst.StarredElement(arg.value) if arg.star == "*" else cst.Element(arg.value) for arg in call.args]
            items = self._ctx.tracer.paths(cst.List(elements), env, guard)
        result = []
        for path in items:
            parts = [self._item(item, env, evaluate, depth) for item in path]
            result.extend(product(parts))
        return cap(result)

    def _item(self, item, env: Env, evaluate, depth: int):
        if item is OPAQUE:
            return ((LayerUse(cst.Name("_"), None),),)
        node = item.node
        if isinstance(node, cst.Call) and self.is_sequential(node.func):
            return self._sequential_paths(node, env, item.guard, evaluate, depth + 1)
        return ((self.use_of(node, item.guard, evaluate),),)


def _ordered_dict_items(call: cst.Call, resolver) -> Optional[cst.BaseExpression]:
    """For ``Sequential(OrderedDict([(name, layer), ...]))``: the expression listing the pairs."""
    if len(call.args) != 1 or call.args[0].star or not isinstance(call.args[0].value, cst.Call):
        return None
    inner = call.args[0].value
    if resolver.qualify(inner.func) not in ("collections.OrderedDict", "typing.OrderedDict") or len(inner.args) != 1:
        return None
    listed = inner.args[0].value
    if isinstance(listed, cst.Dict):
        return cst.List([cst.Element(cst.Tuple([cst.Element(e.key), cst.Element(e.value)]))
                         for e in listed.elements if isinstance(e, cst.DictElement)])
    return listed


def _dict_value(item):
    """The layer of a ``(name, layer)`` pair; anything else stays as it is (unknown later)."""
    if isinstance(item, Element) and isinstance(item.node, cst.Tuple) and len(item.node.elements) == 2:
        return Element(item.node.elements[1].value, item.guard)
    return item


def evaluator_in(ctx, function: Optional[cst.FunctionDef]):
    """The evaluator for expressions written in ``function`` (its defaults and single assignments known)."""
    if function is None:
        return ctx.evaluate
    return ctx.memo(("evaluator", id(function)), lambda: ctx.evaluate.within(function))


# Modules: layers assigned in __init__, composed in forward ------------------------

Attribute = Tuple[LayerUse, ...]  # a layer, or the layers of a Sequential, in order


def module_classes(module: cst.Module) -> List[cst.ClassDef]:
    """Classes with a ``forward`` method, wherever statements can define them."""
    found: List[cst.ClassDef] = []

    def visit(statements) -> None:
        for statement in statements:
            if isinstance(statement, cst.ClassDef):
                if _method(statement, "forward") is not None:
                    found.append(statement)
                visit(statement.body.body)
            elif isinstance(statement, (cst.FunctionDef, cst.If, cst.Try, cst.With)):
                body = statement.body
                visit(body.body if isinstance(body, cst.IndentedBlock) else ())

    visit(module.body)
    return found


def _method(cls: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    for statement in cls.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _assigned_attributes(node: cst.CSTNode) -> set:
    """The ``self.X`` assigned anywhere under ``node``."""
    names = set()
    for below in walk(node):
        if isinstance(below, cst.AssignTarget):
            name = dotted_name(below.target)
            if name is not None and name.startswith("self."):
                names.add(name)
    return names


class ModuleExtractor:
    """The applications a module's ``forward`` makes of the layers its ``__init__`` assigns."""

    def __init__(self, ctx, layers: LayerExtractor, sequential_sites: Mapping[int, CallSite]):
        self._ctx = ctx
        self._layers = layers
        self._sequential_sites = sequential_sites

    def stack(self, cls: cst.ClassDef) -> Optional[LayerStack]:
        init, forward = _method(cls, "__init__"), _method(cls, "forward")
        if init is None or forward is None:
            return None
        attributes = self.attributes(cls, init)
        if not attributes:
            return None
        flow = ForwardFlow(self._ctx, self._layers, attributes, evaluator_in(self._ctx, forward))
        flow.run(forward)
        return LayerStack(cls, cls.name.value, (tuple(flow.applications),), _common_output(flow.returns))

    def attributes(self, cls: cst.ClassDef, init: cst.FunctionDef) -> Dict[str, Attribute]:
        env = self._ctx.tracer.env_after(init)
        reassigned = set()
        for statement in cls.body.body:
            if isinstance(statement, cst.FunctionDef) and statement is not init:
                reassigned |= _assigned_attributes(statement)
        evaluate = evaluator_in(self._ctx, init)
        found: Dict[str, Attribute] = {}
        for key, binding in env.items():
            if not key.startswith("self.") or key in reassigned or len(binding) != 1:
                continue
            held = binding[0]
            if not isinstance(held, ExprValue):
                continue
            node = _resolved(held.node, env)
            if isinstance(node, cst.Call) and self._layers.is_sequential(node.func):
                site = self._sequential_sites.get(id(node))
                paths = self._layers.sequential(site) if site is not None else ()
                if len(paths) == 1:
                    found[key[len("self."):]] = paths[0]
            else:
                use = self._layers.use_of(node, held.guard, evaluate)
                if use.layer is not None:
                    found[key[len("self."):]] = (use,)
        return found


def _resolved(node: cst.BaseExpression, env: Env, hops: int = 3) -> cst.BaseExpression:
    """``conv`` for ``self.conv = conv`` after ``conv = nn.Conv2d(...)``."""
    while hops and isinstance(node, cst.Name):
        binding = env.get(node.value)
        if not binding or len(binding) != 1 or not isinstance(binding[0], ExprValue):
            break
        node, hops = binding[0].node, hops - 1
    return node


def _common_output(values: Sequence[Value]) -> Optional[Value]:
    """What a stack returns when every return (or every path) agrees on the output kind and its source."""
    kinds = {(v.state.output, id(v.output_from)) for v in values}
    if len(kinds) != 1 or values[0].state.output is None:
        return None
    return Value(TensorState(output=values[0].state.output), output_from=values[0].output_from)


def _target_names(target: cst.BaseExpression) -> List[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _assigned_in(*nodes: Optional[cst.CSTNode]) -> set:
    """The names assigned anywhere under ``nodes`` (loop targets and ``as`` names included)."""
    names = set()
    for node in nodes:
        for below in walk(node) if node is not None else ():
            if isinstance(below, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For)):
                names.update(_target_names(below.target))
            elif isinstance(below, cst.WithItem) and below.asname is not None:
                names.update(_target_names(below.asname.name))
            elif isinstance(below, cst.NamedExpr):
                names.update(_target_names(below.target))
    return names


_NO_DESCENT = (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class ForwardFlow:
    """Runs a ``forward`` abstractly: each tensor variable holds a ``Value``; calling a layer attribute
    on it, or an inline op (``F.relu(x)``, ``x.flatten(1)``), records an application."""

    def __init__(self, ctx, layers: LayerExtractor, attributes: Mapping[str, Attribute], evaluate):
        self._ctx = ctx
        self._layers = layers
        self._attributes = attributes
        self._evaluate = evaluate
        self.applications: List[Application] = []
        self.returns: List[Value] = []

    def run(self, function: cst.FunctionDef) -> None:
        params = function.params
        env: Dict[str, Value] = {p.name.value: UNKNOWN_VALUE for p in (*params.posonly_params, *params.params)}
        if isinstance(function.body, cst.IndentedBlock):
            self._block(function.body.body, env)

    # Statements --------------------------------------------------------------

    def _block(self, statements, env: Dict[str, Value]) -> None:
        for statement in statements:
            self._statement(statement, env)

    def _statement(self, statement, env: Dict[str, Value]) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small, env)
        elif isinstance(statement, cst.If):
            self.eval(statement.test, env)
            then_env, else_env = dict(env), dict(env)
            self._block(statement.body.body, then_env)
            if isinstance(statement.orelse, cst.If):
                self._statement(statement.orelse, else_env)
            elif statement.orelse is not None:
                self._block(statement.orelse.body.body, else_env)
            for name in set(then_env) | set(else_env):
                same = then_env.get(name) == else_env.get(name)
                env[name] = then_env[name] if same else UNKNOWN_VALUE
        elif isinstance(statement, (cst.For, cst.While)):
            # Each pass may see what the previous one produced: whatever the loop assigns is unknown.
            changed = _assigned_in(statement)
            if isinstance(statement, cst.For):
                self.eval(statement.iter, env)
            for name in changed:
                env[name] = UNKNOWN_VALUE
            self._block(statement.body.body, dict(env))
        elif isinstance(statement, cst.With):
            for item in statement.items:
                self.eval(item.item, env)
            for name in _assigned_in(*(item.asname for item in statement.items)):
                env[name] = UNKNOWN_VALUE
            self._block(statement.body.body, env)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            self._block(statement.body.body, env)
            others = [h.body for h in statement.handlers] + [b for b in (statement.orelse, statement.finalbody) if b]
            for name in _assigned_in(*others):
                env[name] = UNKNOWN_VALUE
        else:
            for name in _assigned_in(statement):
                env[name] = UNKNOWN_VALUE

    def _small(self, small, env: Dict[str, Value]) -> None:
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, env)
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    env[target.target.value] = value
                else:
                    for name in _target_names(target.target):
                        env[name] = UNKNOWN_VALUE
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            value = self.eval(small.value, env)
            for name in _target_names(small.target):
                env[name] = value
        elif isinstance(small, cst.AugAssign):
            self.eval(small.value, env)
            for name in _target_names(small.target):
                env[name] = UNKNOWN_VALUE
        elif isinstance(small, cst.Expr):
            self.eval(small.value, env)
        elif isinstance(small, cst.Return) and small.value is not None:
            self.returns.append(self.eval(small.value, env))

    # Expressions -------------------------------------------------------------

    def eval(self, node: cst.BaseExpression, env: Dict[str, Value]) -> Value:
        if isinstance(node, cst.Name):
            return env.get(node.value, UNKNOWN_VALUE)
        if isinstance(node, cst.Call):
            return self._call(node, env)
        if not isinstance(node, _NO_DESCENT):
            self._children(node, env)
        return UNKNOWN_VALUE

    def _children(self, node: cst.CSTNode, env: Dict[str, Value]) -> None:
        for child in children(node):
            if isinstance(child, cst.BaseExpression):
                self.eval(child, env)
            elif not isinstance(child, _NO_DESCENT):
                self._children(child, env)

    def _call(self, call: cst.Call, env: Dict[str, Value]) -> Value:
        func = call.func
        attribute = _self_attribute(func)
        if attribute is not None and attribute in self._attributes:
            value = self._input(call, env)
            for use in self._attributes[attribute]:
                value = apply(use, value, self.applications)
            return value
        qualified = self._ctx.resolver.qualify(func)
        if qualified is not None or attribute is not None:
            op = catalogue.lookup_function(qualified)
            if op is None:
                self._children(call, env)
                return UNKNOWN_VALUE
            return self._apply_op(op, call, self._input(call, env), call.args[1:], env)
        if isinstance(func, cst.Call):  # nn.Softmax(dim=1)(x): a layer built and applied inline
            use = self._layers.use_of(func, (), self._evaluate)
            if use.layer is not None:
                return apply(use, self._input(call, env), self.applications)
        if isinstance(func, cst.Attribute):
            op = catalogue.lookup_method(func.attr.value)
            if op is not None:
                return self._apply_op(op, call, self.eval(func.value, env), call.args, env)
        self._children(call, env)
        return UNKNOWN_VALUE

    def _input(self, call: cst.Call, env: Dict[str, Value]) -> Value:
        """The tensor a call receives: its first positional argument (``input=``), other arguments evaluated for
        the layers they apply."""
        value = UNKNOWN_VALUE
        for position, arg in enumerate(call.args):
            got = self.eval(arg.value, env)
            if (position == 0 and arg.keyword is None and not arg.star) or (arg.keyword is not None and arg.keyword.value == "input"):
                value = got
        return value

    def _apply_op(self, op: Layer, call: cst.Call, value: Value, args: Sequence[cst.Arg], env) -> Value:
        if op.effect == "reshape":
            shape = [a.value for a in args]
            if len(shape) == 1 and isinstance(shape[0], (cst.Tuple, cst.List)):
                shape = [e.value for e in shape[0].elements]
            bound = {"shape": tuple(self._evaluate(node) for node in shape)}
        else:
            bound = {}
            for position, arg in enumerate(args):
                if arg.star:
                    return UNKNOWN_VALUE
                if arg.keyword is not None:
                    bound[arg.keyword.value] = self._evaluate(arg.value)
                elif position < len(op.params):
                    bound[op.params[position]] = self._evaluate(arg.value)
        return apply(LayerUse(call, op, bound), value, self.applications)


def _self_attribute(func: cst.BaseExpression) -> Optional[str]:
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return func.attr.value
    return None


# Every stack of a file ---------------------------------------------------------------------


def stacks_of(ctx) -> List[LayerStack]:
    """Every layer stack of the file that holds at least one known layer (computed once per file)."""

    def extract() -> List[LayerStack]:
        layers = LayerExtractor(ctx)
        sites = {id(site.node): site for site in ctx.index.calls.get("Sequential", ()) if layers.is_sequential(site.node.func)}
        stacks = []
        for site in sites.values():
            walks = tuple(tuple(walk_layers(path)) for path in layers.sequential(site))
            stacks.append(LayerStack(site.node, ctx.label_call(site.node), walks,
                                     _common_output([w[-1].after for w in walks if w])))
        modules = ModuleExtractor(ctx, layers, sites)
        for cls in module_classes(ctx.module):
            stack = modules.stack(cls)
            if stack is not None:
                stacks.append(stack)
        return [s for s in stacks if any(a.use.layer is not None for w in s.walks for a in w)]

    return ctx.memo("layer-stacks", extract)


def label(ctx, use: LayerUse) -> str:
    """How a message names a layer: its callee as written (``nn.Conv2d``, ``F.relu``, ``x.view``)."""
    if isinstance(use.node, cst.Call):
        func = use.node.func
        if isinstance(func, cst.Attribute) and use.layer is not None and use.layer.functional and \
                ctx.resolver.qualify(func) is None:
            return f".{func.attr.value}()"
        return ctx.label_call(use.node)
    return ctx.code(use.node) if not isinstance(use.node, cst.Name) or use.node.value != "_" else "<unknown>"
