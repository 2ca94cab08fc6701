"""The training step: the ordered events of a function's loops.

Each *root* (a function that no other function of the file calls, and the
module body) is walked statement by statement. Helper functions and methods
of the same file that it calls are folded in at the call site, with their
parameters renamed to the caller's arguments, so ``train_one_epoch(model,
optimizer, ...)`` called per epoch contributes its batch loop to the epoch
loop. Every event records its enclosing loops, the conditions it runs under,
the if/else arms it sits in (events in different arms of one ``if`` never run
in the same iteration), and its ``with`` regions (autocast, no_grad).

Usage: ``training_steps(ctx)`` (memoized per file) -> ``[TrainingStep]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import libcst as cst

from orderlint.catalogue import training as catalogue
from orderlint.extract.index import dotted_name, last_name
from orderlint.extract.objects import MODEL, OPTIMIZER, SCALER, SCHEDULER, TrainingObjects, training_objects
from orderlint.extract.sequences import Guard
from orderlint.extract.values import string_value
from orderlint.extract.walk import children

MAX_DEPTH = 4

ZERO_GRAD = "zero_grad"
BACKWARD = "backward"
UNSCALE = "unscale"
CLIP = "clip"
OPTIMIZER_STEP = "optimizer_step"
SCALER_STEP = "scaler_step"
SCALER_UPDATE = "scaler_update"
SCHEDULER_STEP = "scheduler_step"
TRAIN_MODE = "train_mode"
EVAL_MODE = "eval_mode"
SET_MODE = "set_mode"  # model.train(flag): either mode
FORWARD = "forward"
FORWARD_METHOD = "forward_method"
CAST = "cast"
ACCUMULATE = "accumulate"
ASSIGN = "assign"
SET_EPOCH = "set_epoch"
OPAQUE = "opaque"  # a call this file cannot see into that receives a training object

OPTIMIZER_STEPS = (OPTIMIZER_STEP, SCALER_STEP)
# Events whose ``names`` are variables (renamed with the parameters when a helper is folded in).
_NAMES_ARE_KEYS = frozenset({"cast", "forward", "accumulate"})


@dataclass(frozen=True)
class Region:
    kind: str  # "autocast" or "no_grad"
    node: cst.Call
    device: Optional[str] = None
    dtype: Optional[str] = None  # "float16", "bfloat16", ...; None when unknown
    enabled: Optional[bool] = True  # None when not literal


@dataclass(frozen=True, eq=False)
class Loop:
    node: Union[cst.For, cst.While]
    function: Optional[cst.FunctionDef]  # the function whose text holds the loop
    guard: Guard = ()  # the conditions the whole loop runs under
    names: Tuple[str, ...] = ()  # the names a ``for`` binds (``images, target``)

    def relative(self, guard: Guard) -> Guard:
        """The conditions an event of this loop runs under within one iteration."""
        return guard[len(self.guard):]


@dataclass(frozen=True, eq=False)
class Event:
    kind: str
    node: cst.CSTNode
    target: Optional[str] = None  # the receiver, renamed into the root's names
    argument: Optional[str] = None  # scaler.step(opt) / unscale_(opt): opt; accumulate: the loss name
    object_kind: Optional[str] = None  # what the target is (objects.MODEL, OPTIMIZER, ...)
    loops: Tuple[Loop, ...] = ()
    guard: Guard = ()
    arms: Tuple[Tuple[int, int], ...] = ()
    regions: Tuple[Region, ...] = ()
    function: Optional[cst.FunctionDef] = None
    callers: Tuple[int, ...] = ()  # ids of the functions from the root down to ``function``
    scaled_by: Optional[str] = None  # backward of scaler.scale(loss)
    has_arguments: bool = False
    names: Tuple[str, ...] = ()  # accumulate: the names summed; assign: the callee's name

    @property
    def loop(self) -> Optional[Loop]:
        return self.loops[-1] if self.loops else None

    @property
    def autocast(self) -> Tuple[Region, ...]:
        """The autocast regions in force: a nested ``autocast(enabled=False)`` switches the outer ones off."""
        found: Tuple[Region, ...] = ()
        for region in self.regions:
            if region.kind == "autocast":
                found = () if region.enabled is False else found + (region,)
        return found

    @property
    def no_grad(self) -> bool:
        return any(r.kind == "no_grad" for r in self.regions)


def exclusive(a: Event, b: Event) -> bool:
    """True when the two events never run together: they sit in different arms of one ``if``, or under
    conditions that negate each other (``if use_amp: <autocast>`` ... ``if use_amp: ... else: <backward>``)."""
    arms = dict(a.arms)
    if any(arms.get(statement, arm) != arm for statement, arm in b.arms):
        return True
    return any(_negates(g, h) or _negates(h, g) for g in a.guard for h in b.guard)


def _negates(condition: str, other: str) -> bool:
    """``not x`` / ``not (x + y)`` for ``x`` / ``x + y``, as the walker writes an ``else`` arm's guard."""
    return condition in (f"not {other}", f"not ({other})")


