"""Transform pipelines: every ``Compose`` of torchvision v1 or v2, as the
concrete orderings of steps the code can produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import libcst as cst

from orderlint.catalogue import datasets
from orderlint.catalogue import transforms as catalogue
from orderlint.catalogue.transforms import CONTAINER, Transform
from orderlint.extract.index import CallSite, NameResolver
from orderlint.extract.purpose import ArgumentUses, consumers
from orderlint.extract.sequences import OPAQUE, Element, Env, Guard, SequenceTracer, cap, product
from orderlint.extract.values import UNKNOWN, Evaluator

MAX_NESTING = 6


@dataclass(frozen=True, eq=False)
class Step:
    """One step of a pipeline. ``transform`` is None for a step orderlint cannot see into."""

    node: Optional[cst.BaseExpression]
    transform: Optional[Transform]
    args: Mapping[str, Any] = field(default_factory=dict)
    arg_nodes: Mapping[str, cst.BaseExpression] = field(default_factory=dict)
    guard: Guard = ()
    # For RandomApply / RandomChoice / RandomOrder: the sequences they hold.
    inner: Tuple[Tuple["Step", ...], ...] = ()

    @property
    def name(self) -> str:
        return self.transform.name if self.transform else "<unknown>"

    def arg_source(self, param: str, code) -> Optional[str]:
        node = self.arg_nodes.get(param)
        return None if node is None else code(node)


UNKNOWN_STEP = Step(None, None)


@dataclass(frozen=True)
class Pipeline:
    site: CallSite
    namespace: str
    paths: Tuple[Tuple[Step, ...], ...]
    env: Env
    # Channels of the images it receives, when the dataset it is passed to says (MNIST: 1).
    input_channels: Optional[int] = None

    @property
    def node(self) -> cst.Call:
        return self.site.node


class TransformResolver:
    def __init__(self, resolver: NameResolver):
        self._resolver = resolver

    def __call__(self, func: cst.BaseExpression) -> Optional[Transform]:
        for name in self._resolver.candidates(func):
            found = catalogue.lookup(name)
            if found is not None:
                return found
        return None


def bind_arguments(call: cst.Call, params: Tuple[str, ...]) -> Optional[Dict[str, cst.BaseExpression]]:
    """Maps a call's arguments to parameter names; None when ``*args``/``**kwargs`` hide them."""
    bound: Dict[str, cst.BaseExpression] = {}
    for position, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
        elif position < len(params):
            bound[params[position]] = arg.value
    return bound


class PipelineExtractor:
    def __init__(self, module: cst.Module, resolver: NameResolver, evaluate: Evaluator, tracer: SequenceTracer,
                 uses: ArgumentUses):
        self._module = module
        self._resolver = resolver
        self._evaluate = evaluate
        self.uses = uses
        self._tracer = tracer
        self.transform_of = TransformResolver(resolver)

    def pipelines(self, compose_sites: List[CallSite]) -> List[Pipeline]:
        found = []
        for site in compose_sites:
            transform = self.transform_of(site.node.func)
            if transform is None or transform.name != "Compose":
                continue
            env = self._tracer.env_at(site)
            paths = self._sequence_paths(site.node, env, (), 0)
            found.append(Pipeline(site, transform.namespace, paths, env, self._input_channels(site)))
        return found

    def _input_channels(self, site: CallSite) -> Optional[int]:
        for call, _ in consumers(site, self.uses):
            channels = datasets.input_channels(self._resolver.qualify(call.func))
            if channels is not None:
                return channels
        return None

    def _sequence_paths(self, call: cst.Call, env: Env, guard: Guard, depth: int) -> Tuple[Tuple[Step, ...], ...]:
        bound = bind_arguments(call, ("transforms",))
        if not bound or "transforms" not in bound or depth > MAX_NESTING:
            return ((UNKNOWN_STEP,),)
        return self._expand(self._tracer.paths(bound["transforms"], env, guard), env, depth)

    def _expand(self, item_paths, env: Env, depth: int) -> Tuple[Tuple[Step, ...], ...]:
        result = []
        for items in item_paths:
            parts = [self._item(item, env, depth) for item in items]
            result.extend(product(parts))
        return cap(result)

    def _item(self, item, env: Env, depth: int) -> Tuple[Tuple[Step, ...], ...]:
        if item is OPAQUE:
            return ((UNKNOWN_STEP,),)
        assert isinstance(item, Element)
        node = item.node
        if not isinstance(node, cst.Call):
            return ((Step(node, None, guard=item.guard),),)
        transform = self.transform_of(node.func)
        if transform is None:
            return ((Step(node, None, guard=item.guard),),)
        if transform.name == "Compose":
            return self._sequence_paths(node, env, item.guard, depth + 1)
        bound = bind_arguments(node, transform.params)
        if bound is None:
            return ((Step(node, transform, args=_all_unknown(transform), guard=item.guard),),)
        args = {name: self._evaluate(self._tracer.value_of(value, env)) for name, value in bound.items()}
        inner: Tuple[Tuple[Step, ...], ...] = ()
        if CONTAINER in transform.roles:
            inner = self._container_inner(transform, bound.get("transforms"), env, depth)
        return ((Step(node, transform, args, bound, item.guard, inner),),)

    def _container_inner(self, transform: Transform, listed, env: Env, depth: int) -> Tuple[Tuple[Step, ...], ...]:
        if listed is None or depth > MAX_NESTING:
            return ((UNKNOWN_STEP,),)
        paths = self._expand(self._tracer.paths(listed, env), env, depth + 1)
        if len(paths) != 1:
            return ((UNKNOWN_STEP,),)
        (steps,) = paths
        if transform.name == "RandomApply":
            return (steps,)
        return tuple((step,) for step in steps)  # RandomChoice, RandomOrder: each step on its own


def _all_unknown(transform: Transform) -> Dict[str, Any]:
    return {param: UNKNOWN for param in transform.params}


def pipelines_of(ctx) -> List[Pipeline]:
    """Every Compose pipeline of the file (computed once per file)."""

    def extract() -> List[Pipeline]:
        extractor = PipelineExtractor(ctx.module, ctx.resolver, ctx.evaluate, ctx.tracer, argument_uses(ctx))
        return extractor.pipelines(ctx.index.calls.get("Compose", []))

    return ctx.memo("pipelines", extract)


def argument_uses(ctx) -> ArgumentUses:
    return ctx.memo("argument-uses", lambda: ArgumentUses(ctx.index.recorded))


def transform_of(ctx, func: cst.BaseExpression) -> Optional[Transform]:
    return ctx.memo("transform-resolver", lambda: TransformResolver(ctx.resolver))(func)


def label(ctx, step: Step) -> str:
    """How a message names a step: its callee as written (``T.Normalize``)."""
    if isinstance(step.node, cst.Call):
        return ctx.label_call(step.node)
    return ctx.code(step.node) if step.node is not None else "<unknown step>"
