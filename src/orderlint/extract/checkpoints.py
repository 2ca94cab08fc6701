"""What a file's checkpoints hold, how they are loaded, and where a resume leads.

A *save* is a ``torch.save(obj, f)`` (or the reference scripts' wrapper
``utils.save_on_master``). When ``obj`` is a parameter of a same-file helper
(the seed's ``save_checkpoint(state, path)``), the save is each call site of
the helper, where the dict is written. A saved dict (a literal, ``dict(...)``,
or a name built up with ``ckpt[k] = v`` / ``ckpt.update(...)``) is read as its
*entries*, the values it holds; content the code hides from us (``**extra``,
``ckpt.update(other)``) makes it *open*.

Values are followed through the bindings of the function that holds them
(every assignment, flow-insensitively), ``self.x`` through the methods of
the class, and a helper's parameters through its same-file call sites. What
cannot be followed (a parameter no call site binds, an unpacked result) is
*hidden*: it could be anything, and rules stay silent about it.

Usage: ``checkpoints(ctx)`` (memoized per file).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Set, Tuple, Union

import libcst as cst

from orderlint.extract.index import CallSite, dotted_name, last_name
from orderlint.extract.objects import MODEL, OPTIMIZER, SCALER, SCHEDULER, training_objects
from orderlint.extract.steps import BACKWARD, OPTIMIZER_STEPS, Loop, training_steps
from orderlint.extract.walk import children, walk

SAVE_FUNCTIONS = frozenset({"torch.save", "torch.serialization.save", "torch_xla.core.xla_model.save"})
# torchvision's, DETR's, DeiT's and MAE's utils: `if is_main_process(): torch.save(*args, **kwargs)`.
SAVE_WRAPPERS = frozenset({"save_on_master"})
LOAD_FUNCTIONS = frozenset({"torch.load", "torch.serialization.load"})
CALL_NAMES = frozenset({"save", "load", "load_state_dict"} | SAVE_WRAPPERS)
DICT_CONSTRUCTORS = frozenset({"dict", "OrderedDict", "collections.OrderedDict"})
# Methods only an nn.Module has among the things a training script calls.
MODULE_METHODS = frozenset({"parameters", "named_parameters", "modules", "children", "train", "eval"})
COUNTER_NAME = re.compile(r"epoch|step|iter", re.IGNORECASE)
# Values torch >= 2.6's default (weights_only) torch.load refuses.
NAMESPACE, NUMPY, NUMPY_RNG = "namespace", "numpy", "numpy_rng"
NUMPY_RNG_CALLS = frozenset({"numpy.random.get_state", "numpy.random.default_rng", "numpy.random.RandomState",
                             "numpy.random.Generator"})
# The names scripts give the parsed command line (``args = parser.parse_args()``, ``opt = ...``).
NAMESPACE_NAMES = frozenset({"args", "opt", "opts"})
NUMPY_PYTHON_RESULTS = frozenset({"shape", "ndim", "size", "isscalar", "iterable"})  # numpy functions returning Python values
MAX_DEPTH = 4

VALUE, ITEM, UPDATE, PARAM, COUNTER, OTHER = "value", "item", "update", "param", "counter", "other"
Node = Union[cst.FunctionDef, cst.Module]


@dataclass(frozen=True, eq=False)
class Scope:
    """A function (or the module) whose bindings resolve names; ``owner`` is a method's class."""

    node: Node
    owner: Optional[cst.ClassDef] = None

    @property
    def function(self) -> Optional[cst.FunctionDef]:
        return self.node if isinstance(self.node, cst.FunctionDef) else None


@dataclass(frozen=True)
class Binding:
    key: str
    kind: str  # VALUE, ITEM (``x[k] = v``), UPDATE (``x.update(...)``), PARAM, COUNTER (``for``/``+=``), OTHER
    node: Optional[cst.CSTNode]  # the value, the update call, or the function of a parameter
    scope: Scope
    order: int


@dataclass(frozen=True)
class Entry:
    """One value a checkpoint dict holds, as written, and the scope that resolves its names."""

    value: cst.BaseExpression
    scope: Scope


