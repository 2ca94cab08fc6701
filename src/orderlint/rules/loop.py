"""OL4xx: the order of a training step. Each rule is a predicate over the
events of one training step (see ``orderlint.extract.steps``)."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional

import libcst as cst

from orderlint.catalogue.training import EVALUATION_WORDS
from orderlint.edits import SAFE, Edit, Fix
from orderlint.extract.objects import MODEL, SAMPLER, SCHEDULER, training_objects
from orderlint.extract.purpose import words
from orderlint.extract.walk import walk
from orderlint.extract.steps import (
    ACCUMULATE, ASSIGN, BACKWARD, EVAL_MODE, FORWARD, FORWARD_METHOD, OPAQUE, OPTIMIZER_STEP, OPTIMIZER_STEPS,
    SCHEDULER_STEP, SET_MODE, TRAIN_MODE, ZERO_GRAD, Event, Loop, TrainingStep, after, before, exclusive, iteration,
    same_level, same_object, stepped_optimizer, training_steps,
)
from orderlint.rules.base import Family, Finding, Rule


class StepRule(Rule):
    """A predicate over one training step; ``ctx`` gives the code of nodes for messages."""

    def check(self, step: TrainingStep, ctx) -> Iterator[Finding]:
        raise NotImplementedError


def run_step_rules(ctx, rules) -> Iterator[tuple]:
    step_rules = [r for r in rules if isinstance(r, StepRule)]
    if step_rules:
        for step in training_steps(ctx):
            for rule in step_rules:
                for finding in rule.check(step, ctx):
                    yield rule, finding
    for rule in rules:
        if not isinstance(rule, StepRule):
            yield from ((rule, finding) for finding in rule.check_file(ctx))


def said(ctx, event: Event) -> str:
    """How a message names an event: its code as written (``optimizer.zero_grad()``)."""
    return f"`{ctx.code(event.node)}`"


class ZeroGradAfterBackward(StepRule):
    code = "OL401"
    name = "zero-grad-after-backward"
    kind = "silent"
    summary = "`zero_grad()` between `backward()` and `step()` in one iteration."
    why = (
        "`zero_grad()` clears (or sets to None) the gradients `backward()` has just computed, so the following "
        "`step()` sees no gradient and the weights never move: the loss stays flat and nothing raises."
    )
    example = "loss.backward()\noptimizer.zero_grad()\noptimizer.step()"
    use_instead = "optimizer.zero_grad()\nloss.backward()\noptimizer.step()"

    def check(self, step, ctx):
        for reset in step.of_kind(ZERO_GRAD):
            level = same_level(step, reset)
            backward = _last(before(level, reset), BACKWARD, reset)
            if backward is None:
                continue
            for later in after(level, reset):
                if later.kind in (BACKWARD, OPAQUE) and not exclusive(later, reset):
                    break
                if later.kind in OPTIMIZER_STEPS and not exclusive(later, reset) and not exclusive(later, backward):
                    if reset.object_kind == MODEL or same_object(reset.target, stepped_optimizer(later)):
                        yield self.finding(
                            reset.node,
                            f"{said(ctx, reset)} runs after {said(ctx, backward)} and before {said(ctx, later)}: "
                            "the step sees zeroed gradients and the weights do not move; call it before the backward",
                            reset.guard, later.guard,
                        )
                        break


class SchedulerBeforeOptimizer(StepRule):
    code = "OL402"
    name = "scheduler-before-optimizer"
    kind = "silent"
    summary = "`lr_scheduler.step()` before `optimizer.step()` in one iteration, or before the epoch's training loop."
    why = (
        "Since PyTorch 1.1 the scheduler must step after the optimizer. Stepped first, it skips the first value of "
        "the schedule (StepLR(0.1, gamma=0.5) trains with 0.05, 0.025, ... instead of 0.1, 0.05, ...) and PyTorch "
        "warns \"Detected call of `lr_scheduler.step()` before `optimizer.step()`\"."
    )
    example = "for epoch in range(epochs):\n    scheduler.step()\n    train_one_epoch(model, optimizer, loader)"
    use_instead = "for epoch in range(epochs):\n    train_one_epoch(model, optimizer, loader)\n    scheduler.step()"

    def check(self, step, ctx):
        objects = training_objects(ctx)
        for stepping in step.of_kind(SCHEDULER_STEP):
            scheduler = objects.get(stepping.target) or objects.get(stepping.target.split(".")[-1])
            if stepping.loop is None or stepping.loop.relative(stepping.guard):
                continue  # a conditional scheduler step (warm-up, `if epoch > 0`) is deliberate more often than not
            if scheduler is None or scheduler.kind != SCHEDULER or scheduler.plateau is True:
                continue
            if stepping.has_arguments:
                # `.step(metric)` is ReduceLROnPlateau's call; `.step(epoch)` sets the epoch explicitly (the
                # closed form), so the schedule is not shifted either.
                continue
            events = iteration(step, stepping)
            if any(e.kind in OPTIMIZER_STEPS + (OPAQUE,) for e in before(events, stepping)):
                continue
            optimizer_step = next((e for e in after(events, stepping) if e.kind in OPTIMIZER_STEPS
                                   and not exclusive(e, stepping)), None)
            if optimizer_step is None or step.events.index(optimizer_step) < step.events.index(stepping):
                continue
            where = "before the epoch's training loop" if optimizer_step.loop is not stepping.loop else "in each iteration"
            yield self.finding(
                stepping.node,
                f"{said(ctx, stepping)} runs before {said(ctx, optimizer_step)} {where}: the first learning rate of "
                "the schedule is skipped and PyTorch warns \"Detected call of `lr_scheduler.step()` before "
                "`optimizer.step()`\"; step the scheduler after the optimizer",
                stepping.guard,
            )


class MissingZeroGrad(StepRule):
    code = "OL403"
    name = "missing-zero-grad"
    kind = "silent"
    summary = "A loop with `backward()` and `step()` and no `zero_grad()` or `grad = None` reset in it."
    why = (
        "`backward()` adds to `.grad`; without a reset every step applies the sum of all gradients computed so far, "
        "so the updates grow and training diverges or stalls. Gradient accumulation resets conditionally and is "
        "not flagged."
    )
    example = "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()"
    use_instead = "for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()"

    def check(self, step, ctx):
        for loop in step.loops():
            events = step.inside(loop)
            backward = next((e for e in events if e.kind == BACKWARD), None)
            optimizer_step = next((e for e in events if e.kind in OPTIMIZER_STEPS and not e.has_arguments), None)
            if backward is None or optimizer_step is None or not _innermost_with_both(step, loop, events):
                continue
            if any(e.kind in (ZERO_GRAD, OPAQUE) for e in events):
                continue
            if any(e.kind == ASSIGN and e.target == stepped_optimizer(optimizer_step) for e in events):
                continue  # an optimizer built anew each iteration, over tensors made in it (an iterative refinement)
            yield self.finding(
                backward.node,
                f"{said(ctx, backward)} and {said(ctx, optimizer_step)} run in this loop but nothing resets the "
                "gradients: they accumulate across iterations; call `optimizer.zero_grad()` in the loop",
                backward.guard,
            )


def _innermost_with_both(step: TrainingStep, loop: Loop, events: List[Event]) -> bool:
    """No loop nested in ``loop`` holds both a backward and an optimizer step on its own."""
    for inner in {e.loops[e.loops.index(loop) + 1] for e in events if e.loops[-1] is not loop}:
        kinds = {e.kind for e in step.inside(inner)}
        if BACKWARD in kinds and kinds & set(OPTIMIZER_STEPS):
            return False
    return True


class StepBeforeBackward(StepRule):
    code = "OL404"
    name = "step-before-backward"
    kind = "silent"
    summary = "`optimizer.step()` before `backward()` in one iteration."
    why = (
        "The step applies the gradients left by the previous iteration (or none at all in the first), and the "
        "gradients this iteration computes are cleared or applied one batch late."
    )
    example = "optimizer.zero_grad()\noptimizer.step()\nloss.backward()"
    use_instead = "optimizer.zero_grad()\nloss.backward()\noptimizer.step()"

    def check(self, step, ctx):
        for stepping in step.of_kind(*OPTIMIZER_STEPS):
            if stepping.has_arguments and stepping.kind == OPTIMIZER_STEP:
                continue  # step(closure): the closure computes the gradients
            if stepping.loop is not None and stepping.loop.relative(stepping.guard):
                continue  # a conditional step at the top of the loop is how some accumulation is written
            events = iteration(step, stepping)
            if any(e.kind in (BACKWARD, OPAQUE) for e in before(events, stepping)):
                continue
            backward = next((e for e in after(events, stepping) if e.kind == BACKWARD and not exclusive(e, stepping)), None)
            if backward is None:
                continue
            yield self.finding(
                stepping.node,
                f"{said(ctx, stepping)} runs before {said(ctx, backward)}: it applies stale (or no) gradients and this "
                "iteration's gradients are applied a batch late; step after the backward",
                stepping.guard,
            )


def _last(events: List[Event], kind: str, near: Event) -> Optional[Event]:
    return next((e for e in reversed(events) if e.kind == kind and not exclusive(e, near)), None)


# Evaluation and model mode ----------------------------------------------------


def _mode_before(step: TrainingStep, event: Event, model: Optional[str]) -> Optional[str]:
    """The last mode switch of ``model`` before ``event``: TRAIN_MODE, EVAL_MODE, SET_MODE, or None."""
    for earlier in reversed(before(step.events, event)):
        if earlier.kind in (TRAIN_MODE, EVAL_MODE, SET_MODE) and same_object(earlier.target, model) and earlier.target:
            return earlier.kind
        if earlier.kind == OPAQUE and same_object(earlier.target, model) and earlier.object_kind == MODEL:
            return SET_MODE
    return None


def _named_for_evaluation(loop: Loop) -> bool:
    return loop.function is not None and bool(words(loop.function.name.value) & EVALUATION_WORDS) \
        and not loop.function.name.value.startswith("test_")


def _evaluation_loops(step: TrainingStep) -> Iterator[tuple]:
    """(loop, its first forward of a model) for each loop that evaluates: no backward in it, and under
    no_grad or in a function named like ``validate``."""
    for loop in step.loops():
        events = step.inside(loop)
        if any(e.kind == BACKWARD for e in events):
            continue
        forward = next((e for e in events if e.kind == FORWARD), None)
        if forward is None or forward.loop is not loop:
            continue
        if forward.no_grad or _named_for_evaluation(loop):
            yield loop, forward


class EvalWithoutEvalMode(StepRule):
    code = "OL405"
    name = "eval-without-eval-mode"
    kind = "silent"
    summary = "An evaluation loop that runs the model without `model.eval()`."
    why = (
        "In train mode dropout still drops activations and batch norm normalizes with the batch's statistics "
        "(and updates its running averages with the evaluation data): metrics are noisy, depend on the batch "
        "size, and the model is changed by being evaluated."
    )
    example = "model.train()\ntrain(...)\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)"
    use_instead = "model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)"

    def check(self, step, ctx):
        for loop, forward in _evaluation_loops(step):
            mode = _mode_before(step, forward, forward.target)
            trained_here = mode is None and any(e.kind == BACKWARD for e in step.events)
            # Without an explicit train(), only a loop named for evaluation says it evaluates (an RL rollout
            # under no_grad is not an evaluation).
            if not (mode == TRAIN_MODE or trained_here and _named_for_evaluation(loop)):
                continue
            yield self.finding(
                loop.node,
                f"this evaluation loop runs `{forward.target}` in train mode (no `{forward.target}.eval()` before it): "
                "dropout stays active and batch norm uses and updates batch statistics; call "
                f"`{forward.target}.eval()` first",
                forward.guard,
            )


class TrainModeNotRestored(StepRule):
    code = "OL406"
    name = "train-mode-not-restored"
    kind = "silent"
    summary = "An epoch loop that switches the model to `eval()` for validation and never back to `train()`."
    why = (
        "After the first validation the model stays in eval mode: every later epoch trains with dropout off and "
        "frozen batch-norm statistics, silently."
    )
    example = "model.train()\nfor epoch in range(epochs):\n    train_one_epoch(model, ...)\n    model.eval()\n    validate(model, ...)"
    use_instead = "for epoch in range(epochs):\n    model.train()\n    train_one_epoch(model, ...)\n    model.eval()\n    validate(model, ...)"

    def check(self, step, ctx):
        objects = training_objects(ctx)
        for loop in step.loops():
            if not step.is_epoch_loop(loop):
                continue
            events = step.inside(loop)
            for switch in (e for e in events if e.kind == EVAL_MODE and e.target):
                index = events.index(switch)
                cycle = events[index + 1:] + events[:index]
                # Between epochs, eval() is for validation; inside the batch loop only when a no_grad pass follows
                # (otherwise it freezes a teacher or a critic that another model's loss runs through).
                validated = switch.loops[-1] is loop
                trained = None  # the forward of the switched model that the next backward trains
                for position, event in enumerate(cycle):
                    if same_object(event.target, switch.target) and (
                            event.kind in (TRAIN_MODE, SET_MODE) or event.kind == OPAQUE and event.object_kind == MODEL):
                        break
                    if event.kind in (FORWARD, BACKWARD) and exclusive(event, switch):
                        continue  # `if mode == "train": ... backward()` never runs after `else: model.eval()`
                    if event.kind == FORWARD and same_object(event.target, switch.target):
                        if event.no_grad:
                            validated = True
                        else:
                            trained = event
                    if event.kind == BACKWARD and trained is not None:
                        if not validated or _steps_other_models(cycle[position + 1:], switch.target, objects):
                            break  # a frozen teacher or critic: the backward trains another model
                        yield self.finding(
                            switch.node,
                            f"{said(ctx, switch)} is never undone before the next training pass "
                            f"({said(ctx, event)}): every later epoch trains in eval mode; call "
                            f"`{switch.target}.train()` at the start of each epoch",
                            switch.guard,
                        )
                        break


def _steps_other_models(after: List[Event], model: str, objects) -> bool:
    """The optimizer stepped next after a backward is known to move other models than ``model`` only."""
    step = next((e for e in after if e.kind in OPTIMIZER_STEPS), None)
    moved = objects.optimized_models(stepped_optimizer(step)) if step is not None else None
    return moved is not None and not any(same_object(key, model) for key in moved)


class EvalWithoutNoGrad(StepRule):
    code = "OL407"
    name = "eval-without-no-grad"
    kind = "perf"
    default = "preview"
    summary = "An evaluation loop with the model in `eval()` but no `no_grad`/`inference_mode`."
    why = "Without `torch.no_grad()` every forward keeps its activations for a backward that never comes: evaluation uses several times the memory and runs slower."
    example = "model.eval()\nfor x, y in val_loader:\n    out = model(x)"
    use_instead = "model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)"

    def check(self, step, ctx):
        for loop in step.loops():
            events = step.inside(loop)
            if any(e.kind in (BACKWARD, OPAQUE) for e in events):
                continue
            forwards = [e for e in events if e.kind == FORWARD]
            if not forwards or any(e.no_grad for e in forwards) or forwards[0].loop is not loop:
                continue
            if _mode_before(step, forwards[0], forwards[0].target) != EVAL_MODE:
                continue
            yield self.finding(
                loop.node,
                f"this evaluation loop runs `{forwards[0].target}` in eval mode without `torch.no_grad()`: "
                "activations are kept for a backward that never comes; wrap it in `torch.inference_mode()`",
                forwards[0].guard,
            )


# Running totals, samplers, forward ------------------------------------------

_LOSS_CALLEE = re.compile(r"loss|criterion|cross_entropy", re.IGNORECASE)
_DETACHING = ("item", "detach", "float", "tolist", "numpy", "cpu")


class LossAccumulatedWithGraph(StepRule):
    code = "OL408"
    name = "loss-accumulated-with-graph"
    kind = "perf"
    fix = "safe"
    summary = "A running total built from a loss tensor inside a training loop, without `.item()`/`.detach()`."
    why = (
        "`total += loss` keeps the loss tensor, and with it the autograd graph of every iteration, alive until "
        "the total is dropped: memory grows every step (PyTorch FAQ, \"Don't accumulate history across your "
        "training loop\")."
    )
    example = "total += loss"
    use_instead = "total += loss.item()"

    def check(self, step, ctx):
        backed = {e.target for e in step.of_kind(BACKWARD)}
        for total in step.of_kind(ACCUMULATE):
            if total.loop is None or total.no_grad or total.target in backed:
                continue
            events = step.inside(total.loop)
            if not any(e.kind == BACKWARD for e in events):
                continue
            if any(e.kind == ASSIGN and e.target == total.target for e in events):
                continue  # reset every iteration: a per-iteration sum, not a running total
            losses = [n for n in total.names if _holds_loss(step, events, total, n)]
            if losses:
                yield self.finding(
                    total.node,
                    f"`{total.target}` accumulates the loss tensor `{losses[0]}` with its autograd graph: every "
                    f"iteration's graph stays in memory; use `{losses[0]}.item()`",
                    total.guard,
                    fix=_item_of(total.node, losses[0]),
                )


def _item_of(statement: cst.CSTNode, loss: str) -> Optional[Fix]:
    """``total += loss`` -> ``total += loss.item()``, when the statement names the loss as the rule does
    (a helper's events carry the caller's names, which the helper's text may not use)."""
    if isinstance(statement, (cst.AugAssign, cst.Assign)):
        reads = [statement.value]
    elif isinstance(statement, cst.Call):
        reads = [arg.value for arg in statement.args]
    else:
        return None
    names = [node for read in reads for node in walk(read) if isinstance(node, cst.Name) and node.value == loss]
    if len(names) != 1:
        return None
    return Fix(SAFE, f"Use `{loss}.item()`", (Edit(names[0], f"{loss}.item()"),))


def _holds_loss(step: TrainingStep, events: List[Event], total: Event, name: str) -> bool:
    """``name`` holds a loss tensor with a graph where ``total`` reads it."""
    assigned = [e for e in before(step.events, total) if e.kind == ASSIGN and e.target == name]
    if assigned:
        callee = assigned[-1].names[0] if assigned[-1].names else ""
        if callee.rsplit(".", 1)[-1] in _DETACHING or not (_LOSS_CALLEE.search(callee) or _is_backed(events, name)):
            return False
        return True
    return _is_backed(events, name)


def _is_backed(events: List[Event], name: str) -> bool:
    # `y.backward(dy)` with an explicit gradient: `y` is an output, not a scalar loss.
    return any(e.kind == BACKWARD and e.target == name and not e.has_arguments for e in events)


class SamplerEpochNotSet(StepRule):
    code = "OL409"
    name = "sampler-epoch-not-set"
    kind = "silent"
    summary = "A shuffling `DistributedSampler` used across an epoch loop without `sampler.set_epoch(epoch)`."
    why = (
        "`DistributedSampler` seeds its shuffle with the epoch number it was given: without `set_epoch` every "
        "epoch iterates the data in exactly the same order."
    )
    example = "sampler = DistributedSampler(dataset)\nfor epoch in range(epochs):\n    for batch in loader: ..."
    use_instead = "sampler = DistributedSampler(dataset)\nfor epoch in range(epochs):\n    sampler.set_epoch(epoch)\n    for batch in loader: ..."

    def check(self, step, ctx):
        objects = training_objects(ctx)
        if objects.anything_calls("set_epoch"):
            return
        samplers = {o.key for o in objects.of_kind(SAMPLER) if o.enabled is True}
        built = next((e for e in step.events if e.kind == ASSIGN and e.target in samplers), None)
        if built is None:
            # Built elsewhere (a trainer's __init__, a data-loader factory, inline in `DataLoader(...)`): the
            # file's training epoch loops written in this root iterate it, unless this root builds its own.
            every_sampler = {o.key for o in objects.of_kind(SAMPLER)}
            if any(e.kind == ASSIGN and e.target in every_sampler for e in step.events):
                return
            if not objects.shuffling_samplers_built():
                return
            for loop in self._epoch_loops(step):
                if loop.function is getattr(step, "root", None) and _trains(step, loop):
                    yield self.finding(
                        loop.node,
                        "this file builds a shuffling DistributedSampler that is never told the epoch: every epoch of "
                        "this loop sees the same order; call `sampler.set_epoch(epoch)` at the start of each epoch",
                    )
            return
        for loop in self._epoch_loops(step):
            if step.events.index(step.inside(loop)[0]) > step.events.index(built):
                yield self.finding(
                    loop.node,
                    f"`{built.target}` (a shuffling DistributedSampler) is never told the epoch: every epoch of this "
                    f"loop sees the same order; call `{built.target}.set_epoch(epoch)` at the start of each epoch",
                )

    @staticmethod
    def _epoch_loops(step: TrainingStep) -> List[Loop]:
        """The outermost epoch loops (an epoch loop nested in another is not the one that needs `set_epoch`)."""
        return [loop for loop in step.loops() if step.is_epoch_loop(loop)
                and not any(outer is not loop and step.is_epoch_loop(outer) for outer in _enclosing(step, loop))]


def _trains(step: TrainingStep, loop: Loop) -> bool:
    return any(e.kind in (BACKWARD,) + OPTIMIZER_STEPS for e in step.inside(loop))


def _enclosing(step: TrainingStep, loop: Loop) -> List[Loop]:
    first = step.inside(loop)[0]
    return list(first.loops[: first.loops.index(loop)])


class ForwardCalledDirectly(StepRule):
    code = "OL410"
    name = "forward-called-directly"
    kind = "silent"
    default = "preview"
    summary = "`model.forward(x)` on an `nn.Module` from outside its own class."
    why = "Calling `forward` directly bypasses `nn.Module.__call__`: forward and backward hooks (and anything built on them, such as some pruning, quantization and profiling tools) are silently skipped."
    example = "logits = model.forward(images)"
    use_instead = "logits = model(images)"

    def check(self, step, ctx):
        for call in step.of_kind(FORWARD_METHOD):
            if call.object_kind == MODEL:
                yield self.finding(
                    call.node,
                    f"{said(ctx, call)} calls `forward` directly: the module's hooks are skipped; call "
                    f"`{call.target}(...)` instead",
                    call.guard,
                )


LOOP_RULES = [
    ZeroGradAfterBackward(),
    SchedulerBeforeOptimizer(),
    MissingZeroGrad(),
    StepBeforeBackward(),
    EvalWithoutEvalMode(),
    TrainModeNotRestored(),
    EvalWithoutNoGrad(),
    LossAccumulatedWithGraph(),
    SamplerEpochNotSet(),
    ForwardCalledDirectly(),
]

FAMILY = Family(
    "loop",
    ("backward", "zero_grad", ".step(", ".eval(", "no_grad", "inference_mode", "DistributedSampler", ".forward("),
    frozenset(),
    tuple(LOOP_RULES),
    run_step_rules,
)