@dataclass
class TrainingStep:
    root: Union[cst.FunctionDef, cst.Module]
    events: List[Event] = field(default_factory=list)

    def loops(self) -> List[Loop]:
        return list(dict.fromkeys(loop for event in self.events for loop in event.loops))

    def inside(self, loop: Optional[Loop]) -> List[Event]:
        """The events of one iteration of ``loop`` (every event for ``None``), in order."""
        return self.events if loop is None else [e for e in self.events if loop in e.loops]

    def of_kind(self, *kinds: str) -> List[Event]:
        return [e for e in self.events if e.kind in kinds]

    def is_epoch_loop(self, loop: Loop) -> bool:
        """A loop around another loop that runs a model or a training step (not any nested loop: an
        attention block's ``for key in keys: for i in range(n):`` trains nothing)."""
        return any(e.loops.index(loop) < len(e.loops) - 1 and e.kind in _EPOCH_WORK for e in self.inside(loop))


_NO_GRAD_DECORATOR = re.compile(r"inference_mode|no_grad", re.IGNORECASE)
_EPOCH_WORK = frozenset({BACKWARD, ZERO_GRAD, *OPTIMIZER_STEPS, SCALER_UPDATE, SCHEDULER_STEP, FORWARD,
                         FORWARD_METHOD, TRAIN_MODE, EVAL_MODE, SET_MODE, SET_EPOCH, OPAQUE})


@dataclass(frozen=True)
class _Frame:
    loops: Tuple[Loop, ...] = ()
    guard: Guard = ()
    arms: Tuple[Tuple[int, int], ...] = ()
    regions: Tuple[Region, ...] = ()
    function: Optional[cst.FunctionDef] = None
    owner: Optional[cst.ClassDef] = None
    stack: Tuple[int, ...] = ()


