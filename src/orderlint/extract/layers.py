"""Layer stacks: every ``nn.Sequential`` and every module whose ``__init__``
layers are composed in ``forward``, walked through the layer catalogue.

A stack is a list of *applications*: a layer, the tensor it receives (what is
known of it, and which layer produced it directly) and what it produces.
Rules are predicates over applications, whichever way the stack was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    depth: int = 0  # how many ``if`` branches of a forward enclose the statement that produced it


UNKNOWN_VALUE = Value()


@dataclass(frozen=True)
class Application:
    use: LayerUse
    before: Value
    after: Value
    problem: Optional[Problem]
    # False when the layer that produced the input is not always followed by this one: the layer is applied
    # under a condition its input's producer is not (``if self.use_bn: x = self.bn(x)``), or another ordering
    # of the same Sequential follows that producer with something else.
    always: bool = True


def apply(use: LayerUse, value: Value, out: List[Application], depth: int = 0) -> Value:
    """Applies one layer to a value, recording the application (``depth``: the ``if`` branches around it)."""
    always = value.previous is None or value.depth >= depth
    if use.layer is None:
        after = Value(previous=use, depth=depth)
        out.append(Application(use, value, after, None, always))
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
        depth=depth,
    )
    out.append(Application(use, value, after, found, always))
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

    def loop_segments(self, site: CallSite) -> Tuple[Tuple[LayerUse, ...], ...]:
        """For ``Sequential(*layers)`` with ``layers`` grown in a loop the tracer cannot unroll: what one pass
        of each such loop adds, in order. Its layers are adjacent in the stack whatever the iteration count;
        the first one receives a tensor nothing is known of."""
        key = ("segments", id(site.node))
        return self._ctx.memo(key, lambda: self._loop_segments(site))

    def _loop_segments(self, site: CallSite) -> Tuple[Tuple[LayerUse, ...], ...]:
        names = {arg.value.value for arg in site.node.args if arg.star == "*" and isinstance(arg.value, cst.Name)}
        scope = site.enclosing(cst.FunctionDef)
        if not names or scope is None:
            return ()
        evaluate = evaluator_in(self._ctx, scope)
        segments: List[Tuple[LayerUse, ...]] = []
        for node in walk(scope.body):
            if node is site.node:
                break
            if not isinstance(node, (cst.For, cst.While)) or node in site.ancestors:
                continue
            for name in names:
                body = _grown_in(node, name)
                if body is None:
                    continue
                start = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], cst.List([]))])
                once = cst.FunctionDef(cst.Name("_"), cst.Parameters(), cst.IndentedBlock([start, *body]))
                held = self._ctx.tracer.env_after(once).get(name, ())
                for value in held:
                    for path in getattr(value, "paths", ()):
                        parts = [self._item(item, {}, evaluate, 0) for item in path]
                        segments.extend(p for p in product(parts) if len(p) > 1)
        return cap(segments)

    def _item(self, item, env: Env, evaluate, depth: int):
        if item is OPAQUE:
            return ((LayerUse(cst.Name("_"), None),),)
        node = item.node
        if isinstance(node, cst.Call) and self.is_sequential(node.func):
            return self._sequential_paths(node, env, item.guard, evaluate, depth + 1)
        return ((self.use_of(node, item.guard, evaluate),),)


_GROWING = frozenset({"append", "extend"})


def _grown_in(loop, name: str):
    """The body statements of a loop that grows list ``name`` with ``append``/``extend``/``+=`` only, and
    whose passes run top to bottom (no ``continue``/``break``); None otherwise."""
    if not isinstance(loop.body, cst.IndentedBlock) or loop.orelse is not None:
        return None
    grows = False
    for node in walk(loop.body):
        if isinstance(node, (cst.Continue, cst.Break, cst.FunctionDef, cst.ClassDef)):
            return None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == name:
            if node.func.attr.value not in _GROWING:
                return None
            grows = True
        elif isinstance(node, cst.AugAssign) and dotted_name(node.target) == name:
            if not isinstance(node.operator, cst.AddAssign):
                return None
            grows = True
        elif isinstance(node, (cst.AssignTarget, cst.AnnAssign)) and _mentions(node.target, name):
            return None
        elif isinstance(node, cst.Del) and _mentions(node.target, name):
            return None
    return loop.body.body if grows else None


def _mentions(target: cst.CSTNode, name: str) -> bool:
    return any(isinstance(node, cst.Name) and node.value == name for node in walk(target))


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
        self._depth = 0  # the ``if`` branches around the statement being run

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
            self._depth += 1
            self._block(statement.body.body, then_env)
            if isinstance(statement.orelse, cst.If):
                self._statement(statement.orelse, else_env)
            elif statement.orelse is not None:
                self._block(statement.orelse.body.body, else_env)
            self._depth -= 1
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
        if isinstance(node, cst.IfExp):  # ``self.bn(x) if self.use_bn else x``: each side runs under a condition
            self.eval(node.test, env)
            self._depth += 1
            body, orelse = self.eval(node.body, env), self.eval(node.orelse, env)
            self._depth -= 1
            return body if body == orelse else UNKNOWN_VALUE
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
                value = apply(use, value, self.applications, self._depth)
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
                return apply(use, self._input(call, env), self.applications, self._depth)
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
            shape = list(args)
            if len(shape) == 1 and isinstance(shape[0].value, (cst.Tuple, cst.List)):
                shape = shape[0].value.elements
            if any(isinstance(item, cst.StarredElement) or getattr(item, "star", "") for item in shape):
                return UNKNOWN_VALUE  # ``x.reshape(-1, *x.shape[2:])``: the rank is not known
            bound = {"shape": tuple(self._evaluate(item.value) for item in shape)}
        else:
            bound = {}
            for position, arg in enumerate(args):
                if arg.star:
                    return UNKNOWN_VALUE
                if arg.keyword is not None:
                    bound[arg.keyword.value] = self._evaluate(arg.value)
                elif position < len(op.params):
                    bound[op.params[position]] = self._evaluate(arg.value)
        return apply(LayerUse(call, op, bound), value, self.applications, self._depth)


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
            paths = layers.sequential(site)
            walks = tuple(tuple(walk_layers(path)) for path in paths)
            output = _common_output([w[-1].after for w in walks if w])
            if any(use.layer is None and isinstance(use.node, cst.Name) for path in paths for use in path):
                walks += tuple(tuple(walk_layers(segment)) for segment in layers.loop_segments(site))
            stacks.append(LayerStack(site.node, ctx.label_call(site.node), _unless_sometimes(walks), output))
        modules = ModuleExtractor(ctx, layers, sites)
        for cls in module_classes(ctx.module):
            stack = modules.stack(cls)
            if stack is not None:
                stacks.append(stack)
        return [s for s in stacks if any(a.use.layer is not None for w in s.walks for a in w)]

    return ctx.memo("layer-stacks", extract)


def _unless_sometimes(walks: Tuple[Tuple[Application, ...], ...]) -> Tuple[Tuple[Application, ...], ...]:
    """Marks ``always=False`` the applications whose input's producer another ordering follows with another
    kind of layer (torchvision's VGG: ``[conv, BatchNorm2d, ReLU]`` if ``batch_norm`` else ``[conv, ReLU]``)."""
    followers: Dict[int, set] = {}
    for walk_ in walks:
        for first, second in zip(walk_, walk_[1:]):
            if second.use.layer is not None:
                followers.setdefault(id(first.use.node), set()).add(second.use.layer.name)
    if all(len(found) < 2 for found in followers.values()):
        return walks
    return tuple(
        tuple(replace(a, always=False) if a.before.previous is not None
              and len(followers.get(id(a.before.previous.node), ())) > 1 else a for a in walk_)
        for walk_ in walks)


def label(ctx, use: LayerUse) -> str:
    """How a message names a layer: its callee as written (``nn.Conv2d``, ``F.relu``, ``x.view``)."""
    if isinstance(use.node, cst.Call):
        func = use.node.func
        if isinstance(func, cst.Attribute) and use.layer is not None and use.layer.functional and \
                ctx.resolver.qualify(func) is None:
            return f".{func.attr.value}()"
        return ctx.label_call(use.node)
    return ctx.code(use.node) if not isinstance(use.node, cst.Name) or use.node.value != "_" else "<unknown>"