@dataclass(frozen=True)
class Save:
    node: cst.Call  # torch.save(...), or the call of the helper that saves its argument
    payload: cst.BaseExpression  # what ``node`` passes
    scope: Scope
    ancestors: Tuple[cst.CSTNode, ...]
    origin: cst.Call  # the torch.save(...) itself


@dataclass
class Content:
    entries: List[Entry]
    open: bool = False  # holds more than the entries, unseen


@dataclass
class Reach:
    """Everything a value is made of, through the bindings it can be followed through."""

    keys: Set[str] = field(default_factory=set)  # dotted names (``optimizer``, ``optimizer.state_dict``)
    hidden: Set[str] = field(default_factory=set)  # names that could hold anything
    counters: Set[str] = field(default_factory=set)  # names bound by ``for`` or ``+=``
    calls: List[cst.Call] = field(default_factory=list)


def _scope_of(ancestors: Tuple[cst.CSTNode, ...]) -> Scope:
    for position in range(len(ancestors) - 1, -1, -1):
        node = ancestors[position]
        if isinstance(node, cst.FunctionDef):
            owner = ancestors[position - 2] if position >= 2 else None
            return Scope(node, owner if isinstance(owner, cst.ClassDef) else None)
    return Scope(ancestors[0])


def _own_nodes(node: Node) -> Iterator[cst.CSTNode]:
    """The nodes of a scope's own code, in source order: nested functions, classes and lambdas left out."""
    stack: List[cst.CSTNode] = list(reversed(tuple(children(node.body if isinstance(node, cst.FunctionDef) else node))))
    while stack:
        current = stack.pop()
        yield current
        if type(current) not in _SCOPES:
            stack.extend(reversed(children(current)))


_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})
_BINDING_NODES = frozenset({cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For, cst.WithItem, cst.Call})


def _names(target: cst.BaseExpression) -> List[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _names(target.value)
    key = dotted_name(target)
    return [key] if key else []


class _Bindings:
    """Every binding of one scope by dotted name, and the source order of its nodes."""

    def __init__(self, scope: Scope):
        self.by_key: Dict[str, List[Binding]] = defaultdict(list)
        self.order: Dict[int, int] = {}
        function = scope.function
        if function is not None:
            params = function.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params, params.star_arg, params.star_kwarg):
                if isinstance(param, cst.Param):
                    self._add(param.name.value, PARAM, function, scope, -1)
        for number, node in enumerate(_own_nodes(scope.node)):
            self.order[id(node)] = number
            self._node(node, scope, number)

    def _add(self, key: Optional[str], kind: str, node, scope: Scope, order: int) -> None:
        if key:
            self.by_key[key].append(Binding(key, kind, node, scope, order))

    def _node(self, node: cst.CSTNode, scope: Scope, order: int) -> None:
        if type(node) not in _BINDING_NODES:
            return
        if isinstance(node, cst.Assign):
            for target in node.targets:
                self._target(target.target, node.value, scope, order)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            self._target(node.target, node.value, scope, order)
        elif isinstance(node, cst.AugAssign):
            self._add(dotted_name(node.target), COUNTER, node, scope, order)
        elif isinstance(node, cst.For):
            for key in _names(node.target):
                self._add(key, COUNTER, node, scope, order)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            for key in _names(node.asname.name):
                self._add(key, OTHER, node, scope, order)
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            receiver, method = dotted_name(node.func.value), node.func.attr.value
            if method == "update":
                self._add(receiver, UPDATE, node, scope, order)
            elif method == "setdefault" and len(node.args) == 2:
                self._add(receiver, ITEM, node.args[1].value, scope, order)

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression, scope: Scope, order: int) -> None:
        if isinstance(target, cst.Subscript):
            self._add(dotted_name(target.value), ITEM, value, scope, order)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for key in _names(target):
                self._add(key, OTHER, value, scope, order)
        else:
            self._add(dotted_name(target), VALUE, value, scope, order)


