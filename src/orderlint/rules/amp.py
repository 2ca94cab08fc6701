"""OL3xx: mixed precision. Predicates over a training step's autocast regions,
scaled backwards and casts (see ``orderlint.extract.steps``), and over the
file's calls for the deprecated AMP APIs."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional

import libcst as cst

from orderlint.catalogue.training import APEX_AMP, DEPRECATED_AMP
from orderlint.edits import SAFE, Edit, Fix, insert_first_argument, torch_name
from orderlint.extract.index import dotted_name
from orderlint.extract.objects import MODEL, SCALER, constructions, constructor_kind, training_objects
from orderlint.extract.walk import walk
from orderlint.extract.steps import (
    ASSIGN, BACKWARD, CAST, CLIP, FORWARD, OPAQUE, OPTIMIZER_STEP, SCALER_STEP, SCALER_UPDATE, UNSCALE, Event,
    before, exclusive, in_training_code, iteration,
)
from orderlint.rules.base import Family, Finding, Rule
from orderlint.rules.loop import StepRule, run_step_rules, said

FLOAT16, BFLOAT16 = "float16", "bfloat16"


def _scaled_backward_before(events: List[Event], event: Event) -> Optional[Event]:
    """A ``scaler.scale(loss).backward()`` that can be the last backward before ``event`` on some path."""
    earlier = before(events, event)
    for index, candidate in enumerate(earlier):
        if candidate.kind != BACKWARD or not candidate.scaled_by or exclusive(candidate, event):
            continue
        if not any(later.kind == BACKWARD and not exclusive(later, candidate) and not exclusive(later, event)
                   for later in earlier[index + 1:]):
            return candidate
    return None


def _active_scaled_backward(objects, events: List[Event], event: Event) -> Optional[Event]:
    """The ``scaler.scale(loss).backward()`` before ``event``, unless its scaler is built with ``enabled=False``."""
    backward = _scaled_backward_before(events, event)
    if backward is None or getattr(objects.get(backward.scaled_by), "enabled", True) is False:
        return None
    return backward


def _autocast_dtypes(events: List[Event]) -> set:
    return {region.dtype for e in events for region in e.autocast}


class GradScalerWithBf16(StepRule):
    code = "OL301"
    name = "gradscaler-with-bf16"
    kind = "perf"
    summary = "A `GradScaler` used where autocast runs in `torch.bfloat16`."
    why = (
        "Loss scaling exists because float16 cannot represent small gradients. bfloat16 has float32's exponent "
        "range: its gradients do not underflow, so the scaler only adds work (and inf/NaN checks) to every step."
    )
    example = 'scaler = torch.amp.GradScaler("cuda")\nwith torch.autocast("cuda", dtype=torch.bfloat16):\n    loss = model(x)\nscaler.scale(loss).backward()'
    use_instead = 'with torch.autocast("cuda", dtype=torch.bfloat16):\n    loss = model(x)\nloss.backward()'

    def check(self, step, ctx):
        objects = training_objects(ctx)
        for backward in step.of_kind(BACKWARD):
            scaler = objects.get(backward.scaled_by)
            if scaler is None or scaler.kind != SCALER:
                continue
            if _autocast_dtypes(iteration(step, backward)) != {BFLOAT16}:
                continue
            built_here = [call for e in step.events if e.kind == ASSIGN and e.target == backward.scaled_by
                          for call in constructions(e.node.value)]
            for construction in built_here or scaler.built_by:
                if objects.enabled(construction, SCALER) is True and constructor_kind(ctx.resolver.qualify(construction.func)) == SCALER:
                    yield self.finding(
                        construction,
                        f"`{ctx.label_call(construction)}` scales the gradients of a bfloat16 autocast: bfloat16 has "
                        f"float32's exponent range, so `{scaler.key}` is wasted work; drop it and call `loss.backward()`",
                    )


class ManualLowPrecisionCast(StepRule):
    code = "OL302"
    name = "manual-low-precision-cast"
    kind = "silent / crash"
    summary = "`.half()`, `.bfloat16()` or `.to(torch.float16)` on a model or its inputs in code that trains."
    why = (
        "A model cast to float16 keeps float16 master weights: small updates round away and gradients underflow. "
        "With a `GradScaler` it crashes (`ValueError: Attempting to unscale FP16 gradients.`). The autocast "
        "docstring: \"You should not call half() or bfloat16() on your model(s) or inputs when using autocasting\"."
    )
    example = "model = model.half()\nfor x, y in loader:\n    loss = criterion(model(x.half()), y)"
    use_instead = 'for x, y in loader:\n    with torch.autocast("cuda", dtype=torch.float16):\n        loss = criterion(model(x), y)'

    def check(self, step, ctx):
        if "apex" in ctx.index.imports.values() or any(m.startswith("apex.") for m in ctx.index.imports.values()):
            return  # apex's fp16 optimizers and SyncBatchNorm keep float32 master weights for half models
        objects = training_objects(ctx)
        scaled = any(e.scaled_by for e in step.of_kind(BACKWARD))
        for cast in step.of_kind(CAST):
            if cast.no_grad or not in_training_code(step, cast):
                continue
            model = next((key for key in (cast.target, *cast.names) if objects.kind_of(key) == MODEL), None)
            if model is not None:
                what = f"the model `{model}`"
            elif cast.target is not None and _is_input(step, cast):
                what = f"the input `{cast.target}`"
            else:
                continue
            crash = ": with the GradScaler it raises `ValueError: Attempting to unscale FP16 gradients.`" if scaled else ""
            yield self.finding(
                cast.node,
                f"{said(ctx, cast)} casts {what} by hand in training code: weights and gradients lose precision"
                f"{crash}; use `torch.autocast` instead",
                cast.guard,
            )


def _is_input(step, cast: Event) -> bool:
    """The cast tensor is a batch the loop draws, or is fed to a model later in the same iteration."""
    if any(cast.target in loop.names for loop in cast.loops):
        return True
    events = iteration(step, cast)
    return any(e.kind == FORWARD and e.object_kind == MODEL and cast.target in e.names and not exclusive(e, cast)
               for e in events[events.index(cast):])


class Fp16WithoutGradScaler(StepRule):
    code = "OL303"
    name = "fp16-without-gradscaler"
    kind = "silent"
    summary = "float16 autocast in a training step with `backward()` and no `GradScaler`."
    why = (
        "float16 cannot represent values below about 6e-8: small gradients underflow to zero and those weights "
        "stop learning, silently. `GradScaler` multiplies the loss so that the gradients stay representable."
    )
    example = 'with torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()'
    use_instead = 'scaler = torch.amp.GradScaler("cuda")\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()'

    def check(self, step, ctx):
        if training_objects(ctx).of_kind(SCALER) or "GradScaler" in ctx.source:
            return
        for backward in step.of_kind(BACKWARD):
            if backward.has_arguments or backward.scaled_by or backward.loop is None:
                continue
            regions = {r.node: r for e in iteration(step, backward) if not exclusive(e, backward)
                       for r in e.autocast if r.dtype == FLOAT16}
            for region in regions.values():
                yield self.finding(
                    region.node,
                    f"`{ctx.label_call(region.node)}` runs in float16 and {said(ctx, backward)} has no GradScaler: "
                    "small gradients underflow to zero; scale the loss with `torch.amp.GradScaler`",
                )


class ClipBeforeUnscale(StepRule):
    code = "OL304"
    name = "clip-before-unscale"
    kind = "silent"
    fix = "safe"
    summary = "Gradient clipping after `scaler.scale(loss).backward()` with no `scaler.unscale_(opt)` before it."
    why = (
        "Until `unscale_` the gradients are multiplied by the scale factor (65536 at the start): the clipping "
        "threshold is compared with the scaled norm, so it clips almost always and by the wrong amount."
    )
    example = "scaler.scale(loss).backward()\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.step(optimizer)"
    use_instead = "scaler.scale(loss).backward()\nscaler.unscale_(optimizer)\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.step(optimizer)"

    def check(self, step, ctx):
        objects = training_objects(ctx)
        for clip in step.of_kind(CLIP):
            events = iteration(step, clip)
            backward = _active_scaled_backward(objects, events, clip)
            if backward is None:
                continue
            between = before(events, clip)[events.index(backward) + 1:]
            if any(e.kind in (UNSCALE, SCALER_STEP) and not exclusive(e, clip) for e in between):
                continue
            yield self.finding(
                clip.node,
                f"{said(ctx, clip)} clips the gradients still scaled by `{backward.scaled_by}`: the threshold applies "
                f"to the scaled norm; call `{backward.scaled_by}.unscale_(optimizer)` before clipping",
                clip.guard,
                fix=_unscale_before(ctx, events, backward, clip),
            )


def _unscale_before(ctx, events, backward, clip) -> Optional[Fix]:
    """Insert ``scaler.unscale_(optimizer)`` above the clip, spelled as the code spells the scaler and the
    optimizer of the ``scaler.step(...)`` that follows; only when all three sit in one function."""
    step = next((e for e in events[events.index(clip) + 1:] if e.kind == SCALER_STEP and not exclusive(e, clip)), None)
    if step is None or not backward.function is clip.function is step.function:
        return None
    scale_call = backward.node.func.value if isinstance(backward.node, cst.Call) else None
    if not (isinstance(scale_call, cst.Call) and isinstance(scale_call.func, cst.Attribute) and step.node.args):
        return None
    unscale = f"{ctx.code(scale_call.func.value)}.unscale_({ctx.code(step.node.args[0].value)})"
    return Fix(SAFE, f"Insert `{unscale}` before the clip", (Edit(clip.node, unscale, where="line_before"),))


class GradScalerBypassed(StepRule):
    code = "OL305"
    name = "gradscaler-bypassed"
    kind = "silent"
    summary = "After `scaler.scale(loss).backward()`, `optimizer.step()` called directly, or `scaler.update()` never called."
    why = (
        "A direct `optimizer.step()` applies gradients still multiplied by the scale factor (and steps on inf/NaN "
        "gradients the scaler would have skipped). Without `scaler.update()` the scale never adapts: after the "
        "first overflow every step is skipped."
    )
    example = "scaler.scale(loss).backward()\noptimizer.step()"
    use_instead = "scaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()"

    def check(self, step, ctx):
        objects = training_objects(ctx)
        for stepping in step.of_kind(OPTIMIZER_STEP):
            events = iteration(step, stepping)
            backward = _active_scaled_backward(objects, events, stepping)
            if backward is None:
                continue
            scaled_step = next((e for e in before(events, stepping)[events.index(backward):]
                                if e.kind == SCALER_STEP and not exclusive(e, stepping)), None)
            if scaled_step is not None:
                effect = f"steps a second time after {said(ctx, scaled_step)} (and on inf/NaN gradients it skipped)"
            else:
                effect = "applies gradients still multiplied by the loss scale"
            yield self.finding(
                stepping.node,
                f"{said(ctx, stepping)} bypasses `{backward.scaled_by}`: it {effect}; call only "
                f"`{backward.scaled_by}.step({stepping.target})`",
                stepping.guard,
            )
        if step.of_kind(SCALER_UPDATE) or any(e.kind == OPAQUE and e.object_kind == SCALER for e in step.events):
            return
        for stepping in step.of_kind(SCALER_STEP):
            if "update" in objects.methods_called(stepping.target):
                continue  # updated elsewhere in the file (another method of the trainer)
            yield self.finding(
                stepping.node,
                f"{said(ctx, stepping)} is never followed by `{stepping.target}.update()`: the loss scale never "
                "adapts, and after an overflow every step is skipped; call it after each step",
                stepping.guard,
            )


class BackwardInsideAutocast(StepRule):
    code = "OL306"
    name = "backward-inside-autocast"
    kind = "silent"
    summary = "`backward()` called inside a `with autocast(...)` block."
    why = (
        "The AMP documentation: backward passes under autocast are not recommended. Backward ops run in the "
        "dtype autocast chose for the matching forward ops; running them under autocast again can change "
        "precisions unexpectedly. Exit the `with` block before calling backward."
    )
    example = 'with torch.autocast("cuda"):\n    loss = criterion(model(x), y)\n    scaler.scale(loss).backward()'
    use_instead = 'with torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward()'

    def check(self, step, ctx):
        for backward in step.of_kind(BACKWARD):
            if backward.autocast:
                region = backward.autocast[-1]
                yield self.finding(
                    backward.node,
                    f"{said(ctx, backward)} runs inside `{ctx.label_call(region.node)}`: backward under autocast "
                    "is not recommended; dedent it out of the `with` block",
                    backward.guard,
                )


class DeprecatedCudaAmp(Rule):
    code = "OL307"
    name = "deprecated-cuda-amp"
    kind = "deprecated"
    fix = "safe"
    summary = "`torch.cuda.amp.autocast`, `torch.cuda.amp.GradScaler` or `torch.cpu.amp.*` (deprecated since torch 2.4)."
    why = "Each warns \"`torch.cuda.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('cuda', args...)` instead.\" and will be removed."
    example = "scaler = torch.cuda.amp.GradScaler()"
    use_instead = 'scaler = torch.amp.GradScaler("cuda")'

    def check_file(self, ctx) -> Iterator[Finding]:
        for name in ("autocast", "GradScaler"):
            for site in ctx.index.calls.get(name, ()):
                qualified = ctx.resolver.qualify(site.node.func)
                replacement = DEPRECATED_AMP.get(qualified)
                if replacement is not None and not _version_fallback(site, ctx):
                    yield self.finding(site.node, f"`{ctx.label_call(site.node)}` is deprecated since torch 2.4; use `{replacement}`",
                                       fix=_native_amp(ctx, site.node, qualified))


def _native_amp(ctx, call: cst.Call, qualified: str) -> Fix:
    """``torch.cuda.amp.X(args)`` (however imported) -> ``torch.amp.X("cuda", args)``; adds ``import torch`` if needed."""
    device, name = qualified.split(".")[1], qualified.rsplit(".", 1)[-1]
    edits: list = []
    native = f"{torch_name(ctx, edits)}.amp.{name}"
    if call.args:
        edits += [Edit(call.func, native), *insert_first_argument(ctx.code, call, f'"{device}"')]
    else:
        edits.append(Edit(call, f'{native}("{device}")'))
    return Fix(SAFE, f'Use `{native}("{device}", ...)`', tuple(edits))


def _version_fallback(site, ctx) -> bool:
    """``new() if TORCH_GE_2_4 else torch.cuda.amp.GradScaler()``, or an ``if TORCH_GE_2_4: return new()``
    earlier in the enclosing block: the old call only runs where it is not deprecated."""
    ancestors = site.ancestors
    for index, ancestor in enumerate(ancestors):
        if isinstance(ancestor, (cst.If, cst.IfExp)) and _VERSION_TEST.search(ctx.code(ancestor.test)):
            return True
        if isinstance(ancestor, (cst.IndentedBlock, cst.Module)) and index + 1 < len(ancestors):
            body = list(ancestor.body)
            statement = ancestors[index + 1]
            position = next((i for i, s in enumerate(body) if s is statement), None)
            if position is not None and any(_returns_on_version(s, ctx) for s in body[:position]):
                return True
    return False


def _returns_on_version(statement, ctx) -> bool:
    """``if <version test>: ... return``: the code after it runs only on the other versions."""
    if not isinstance(statement, cst.If) or not _VERSION_TEST.search(ctx.code(statement.test)):
        return False
    last = statement.body.body[-1] if statement.body.body else None
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, (cst.Return, cst.Raise)) for s in last.body)


_VERSION_TEST = re.compile(r"version|TORCH_GREATER|TORCH_GE|TORCH_\d", re.IGNORECASE)


class ApexAmp(Rule):
    code = "OL308"
    name = "apex-amp"
    kind = "deprecated"
    summary = "`apex.amp`, deprecated: native `torch.amp` replaces it."
    why = "NVIDIA deprecated `apex.amp` in favour of `torch.amp` (autocast and GradScaler), which ships with PyTorch and is maintained; apex.amp no longer builds against recent releases."
    example = "from apex import amp\nmodel, optimizer = amp.initialize(model, optimizer, opt_level=\"O1\")"
    use_instead = 'scaler = torch.amp.GradScaler("cuda")\nwith torch.autocast("cuda"):\n    ...'

    def check_file(self, ctx) -> Iterator[Finding]:
        if "apex" not in ctx.source:
            return
        for node in _apex_imports(ctx.module):
            yield self.finding(node, f"`{ctx.code(node)}`: apex.amp is deprecated; use native `torch.amp` (autocast and GradScaler)")


def _apex_imports(module: cst.Module) -> List[cst.CSTNode]:
    """The imports of ``apex.amp`` anywhere in the file (under ``try:``, in functions), in source order."""
    found: List[cst.CSTNode] = []
    for node in walk(module):
        if type(node) is cst.Import:
            if any((dotted_name(a.name) or "") == APEX_AMP or (dotted_name(a.name) or "").startswith(APEX_AMP + ".")
                   for a in node.names):
                found.append(node)
        elif type(node) is cst.ImportFrom:
            module_name = dotted_name(node.module) if node.module is not None and not node.relative else None
            if module_name == APEX_AMP or (module_name or "").startswith(APEX_AMP + "."):
                found.append(node)
            elif module_name == "apex" and not isinstance(node.names, cst.ImportStar) and any(
                    dotted_name(a.name) == "amp" for a in node.names):
                found.append(node)
    return found


AMP_RULES = [
    GradScalerWithBf16(),
    ManualLowPrecisionCast(),
    Fp16WithoutGradScaler(),
    ClipBeforeUnscale(),
    GradScalerBypassed(),
    BackwardInsideAutocast(),
    DeprecatedCudaAmp(),
    ApexAmp(),
]

FAMILY = Family(
    "amp",
    ("autocast", "GradScaler", "scale(", ".half()", ".bfloat16()", "float16", "HalfTensor", "apex", "clip_grad"),
    frozenset({"autocast", "GradScaler"}),
    tuple(AMP_RULES),
    run_step_rules,
)
