"""OL1xx: transform pipelines. Each rule is a predicate over a walk of one
concrete ordering of a pipeline (see ``orderlint.interpret``)."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from orderlint.catalogue.state import FLOAT, NORMALIZED, RANGE_255, TENSOR, UINT8
from orderlint.catalogue.transforms import CONVERSION, CROP, NORMALIZE, PIXEL_OP, RANGE_SENSITIVE, RESIZE, TO_PIL, V1, V2, has_role
from orderlint.edits import SAFE, Edit, Fix, add_import, list_positions, module_alias, move_fix, set_keyword
from orderlint.extract.pipelines import Pipeline, Step, argument_uses, label, pipelines_of, transform_of
from orderlint.extract.purpose import condition_purpose, pipeline_purpose
from orderlint.extract.walk import walk
from orderlint.interpret import Interpreter, Walk, WalkStep, is_random, requested_size
from orderlint.rules.base import Family, Finding, Rule


class PipelineRule(Rule):
    def check(self, walk: Walk, pipeline: Pipeline, ctx) -> Iterator[Finding]:
        raise NotImplementedError


def _has(step: Step, role: str) -> bool:
    return step.transform is not None and has_role(step.transform, role, step.args)


def _last_before(walk: Walk, index: int, role: str) -> Optional[WalkStep]:
    for earlier in reversed(walk.steps[:index]):
        if _has(earlier.step, role):
            return earlier
    return None


def _error(text: str) -> str:
    return f"raises `{text}`" if text else "raises"


class TensorTransformBeforeToTensor(PipelineRule):
    code = "OL101"
    name = "tensor-transform-before-to-tensor"
    kind = "crash / silent"
    fix = "unsafe"
    summary = "A tensor-only transform placed before the conversion to a tensor that comes later in the pipeline."
    why = (
        "The step receives the PIL image, not a tensor. In v1, `Normalize`, `RandomErasing`, `ConvertImageDtype` and "
        "`LinearTransformation` raise on the first sample; in v2, `Normalize` and `LinearTransformation` raise, while "
        "`ToDtype` and `ConvertImageDtype` silently pass the PIL image through, so the data ends up uint8."
    )
    example = "T.Compose([T.Resize(256), T.Normalize(MEAN, STD), T.ToTensor()])"
    use_instead = "T.Compose([T.Resize(256), T.ToTensor(), T.Normalize(MEAN, STD)])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            if current.before.input_kind != "pil" or not current.outcome.fails:
                continue
            conversion = next((later for later in walk.later(index) if _has(later.step, CONVERSION)), None)
            if conversion is None:
                continue
            step, ns = current.step, current.step.transform.namespace
            if current.outcome.kind == "passthrough":
                effect = (f"{ns} passes the PIL image through untouched, so it does nothing and the data is still "
                          f"uint8 after `{label(ctx, conversion.step)}`")
            else:
                effect = f"on the PIL image it {_error(current.outcome.error)}"
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` runs before `{label(ctx, conversion.step)}`: {effect}; move it after the conversion",
                step.guard, conversion.step.guard,
                fix=_move(ctx, pipeline, step, conversion.step, after=True),
            )


class DoubleToTensor(PipelineRule):
    code = "OL102"
    name = "double-to-tensor"
    kind = "crash"
    summary = "A v1 `ToTensor`/`PILToTensor` applied to data that is already a tensor."
    why = "v1 conversions accept only PIL images and NumPy arrays: a tensor raises `TypeError: pic should be PIL Image or ndarray` on the first sample."
    example = "T.Compose([T.ToTensor(), T.RandomErasing(), T.ToTensor()])"
    use_instead = "T.Compose([T.ToTensor(), T.RandomErasing()])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if _has(step, CONVERSION) and current.before.container == TENSOR and current.outcome.kind == "crash":
                earlier = _last_before(walk, index, CONVERSION)
                source = f" (already converted by `{label(ctx, earlier.step)}`)" if earlier else ""
                yield self.finding(
                    step.node,
                    f"`{label(ctx, step)}` receives a tensor{source}: v1 {_error(current.outcome.error)}; remove the second conversion",
                    step.guard, earlier.step.guard if earlier else (),
                )


class AugmentAfterNormalize(PipelineRule):
    code = "OL103"
    name = "augment-after-normalize"
    kind = "silent / crash"
    fix = "unsafe"
    summary = "A value-range-dependent augmentation applied after `Normalize`."
    why = (
        "Colour augmentations assume values in [0, 1] (or 0-255). After `Normalize` the values are centred on 0: "
        "`ColorJitter`, sharpness and autocontrast clamp the result to [0, 1], zeroing every negative value even at "
        "identity strength, and the v1 uint8-only operations (posterize, equalize, the AutoAugment family) raise."
    )
    example = "T.Compose([T.ToTensor(), T.Normalize(MEAN, STD), T.ColorJitter(0.4, 0.4, 0.4)])"
    use_instead = "T.Compose([T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(), T.Normalize(MEAN, STD)])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if current.before.range != NORMALIZED or not _has(step, RANGE_SENSITIVE):
                continue
            normalize = _last_before(walk, index, NORMALIZE)
            if current.outcome.fails:
                effect = f"on the normalized float data v1 {_error(current.outcome.error)}"
                if current.outcome.kind == "intermittent":
                    effect += " for some of its random operations"
            else:
                effect = "it assumes values in [0, 1] and clamps the normalized data, zeroing every negative value"
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` runs after `{label(ctx, normalize.step) if normalize else 'Normalize'}`: "
                f"{effect}; move it before Normalize",
                step.guard, normalize.step.guard if normalize else (),
                fix=_move(ctx, pipeline, step, normalize.step, after=False) if normalize else None,
            )


class DoubleNormalize(PipelineRule):
    code = "OL104"
    name = "double-normalize"
    kind = "silent"
    summary = "`Normalize` applied twice in one pipeline."
    why = (
        "The second `Normalize` shifts and scales data that is already centred on 0, so the model sees a different "
        "distribution than the one its statistics describe. A `Normalize` that inverts an earlier one "
        "(`Normalize(-m/s, 1/s)`, the denormalize idiom) is not flagged."
    )
    example = "T.Compose([T.ToTensor(), T.Normalize(MEAN, STD), T.RandomErasing(), T.Normalize(MEAN, STD)])"
    use_instead = "T.Compose([T.ToTensor(), T.Normalize(MEAN, STD), T.RandomErasing()])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if not _has(step, NORMALIZE) or current.before.range != NORMALIZED or current.after.range != NORMALIZED:
                continue
            first = _last_before(walk, index, NORMALIZE)
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` normalizes data that `{label(ctx, first.step) if first else 'Normalize'}` already "
                "normalized: the model receives a doubly shifted and scaled input; remove one",
                step.guard, first.step.guard if first else (),
            )


class UnscaledFloatConversion(PipelineRule):
    code = "OL105"
    name = "unscaled-float-conversion"
    kind = "silent"
    fix = "safe"
    summary = "v2 `ToDtype(torch.float32)` without `scale=True` on uint8 image data."
    why = (
        "Without `scale=True`, `ToDtype` only casts: the values stay in 0..255. A following `Normalize` with ImageNet "
        "statistics produces values up to about 1136 instead of about 2.6, and a model trained on [0, 1] inputs sees "
        "inputs 255 times too large."
    )
    example = "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32), v2.Normalize(MEAN, STD)])"
    use_instead = "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if step.transform is None or step.transform.name != "ToDtype" or current.maybe:
                continue
            if not (current.before.dtype == UINT8 and current.after.dtype == FLOAT and current.after.range == RANGE_255):
                continue
            where = _where_unscaled_data_goes(walk, index, ctx)
            if where is None:
                continue
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` casts uint8 data to float without `scale=True`: values stay in 0..255 {where}; "
                "pass `scale=True`",
                step.guard,
                fix=Fix(SAFE, "Pass `scale=True`", (set_keyword(ctx.code, step.node, "scale", "True"),)),
            )


def _where_unscaled_data_goes(walk: Walk, index: int, ctx) -> Optional[str]:
    """Where float data still in 0..255 ends up: a Normalize, or the end of the pipeline; None if rescaled or unknowable."""
    for later in walk.later(index):
        if later.step.transform is None or later.before.range != RANGE_255:
            return None
        if _has(later.step, NORMALIZE):
            return f"into `{label(ctx, later.step)}`"
        if later.after.range != RANGE_255 or later.after.dtype != FLOAT:
            return None
    return "to the end of the pipeline"


class NormalizeUint8(PipelineRule):
    code = "OL106"
    name = "normalize-uint8"
    kind = "crash"
    summary = "`Normalize` reached by uint8 data."
    why = "`Normalize` needs a float tensor: after `PILToTensor` or v2 `ToImage` the data is still uint8 and it raises `TypeError: Input tensor should be a float tensor. Got torch.uint8.`"
    example = "v2.Compose([v2.ToImage(), v2.Normalize(MEAN, STD)])"
    use_instead = "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if _has(step, NORMALIZE) and current.before.input_kind == UINT8 and current.outcome.kind == "crash":
                source = _last_before(walk, index, CONVERSION)
                origin = f" (from `{label(ctx, source.step)}`)" if source else ""
                fix = "v2.ToDtype(torch.float32, scale=True)" if step.transform.namespace == V2 else "T.ConvertImageDtype(torch.float)"
                yield self.finding(
                    step.node,
                    f"`{label(ctx, step)}` receives uint8 data{origin}: it {_error(current.outcome.error)}; "
                    f"convert to float with `{fix}` first",
                    step.guard, source.step.guard if source else (),
                )


class DeprecatedV2ToTensor(Rule):
    code = "OL107"
    name = "deprecated-v2-to-tensor"
    kind = "deprecated"
    fix = "safe"
    summary = "`torchvision.transforms.v2.ToTensor()`, deprecated and due for removal."
    why = "v2 `ToTensor` warns that it is deprecated and will be removed; code that relies on it breaks on a future torchvision upgrade."
    example = "v2.Compose([v2.ToTensor(), v2.Normalize(MEAN, STD)])"
    use_instead = "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])"

    def check_calls(self, ctx) -> Iterator[Finding]:
        for site in ctx.index.calls.get("ToTensor", ()):
            transform = transform_of(ctx, site.node.func)
            if transform is not None and transform.deprecated:
                yield self.finding(site.node, f"`{ctx.label_call(site.node)}` is deprecated: {transform.deprecated}",
                                   fix=_replace_v2_to_tensor(ctx, site))


def _replace_v2_to_tensor(ctx, site) -> Fix:
    """``v2.ToTensor()`` -> ``v2.ToImage(), v2.ToDtype(torch.float32, scale=True)`` (inside a Compose list),
    else ``v2.Compose([...])`` of the two; adds the imports the new names need."""
    edits = []
    torch_name = module_alias(ctx.index, "torch")
    if torch_name is None:
        torch_name = "torch"
        edits.append(add_import(ctx, "import torch"))
    func = site.node.func
    if isinstance(func, cst.Attribute):
        prefix = f"{ctx.code(func.value)}."
    else:  # `from torchvision.transforms.v2 import ToTensor`: import the replacements by name too
        prefix = ""
        needed = [name for name in ("Compose", "ToDtype", "ToImage") if name not in ctx.index.imports]
        if needed:
            edits.append(add_import(ctx, f"from torchvision.transforms.v2 import {', '.join(needed)}"))
    steps = f"{prefix}ToImage(), {prefix}ToDtype({torch_name}.float32, scale=True)"
    in_list = isinstance(site.ancestors[-1], cst.Element) if site.ancestors else False
    edits.append(Edit(site.node, steps if in_list else f"{prefix}Compose([{steps}])"))
    return Fix(SAFE, "Replace with `ToImage()` and `ToDtype(torch.float32, scale=True)`", tuple(edits))


def _move(ctx, pipeline: Pipeline, step: Step, anchor: Step, after: bool) -> Optional[Fix]:
    if step.node is None or anchor.node is None:
        return None
    scope = pipeline.site.enclosing(cst.FunctionDef, cst.Module)
    positions = ctx.memo(("list-positions", id(scope)), lambda: list_positions(scope))
    where = "after" if after else "before"
    return move_fix(positions, ctx.code, step.node, anchor.node, after, f"Move `{label(ctx, step)}` {where} `{label(ctx, anchor)}`")


class RandomTransformInEvalPipeline(PipelineRule):
    code = "OL108"
    name = "random-transform-in-eval-pipeline"
    kind = "silent"
    summary = "A pipeline used for evaluation contains random augmentation."
    why = (
        "Validation and test metrics should measure the model, not the dice: a random crop, flip or colour jitter in "
        "the evaluation pipeline makes every evaluation different, and evaluates on distorted images the model will "
        "not see in deployment."
    )
    example = "val_transform = T.Compose([T.RandomResizedCrop(224), T.ToTensor()])"
    use_instead = "val_transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])"

    def check(self, walk, pipeline, ctx):
        purpose = ctx.memo(("purpose", id(pipeline.node)), lambda: pipeline_purpose(pipeline.site, ctx.code, argument_uses(ctx)))
        path_evidence = _eval_condition(walk)
        for current in walk.steps:
            step = current.step
            if not is_random(step) or current.maybe:  # a random container is reported, not its contents
                continue
            if any(condition_purpose(g) == "train" for g in step.guard):
                continue  # added only on the training path
            if purpose is not None and purpose.kind == "eval":
                evidence, guard = purpose.evidence, step.guard
            elif purpose is None and path_evidence is not None:
                evidence, guard = path_evidence, ()  # the evidence already names the condition
            else:
                continue
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` is random, but this pipeline is used for evaluation ({evidence}): "
                "results change from run to run; use a deterministic transform",
                guard,
            )


def _eval_condition(walk: Walk) -> Optional[str]:
    """A condition of this path that says it is the evaluation path (``not is_train``)."""
    for current in walk.steps:
        for guard in current.step.guard:
            if condition_purpose(guard) == "eval":
                return f"on the path where `{guard}`"
    return None


class CropLargerThanResize(PipelineRule):
    code = "OL109"
    name = "crop-larger-than-resize"
    kind = "crash / silent"
    summary = "After a `Resize` to a known size, a `RandomCrop`/`CenterCrop` larger than that size."
    why = (
        "`RandomCrop` raises `ValueError: Required crop size ... is larger than input image size`; `CenterCrop` "
        "silently pads the image with zeros, so the model sees black borders."
    )
    example = "T.Compose([T.Resize(32), T.RandomCrop(64)])"
    use_instead = "T.Compose([T.Resize(72), T.RandomCrop(64)])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step, size = current.step, current.before.size
            if not _has(step, CROP) or size is None or step.args.get("pad_if_needed", False) is not False:
                continue
            crop = requested_size(step)
            padding = step.args.get("padding", None)
            if crop is None or not (padding is None or isinstance(padding, int)):
                continue
            pad = 2 * (padding or 0)
            if size.height is not None and size.width is not None:
                too_big = crop[0] > size.height + pad or crop[1] > size.width + pad
            else:
                too_big = size.min_side is not None and min(crop) > size.min_side + pad
            if not too_big:
                continue
            resize = _last_before(walk, index, RESIZE)
            consequence = ("raises `ValueError: Required crop size is larger than input image size`"
                           if step.transform.name == "RandomCrop" else "silently pads the image with zeros")
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` crops {crop[0]}x{crop[1]} from an image resized to {size} by "
                f"`{label(ctx, resize.step) if resize else 'Resize'}`: it {consequence}",
                step.guard, resize.step.guard if resize else (),
            )


class NormalizeChannelMismatch(PipelineRule):
    code = "OL110"
    name = "normalize-channel-mismatch"
    kind = "crash (v1) / silent (v2)"
    summary = "`Normalize` whose mean/std lengths differ from each other or from the known channel count."
    why = (
        "In v1, normalizing in place a 1-channel image with 3-channel statistics raises `RuntimeError: output with "
        "shape [1, H, W] doesn't match the broadcast shape [3, H, W]`; v2 silently broadcasts the image to 3 channels, "
        "so the model gets an input with a different shape than intended."
    )
    example = "T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])"
    use_instead = "T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize([0.449], [0.226])])"

    def check(self, walk, pipeline, ctx):
        for current in walk.steps:
            step = current.step
            if not _has(step, NORMALIZE):
                continue
            mean, std = step.args.get("mean"), step.args.get("std")
            lengths = {name: len(v) for name, v in (("mean", mean), ("std", std)) if isinstance(v, (list, tuple))}
            channels = current.before.channels
            problem = None
            if len(lengths) == 2 and lengths["mean"] != lengths["std"] and 1 not in lengths.values():
                problem = f"mean has {lengths['mean']} values and std has {lengths['std']}"
            elif channels is not None:
                wrong = {name: n for name, n in lengths.items() if n not in (1, channels)}
                if wrong:
                    name, n = next(iter(wrong.items()))
                    problem = f"{name} has {n} values for {channels}-channel data"
            if problem is None:
                continue
            consequence = ("raises `RuntimeError: output with shape ... doesn't match the broadcast shape`"
                           if step.transform.namespace == V1 else "silently broadcasts the image to the statistics' channel count")
            yield self.finding(step.node, f"`{label(ctx, step)}`: {problem}; {step.transform.namespace} {consequence}", step.guard)


class PixelOpBeforeResize(PipelineRule):
    code = "OL111"
    name = "pixel-op-before-resize"
    kind = "silent"
    default = "preview"
    summary = "An operation whose parameters are in pixels placed before a `Resize`."
    why = (
        "Fixed-size crops, `Pad`, a `GaussianBlur` kernel or `ElasticTransform` measure their parameters in pixels of "
        "the image they receive. Before a `Resize` they act at the input resolution, which varies between datasets "
        "and images, not at the model's resolution."
    )
    example = "T.Compose([T.CenterCrop(148), T.Resize(64), T.ToTensor()])"
    use_instead = "T.Compose([T.Resize(64), T.CenterCrop(64), T.ToTensor()])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if not _has(step, PIXEL_OP):
                continue
            resize = next((s for s in walk.later(index) if _has(s.step, RESIZE)), None)
            if resize is not None and not _sizes_related(step, resize.step):
                yield self.finding(
                    step.node,
                    f"`{label(ctx, step)}` runs before `{label(ctx, resize.step)}`: its pixel parameters apply at the "
                    "input resolution, not the resized one",
                    step.guard, resize.step.guard,
                )


def _sizes_related(pixel_op: Step, resize: Step) -> bool:
    """``CenterCrop(crop)`` then ``Resize(crop // factor)``: the author sized both together, in input pixels."""
    resize_size = resize.arg_nodes.get("size")
    if resize_size is None:
        return False
    op_names = set().union(*(_names(node) for node in pixel_op.arg_nodes.values()))
    return bool(op_names & _names(resize_size))


def _names(node: cst.CSTNode) -> set:
    return {name.value for name in walk(node) if isinstance(name, cst.Name)}


class ToPilAfterNormalize(PipelineRule):
    code = "OL112"
    name = "to-pil-after-normalize"
    kind = "silent"
    summary = "`ToPILImage` applied to normalized data."
    why = "`ToPILImage` multiplies by 255 and casts to uint8: normalized values (negative, or above 1) wrap around or clip, and the image is garbage."
    example = "T.Compose([T.ToTensor(), T.Normalize(MEAN, STD), T.ToPILImage()])"
    use_instead = "T.Compose([T.ToTensor(), T.ToPILImage()])  # or denormalize first"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if _has(step, TO_PIL) and current.before.range == NORMALIZED:
                normalize = _last_before(walk, index, NORMALIZE)
                yield self.finding(
                    step.node,
                    f"`{label(ctx, step)}` converts normalized data to uint8: negative and above-1 values wrap or clip; "
                    "denormalize first or convert before Normalize",
                    step.guard, normalize.step.guard if normalize else (),
                )


class Uint8AugmentOnFloat(PipelineRule):
    code = "OL113"
    name = "uint8-augment-on-float"
    kind = "crash"
    fix = "unsafe"
    summary = "A v1 uint8-only augmentation applied to float tensors."
    why = (
        "v1 `AutoAugment`, `RandAugment`, `TrivialAugmentWide`, `AugMix`, `RandomPosterize` and `RandomEqualize` "
        "support only uint8 tensors (and `RandomSolarize` thresholds above 1 only make sense for 0-255 data). On "
        "float tensors they raise, often intermittently, depending on which random operation is drawn: a crash that "
        "can take hours to appear."
    )
    example = "T.Compose([T.ToTensor(), T.AutoAugment()])"
    use_instead = "T.Compose([T.AutoAugment(), T.ToTensor()])"

    def check(self, walk, pipeline, ctx):
        for index, current in enumerate(walk.steps):
            step = current.step
            if current.before.input_kind != FLOAT or current.before.range == NORMALIZED or not current.outcome.fails:
                continue
            if not _has(step, RANGE_SENSITIVE):
                continue
            source = _last_before(walk, index, CONVERSION)
            origin = f" (produced by `{label(ctx, source.step)}`)" if source else ""
            how = "intermittently, depending on the operation drawn, " if current.outcome.kind == "intermittent" else ""
            yield self.finding(
                step.node,
                f"`{label(ctx, step)}` receives float tensors{origin}: v1 {how}{_error(current.outcome.error)}; "
                "move it before the conversion",
                step.guard, source.step.guard if source else (),
                fix=_move(ctx, pipeline, step, source.step, after=False) if source else None,
            )


TRANSFORM_RULES = [
    TensorTransformBeforeToTensor(),
    DoubleToTensor(),
    AugmentAfterNormalize(),
    DoubleNormalize(),
    UnscaledFloatConversion(),
    NormalizeUint8(),
    DeprecatedV2ToTensor(),
    RandomTransformInEvalPipeline(),
    CropLargerThanResize(),
    NormalizeChannelMismatch(),
    PixelOpBeforeResize(),
    ToPilAfterNormalize(),
    Uint8AugmentOnFloat(),
]


def run(ctx, rules) -> Iterator[tuple]:
    pipeline_rules = [r for r in rules if isinstance(r, PipelineRule)]
    if pipeline_rules:
        interpreter = Interpreter(ctx.code)
        for pipeline in pipelines_of(ctx):
            for path in pipeline.paths:
                walk = interpreter.walk(path, pipeline.input_channels)
                for rule in pipeline_rules:
                    for finding in rule.check(walk, pipeline, ctx):
                        yield rule, finding
    for rule in rules:
        if isinstance(rule, DeprecatedV2ToTensor):
            for finding in rule.check_calls(ctx):
                yield rule, finding


# Names resolve only through this file's imports, so a pipeline needs "torchvision" in the text.
FAMILY = Family(
    "transforms", ("Compose", "ToTensor"), frozenset({"Compose", "ToTensor"}), tuple(TRANSFORM_RULES), run,
    requires=("torchvision",),
)
