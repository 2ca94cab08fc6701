"""What reaches each loss: a model's output (the last layer of a Sequential, what
a module's ``forward`` returns), possibly through an inline softmax or sigmoid,
linked to ``nn.CrossEntropyLoss()``-style criteria and ``F.cross_entropy``-style
calls of the same file.

Names are followed through single assignments (``out = model(x)``,
``criterion = nn.NLLLoss()``), ``self.X`` set in ``__init__``, and function
parameters whose every caller in the file passes the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import libcst as cst

from orderlint.catalogue import layers as catalogue
from orderlint.catalogue.layers import KEEP, Loss
from orderlint.extract.index import CallSite, dotted_name
from orderlint.extract.layers import LayerStack, _method, stacks_of
from orderlint.extract.sequences import ExprValue

MAX_HOPS = 4
# Calls that return the module they are called on, or wrap it without changing its output.
_SAME_MODEL_METHODS = {"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_"}
_WRAPPERS = {"torch.nn.DataParallel", "torch.nn.parallel.DistributedDataParallel", "torch.compile",
             "torch.nn.parallel.DataParallel"}


@dataclass(frozen=True)
class Reached:
    """What a loss receives: an output kind, and the node that made it so (a Softmax, F.softmax, a final Linear)."""

    kind: str
    source: cst.CSTNode


@dataclass(frozen=True)
class LossInput:
    loss: Loss
    node: cst.Call  # the loss's constructor, or the functional call
    call: cst.Call  # where the loss is computed
    reached: Reached


class LossLinker:
    def __init__(self, ctx):
        self._ctx = ctx
        self._stacks: Dict[int, LayerStack] = {id(stack.node): stack for stack in stacks_of(ctx)}
        self._classes: Dict[str, LayerStack] = {
            stack.name: stack for stack in self._stacks.values() if isinstance(stack.node, cst.ClassDef)}
        self._envs: Dict[int, dict] = {}

    def calls(self) -> Dict[str, List[CallSite]]:
        def collect() -> Dict[str, List[CallSite]]:
            by_name: Dict[str, List[CallSite]] = {}
            for _, node, ancestors in self._ctx.index.recorded:
                name = dotted_name(node.func) if type(node) is cst.Call else None
                if name is not None:
                    by_name.setdefault(name, []).append(CallSite(node, ancestors))
            return by_name

        return self._ctx.memo("calls-by-name", collect)

    def _env(self, site: CallSite):
        if id(site.node) not in self._envs:
            self._envs[id(site.node)] = self._ctx.tracer.env_at(site)
        return self._envs[id(site.node)]

    # Following names -----------------------------------------------------------

    def origins(self, expr: cst.BaseExpression, site: CallSite, hops: int = 0) -> List[Tuple[cst.BaseExpression, CallSite]]:
        """The expressions ``expr`` may stand for at ``site``, each with the site where it is written."""
        expr = self._unwrapped(expr)
        if hops >= MAX_HOPS or not isinstance(expr, (cst.Name, cst.Attribute)):
            return [(expr, site)]
        function = site.enclosing(cst.FunctionDef)
        env = self._env(site)
        parameter = isinstance(expr, cst.Name) and function is not None and _is_parameter(function, expr.value)
        # A parameter not rebound in its function is what the callers pass, never a module global of that name.
        held = expr if parameter and expr.value not in env else self._ctx.tracer.value_of(expr, env)
        if held is not expr:
            return self.origins(held, site, hops + 1)
        attribute = self._init_attribute(expr, site)
        if attribute is not None:
            return [(self._unwrapped(attribute), site)]
        if parameter:
            callers = self._callers(function, site)
            found = []
            for caller in callers:
                argument = _argument_for(caller.node, function, expr.value)
                if argument is None:
                    return [(expr, site)]
                found.extend(self.origins(argument, caller, hops + 1))
            return found or [(expr, site)]
        return [(expr, site)]

    def _unwrapped(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        while isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SAME_MODEL_METHODS and self._ctx.resolver.qualify(func) is None:
                expr = func.value
            elif self._ctx.resolver.qualify(func) in _WRAPPERS and expr.args and not expr.args[0].keyword:
                expr = expr.args[0].value
            else:
                break
        return expr

    def _init_attribute(self, expr: cst.BaseExpression, site: CallSite) -> Optional[cst.BaseExpression]:
        """``self.X`` in a method: what ``__init__`` assigns to it, when assigned once."""
        name = dotted_name(expr)
        cls = site.enclosing(cst.ClassDef)
        if name is None or not name.startswith("self.") or cls is None:
            return None
        init = _method(cls, "__init__")
        if init is None:
            return None
        env = self._ctx.memo(("init-env", id(init)), lambda: self._ctx.tracer.env_after(init))
        binding = env.get(name)
        if binding and len(binding) == 1 and isinstance(binding[0], ExprValue):
            return binding[0].node
        return None

    def _callers(self, function: cst.FunctionDef, site: CallSite) -> List[CallSite]:
        name = function.name.value
        in_class = site.enclosing(cst.ClassDef)
        spelled = f"self.{name}" if in_class is not None and function in in_class.body.body else name
        return list(self.calls().get(spelled, ()))

    # What reaches a loss -------------------------------------------------------------

    def reached(self, expr: cst.BaseExpression, site: CallSite, hops: int = 0) -> Optional[Reached]:
        if hops > MAX_HOPS:
            return None
        found = {self._reached_once(origin, where, hops) for origin, where in self.origins(expr, site)}
        return found.pop() if len(found) == 1 else None

    def _reached_once(self, expr: cst.BaseExpression, site: CallSite, hops: int) -> Optional[Reached]:
        if isinstance(expr, cst.Subscript):
            return self.reached(expr.value, site, hops + 1)
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Name) and func.value == "self" or dotted_name(func) == "self.forward":
            cls = site.enclosing(cst.ClassDef)
            return self._model_output(cls) if cls is not None else None
        first = _first_argument(expr)
        qualified = self._ctx.resolver.qualify(func)
        if qualified is not None:
            return self._through(catalogue.lookup_function(qualified), expr, first, site, hops)
        if isinstance(func, cst.Attribute) and not _on_self(func):
            return self._through(catalogue.lookup_method(func.attr.value), expr, func.value, site, hops)
        found = set()
        for origin, _ in self.origins(func, site):
            layer = catalogue.lookup(self._ctx.resolver.qualify(origin.func)) if isinstance(origin, cst.Call) else None
            if layer is not None:  # nn.Softmax(dim=1)(out), or self.softmax(out)
                found.add(self._through(layer, origin, first, site, hops))
            else:
                found.add(self._model_output(origin))
        return found.pop() if len(found) == 1 else None

    def _through(self, op, node: cst.CSTNode, inner, site: CallSite, hops: int) -> Optional[Reached]:
        """What an op (``F.softmax``, ``out.view``) applied to ``inner`` makes of it."""
        if op is None:
            return None
        if op.output == KEEP:
            return self.reached(inner, site, hops + 1) if inner is not None else None
        return Reached(op.output, node) if op.output is not None else None

    def _model_output(self, model: cst.CSTNode) -> Optional[Reached]:
        if isinstance(model, cst.ClassDef):
            stack = self._stacks.get(id(model))
        elif isinstance(model, cst.Call) and isinstance(model.func, cst.Name):
            stack = self._classes.get(model.func.value) if model.func.value in self._classes else None
            stack = stack or self._stacks.get(id(model))
        elif isinstance(model, cst.Call):
            stack = self._stacks.get(id(model))
        else:
            return None
        if stack is None or stack.output is None or stack.output.output_from is None:
            return None
        return Reached(stack.output.state.output, stack.output.output_from.node)

    # Losses ----------------------------------------------------------------------------

    def inputs(self) -> List[LossInput]:
        found = []
        for name in (*catalogue.LOSSES, *catalogue.FUNCTIONAL_LOSSES):
            for site in self._ctx.index.calls.get(name, ()):
                loss = catalogue.lookup_loss(self._ctx.resolver.qualify(site.node.func))
                if loss is None:
                    continue
                functional = name in catalogue.FUNCTIONAL_LOSSES
                for call in ([site] if functional else self._loss_calls(site)):
                    received = _first_argument(call.node)
                    reached = self.reached(received, call) if received is not None else None
                    if reached is not None:
                        found.append(LossInput(loss, site.node, call.node, reached))
        return found

    def _loss_calls(self, constructor: CallSite) -> List[CallSite]:
        """Where a loss object built at ``constructor`` is called."""
        parent = constructor.ancestors[-1]
        if isinstance(parent, cst.Call) and parent.func is constructor.node:
            return [CallSite(parent, constructor.ancestors[:-1])]
        if not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return []
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        names = {dotted_name(t) for t in targets} - {None}
        candidates = [site for name in names for site in self.calls().get(name, ())]
        candidates += self._calls_of_parameters_receiving(names)
        return [site for site in candidates
                if any(origin is constructor.node for origin, _ in self.origins(site.node.func, site))]

    def _calls_of_parameters_receiving(self, names) -> List[CallSite]:
        """``criterion(...)`` inside ``def train(model, criterion)`` when the file calls ``train(m, criterion)``."""
        found = []
        functions = _functions(self._ctx.module)
        for callee, sites in self.calls().items():
            function = functions.get(callee.rpartition(".")[2])
            if function is None:
                continue
            for site in sites:
                for position, arg in enumerate(site.node.args):
                    if dotted_name(arg.value) in names:
                        param = _parameter_at(function, position, arg)
                        if param is not None:
                            found.extend(s for s in self.calls().get(param, ()) if function in s.ancestors)
        return found


def _on_self(func: cst.Attribute) -> bool:
    return isinstance(func.value, cst.Name) and func.value.value == "self"


def _first_argument(call: cst.Call) -> Optional[cst.BaseExpression]:
    for position, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == "input" or position == 0 and arg.keyword is None and not arg.star:
            return arg.value
    return None


def _positional_names(function: cst.FunctionDef) -> List[str]:
    return [p.name.value for p in (*function.params.posonly_params, *function.params.params)]


def _is_parameter(function: cst.FunctionDef, name: str) -> bool:
    return name in _positional_names(function) or any(p.name.value == name for p in function.params.kwonly_params)


def _parameter_at(function: cst.FunctionDef, position: int, arg: cst.Arg) -> Optional[str]:
    if arg.keyword is not None:
        return arg.keyword.value if _is_parameter(function, arg.keyword.value) else None
    if arg.star:
        return None
    names = _positional_names(function)
    if names and names[0] == "self":
        names = names[1:]
    return names[position] if position < len(names) else None


def _argument_for(call: cst.Call, function: cst.FunctionDef, param: str) -> Optional[cst.BaseExpression]:
    for position, arg in enumerate(call.args):
        if arg.star:
            return None
        if _parameter_at(function, position, arg) == param:
            return arg.value
    return None


def _functions(module: cst.Module) -> Dict[str, cst.FunctionDef]:
    """Functions and methods by name; a name defined twice is left out (which one runs is unknown)."""
    found: Dict[str, Optional[cst.FunctionDef]] = {}

    def visit(statements) -> None:
        for statement in statements:
            if isinstance(statement, cst.FunctionDef):
                name = statement.name.value
                found[name] = None if name in found else statement
            if isinstance(statement, (cst.ClassDef, cst.If)):
                visit(statement.body.body)

    visit(module.body)
    return {name: f for name, f in found.items() if f is not None}


def loss_inputs(ctx) -> List[LossInput]:
    """What reaches every loss of the file (computed once per file)."""
    return ctx.memo("loss-inputs", lambda: LossLinker(ctx).inputs())
