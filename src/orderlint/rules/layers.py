"""OL2xx: layer stacks. Each rule is a predicate over one application of a
layer to the tensor it receives, or over what reaches a loss (see
``orderlint.extract.layers`` and ``orderlint.extract.losses``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from orderlint.catalogue.layers import BATCHNORM, CONV, DROPOUT, LOG_SOFTMAX, LOGITS, SIGMOID, SOFTMAX, SPATIAL_INPUT_FORBIDDEN
from orderlint.edits import UNSAFE, Fix, set_keyword
from orderlint.extract.layers import Application, LayerUse, label, stacks_of
from orderlint.extract.losses import LossInput, loss_inputs
from orderlint.rules.base import Family, Finding, Rule


class StackRule(Rule):
    def check(self, application: Application, ctx) -> Iterator[Finding]:
        raise NotImplementedError


class LossRule(Rule):
    def check(self, received: LossInput, ctx) -> Iterator[Finding]:
        raise NotImplementedError


def _raises(error: str) -> str:
    return f"raises `{error}`" if error else "computes a wrong result"


def _batchnorm_after(application: Application, role: str) -> Optional[LayerUse]:
    """The layer of ``role`` that feeds a BatchNorm directly (the BatchNorm itself being fine)."""
    if not application.use.has(BATCHNORM) or application.problem is not None:
        return None
    previous = application.before.previous
    return previous if previous is not None and previous.has(role) else None


def _from(ctx, application: Application) -> str:
    source = application.before.shaped_by
    return f" from `{label(ctx, source)}`" if source is not None else ""


class ConvBiasBeforeBatchnorm(StackRule):
    code = "OL201"
    name = "conv-bias-before-batchnorm"
    kind = "perf"
    fix = "unsafe"
    summary = "A convolution with a bias (the default) directly followed by a BatchNorm."
    why = (
        "BatchNorm subtracts the per-channel mean of its input, so a per-channel bias added just before it cancels "
        "out: it is a parameter that is trained, stored and never has any effect (PyTorch performance tuning guide). "
        "Passing `bias=False` removes the `*.bias` entries from the state_dict, so checkpoints saved before the "
        "change need `strict=False` to load."
    )
    example = "nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())"
    use_instead = "nn.Sequential(nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU())"

    def check(self, application, ctx):
        conv = _batchnorm_after(application, CONV)
        # A conv that some configuration does not follow with the BatchNorm uses its bias there.
        if conv is None or not application.always or conv.layer.argument(conv.args, "bias") is not True:
            return
        how = "" if "bias" in conv.args else " (the default)"
        yield self.finding(
            conv.node,
            f"`{label(ctx, conv)}` has a bias{how} and is directly followed by `{label(ctx, application.use)}`, which "
            "subtracts the per-channel mean: the bias is dead weight; pass `bias=False` (this removes the `bias` "
            "entries from the state_dict keys, so old checkpoints need `strict=False`)",
            conv.guard, application.use.guard,
            fix=Fix(UNSAFE, "Pass `bias=False` (changes the state_dict keys)", (set_keyword(ctx.code, conv.node, "bias", "False"),)),
        )


class DropoutBeforeBatchnorm(StackRule):
    code = "OL202"
    name = "dropout-before-batchnorm"
    kind = "silent"
    summary = "`Dropout` directly before a `BatchNorm`."
    why = (
        "In training, BatchNorm estimates its running variance on dropped-out activations (scaled by 1/(1-p)); in "
        "evaluation dropout is off and the variance of its input is smaller, so the statistics BatchNorm applies no "
        "longer match the data: a variance shift that degrades the evaluated model (Li et al., \"Understanding the "
        "Disharmony between Dropout and Batch Normalization\", CVPR 2019)."
    )
    example = "nn.Sequential(nn.Linear(256, 128), nn.Dropout(0.5), nn.BatchNorm1d(128), nn.ReLU())"
    use_instead = "nn.Sequential(nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5))"

    def check(self, application, ctx):
        dropout = _batchnorm_after(application, DROPOUT)
        if dropout is None or dropout.args.get("p", 0.5) == 0 or dropout.args.get("training", True) is False:
            return
        yield self.finding(
            dropout.node,
            f"`{label(ctx, dropout)}` directly feeds `{label(ctx, application.use)}`: its running variance is "
            "estimated on dropped-out activations in training and applied to full ones in eval (variance shift); "
            "move the dropout after the BatchNorm",
            dropout.guard, application.use.guard,
        )


class FeatureCountMismatch(StackRule):
    code = "OL203"
    name = "feature-count-mismatch"
    kind = "crash"
    summary = "Consecutive layers whose literal channel or feature counts disagree."
    why = (
        "Each layer's constructor fixes how many channels (`in_channels`, `num_features`, `num_channels`) or features "
        "(`in_features`, `normalized_shape`) it accepts. When the previous layer produces another count, the first "
        "forward pass raises, often deep into a job on a GPU node."
    )
    example = "nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32), nn.ReLU())"
    use_instead = "nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU())"

    def check(self, application, ctx):
        problem = application.problem
        if problem is None or problem.kind != "count":
            return
        dim = application.use.layer.checks
        yield self.finding(
            application.use.node,
            f"`{label(ctx, application.use)}` expects {problem.expected} {dim} but receives {problem.got}"
            f"{_from(ctx, application)}: it {_raises(problem.error)}",
            application.use.guard,
        )


class RankMismatch(StackRule):
    code = "OL204"
    name = "rank-mismatch"
    kind = "crash / silent"
    summary = "A layer fed a tensor of the wrong rank."
    why = (
        "`BatchNorm1d` after a `Conv2d`, a `Conv2d` or `BatchNorm2d` after a `Linear` or `Flatten`: the layer "
        "receives a tensor with a number of dimensions it does not accept and raises. A `Linear` straight after a "
        "convolution or pooling stack, with no `Flatten`, multiplies the last spatial dimension instead of the "
        "features: it raises, or, when that size happens to equal `in_features`, silently computes nonsense."
    )
    example = "nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10))"
    use_instead = "nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))"

    def check(self, application, ctx):
        problem = application.problem
        if problem is None or problem.kind != "rank":
            return
        accepted = " or ".join(f"{r}D" for r in sorted(problem.expected))
        if SPATIAL_INPUT_FORBIDDEN in application.use.layer.roles:
            what = f"the {problem.got}D feature map{_from(ctx, application)} with no `Flatten` before it"
            effect = "it multiplies the last spatial dimension instead of the features: it " + (
                f"{_raises(problem.error)}, or silently computes nonsense when that size equals `in_features`"
                if problem.error else "silently computes nonsense")
        else:
            what = f"a {problem.got}D tensor{_from(ctx, application)} (it accepts {accepted})"
            effect = f"it {_raises(problem.error)}"
        yield self.finding(application.use.node, f"`{label(ctx, application.use)}` receives {what}: {effect}",
                           application.use.guard)


def _loss_label(ctx, received: LossInput) -> str:
    return ctx.label_call(received.node)


class SoftmaxBeforeCrossEntropy(LossRule):
    code = "OL205"
    name = "softmax-before-cross-entropy"
    kind = "silent"
    summary = "Softmax output fed to `CrossEntropyLoss`/`F.cross_entropy` (double softmax) or to `NLLLoss`."
    why = (
        "`CrossEntropyLoss` applies log-softmax itself: given probabilities it computes the softmax of a softmax, "
        "whose outputs are squeezed into [1/C, e/(e+C-1)], so the loss can never approach 0 and its gradients "
        "shrink; training stalls or converges slowly. `NLLLoss` expects log-probabilities, not probabilities. "
        "`LogSoftmax` + `CrossEntropyLoss` is numerically equivalent to logits and is not flagged."
    )
    example = "model = nn.Sequential(nn.Linear(784, 10), nn.Softmax(dim=1))\nloss = nn.CrossEntropyLoss()(model(x), y)"
    use_instead = "model = nn.Sequential(nn.Linear(784, 10))\nloss = nn.CrossEntropyLoss()(model(x), y)"

    def check(self, received, ctx):
        if received.reached.kind != SOFTMAX or received.loss.expects not in (LOGITS, LOG_SOFTMAX):
            return
        if received.loss.expects == LOGITS:
            effect = "which applies log-softmax itself: a double softmax, the loss cannot approach 0 and gradients shrink"
        else:
            effect = "which expects log-probabilities, not probabilities"
        yield self.finding(
            received.reached.source,
            f"`{ctx.code(_callee(received.reached.source))}` output reaches `{_loss_label(ctx, received)}`, {effect}; "
            "remove the softmax and feed the logits" + (" (or use LogSoftmax)" if received.loss.expects == LOG_SOFTMAX else ""),
        )


class SigmoidBeforeBceWithLogits(LossRule):
    code = "OL206"
    name = "sigmoid-before-bce-with-logits"
    kind = "silent"
    summary = "`Sigmoid` output fed to `BCEWithLogitsLoss` (double sigmoid)."
    why = (
        "`BCEWithLogitsLoss` applies the sigmoid itself. Given probabilities, it squeezes them again into "
        "[0.5, 0.731]: the loss of a perfect prediction is log(1+e^-1) = 0.313 instead of 0, and gradients shrink."
    )
    example = "model = nn.Sequential(nn.Linear(128, 1), nn.Sigmoid())\nloss = nn.BCEWithLogitsLoss()(model(x), y)"
    use_instead = "model = nn.Sequential(nn.Linear(128, 1))\nloss = nn.BCEWithLogitsLoss()(model(x), y)"

    def check(self, received, ctx):
        if received.reached.kind != SIGMOID or received.loss.name != "BCEWithLogitsLoss":
            return
        yield self.finding(
            received.reached.source,
            f"`{ctx.code(_callee(received.reached.source))}` output reaches `{_loss_label(ctx, received)}`, which applies "
            "the sigmoid itself: a double sigmoid, the loss cannot go below 0.313; remove the sigmoid",
        )


class LogitsIntoNllLoss(LossRule):
    code = "OL207"
    name = "logits-into-nll-loss"
    kind = "silent"
    summary = "Raw logits (no `LogSoftmax`) fed to `NLLLoss`/`F.nll_loss`, which expects log-probabilities."
    why = (
        "`NLLLoss` only picks `-input[target]`: on logits it is not a likelihood at all, it is unbounded below and "
        "does not depend on the other classes, so the model is not trained to classify (e.g. 0.374 instead of the "
        "true cross-entropy 3.332)."
    )
    example = "model = nn.Sequential(nn.Linear(784, 10))\nloss = F.nll_loss(model(x), y)"
    use_instead = "model = nn.Sequential(nn.Linear(784, 10))\nloss = F.cross_entropy(model(x), y)"

    def check(self, received, ctx):
        if received.reached.kind != LOGITS or received.loss.expects != LOG_SOFTMAX:
            return
        yield self.finding(
            received.node,
            f"`{_loss_label(ctx, received)}` receives raw logits from `{ctx.code(_callee(received.reached.source))}`: it "
            "expects log-probabilities, so the loss is not the negative log-likelihood; use `CrossEntropyLoss` "
            "(or add `LogSoftmax`)",
        )


def _callee(node):
    return getattr(node, "func", node)


LAYER_RULES = [
    ConvBiasBeforeBatchnorm(),
    DropoutBeforeBatchnorm(),
    FeatureCountMismatch(),
    RankMismatch(),
    SoftmaxBeforeCrossEntropy(),
    SigmoidBeforeBceWithLogits(),
    LogitsIntoNllLoss(),
]


def run(ctx, rules) -> Iterator[tuple]:
    stack_rules = [r for r in rules if isinstance(r, StackRule)]
    loss_rules = [r for r in rules if isinstance(r, LossRule)]
    if stack_rules:
        for stack in stacks_of(ctx):
            for walk in stack.walks:
                for application in walk:
                    for rule in stack_rules:
                        for finding in rule.check(application, ctx):
                            yield rule, finding
    if loss_rules:
        for received in loss_inputs(ctx):
            for rule in loss_rules:
                for finding in rule.check(received, ctx):
                    yield rule, finding


_LOSS_NAMES = frozenset({"CrossEntropyLoss", "NLLLoss", "NLLLoss2d", "BCEWithLogitsLoss", "BCELoss", "cross_entropy",
                         "nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy"})
# A finding needs a loss (OL205-OL207), or a layer stack (a Sequential, or a module's forward) holding a layer
# that can be misplaced or misfed (OL201-OL204); either needs torch imported. Every such name is written in
# the file, whatever the import spelling.
_LOSS_GATE = ("CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "cross_entropy", "nll_loss",
              "binary_cross_entropy")
_LAYER_GATE = ("Conv", "Norm", "Linear", "Pool", "pool", "Dropout", "dropout", "Softmax", "PReLU", "Shuffle",
               "Upsampl", "Flatten")
_STACK_GATE = ("Sequential", "forward")


@dataclass(frozen=True)
class _LayerFamily(Family):
    """Parses a file only when it can hold a finding; ``triggers`` (wider) choose the statements kept: a
    module's ``forward``, and the functions that call a criterion (``criterion(out, y)``, ``adversarial_loss(...)``)."""

    def triggered_by(self, source: str) -> bool:
        if "torch" not in source:
            return False
        if any(name in source for name in _LOSS_GATE):
            return True
        return any(name in source for name in _STACK_GATE) and any(name in source for name in _LAYER_GATE)


FAMILY = _LayerFamily(
    "layers",
    ("Sequential", "def forward(", "Loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "criterion",
     "loss(", "loss_fn"),
    frozenset({"Sequential"}) | _LOSS_NAMES, tuple(LAYER_RULES), run,
)
