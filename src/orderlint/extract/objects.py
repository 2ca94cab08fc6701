"""What training code owns: which names hold a model, an optimizer, a
scheduler, a gradient scaler or a distributed sampler.

An object is known by how it was built (``torch.optim.SGD(...)``,
``torch.amp.GradScaler(...)``), or, when it arrives as a parameter, by how the
code uses it (RULES.md "Readings settled"). Names are dotted keys
(``optimizer``, ``self.opt``), one table per file: a key whose evidence
disagrees is unknown, and no rule fires on an unknown object.

Usage: ``training_objects(ctx)`` (memoized per file), then ``kind(node)``,
``get(key)`` or ``of_kind(kind)``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from orderlint.catalogue import training as catalogue
from orderlint.extract.index import Recorded, dotted_name, last_name
from orderlint.extract.walk import walk

MODEL, OPTIMIZER, SCHEDULER, SCALER, SAMPLER = "model", "optimizer", "scheduler", "scaler", "sampler"


@dataclass(frozen=True)
class TrainingObject:
    key: str
    kind: str
    # The constructor calls that built it in this file (empty for a parameter known by usage).
    built_by: Tuple[cst.Call, ...] = ()
    # Schedulers: True for ReduceLROnPlateau, None when unknown (known by name only).
    plateau: Optional[bool] = False
    # Scalers: GradScaler(enabled=...) when literal, None when not; samplers: shuffle likewise.
    enabled: Optional[bool] = True


def constructor_kind(qualified: Optional[str]) -> Optional[str]:
    if not qualified:
        return None
    if qualified.startswith(catalogue.SCHEDULER_NAMESPACES):
        return SCHEDULER
    if qualified.rsplit(".", 1)[-1].endswith(catalogue.GRAD_SCALER):
        return SCALER
    if qualified in catalogue.DISTRIBUTED_SAMPLERS:
        return SAMPLER
    if qualified.startswith(catalogue.OPTIMIZER_NAMESPACE) and not qualified.startswith(catalogue.NOT_OPTIMIZERS):
        name = qualified.rsplit(".", 1)[-1]
        if name[:1].isupper() and name != "Optimizer":
            return OPTIMIZER
    return None


def is_scheduler_name(key: str) -> bool:
    name = key.rsplit(".", 1)[-1]
    return name in catalogue.SCHEDULER_PARAMETER_NAMES or name.endswith(catalogue.SCHEDULER_PARAMETER_SUFFIXES)


class _Collector:
    """Constructions, parameters, usage, and the names of the file's functions that are called, from the
    nodes the index recorded (with the enclosing function's parameters and the enclosing class)."""

    def __init__(self, qualify, evaluate):
        self.qualify = qualify
        self.evaluate = evaluate
        self.built: Dict[str, List[Tuple[str, cst.Call]]] = defaultdict(list)
        self.usage: Dict[str, Set[str]] = defaultdict(set)
        self.parameters: Set[str] = set()
        self.module_classes: Set[str] = set()
        self.called_names: Set[str] = set()  # f(...) by bare name
        self.self_calls: Dict[int, Set[str]] = defaultdict(set)  # id(class) -> self.m(...) within it
        self.aliases: Dict[str, Set[str]] = defaultdict(set)
        self.sampler_calls: List[cst.Call] = []  # every DistributedSampler(...), named or inline

    def run(self, recorded: Sequence[Recorded]) -> None:
        params_of: Dict[int, FrozenSet[str]] = {}
        for _, node, ancestors in recorded:
            kind = type(node)
            if kind is cst.ClassDef:
                self._class(node)
            elif kind is cst.FunctionDef:
                self.parameters |= self._params(node, params_of)
            elif kind is cst.Assign or kind is cst.AnnAssign:
                if node.value is not None:
                    function = _innermost(ancestors, cst.FunctionDef)
                    params = self._params(function, params_of) if function is not None else None
                    for target in (t.target for t in node.targets) if kind is cst.Assign else (node.target,):
                        self._assigned(target, node.value, params)
            elif kind is cst.Call:
                self._call(node, _innermost(ancestors, cst.ClassDef))
            elif kind is cst.Attribute:  # ``x.param_groups``
                key = dotted_name(node.value)
                if key is not None:
                    self.usage[key].add("param_groups")

    @staticmethod
    def _params(function: cst.FunctionDef, params_of: Dict[int, FrozenSet[str]]) -> FrozenSet[str]:
        params = params_of.get(id(function))
        if params is None:
            p = function.params
            params = params_of[id(function)] = frozenset(x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params))
        return params

    def _class(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            qualified = self.qualify(base.value) or ""
            if qualified.endswith("Module") or last_name(base.value) in self.module_classes:
                self.module_classes.add(node.name.value)

    def _assigned(self, target: cst.BaseExpression, value: cst.BaseExpression, params) -> None:
        key = dotted_name(target)
        if key is None:
            return
        for call in constructions(value):
            self.built[key].append((self.qualify(call.func) or last_name(call.func) or "", call))
        source = dotted_name(value)
        if source is not None:
            self.aliases[key].add(source)
            if params and source in params:
                self.parameters.add(key)  # self.optimizer = optimizer

    def _call(self, node: cst.Call, klass: Optional[cst.ClassDef]) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self.called_names.add(func.value)
        if isinstance(func, cst.Attribute):
            receiver, method = dotted_name(func.value), func.attr.value
            if receiver is not None:
                if receiver in ("self", "cls"):
                    self.self_calls[id(klass)].add(method)
                self.usage[receiver].add(method)
                if method == "step" and node.args:
                    for stepped in _argument_keys(node)[:1]:
                        self.usage[stepped].add("stepped_by:" + receiver)
            if method == "backward" and isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Attribute):
                if func.value.func.attr.value == "scale":
                    scaler = dotted_name(func.value.func.value)
                    if scaler is not None:
                        self.usage[scaler].add("scales_backward")
        kind = constructor_kind(self.qualify(func))
        if kind == SAMPLER:
            self.sampler_calls.append(node)
        if kind == SCHEDULER and node.args:
            first = dotted_name(node.args[0].value)
            if first is not None:
                self.usage[first].add("scheduled")
        if kind == OPTIMIZER:
            for model in _parameters_of(node):
                self.usage[model].add("optimized")


