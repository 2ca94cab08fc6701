"""Walking a pipeline through the catalogue: the abstract state before and
after every step, and what the step does with the input it receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from orderlint.catalogue import transforms as catalogue
from orderlint.catalogue.facts import OK, Outcome
from orderlint.catalogue.state import (
    FLOAT,
    NORMALIZED,
    PIL,
    PIL_INPUT,
    RANGE_01,
    RANGE_255,
    TENSOR,
    UINT8,
    UNKNOWN_STATE,
    ImageState,
    Size,
    join,
)
from orderlint.extract.pipelines import Step
from orderlint.extract.values import UNKNOWN, Dtype


@dataclass(frozen=True)
class WalkStep:
    step: Step
    before: ImageState
    after: ImageState
    outcome: Outcome
    # Inside RandomApply / RandomChoice / RandomOrder: runs only sometimes.
    maybe: bool = False


@dataclass(frozen=True)
class Walk:
    path: Tuple[Step, ...]
    steps: Tuple[WalkStep, ...]  # flattened, container contents included, in order

    def later(self, index: int) -> Tuple[WalkStep, ...]:
        return self.steps[index + 1 :]


def outcome_of(step: Step, state: ImageState) -> Outcome:
    kind = state.input_kind
    if step.transform is None or step.transform.opaque or kind is None:
        return OK
    outcome = step.transform.outcome(kind)
    if outcome.when is not None and outcome.when(step.args) is not True:
        return OK
    return outcome


def is_random(step: Step) -> bool:
    transform = step.transform
    if transform is None or not transform.random:
        return False
    if transform.random is not True and transform.random(step.args) is not True:
        return False
    return step.args.get("p", 0.5) != 0


# Effects: parametric state changes named by catalogue entries ---------------


def _size_pair(value) -> Optional[Tuple[int, int]]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], int):
        return value[0], value[0]
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    return None


def requested_size(step: Step) -> Optional[Tuple[int, int]]:
    """(height, width) a crop or resize asks for, when literal."""
    return _size_pair(step.args.get("size", UNKNOWN))


def _resize(step: Step, state: ImageState) -> ImageState:
    size = step.args.get("size", UNKNOWN)
    if isinstance(size, int) and not isinstance(size, bool) or (isinstance(size, (list, tuple)) and len(size) == 1):
        side = size if isinstance(size, int) else size[0]
        return state.with_(size=Size(min_side=side))
    pair = _size_pair(size)
    return state.with_(size=Size(*pair) if pair else None)


def _fixed_size(step: Step, state: ImageState) -> ImageState:
    pair = requested_size(step)
    return state.with_(size=Size(*pair) if pair else None)


def _to_float_tensor(step: Step, state: ImageState) -> ImageState:
    if state.container == TENSOR:
        return state  # v2 passes tensors through; v1 crashed (checked by the rules)
    return state.with_(container=TENSOR, dtype=FLOAT, range=RANGE_01 if state.container == PIL else None)


def _to_uint8_tensor(step: Step, state: ImageState) -> ImageState:
    if state.container == TENSOR:
        return state
    return state.with_(container=TENSOR, dtype=UINT8 if state.container == PIL else None,
                       range=RANGE_255 if state.container == PIL else None)


def _to_dtype(step: Step, state: ImageState, scale=None) -> ImageState:
    if state.container == PIL:
        return state  # v2 passes PIL images through untouched
    dtype = step.args.get("dtype", Dtype("float") if step.transform.name == "ConvertImageDtype" else UNKNOWN)
    if scale is None:
        scale = step.args.get("scale", False)
    if not isinstance(dtype, Dtype) or scale is UNKNOWN or state.dtype is None:
        return state.with_(dtype=None, range=None, normalized_by=None)
    target = FLOAT if dtype == "float" else (UINT8 if dtype == "uint8" else None)
    if target is None:
        return state.with_(dtype=None, range=None, normalized_by=None)
    if scale and state.range in (RANGE_01, RANGE_255):
        value_range = RANGE_01 if target == FLOAT else RANGE_255
    elif not scale and state.dtype != target:
        value_range = state.range  # values are cast, not rescaled
    else:
        value_range = state.range if state.dtype == target else None
    return state.with_(dtype=target, range=value_range)


def _convert_dtype(step: Step, state: ImageState) -> ImageState:
    return _to_dtype(step, state, scale=True)


def normalize_direction(step: Step, state: ImageState, code: Callable) -> Optional[str]:
    """'forward' (normalizes), 'inverse' (undoes an earlier Normalize), or None when unknowable.

    The denormalize idiom ``Normalize(-m/s, 1/s)`` has negative means and stds above 1; a Normalize
    with only one of the two is half of a two-step inverse (``Normalize(0, 1/s)``, ``Normalize(-m, 1)``).
    """
    mean, std = step.args.get("mean", UNKNOWN), step.args.get("std", UNKNOWN)
    known = _numbers(mean) and _numbers(std)
    negative_mean = known and any(m < 0 for m in mean)
    widening_std = known and any(s > 1 for s in std)
    if state.range != NORMALIZED:
        return None if negative_mean else "forward"
    if known:
        if negative_mean and widening_std:
            return "inverse"
        return None if negative_mean or widening_std else "forward"
    if state.normalized_by is not None and state.normalized_by == _normalize_signature(step, code):
        return "forward"
    return None


def _numbers(value) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value)


def _normalize_signature(step: Step, code: Callable) -> str:
    return f"{step.arg_source('mean', code)}|{step.arg_source('std', code)}"


def _normalize(step: Step, state: ImageState, code: Callable) -> ImageState:
    direction = normalize_direction(step, state, code)
    if direction == "forward":
        return state.with_(range=NORMALIZED, normalized_by=_normalize_signature(step, code))
    if direction == "inverse":
        return state.with_(range=RANGE_01, normalized_by=None)
    return state.with_(range=None, normalized_by=None)


def _to_pil(step: Step, state: ImageState) -> ImageState:
    return state.with_(container=PIL, dtype=UINT8, range=RANGE_255 if state.range != NORMALIZED else None,
                       normalized_by=None)


def _grayscale(step: Step, state: ImageState) -> ImageState:
    channels = step.args.get("num_output_channels", 1)
    return state.with_(channels=channels if isinstance(channels, int) else None)


_EFFECTS: Dict[str, Callable] = {
    "resize": _resize,
    "crop": _fixed_size,
    "square_or_pair_size": _fixed_size,
    "to_float_tensor": _to_float_tensor,
    "to_uint8_tensor": _to_uint8_tensor,
    "to_dtype": _to_dtype,
    "convert_dtype": _convert_dtype,
    "to_pil": _to_pil,
    "grayscale": _grayscale,
    "rgb": lambda step, state: state.with_(channels=3),
    "unknown_size": lambda step, state: state.with_(size=None),
    "unknown_values": lambda step, state: state.with_(range=None, normalized_by=None),
    "unknown_dtype": lambda step, state: state.with_(dtype=None, range=None, normalized_by=None),
    "unknown": lambda step, state: ImageState(random=state.random),
}


def initial_state(path: Sequence[Step], channels: Optional[int] = None) -> ImageState:
    """A pipeline that converts to a tensor is fed PIL images (or arrays): that is what its conversion accepts.

    A custom step before the conversion does not change that inference (custom image steps take and
    return PIL images); only an explicit conversion to PIL or a batch-level step does.
    """
    start = UNKNOWN_STATE
    for step in path:
        transform = step.transform
        if transform is not None and (transform.effect == "to_pil" or transform.opaque):
            break
        if transform is not None and catalogue.CONVERSION in transform.roles:
            start = PIL_INPUT
            break
    return start.with_(channels=channels)


class Interpreter:
    def __init__(self, code: Callable):
        self._code = code  # source text of a node, to compare non-literal arguments

    def walk(self, path: Tuple[Step, ...], channels: Optional[int] = None) -> Walk:
        steps: List[WalkStep] = []
        self._walk_sequence(path, initial_state(path, channels), steps, maybe=False)
        return Walk(path, tuple(steps))

    def _walk_sequence(self, path, state: ImageState, out: List[WalkStep], maybe: bool) -> ImageState:
        for step in path:
            state = self._walk_step(step, state, out, maybe)
        return state

    def _walk_step(self, step: Step, state: ImageState, out: List[WalkStep], maybe: bool) -> ImageState:
        if step.args.get("p") == 0:
            return state  # applied with probability 0: never runs
        transform = step.transform
        outcome = outcome_of(step, state)
        random = state.random or is_random(step)
        if transform is None or transform.opaque:
            after = ImageState(random=random)
        elif outcome.fails and outcome.kind != "passthrough":
            after = ImageState(random=random)  # what follows a crash is not worth reasoning about
        elif step.inner:
            contents: List[WalkStep] = []
            after = state
            for sequence in step.inner:
                after = join(after, self._walk_sequence(sequence, state, contents, maybe=True))
            after = after.with_(random=random)
            out.append(WalkStep(step, state, after, outcome, maybe))
            out.extend(contents)
            return after
        elif outcome.kind == "passthrough":
            after = state.with_(random=random)
        else:
            after = self._apply(step, state).with_(random=random)
        out.append(WalkStep(step, state, after, outcome, maybe))
        return after

    def _apply(self, step: Step, state: ImageState) -> ImageState:
        effect = step.transform.effect
        if effect is None:
            return state
        if effect == "normalize":
            return _normalize(step, state, self._code)
        return _EFFECTS[effect](step, state)