def _calls_in_order(expression: cst.CSTNode) -> List[cst.Call]:
    """The calls of one expression in evaluation order (arguments before the call, source order otherwise);
    lambdas are not entered. A post-order field walk, not a ``CSTVisitor`` pass."""
    calls: List[cst.Call] = []
    stack: List[Tuple[cst.CSTNode, bool]] = [(expression, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            calls.append(node)
            continue
        kind = type(node)
        if kind is cst.Lambda:
            continue
        if kind is cst.Call:
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(children(node)))
    return calls


class _Walker:
    def __init__(self, ctx, objects: TrainingObjects):
        self.ctx = ctx
        self.objects = objects
        self.qualify = ctx.resolver.qualify
        self.functions: Dict[str, cst.FunctionDef] = {}
        self.methods: Dict[Tuple[int, str], cst.FunctionDef] = {}
        self.methods_by_name: Dict[str, List[Tuple[cst.ClassDef, cst.FunctionDef]]] = {}
        self._walked: Dict[int, List[Event]] = {}
        self._walking: set = set()
        for statement in ctx.module.body:
            if isinstance(statement, cst.FunctionDef):
                self.functions[statement.name.value] = statement
            elif isinstance(statement, cst.ClassDef):
                for member in statement.body.body:
                    if isinstance(member, cst.FunctionDef):
                        self.methods[(id(statement), member.name.value)] = member
                        self.methods_by_name.setdefault(member.name.value, []).append((statement, member))

    def roots(self) -> List[Tuple[cst.CSTNode, Optional[cst.ClassDef]]]:
        called = self.objects.called_names
        found: List[Tuple[cst.CSTNode, Optional[cst.ClassDef]]] = [(self.ctx.module, None)]
        found += [(f, None) for name, f in self.functions.items() if name not in called]
        for name, members in self.methods_by_name.items():
            # A method is a root unless its own class calls it (``self.training_step(batch)`` in ``fit``).
            found += [(method, owner) for owner, method in members if not self.objects.called_in_class(owner, name)]
        return found

    def step(self, root, owner) -> TrainingStep:
        if isinstance(root, cst.Module):
            events: List[Event] = []
            body = [s for s in root.body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
            self._block(body, _Frame(), events, {})
        else:
            events = self._function_events(root, owner) or []
        return TrainingStep(root, list(events))

    # Statements ----------------------------------------------------------

    def _block(self, statements: Sequence[cst.CSTNode], frame: _Frame, out: List[Event], scope: Dict) -> None:
        for statement in statements:
            self._statement(statement, frame, out, scope)
            if isinstance(statement, cst.If) and statement.orelse is None and _leaves(statement.body):
                # `if bad: optimizer.zero_grad(); continue`: what follows runs only when the `if` did not.
                frame = _arm(frame, statement, 1)

    def _statement(self, statement, frame: _Frame, out: List[Event], scope: Dict) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small, frame, out, scope)
        elif isinstance(statement, cst.If):
            self._if(statement, frame, out, scope)
        elif isinstance(statement, (cst.For, cst.While)):
            if isinstance(statement, cst.For):
                self._calls(statement.iter, frame, out, scope)
            names = _bound_names(statement.target) if isinstance(statement, cst.For) else ()
            loop = Loop(statement, frame.function, frame.guard, names)
            self._block(statement.body.body, replace(frame, loops=frame.loops + (loop,)), out, scope)
        elif isinstance(statement, cst.With):
            regions = frame.regions
            for item in statement.items:
                region = self._region(item.item)
                if region is not None:
                    regions += (region,)
                else:
                    self._calls(item.item, frame, out, scope)
            self._block(statement.body.body, replace(frame, regions=regions), out, scope)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            self._block(statement.body.body, _arm(frame, statement, 0), out, scope)
            for number, handler in enumerate(statement.handlers, 1):
                self._block(handler.body.body, _arm(frame, statement, number), out, scope)
            if statement.orelse is not None:
                self._block(statement.orelse.body.body, _arm(frame, statement, 0), out, scope)
            if statement.finalbody is not None:
                self._block(statement.finalbody.body.body, frame, out, scope)
        elif isinstance(statement, cst.FunctionDef):
            scope[statement.name.value] = statement  # a local helper or an optimizer closure

    def _if(self, statement: cst.If, frame: _Frame, out: List[Event], scope: Dict) -> None:
        test = self.ctx.code(statement.test)
        then = replace(_arm(frame, statement, 0), guard=frame.guard + (test,))
        self._block(statement.body.body, then, out, scope)
        orelse = statement.orelse
        if orelse is None:
            return
        otherwise = replace(_arm(frame, statement, 1), guard=frame.guard + (self.ctx.tracer.negated(statement.test),))
        if isinstance(orelse, cst.If):
            self._if(orelse, otherwise, out, scope)
        else:
            self._block(orelse.body.body, otherwise, out, scope)

    def _small(self, small, frame: _Frame, out: List[Event], scope: Dict) -> None:
        if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and small.value is not None:
            first = len(out)
            self._calls(small.value, frame, out, scope)
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            if not isinstance(small, cst.AugAssign):
                # `model = Net().cuda().half()`: the cast's value is what the assigned names hold.
                assigned = tuple(key for t in targets for key in [dotted_name(t)] if key is not None)
                for index in range(first, len(out)):
                    if out[index].kind == CAST and out[index].node is small.value:
                        out[index] = replace(out[index], names=assigned)
            for target in targets:
                self._assignment(small, target, frame, out, scope)
        elif isinstance(small, (cst.Expr, cst.Return)) and small.value is not None:
            self._calls(small.value, frame, out, scope)

    def _assignment(self, small, target, frame: _Frame, out: List[Event], scope: Dict) -> None:
        key = dotted_name(target)
        value = small.value
        if isinstance(target, cst.Attribute) and target.attr.value == "grad" and _is_none(value):
            out.append(self._event(ZERO_GRAD, small, frame, dotted_name(target.value)))
            return
        if key is None:
            return
        scaled = _scaled_receiver(value)
        if scaled is not None:
            scope[("scaled", key)] = scaled
        elif ("scaled", key) in scope:
            del scope[("scaled", key)]
        if isinstance(small, cst.AugAssign):
            if isinstance(small.operator, cst.AddAssign):
                out.append(self._event(ACCUMULATE, small, frame, key, names=_summed_names(value)))
            return
        if isinstance(value, cst.BinaryOperation) and key in _summed_names(value):
            out.append(self._event(ACCUMULATE, small, frame, key, names=tuple(n for n in _summed_names(value) if n != key)))
            return
        callee = dotted_name(value.func) if isinstance(value, cst.Call) else None
        out.append(self._event(ASSIGN, small, frame, key, names=(callee,) if callee else ()))

    # Calls -----------------------------------------------------------------

    def _calls(self, expression: cst.CSTNode, frame: _Frame, out: List[Event], scope: Dict) -> None:
        for call in _calls_in_order(expression):
            self._call(call, frame, out, scope)

    def _call(self, call: cst.Call, frame: _Frame, out: List[Event], scope: Dict) -> None:
        func = call.func
        if isinstance(func, cst.Attribute) and out and out[-1].kind == CAST and out[-1].node is func.value \
                and _is_full_precision_cast(call, func.attr.value, self.qualify):
            out.pop()  # `model.half().float()`: rounded once to half precision, float32 again
        qualified = self.qualify(func)
        if qualified in catalogue.GRADIENT_CLIPPING:
            out.append(self._event(CLIP, call, frame))
            return
        if qualified in catalogue.AUTOGRAD_BACKWARD:
            out.append(self._event(BACKWARD, call, frame))
            return
        if isinstance(func, cst.Attribute):
            if self._method(call, func, frame, out, scope):
                return
        if self._inline(call, frame, out, scope):
            return
        if isinstance(func, cst.Name) and func.value == "zero_grad":
            # A project's own reset (improved-diffusion's `zero_grad(params)`, imported from another file).
            out.append(self._event(ZERO_GRAD, call, frame))
            return
        callee = dotted_name(func)
        if qualified is not None and qualified.startswith("torch."):
            return  # torch's own functions do none of a training step's events but those matched above
        if callee is not None and self._object_kind(callee) == MODEL:
            inputs = tuple(key for arg in call.args for key in [_cast_receiver(arg.value)] if key is not None)
            out.append(self._event(FORWARD, call, frame, callee, names=inputs))
            return
        touched = [key for arg in call.args for key in [dotted_name(arg.value)]
                   if key is not None and self._object_kind(key) in (MODEL, OPTIMIZER, SCALER, SCHEDULER)]
        if touched:
            out.append(self._event(OPAQUE, call, frame, touched[0]))

    def _method(self, call: cst.Call, func: cst.Attribute, frame: _Frame, out: List[Event], scope: Dict) -> bool:
        method = func.attr.value
        receiver = dotted_name(func.value)
        if receiver is not None and receiver.split(".")[0] in self.ctx.index.imports:
            return False  # torch.save(...), np.mean(...): a module function, not a method
        kind = self._object_kind(receiver) if receiver else None
        if method == "zero_grad" and receiver is not None:
            out.append(self._event(ZERO_GRAD, call, frame, receiver))
        elif method in ("zero_", "detach_") and ".grad" in self.ctx.code(func.value):
            out.append(self._event(ZERO_GRAD, call, frame, receiver))
        elif method == "backward":
            scaler = _scaled_receiver(func.value) or scope.get(("scaled", receiver))
            out.append(self._event(BACKWARD, call, frame, receiver, scaled_by=scaler,
                                   has_arguments=bool([a for a in call.args if not a.keyword])))
        elif method == "unscale_":
            out.append(self._event(UNSCALE, call, frame, receiver, argument=_first_argument(call)))
        elif method == "step" and kind == SCALER:
            out.append(self._event(SCALER_STEP, call, frame, receiver, argument=_first_argument(call)))
        elif method == "step" and kind == OPTIMIZER:
            closure = scope.get(dotted_name(call.args[0].value)) if call.args else None
            if isinstance(closure, cst.FunctionDef):
                self._block(closure.body.body, replace(frame, function=closure), out, scope)
            out.append(self._event(OPTIMIZER_STEP, call, frame, receiver, has_arguments=bool(call.args)))
        elif method == "step" and kind == SCHEDULER:
            out.append(self._event(SCHEDULER_STEP, call, frame, receiver, has_arguments=bool(call.args)))
        elif method == "update" and kind == SCALER:
            out.append(self._event(SCALER_UPDATE, call, frame, receiver))
        elif method in ("eval", "train") and _base_key(func.value) is not None:
            mode = {True: TRAIN_MODE, False: EVAL_MODE, None: SET_MODE}[_mode(call, method)]
            if mode != SET_MODE or method == "train":
                out.append(self._event(mode, call, frame, _base_key(func.value)))
        elif method == "set_epoch":
            out.append(self._event(SET_EPOCH, call, frame, receiver))
        elif method == "forward" and not _is_own_forward(func.value):
            out.append(self._event(FORWARD_METHOD, call, frame, receiver))
        elif _is_low_precision_cast(call, method, self.qualify):
            out.append(self._event(CAST, call, frame, _cast_receiver(func.value)))
        elif method == "append" and receiver is not None and len(call.args) == 1:
            out.append(self._event(ACCUMULATE, call, frame, receiver, names=_summed_names(call.args[0].value)))
        else:
            return False
        return True

    def _inline(self, call: cst.Call, frame: _Frame, out: List[Event], scope: Dict) -> bool:
        """Folds the events of a same-file function into the caller; False if the call is not one."""
        target = self._callee(call.func, frame, scope)
        if target is None:
            return False
        function, owner = target
        events = self._function_events(function, owner)
        if events is None:  # recursion
            return False
        rename = dict(self._bind(function, call, is_method=owner is not None))
        loops: Dict[int, Loop] = {}
        for event in events:
            if len(frame.stack) + len(event.callers) > MAX_DEPTH:
                continue
            target_key = _renamed(event.target, rename)
            out.append(replace(
                event,
                target=target_key,
                argument=_renamed(event.argument, rename),
                scaled_by=_renamed(event.scaled_by, rename),
                names=tuple(_renamed(n, rename) for n in event.names) if event.kind in _NAMES_ARE_KEYS else event.names,
                object_kind=event.object_kind or self._object_kind(target_key),
                loops=frame.loops + tuple(
                    loops.setdefault(id(loop), Loop(loop.node, loop.function, frame.guard + loop.guard, loop.names))
                    for loop in event.loops),
                guard=frame.guard + event.guard,
                arms=frame.arms + event.arms,
                regions=frame.regions + event.regions,
                callers=frame.stack + event.callers,
            ))
        return True

    def _function_events(self, function: cst.FunctionDef, owner: Optional[cst.ClassDef]) -> Optional[List[Event]]:
        """A function's own events, walked once and shared by every call site; None while it is being walked."""
        key = id(function)
        if key not in self._walked:
            if key in self._walking:
                return None
            self._walking.add(key)
            events: List[Event] = []
            frame = _Frame(function=function, owner=owner, stack=(key,), regions=self._decorator_regions(function))
            self._block(function.body.body, frame, events, {})
            self._walking.discard(key)
            self._walked[key] = events
        return self._walked[key]

    def _callee(self, func, frame: _Frame, scope: Dict) -> Optional[Tuple[cst.FunctionDef, Optional[cst.ClassDef]]]:
        if isinstance(func, cst.Name):
            local = scope.get(func.value)
            if isinstance(local, cst.FunctionDef):
                return local, None
            if func.value in self.functions:
                return self.functions[func.value], None
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            name = func.attr.value
            if frame.owner is not None and (id(frame.owner), name) in self.methods:
                return self.methods[(id(frame.owner), name)], frame.owner
            members = self.methods_by_name.get(name, [])
            if len(members) == 1:
                owner, method = members[0]
                return method, owner
        return None

    @staticmethod
    def _bind(function: cst.FunctionDef, call: cst.Call, is_method: bool) -> Tuple[Tuple[str, str], ...]:
        """The callee's parameter names -> the caller's argument names."""
        params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        if is_method and params and params[0] in ("self", "cls"):
            params = params[1:]
        bound = {}
        positional = [a for a in call.args if not a.keyword and not a.star]
        for param, arg in zip(params, positional):
            bound[param] = arg.value
        for arg in call.args:
            if arg.keyword is not None:
                bound[arg.keyword.value] = arg.value
        pairs = []
        for param, value in bound.items():
            key = dotted_name(value)
            if key is not None and key != param:
                pairs.append((param, key))
        return tuple(pairs)

    # Events ----------------------------------------------------------------

    def _event(self, kind: str, node, frame: _Frame, target: Optional[str] = None, **details) -> Event:
        return Event(
            kind, node, target, object_kind=self._object_kind(target),
            loops=frame.loops, guard=frame.guard, arms=frame.arms, regions=frame.regions, function=frame.function,
            callers=frame.stack, **details,
        )

    def _object_kind(self, key: Optional[str]) -> Optional[str]:
        found = self.objects.get(key)
        return found.kind if found else None

    # Regions ---------------------------------------------------------------

    def _decorator_regions(self, function: cst.FunctionDef) -> Tuple[Region, ...]:
        regions = []
        for decorator in function.decorators:
            node = decorator.decorator
            call = node if isinstance(node, cst.Call) else cst.Call(func=node)
            region = self._region(call)
            if region is None and _NO_GRAD_DECORATOR.search(last_name(call.func) or ""):
                # A project's own wrapper (yolov5's `@smart_inference_mode()`), usually defined in another file.
                region = Region("no_grad", call)
            if region is not None:
                regions.append(region)
        return tuple(regions)

    def _region(self, node: cst.BaseExpression) -> Optional[Region]:
        if not isinstance(node, cst.Call):
            return None
        qualified = self.qualify(node.func)
        if qualified in catalogue.NO_GRAD:
            return Region("no_grad", node)
        if qualified == "torch.set_grad_enabled" and node.args and self.ctx.evaluate(node.args[0].value) is False:
            return Region("no_grad", node)
        if qualified not in catalogue.AUTOCAST:
            return None
        fixed_device = catalogue.AUTOCAST[qualified]
        # torch.autocast(device_type, dtype, enabled, ...); torch.cuda.amp.autocast(enabled, dtype, ...)
        order = ("enabled", "dtype") if fixed_device else ("device_type", "dtype", "enabled")
        given = {name: arg.value for name, arg in zip(order, [a for a in node.args if not a.keyword])}
        given.update({a.keyword.value: a.value for a in node.args if a.keyword})
        device = fixed_device
        if device is None and "device_type" in given:
            value = self.ctx.evaluate(given["device_type"])
            device = value if isinstance(value, str) else None
        if "dtype" in given:
            dtype = _dtype_name(self.qualify(given["dtype"]))
        else:
            dtype = catalogue.AUTOCAST_DEFAULT_DTYPE.get(device) if device else None
        enabled = self.ctx.evaluate(given["enabled"]) if "enabled" in given else True
        return Region("autocast", node, device, dtype, enabled if isinstance(enabled, bool) else None)




def _renamed(key: Optional[str], rename: Dict[str, str]) -> Optional[str]:
    """``optimizer.param_groups`` -> ``opt.param_groups`` when the callee's ``optimizer`` is the caller's ``opt``."""
    if key is None:
        return None
    head, dot, rest = key.partition(".")
    return rename[head] + dot + rest if head in rename else key


def _arm(frame: _Frame, statement, arm: int) -> _Frame:
    return replace(frame, arms=frame.arms + ((id(statement), arm),))


def _leaves(body: cst.BaseSuite) -> bool:
    """The block ends in ``continue``, ``break``, ``return`` or ``raise``."""
    last = body.body[-1] if body.body else None
    if isinstance(last, cst.SimpleStatementLine):
        last = last.body[-1] if last.body else None
    return isinstance(last, (cst.Continue, cst.Break, cst.Return, cst.Raise))


def _is_none(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _scaled_receiver(node) -> Optional[str]:
    """``scaler`` for ``scaler.scale(loss)``."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "scale":
        return dotted_name(node.func.value)
    return None


def _first_argument(call: cst.Call) -> Optional[str]:
    return dotted_name(call.args[0].value) if call.args else None


def _mode(call: cst.Call, method: str) -> Optional[bool]:
    """True for train mode, False for eval mode, None when the argument is not literal."""
    if method == "eval":
        return False if not call.args else None
    if not call.args:
        return True
    value = call.args[0].value
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value == "True"
    return None


def _is_own_forward(receiver) -> bool:
    """``self.forward(...)`` and ``super().forward(...)`` call the module's own forward."""
    if isinstance(receiver, cst.Name) and receiver.value == "self":
        return True
    return isinstance(receiver, cst.Call) and dotted_name(receiver.func) == "super"


def _dtype_name(qualified: Optional[str]) -> Optional[str]:
    """``float16`` for ``torch.float16`` and its alias ``torch.half``."""
    if qualified and qualified.startswith("torch."):
        name = qualified[len("torch."):]
        return catalogue.DTYPE_ALIASES.get(name, name)
    return None


def _is_low_precision_cast(call: cst.Call, method: str, qualify) -> bool:
    if method in catalogue.LOW_PRECISION_METHODS:
        return not call.args
    if method == "to":
        return any(_dtype_name(qualify(a.value)) in catalogue.LOW_PRECISION_DTYPES
                   for a in call.args if a.keyword is None or a.keyword.value == "dtype")
    if method == "type" and call.args:
        spelled = dotted_name(call.args[0].value) or ""
        value = call.args[0].value
        if isinstance(value, cst.SimpleString):
            spelled = string_value(value) or ""
        return spelled.rsplit(".", 1)[-1] in catalogue.LOW_PRECISION_TENSOR_TYPES
    return False


def _is_full_precision_cast(call: cst.Call, method: str, qualify) -> bool:
    """``x.float()``, ``x.double()``, ``x.to(torch.float32)``, ``x.type(torch.float32)``."""
    if method in ("float", "double"):
        return not call.args
    if method in ("to", "type"):
        return any(_dtype_name(qualify(a.value)) in ("float32", "float64")
                   for a in call.args if a.keyword is None or a.keyword.value == "dtype")
    return False


def _cast_receiver(node) -> Optional[str]:
    """``images`` for ``images.cuda(non_blocking=True)`` or ``batch["image"]``: the name a chain of method calls,
    attributes and subscripts starts from. None for a call of a function or model (``model(x).half()`` casts
    an output, ``Net().half()`` a new object)."""
    while True:
        key = dotted_name(node)
        if key is not None:
            return key
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        else:
            return None


def _base_key(node) -> Optional[str]:
    """``images`` for ``images.to(device)``; the name a chain of calls and attributes starts from."""
    while True:
        key = dotted_name(node)
        if key is not None:
            return key
        if isinstance(node, cst.Call):
            node = node.func.value if isinstance(node.func, cst.Attribute) else node.func
        elif isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        else:
            return None


def _bound_names(target) -> Tuple[str, ...]:
    if isinstance(target, cst.Name):
        return (target.value,)
    if isinstance(target, (cst.Tuple, cst.List)):
        return tuple(name for element in target.elements for name in _bound_names(element.value))
    return ()


def _summed_names(node) -> Tuple[str, ...]:
    """The names whose values end up in a sum (``loss`` in ``loss * x.size(0)``); a call hides its operands."""
    if isinstance(node, cst.Name):
        return (node.value,)
    if isinstance(node, cst.BinaryOperation):
        return _summed_names(node.left) + _summed_names(node.right)
    return ()


def training_steps(ctx) -> List[TrainingStep]:
    def compute() -> List[TrainingStep]:
        walker = _Walker(ctx, training_objects(ctx))
        return [walker.step(root, owner) for root, owner in walker.roots()]

    return ctx.memo("training_steps", compute)


# Queries the rules share ------------------------------------------------------


def iteration(step: TrainingStep, event: Event) -> List[Event]:
    """The events of one iteration of ``event``'s innermost loop (nested loops included), or of
    the straight-line code around it when it is in no loop."""
    if event.loop is None:
        return [e for e in step.events if not e.loops]
    return step.inside(event.loop)


def same_level(step: TrainingStep, event: Event) -> List[Event]:
    """The events whose innermost loop is ``event``'s (nested loops left out)."""
    return [e for e in step.events if e.loop is event.loop]


def before(events: List[Event], event: Event) -> List[Event]:
    return events[: events.index(event)] if event in events else []


def after(events: List[Event], event: Event) -> List[Event]:
    return events[events.index(event) + 1:] if event in events else []


def stepped_optimizer(event: Event) -> Optional[str]:
    """The optimizer an optimizer step moves: ``opt`` for ``opt.step()`` and ``scaler.step(opt)``."""
    return event.argument if event.kind == SCALER_STEP else event.target


def same_object(a: Optional[str], b: Optional[str]) -> bool:
    """Could the two keys name one object (``model`` and ``model.module`` do; unknown matches anything)."""
    if a is None or b is None:
        return True
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def in_training_code(step: TrainingStep, event: Event) -> bool:
    """RULES "training code": a function on the event's call chain itself holds a backward, an optimizer
    step or an epoch loop; not an evaluation function (it switches the model to ``eval()`` and trains
    nothing itself) that a training loop calls."""
    holder = _holder(event.function)
    own = {e.kind for e in step.events if _holder(e.function) == holder}
    if EVAL_MODE in own and not own & {BACKWARD, *OPTIMIZER_STEPS}:
        return False
    chain = set(event.callers) | ({_MODULE} if isinstance(step.root, cst.Module) else set())
    if any(e.kind in (BACKWARD,) + OPTIMIZER_STEPS and _holder(e.function) in chain for e in step.events):
        return True
    return any(_holder(loop.function) in chain for loop in step.loops() if step.is_epoch_loop(loop))


_MODULE = 0


def _holder(function: Optional[cst.FunctionDef]) -> int:
    return id(function) if function is not None else _MODULE