class Checkpoints:
    def __init__(self, ctx):
        self.ctx = ctx
        self._bindings: Dict[int, _Bindings] = {}
        self._class_bindings: Dict[int, Dict[str, List[Binding]]] = {}
        self._calls_by_name: Dict[str, List[CallSite]] = defaultdict(list)
        self._called: Set[str] = set()
        self._parses_arguments = False  # the file calls ``parse_args()`` / ``parse_known_args()``
        self.order: Dict[int, int] = {}
        self.function_scopes: Dict[str, List[Scope]] = defaultdict(list)
        self.training_loops: Dict[int, Loop] = {}
        self.epoch_loops: Set[int] = set()
        self.training_functions: Set[int] = set()
        save_sites = [site for site in self._sites("save", *SAVE_WRAPPERS) if self._is_save(site)]
        self.loads: List[CallSite] = [site for site in self._sites("load")
                                      if ctx.resolver.qualify(site.node.func) in LOAD_FUNCTIONS]
        self.saves: List[Save] = []
        self._state_loads = self._sites("load_state_dict")
        if not (save_sites or self._state_loads):
            return  # most files the triggers let through save and restore nothing: no need to know the rest
        self.objects = training_objects(ctx)
        for number, node, ancestors in ctx.index.recorded:
            kind = type(node)
            if kind is cst.Call or kind is cst.For or kind is cst.While:
                self.order[id(node)] = number
            if kind is cst.Call:
                self._call(node, ancestors)
            elif kind is cst.FunctionDef:
                self.function_scopes[node.name.value].append(_scope_of(ancestors + (node, node.body)))
        self._steps()
        self.saves = [save for site in save_sites for payload in [_payload(site.node)] if payload is not None
                      for save in self._saves(payload, _scope_of(site.ancestors), site, site.node, 0)]

    # The file -------------------------------------------------------------

    def _call(self, node: cst.Call, ancestors) -> None:
        func = node.func
        key = dotted_name(func)
        if key is not None:
            self._called.add(key)
        if last_name(func) in ("parse_args", "parse_known_args"):
            self._parses_arguments = True
        if isinstance(func, cst.Name):
            self._calls_by_name[func.value].append(CallSite(node, ancestors))
        elif isinstance(func, cst.Attribute) and dotted_name(func.value) in ("self", "cls"):
            self._calls_by_name["." + func.attr.value].append(CallSite(node, ancestors))

    def _steps(self) -> None:
        for step in training_steps(self.ctx):
            for event in step.events:
                if event.kind == BACKWARD or event.kind in OPTIMIZER_STEPS:
                    self.training_functions.add(_id(event.function, self.ctx.module))
            for loop in step.loops():
                if step.is_epoch_loop(loop):
                    self.epoch_loops.add(id(loop.node))
                if step.is_epoch_loop(loop) or any(e.kind == BACKWARD or e.kind in OPTIMIZER_STEPS for e in step.inside(loop)):
                    self.training_loops[id(loop.node)] = loop
                    self.training_functions.add(_id(loop.function, self.ctx.module))

    def _sites(self, *names: str) -> List[CallSite]:
        return [site for name in names for site in self.ctx.index.calls.get(name, ())]

    def _is_save(self, site: CallSite) -> bool:
        return (self.ctx.resolver.qualify(site.node.func) in SAVE_FUNCTIONS
                or last_name(site.node.func) in SAVE_WRAPPERS)

    def call_sites(self, scope: Scope) -> List[CallSite]:
        """The same-file calls of a function (of a method: through ``self.``/``cls.`` in its class)."""
        function = scope.function
        if function is None:
            return []
        if scope.owner is None:
            return self._calls_by_name.get(function.name.value, [])
        return [site for site in self._calls_by_name.get("." + function.name.value, []) if scope.owner in site.ancestors]

    def callers(self, scope: Scope) -> List[Scope]:
        return [_scope_of(site.ancestors) for site in self.call_sites(scope)]

    # Bindings -------------------------------------------------------------

    def bindings(self, scope: Scope) -> _Bindings:
        found = self._bindings.get(id(scope.node))
        if found is None:
            found = self._bindings[id(scope.node)] = _Bindings(scope)
        return found

    def lookup(self, key: str, scope: Scope) -> List[Binding]:
        """The bindings of ``key`` seen from ``scope``: its own, the class's for ``self.x``, the module's."""
        own = self.bindings(scope).by_key.get(key, [])
        if key.startswith(("self.", "cls.")) and scope.owner is not None:
            return own + [b for b in self._of_class(scope.owner).get(key, []) if b.scope.node is not scope.node]
        if own or scope.function is None or "." in key:
            return own
        return self.bindings(Scope(self.ctx.module)).by_key.get(key, [])

    def _of_class(self, owner: cst.ClassDef) -> Dict[str, List[Binding]]:
        found = self._class_bindings.get(id(owner))
        if found is None:
            found = defaultdict(list)
            for member in owner.body.body:
                if isinstance(member, cst.FunctionDef):
                    for key, bindings in self.bindings(Scope(member, owner)).by_key.items():
                        if key.startswith(("self.", "cls.")):
                            found[key].extend(bindings)
            self._class_bindings[id(owner)] = found
        return found

    def arguments(self, binding: Binding) -> List[Tuple[Optional[cst.BaseExpression], Scope, CallSite]]:
        """What each same-file call site passes for a parameter (its default, or None, when it passes nothing)."""
        is_method = binding.scope.owner is not None
        return [(_argument(binding.node, site.node, binding.key, is_method), _scope_of(site.ancestors), site)
                for site in self.call_sites(binding.scope)]

    # Saves ------------------------------------------------------------------

    def _saves(self, payload: cst.BaseExpression, scope: Scope, site: CallSite, origin: cst.Call, depth: int) -> List[Save]:
        """The save at ``site``; when it saves a parameter of its function, the saves at that function's call sites."""
        parameter = self._parameter(payload, scope)
        calls = self.arguments(parameter) if parameter is not None and depth < 2 else []
        if not calls:
            return [] if isinstance(payload, cst.StarredElement) else [Save(site.node, payload, scope, site.ancestors, origin)]
        return [save for value, caller, call in calls if value is not None
                for save in self._saves(value, caller, call, origin, depth + 1)]

    def _parameter(self, payload: cst.BaseExpression, scope: Scope) -> Optional[Binding]:
        """The parameter binding when ``payload`` is (``*``) a parameter of its function bound nowhere else."""
        if isinstance(payload, cst.StarredElement):
            payload = payload.value
        if not isinstance(payload, cst.Name):
            return None
        bindings = self.lookup(payload.value, scope)
        return bindings[0] if len(bindings) == 1 and bindings[0].kind == PARAM else None

    def content(self, save: Save) -> Optional[Content]:
        """The saved dict's entries, or None when the payload is not a dict."""
        return self._dict(save.payload, save.scope, save.node, 0)

    def _dict(self, node: cst.BaseExpression, scope: Scope, at: cst.CSTNode, depth: int) -> Optional[Content]:
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, cst.Dict):
            content = Content([])
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    content.entries.append(Entry(element.value, scope))
                else:
                    self._merge(content, self._dict(element.value, scope, at, depth + 1))
            return content
        if isinstance(node, cst.Call) and dotted_name(node.func) in DICT_CONSTRUCTORS:
            return self._keywords(node, scope, at, depth)
        key = dotted_name(node)
        if key is None:
            return None
        return self._built(key, scope, at, depth)

    def _keywords(self, call: cst.Call, scope: Scope, at, depth: int) -> Content:
        """``dict(a=1, **b)`` and ``x.update(...)``: keyword entries, and positional/``**`` dicts."""
        content = Content([])
        for arg in call.args:
            if arg.keyword is not None:
                content.entries.append(Entry(arg.value, scope))
            else:
                self._merge(content, self._dict(arg.value, scope, at, depth + 1))
        return content

    @staticmethod
    def _merge(content: Content, other: Optional[Content]) -> None:
        if other is None:
            content.open = True
        else:
            content.entries += other.entries
            content.open = content.open or other.open

    def _built(self, key: str, scope: Scope, at: cst.CSTNode, depth: int) -> Optional[Content]:
        """A name's dict as it stands at ``at``: the dicts last assigned to it, and the items added since."""
        position = self.bindings(scope).order.get(id(at), -1)
        before = sorted((b for b in self.lookup(key, scope) if b.order < position), key=lambda b: b.order)
        start = None
        for binding in reversed(before):
            if binding.kind in (PARAM, OTHER, COUNTER) or binding.kind == VALUE and not _looks_like_dict(binding.node):
                break
            if binding.kind == VALUE:
                start = binding.order
        if start is None:
            return None
        content = Content([])
        for binding in before:
            if binding.order < start:
                continue
            if binding.kind == VALUE:
                self._merge(content, self._dict(binding.node, binding.scope, at, depth + 1))
            elif binding.kind == ITEM:
                content.entries.append(Entry(binding.node, binding.scope))
            elif binding.kind == UPDATE:
                self._merge(content, self._keywords(binding.node, binding.scope, at, depth))
        return content

    # Values -----------------------------------------------------------------

    def reach(self, node: cst.BaseExpression, scope: Scope) -> Reach:
        reach = Reach()
        self._reach(node, scope, 0, reach, set())
        return reach

    def _reach(self, node: cst.CSTNode, scope: Scope, depth: int, reach: Reach, seen: Set) -> None:
        for sub in walk(node):
            if isinstance(sub, cst.Call):
                reach.calls.append(sub)
            elif isinstance(sub, (cst.Name, cst.Attribute)):
                key = dotted_name(sub)
                if key is not None:
                    reach.keys.add(key)
                    self._follow(key, scope, depth, reach, seen)

    def _follow(self, key: str, scope: Scope, depth: int, reach: Reach, seen: Set) -> None:
        if depth >= MAX_DEPTH or (key, id(scope.node)) in seen or key in ("self", "cls") or self.kind(key) is not None:
            return  # a known object is what it is: how it was built (from the model's parameters) does not matter
        seen.add((key, id(scope.node)))
        for binding in self.lookup(key, scope):
            if binding.kind in (VALUE, ITEM, UPDATE):
                self._reach(binding.node, binding.scope, depth + 1, reach, seen)
            elif binding.kind == COUNTER:
                reach.counters.add(key)
            elif binding.kind == OTHER:
                reach.hidden.add(key)
            else:
                bound = self.arguments(binding)
                for value, caller, _ in bound:
                    if value is None:
                        reach.hidden.add(key)
                    else:
                        self._reach(value, caller, depth + 1, reach, seen)
                if not bound:
                    reach.hidden.add(key)

    def values(self, node: cst.BaseExpression, scope: Scope, depth: int = 0) -> List[Tuple[cst.BaseExpression, Scope]]:
        """What a name stands for: each expression assigned to it (a parameter's arguments; what a same-file
        function called returns), or itself; empty when some binding cannot be followed."""
        if depth >= MAX_DEPTH:
            return [(node, scope)]
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            returned = [(r.value, callee) for callee in self.function_scopes.get(node.func.value, []) if callee.owner is None
                        for r in _own_nodes(callee.node) if isinstance(r, cst.Return) and r.value is not None]
            if returned:
                return [held for value, callee in returned for held in self.values(value, callee, depth + 1)]
        key = dotted_name(node)
        if key is None:
            return [(node, scope)]
        bindings = self.lookup(key, scope)
        if not bindings:
            return [(node, scope)]
        found = []
        for binding in bindings:
            if binding.kind == VALUE:
                found += self.values(binding.node, binding.scope, depth + 1)
            elif binding.kind == PARAM:
                bound = [(value, caller) for value, caller, _ in self.arguments(binding) if value is not None]
                if not bound:
                    return []
                for value, caller in bound:
                    found += self.values(value, caller, depth + 1)
            else:
                return []
        return found

    # Objects ----------------------------------------------------------------

    def is_model(self, key: Optional[str]) -> bool:
        """An nn.Module: known as one, a DDP/DataParallel's ``.module``, or called and used like one."""
        if key is None:
            return False
        if self._kind(key) == MODEL or key.endswith(".module"):
            return True
        return key in self._called and bool(self.objects.methods_called(key) & (MODULE_METHODS | {"state_dict"}))

    def _kind(self, key: str) -> Optional[str]:
        found = self.objects.get(key)
        return found.kind if found else None

    def kind(self, key: str) -> Optional[str]:
        return MODEL if self.is_model(key) else self._kind(key)

    def mentioned(self, scope: Scope) -> Set[str]:
        """The dotted names a scope's code uses (a method: its whole class)."""
        root = scope.owner if scope.owner is not None else scope.node
        nodes = walk(root) if scope.owner is not None else _own_nodes(root)
        return {key for node in nodes if isinstance(node, (cst.Name, cst.Attribute)) for key in [dotted_name(node)] if key}

    def owned(self, scope: Scope) -> Dict[str, List[str]]:
        """The optimizers, schedulers and (not disabled) scalers the code around a save uses, by kind."""
        keys = self.mentioned(scope).union(*(self.mentioned(caller) for caller in self.callers(scope)))
        found: Dict[str, List[str]] = defaultdict(list)
        for key in sorted(keys):
            obj = self.objects.get(key)
            if obj is not None and obj.kind in (OPTIMIZER, SCHEDULER, SCALER) and obj.enabled is not False:
                found[obj.kind].append(key)
        if scope.owner is not None:  # a method names its objects through ``self`` (``optimizer`` is __init__'s parameter)
            for kind, keys in found.items():
                found[kind] = [key for key in keys if key.startswith("self.")] or keys
        return found

    def training_code(self, scope: Scope) -> bool:
        """RULES "training code": the function, or a same-file function that calls it, holds a backward, an
        optimizer step or a training loop, or uses an optimizer."""
        return any(
            id(candidate.node) in self.training_functions
            or any(self._kind(key) == OPTIMIZER for key in self.mentioned(candidate))
            for candidate in [scope, *self.callers(scope)]
        )

    # Loops ------------------------------------------------------------------

    def training_loop_of(self, save: Save) -> Optional[Loop]:
        """The outermost training loop around a save, or around a call of its function."""
        chains = [save.ancestors] + [site.ancestors for site in self.call_sites(save.scope)]
        return next((self.training_loops[id(node)] for chain in chains for node in chain if id(node) in self.training_loops),
                    None)

    def outermost_loops(self, scope: Scope) -> List[Loop]:
        """The training loops written in a function that no other training loop of it encloses, in order."""
        own = [loop for loop in self.training_loops.values() if _id(loop.function, self.ctx.module) == id(scope.node)]
        nested = {id(node) for loop in own for node in walk(loop.node.body) if isinstance(node, (cst.For, cst.While))}
        return sorted((loop for loop in own if id(loop.node) not in nested), key=lambda loop: self.order.get(id(loop.node), 0))

    def resumed_loop(self, site: CallSite, depth: int = 0) -> Optional[Loop]:
        """The first training loop (an epoch loop or a step loop) that runs after ``site``, a load of optimizer
        state: in its function, in a same-file function it calls next, or after the call of its function."""
        scope = _scope_of(site.ancestors)
        after = self.order.get(id(site.node), 0)
        inside = {id(node) for node in site.ancestors}
        for loop in self.outermost_loops(scope):
            if self.order.get(id(loop.node), 0) > after and id(loop.node) not in inside:
                return loop
        for call in sorted(self._calls_in(scope), key=lambda c: self.order.get(id(c.node), 0)):
            if self.order.get(id(call.node), 0) > after:
                for callee in self._callees(call, scope):
                    loops = self.outermost_loops(callee)
                    if loops:
                        return loops[0]
        if depth < 2:
            for caller in self.call_sites(scope):
                loop = self.resumed_loop(caller, depth + 1)
                if loop is not None:
                    return loop
        return None

    def resumes(self) -> List[CallSite]:
        """``x.load_state_dict(...)`` of an optimizer, scheduler or scaler, from something loaded."""
        found = []
        for site in self._state_loads:
            func = site.node.func
            if not site.node.args or not isinstance(func, cst.Attribute):
                continue
            if self._kind(dotted_name(func.value) or "") not in (OPTIMIZER, SCHEDULER, SCALER):
                continue
            calls = self.reach(site.node.args[0].value, _scope_of(site.ancestors)).calls
            if any("load" in name and name != "load_state_dict" for call in calls for name in [last_name(call.func) or ""]):
                found.append(site)
        return found

    def restarts_epochs(self, loop: Loop) -> bool:
        """An epoch loop ``for epoch in range(n)`` / ``range(1, n)`` (also through ``tqdm``/``trange``)."""
        if id(loop.node) not in self.epoch_loops:
            return False
        iterable = loop.node.iter if isinstance(loop.node, cst.For) else None
        if isinstance(iterable, cst.Call) and last_name(iterable.func) == "tqdm" and iterable.args:
            iterable = iterable.args[0].value
        if not isinstance(iterable, cst.Call) or last_name(iterable.func) not in ("range", "trange"):
            return False
        positional = [arg.value for arg in iterable.args if arg.keyword is None and not arg.star]
        if len(positional) < 2:
            return bool(positional)
        start = self.ctx.evaluate.within(loop.function)(positional[0])
        return isinstance(start, int) and not isinstance(start, bool)

    def _calls_in(self, scope: Scope) -> List[CallSite]:
        return [site for sites in self._calls_by_name.values() for site in sites if _scope_of(site.ancestors).node is scope.node]

    def _callees(self, call: CallSite, scope: Scope) -> List[Scope]:
        func = call.node.func
        if isinstance(func, cst.Name):
            return [s for s in self.function_scopes.get(func.value, []) if s.owner is None]
        return [s for s in self.function_scopes.get(func.attr.value, []) if s.owner is scope.owner and s.owner is not None]

    # Unloadable values ------------------------------------------------------

    def refused(self, node: cst.BaseExpression, scope: Scope) -> Optional[str]:
        """What torch >= 2.6's default ``torch.load`` refuses in ``node``: NAMESPACE, NUMPY_RNG or NUMPY."""
        held = self.values(node, scope)
        kinds = {NAMESPACE if self._unbound_namespace(value, where) else self._refused_kind(value) for value, where in held}
        if not held and self._unbound_namespace(node, scope):
            return NAMESPACE
        return kinds.pop() if held and len(kinds) == 1 else None

    def _unbound_namespace(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """``args``, a parameter no same-file call binds (``mp.spawn(main_worker, args=(..., args))``), in a
        file that parses its command line, and read as an object (``args.lr``): the parsed Namespace."""
        if not isinstance(node, cst.Name) or node.value not in NAMESPACE_NAMES or not self._parses_arguments:
            return False
        bindings = self.lookup(node.value, scope)
        if len(bindings) != 1 or bindings[0].kind != PARAM or self.call_sites(scope):
            return False
        return any(key.startswith(node.value + ".") for key in self.mentioned(scope))

    def _refused_kind(self, node: cst.BaseExpression) -> Optional[str]:
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Call):
            return NAMESPACE if last_name(node.value.func) == "parse_known_args" else None
        if not isinstance(node, cst.Call):
            return None
        name = last_name(node.func)
        qualified = self.ctx.resolver.qualify(node.func) or ""
        if name == "parse_args" or qualified == "argparse.Namespace":
            return NAMESPACE
        if qualified in NUMPY_RNG_CALLS:
            return NUMPY_RNG
        if name == "numpy" and isinstance(node.func, cst.Attribute) and not node.args:
            return NUMPY
        if qualified.startswith("numpy.") and not qualified.startswith("numpy.random.") and name not in NUMPY_PYTHON_RESULTS:
            return NUMPY
        return None


