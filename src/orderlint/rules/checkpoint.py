"""OL5xx: checkpoints that resume exactly, load under torch >= 2.6, and stay safe.
Predicates over what each save holds and where each resume leads (see
``orderlint.extract.checkpoints``)."""

from __future__ import annotations

import re
from typing import Iterator, List

import libcst as cst

from orderlint.edits import SAFE, Edit, Fix
from orderlint.extract.checkpoints import (
    CALL_NAMES, COUNTER_NAME, NAMESPACE, NUMPY_RNG, Checkpoints, Entry, Reach, checkpoints,
)
from orderlint.extract.index import dotted_name, last_name
from orderlint.extract.objects import OPTIMIZER, SCALER, SCHEDULER
from orderlint.rules.base import Family, Finding, Rule

SAFE_LOADING_TORCH = (2, 6)  # torch.load defaults to weights_only=True from 2.6 on
# A hidden value with such a name could be the state a checkpoint seems to lack.
STATE_NAME = re.compile(r"state|optim|sched|scaler", re.IGNORECASE)
# What a resume needs, in the order a message lists it.
RESUME_STATE = ((OPTIMIZER, "optimizer state"), (SCHEDULER, "scheduler state"), (SCALER, "scaler state"))


class CheckpointRule(Rule):
    def check(self, ctx, found: Checkpoints) -> Iterator[Finding]:
        raise NotImplementedError