def constructions(value: cst.BaseExpression) -> List[cst.Call]:
    """The calls an assignment may store: ``X(...)``, either arm of ``X(...) if c else None``."""
    if isinstance(value, cst.IfExp):
        return constructions(value.body) + constructions(value.orelse)
    if isinstance(value, cst.Call):
        return [value]
    return []


def _argument_keys(call: cst.Call) -> List[str]:
    return [key for arg in call.args if not arg.keyword for key in [dotted_name(arg.value)] if key is not None]


def _parameters_of(optimizer_call: cst.Call) -> List[str]:
    """``model`` in ``SGD(model.parameters(), ...)`` (also ``filter(..., model.parameters())``)."""
    found = []
    for arg in optimizer_call.args[:1]:
        for node in walk(arg.value):
            if type(node) is cst.Call and isinstance(node.func, cst.Attribute) \
                    and node.func.attr.value in ("parameters", "named_parameters"):
                key = dotted_name(node.func.value)
                if key is not None:
                    found.append(key)
    return found


class TrainingObjects:
    def __init__(self, collector: _Collector):
        self._collector = collector
        self._objects: Dict[str, TrainingObject] = {}
        keys = set(collector.built) | set(collector.usage)
        for key in keys:
            found = self._identify(key)
            if found is not None:
                self._objects[key] = found
        self._follow_aliases()
        self.called_names: FrozenSet[str] = frozenset(collector.called_names)
        self._self_calls = collector.self_calls

    def shuffling_samplers_built(self) -> bool:
        """Does the file build a DistributedSampler whose ``shuffle`` is literally on (the default)?"""
        return any(self.enabled(call, SAMPLER) is True for call in self._collector.sampler_calls)

    def called_in_class(self, owner: cst.ClassDef, method: str) -> bool:
        """Does a method of ``owner`` call ``self.<method>(...)``?"""
        return method in self._self_calls.get(id(owner), ())

    def _identify(self, key: str) -> Optional[TrainingObject]:
        built = self._collector.built.get(key, [])
        usage = self._collector.usage.get(key, set())
        kinds = {constructor_kind(qualified) for qualified, _ in built}
        known = kinds - {None}
        if len(known) == 1:
            kind = known.pop()
            calls = tuple(call for qualified, call in built if constructor_kind(qualified) == kind)
            return TrainingObject(key, kind, calls, self._plateau(built, kind), self._enabled(calls, kind))
        if known:
            return None
        if _is_model(self._collector, key, built, usage):
            return TrainingObject(key, MODEL, tuple(call for _, call in built))
        from_unknown_call = bool(built)  # assigned from a factory we cannot see into
        if "scales_backward" in usage and not {"zero_grad", "param_groups"} & usage:
            return TrainingObject(key, SCALER, enabled=None)
        optimizer_usage = {"zero_grad", "param_groups", "scheduled"} & usage or any(
            u.startswith("stepped_by:") and self._collector.usage.get(u.split(":", 1)[1], set()) & {"scales_backward"}
            for u in usage
        )
        if optimizer_usage and not is_scheduler_name(key):
            return TrainingObject(key, OPTIMIZER)
        if (key in self._collector.parameters and not from_unknown_call and is_scheduler_name(key)
                and "zero_grad" not in usage):
            return TrainingObject(key, SCHEDULER, plateau=None)
        return None

    @staticmethod
    def _plateau(built, kind) -> Optional[bool]:
        if kind != SCHEDULER:
            return False
        plateaus = {qualified.endswith(catalogue.PLATEAU_SCHEDULER) for qualified, _ in built if constructor_kind(qualified) == SCHEDULER}
        return plateaus.pop() if len(plateaus) == 1 else None

    def _enabled(self, calls: Tuple[cst.Call, ...], kind: str) -> Optional[bool]:
        values = {self.enabled(call, kind) for call in calls}
        return values.pop() if len(values) == 1 else None

    def enabled(self, call: cst.Call, kind: str) -> Optional[bool]:
        """One construction's literal ``enabled=`` (scalers) or ``shuffle=`` (samplers); None when not literal."""
        keyword = {SCALER: "enabled", SAMPLER: "shuffle"}.get(kind)
        given = next((a.value for a in call.args if a.keyword and a.keyword.value == keyword), None)
        value = True if given is None else self._collector.evaluate(given)
        return value if isinstance(value, bool) else None

    def _follow_aliases(self) -> None:
        """``opt = self.optimizer``: the alias is what its only source is."""
        for key, sources in self._collector.aliases.items():
            if key in self._objects or len(sources) != 1 or self._collector.built.get(key):
                continue
            source = self._objects.get(next(iter(sources)))
            if source is not None:
                self._objects[key] = TrainingObject(key, source.kind, source.built_by, source.plateau, source.enabled)

    def get(self, key: Optional[str]) -> Optional[TrainingObject]:
        if key is None:
            return None
        found = self._objects.get(key)
        if found is None and key.endswith(".module"):  # DDP / DataParallel wrapper: model.module
            found = self._objects.get(key[: -len(".module")])
        return found

    def optimized_models(self, optimizer: Optional[str]) -> Optional[FrozenSet[str]]:
        """The names of the models whose ``parameters()`` the optimizer was built from in this file, with
        their aliases (``self.model = model``); None when unknown (a parameter, or built from something else)."""
        found = self.get(optimizer)
        if found is None or found.kind != OPTIMIZER or not found.built_by:
            return None
        models = {model for call in found.built_by for model in _parameters_of(call)}
        aliases = self._collector.aliases
        models |= {alias for alias, sources in aliases.items() if sources & models}
        models |= {source for model in list(models) for source in aliases.get(model, ())}
        return frozenset(models) if models else None

    def methods_called(self, key: str) -> FrozenSet[str]:
        """The methods the file calls on ``key`` (``{"scale", "step", "update"}``)."""
        return frozenset(self._collector.usage.get(key, ()))

    def anything_calls(self, method: str) -> bool:
        return any(method in used for used in self._collector.usage.values())

    def kind_of(self, key: Optional[str]) -> Optional[str]:
        found = self.get(key)
        return found.kind if found else None

    def kind(self, node: Optional[cst.BaseExpression]) -> Optional[str]:
        found = self.get(dotted_name(node)) if node is not None else None
        return found.kind if found else None

    def of_kind(self, kind: str) -> List[TrainingObject]:
        return sorted((o for o in self._objects.values() if o.kind == kind), key=lambda o: o.key)


def _is_model(collector: _Collector, key: str, built, usage) -> bool:
    if "optimized" in usage or {"train", "eval"} & usage:
        return True
    classes = {qualified.rsplit(".", 1)[-1] for qualified, _ in built}
    if classes & collector.module_classes:
        return True
    return any(qualified.startswith(("torchvision.models.", "timm.create_model")) for qualified, _ in built)


def _innermost(ancestors: Tuple[cst.CSTNode, ...], kind: type) -> Optional[cst.CSTNode]:
    for node in reversed(ancestors):
        if type(node) is kind:
            return node
    return None


def training_objects(ctx) -> TrainingObjects:
    def compute() -> TrainingObjects:
        collector = _Collector(ctx.resolver.qualify, ctx.evaluate)
        collector.run(ctx.index.recorded)
        return TrainingObjects(collector)

    return ctx.memo("training_objects", compute)