def _id(function: Optional[cst.FunctionDef], module: cst.Module) -> int:
    return id(function) if function is not None else id(module)


def _payload(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The object ``torch.save(obj, f)`` saves (a StarredElement for ``torch.save(*args)``)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "obj":
            return arg.value
    if call.args and call.args[0].keyword is None:
        first = call.args[0]
        return cst.StarredElement(first.value) if first.star == "*" else first.value
    return None


def _params(function: cst.FunctionDef):
    params = function.params
    return (*params.posonly_params, *params.params)


def _looks_like_dict(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Dict) or isinstance(node, cst.Call) and dotted_name(node.func) in DICT_CONSTRUCTORS


def _argument(function: cst.FunctionDef, call: cst.Call, name: str, is_method: bool) -> Optional[cst.BaseExpression]:
    """The argument ``call`` binds to parameter ``name`` of ``function`` (its default when not passed)."""
    params = function.params
    positional = list(_params(function))
    if is_method and positional and positional[0].name.value in ("self", "cls"):
        positional = positional[1:]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    plain = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for index, param in enumerate(positional):
        if param.name.value == name and index < len(plain):
            return plain[index].value
    if isinstance(params.star_arg, cst.Param) and params.star_arg.name.value == name:
        extra = plain[len(positional):]
        return extra[0].value if extra else None
    for param in (*positional, *params.kwonly_params):
        if param.name.value == name:
            return param.default
    return None


def checkpoints(ctx) -> Checkpoints:
    return ctx.memo("checkpoints", lambda: Checkpoints(ctx))