def _listed(items: List[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _is_state_call(call: cst.Call) -> bool:
    return "state_dict" in (last_name(call.func) or "")


class IncompleteCheckpoint(CheckpointRule):
    code = "OL501"
    name = "incomplete-checkpoint"
    kind = "silent"
    summary = "A training checkpoint that lacks what a resume needs: optimizer, scheduler or scaler state, or the epoch."
    why = (
        "A resumed run rebuilds every object from the checkpoint. Without the optimizer state, momentum and Adam's "
        "moments restart from zero; without the scheduler or GradScaler state, the learning rate and the loss scale "
        "restart; without the epoch, the epoch numbers, and everything keyed to them, start over. The run continues "
        "without an error, but its results differ from an uninterrupted one."
    )
    example = (
        'for epoch in range(start_epoch, args.epochs):\n    train_one_epoch(model, optimizer, scaler, loader)\n'
        '    torch.save({"model": model.state_dict()}, "last.pt")'
    )
    use_instead = (
        'for epoch in range(start_epoch, args.epochs):\n    train_one_epoch(model, optimizer, scaler, loader)\n'
        '    torch.save({\n        "model": model.state_dict(),\n        "optimizer": optimizer.state_dict(),\n'
        '        "scaler": scaler.state_dict(),\n        "epoch": epoch,\n        "best_acc": best_acc,\n'
        '        "args": vars(args),\n    }, "last.pt")'
    )

    def check(self, ctx, found):
        for save in found.saves:
            content = found.content(save)
            if content is None or content.open:
                continue
            reaches = [(entry, found.reach(entry.value, entry.scope)) for entry in content.entries]
            if not any(self._model_state(found, reach) for _, reach in reaches):
                continue
            if any(self._hides_state(found, entry, reach) for entry, reach in reaches):
                continue
            if not found.training_code(save.scope):
                continue
            held = {found.kind(key) for _, reach in reaches for key in reach.keys}
            owned = found.owned(save.scope)
            missing = [label for kind, label in RESUME_STATE if owned.get(kind) and kind not in held]
            add = [f"`{key}.state_dict()`" for kind, _ in RESUME_STATE if kind not in held for key in owned.get(kind, ())]
            loop = found.training_loop_of(save)
            if loop is not None and not any(self._counts(reach) for _, reach in reaches):
                counter = "epoch" if id(loop.node) in found.epoch_loops else "step counter"
                missing.append(counter)
                add.append(f"the {counter}")
            if missing:
                yield self.finding(
                    save.node,
                    f"checkpoint without {_listed(missing)}: a run resumed from it cannot restore "
                    f"{'them' if len(missing) > 1 else 'it'}, and its results differ from an uninterrupted run; "
                    f"save {_listed(add)} too",
                )

    @staticmethod
    def _model_state(found: Checkpoints, reach: Reach) -> bool:
        return any(_is_state_call(call) for call in reach.calls) and any(found.is_model(key) for key in reach.keys)

    @staticmethod
    def _hides_state(found: Checkpoints, entry: Entry, reach: Reach) -> bool:
        """A value that could be the missing state: a state_dict of something unknown and unfollowed, or a
        name bound out of sight that says it holds state."""
        for call in reach.calls:
            receiver = call.func.value if isinstance(call.func, cst.Attribute) and _is_state_call(call) else None
            if receiver is not None and found.kind(dotted_name(receiver) or "") is None:
                if found.reach(receiver, entry.scope).hidden:
                    return True
        return any(STATE_NAME.search(key.rsplit(".", 1)[-1]) for key in reach.hidden)

    @staticmethod
    def _counts(reach: Reach) -> bool:
        return bool(reach.counters) or any(COUNTER_NAME.search(key.rsplit(".", 1)[-1]) for key in reach.keys)


class WholeModelPickle(CheckpointRule):
    code = "OL502"
    name = "whole-model-pickle"
    kind = "crash"
    summary = "`torch.save(model)` of an `nn.Module` instead of its `state_dict()`."
    why = (
        "Pickling a module stores a reference to its class, not just its weights. torch >= 2.6's default "
        "`torch.load` refuses it (`UnpicklingError: Weights only load failed ... Unsupported global`), and even "
        "with `weights_only=False` the file breaks as soon as the class is renamed or moved."
    )
    example = 'torch.save(model, "model.pt")'
    use_instead = 'torch.save(model.state_dict(), "model.pt")'

    def check(self, ctx, found):
        for save in found.saves:
            content = found.content(save)
            # A model passed to a helper is fixed in the helper's torch.save; one in a dict, where the dict is written.
            values, where = ([entry.value for entry in content.entries], save.node) if content else ([save.payload], save.origin)
            for value in values:
                if found.is_model(dotted_name(value)):
                    yield self.finding(
                        where,
                        f"`{ctx.code(value)}` is an `nn.Module` saved whole: torch >= 2.6's default `torch.load` "
                        f"refuses it (`Weights only load failed`); save `{ctx.code(value)}.state_dict()` instead",
                    )
                    break


class UnsafeTorchLoad(CheckpointRule):
    code = "OL503"
    name = "unsafe-torch-load"
    kind = "safety"
    summary = "`torch.load(..., weights_only=False)`: unpickling runs arbitrary code."
    why = (
        "`torch.load` unpickles. With `weights_only=False` a crafted checkpoint executes any code it wants when it "
        "is loaded. `weights_only=True` (the default from torch 2.6) loads tensors, containers and primitive types "
        "only; other types can be allowed one by one with `torch.serialization.add_safe_globals`. With "
        '`torch-version` below "2.6" in the configuration, a `torch.load` without `weights_only` is reported too.'
    )
    example = 'checkpoint = torch.load("last.pt", weights_only=False)'
    use_instead = 'checkpoint = torch.load("last.pt", weights_only=True)'

    def check(self, ctx, found):
        oldest = ctx.settings.torch_version
        for site in found.loads:
            given = next((a.value for a in site.node.args if a.keyword is not None and a.keyword.value == "weights_only"), None)
            if given is not None and ctx.evaluate(given) is False:
                yield self.finding(
                    site.node,
                    "`weights_only=False` lets `torch.load` unpickle arbitrary objects: a crafted checkpoint runs code "
                    "when loaded; load with `weights_only=True` (allow extra types with "
                    "`torch.serialization.add_safe_globals`)",
                )
            elif given is None and oldest is not None and oldest < SAFE_LOADING_TORCH:
                yield self.finding(
                    site.node,
                    f"`torch.load` without `weights_only=True`: before torch 2.6 (this project supports "
                    f"{'.'.join(map(str, oldest))}) it unpickles arbitrary objects by default; pass `weights_only=True`",
                )


class ResumeRestartsEpoch(CheckpointRule):
    code = "OL504"
    name = "resume-restarts-epoch"
    kind = "silent"
    summary = "A checkpoint is resumed but the epoch loop still starts from 0 (or another literal)."
    why = (
        "Restoring the optimizer, scheduler or scaler state resumes a run, but an epoch loop that starts from a "
        "literal numbers the resumed epochs from the start again: the schedule keyed to the epoch, the logs and the "
        "checkpoint names restart, and the run trains for more epochs than asked."
    )
    example = (
        'checkpoint = torch.load(args.resume, weights_only=True)\nmodel.load_state_dict(checkpoint["model"])\n'
        'optimizer.load_state_dict(checkpoint["optimizer"])\nfor epoch in range(args.epochs):\n'
        '    train_one_epoch(model, optimizer, loader)'
    )
    use_instead = (
        'checkpoint = torch.load(args.resume, weights_only=True)\nmodel.load_state_dict(checkpoint["model"])\n'
        'optimizer.load_state_dict(checkpoint["optimizer"])\nstart_epoch = checkpoint["epoch"] + 1\n'
        'for epoch in range(start_epoch, args.epochs):\n    train_one_epoch(model, optimizer, loader)'
    )

    def check(self, ctx, found):
        reported = set()
        for site in found.resumes():
            loop = found.resumed_loop(site)
            if loop is None or id(loop.node) in reported or not found.restarts_epochs(loop):
                continue
            reported.add(id(loop.node))
            yield self.finding(
                loop.node,
                f"`{ctx.code(site.node)}` resumes a checkpoint, but this loop starts from the beginning again: epoch "
                "numbers and epoch-keyed schedules restart; start from the saved epoch "
                '(`start_epoch = checkpoint["epoch"] + 1`)',
            )


class CheckpointUnloadableValue(CheckpointRule):
    code = "OL505"
    name = "checkpoint-unloadable-value"
    kind = "crash"
    fix = "safe"
    summary = "A checkpoint dict holding a value torch >= 2.6's default `torch.load` refuses."
    why = (
        "From torch 2.6 `torch.load` loads with `weights_only=True`: tensors, primitive types and containers of "
        "them. An `argparse.Namespace`, a NumPy array or scalar (`np.mean(...)` returns one), or NumPy's random "
        "state makes the whole checkpoint fail to load (`UnpicklingError: Weights only load failed`). "
        "`torch.get_rng_state()` and `random.getstate()` load fine."
    )
    example = 'torch.save({"model": model.state_dict(), "args": args, "best_acc": np.mean(accs)}, "last.pt")'
    use_instead = 'torch.save({"model": model.state_dict(), "args": vars(args), "best_acc": float(np.mean(accs))}, "last.pt")'

    def check(self, ctx, found):
        for save in found.saves:
            content = found.content(save)
            if content is None:
                continue
            for entry in content.entries:
                for value in _leaves(entry.value):
                    refused = found.refused(value, entry.scope)
                    if refused is not None:
                        code = ctx.code(value)
                        fix = None
                        if refused == NAMESPACE and dotted_name(value) is not None:
                            fix = Fix(SAFE, f"Save `vars({code})`", (Edit(value, f"vars({code})"),))
                        yield self.finding(value, self._message(code, refused), fix=fix)

    @staticmethod
    def _message(code: str, refused: str) -> str:
        if refused == NAMESPACE:
            what, instead = "an `argparse.Namespace`", f"`vars({code if len(code) < 30 else '...'})`"
        elif refused == NUMPY_RNG:
            what, instead = "NumPy random state (it holds an ndarray)", "`torch.get_rng_state()` / `random.getstate()`"
        else:
            what, instead = "a NumPy value", "`float(...)`, `.tolist()` or a tensor"
        return (f"`{code}` is {what}: torch >= 2.6's default `torch.load` refuses the whole checkpoint "
                f"(`Weights only load failed`); save {instead} instead")


def _leaves(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The values inside literal containers (``{"cfg": {"args": args}}``, ``[a, b]``)."""
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                yield from _leaves(element.value)
    elif isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        for element in node.elements:
            yield from _leaves(element.value)
    else:
        yield node


def run(ctx, rules) -> Iterator[tuple]:
    found = checkpoints(ctx)
    for rule in rules:
        for finding in rule.check(ctx, found):
            yield rule, finding


CHECKPOINT_RULES = [IncompleteCheckpoint(), WholeModelPickle(), UnsafeTorchLoad(), ResumeRestartsEpoch(),
                    CheckpointUnloadableValue()]

FAMILY = Family(
    "checkpoint",
    ("save(", "load(", "load_state_dict", "state_dict", "weights_only", "parse_args"),
    CALL_NAMES,
    tuple(CHECKPOINT_RULES),
    run,
)
