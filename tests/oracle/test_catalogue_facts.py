"""Oracle for the transform catalogue (``orderlint.catalogue.transforms``).

Every fact the catalogue states about a torchvision transform is checked here
against the installed torchvision, so the catalogue cannot drift silently:

* completeness: every public v1/v2 transform class has an entry and every
  entry names a real class;
* ``pil`` / ``uint8`` / ``float``: the outcome of applying the transform to a
  PIL RGB image, a uint8 CHW tensor and a float CHW tensor in [0, 1]
  (``ok``, ``crash``, ``intermittent``, ``passthrough``; ``when=`` predicates
  are exercised both ways through several argument variants);
* ``effect``: the container / dtype / channels / size / value range of what an
  ``ok`` outcome returns, as ``orderlint.interpret`` models it;
* ``random``: random entries vary across seeds, the others are deterministic;
* ``opaque``: what the non-per-image transforms do with a lone image, and
  their randomness on the input they are made for;
* ``params`` / predicate defaults / ``deprecated``: the argument binding and
  defaults the extractor and predicates assume.

Inputs come from ``conftest.py`` (a seeded 32x32 RGB image in its three forms).
"""
from __future__ import annotations

import enum
import inspect
import random
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision import tv_tensors
from torchvision.transforms import v2

from orderlint.catalogue.facts import OK, ArgPredicate, Outcome
from orderlint.catalogue.transforms import CONTAINER, MODULES, TRANSFORMS, V1, V2, Transform

# v2.JPEG goes through torchvision.io.encode_jpeg / decode_jpeg, which warn on every
# call that torchvision's image codecs are deprecated in favour of TorchCodec. The
# transform itself is not deprecated (construction does not warn; see
# test_deprecated_iff_construction_warns).
pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities of TorchVision are deprecated:DeprecationWarning"
)

API = {V1: T, V2: v2}
KINDS = ("pil", "uint8", "float")
FIXTURES = {"pil": "pil_rgb", "uint8": "uint8_image", "float": "float_image"}
SEEDS = range(100)  # draws tried for intermittent outcomes and for randomness
OK_SEEDS = range(30)  # a random transform said to be "ok" must not raise on any of these draws
CRASH_SEEDS = range(5)  # a random transform said to "crash" must raise on every one of these draws
DETERMINISM_SEEDS = range(5)  # a non-random transform gives one output for all of these
SIZE = 32  # conftest.SIZE: the fixtures are SIZE x SIZE RGB images
NUMEL = 3 * SIZE * SIZE


# ------------------------------------------------------------ argument table


@dataclass(frozen=True)
class Variant:
    """One way of constructing a transform: keyword arguments (``make`` builds them lazily)."""

    label: str = ""
    kwargs: Dict[str, Any] = field(default_factory=dict)
    make: Optional[Callable[[], Dict[str, Any]]] = None

    def arguments(self) -> Dict[str, Any]:
        return self.make() if self.make else dict(self.kwargs)

    def literal_args(self) -> Dict[str, Any]:
        """What the extractor binds from the call: the keywords as written."""
        return dict(self.kwargs)


def V(label: str = "", **kwargs) -> Variant:
    return Variant(label, kwargs)


def _linear_identity() -> Dict[str, Any]:
    return dict(transformation_matrix=torch.eye(NUMEL), mean_vector=torch.zeros(NUMEL))


MEAN, STD = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]

# Constructor arguments per class name (both namespaces). ``p=1.0`` wherever the
# class has ``p`` so the operation actually applies; several variants where a
# ``when`` predicate or a ``random`` predicate or the effect depends on arguments.
ARGS: Dict[str, Tuple[Variant, ...]] = {
    # Containers (only used by the randomness and container tests).
    "Compose": (V(transforms=[T.Resize((16, 20))]),),
    "RandomApply": (V(transforms=[T.RandomHorizontalFlip(p=1.0)]),),
    "RandomChoice": (V(transforms=[T.RandomHorizontalFlip(p=1.0), T.RandomVerticalFlip(p=1.0)]),),
    "RandomOrder": (V(transforms=[T.Pad([0, 0, 4, 0]), T.Resize((16, 16))]),),
    # Conversions.
    "ToTensor": (V(),),
    "PILToTensor": (V(),),
    "ToImage": (V(),),
    "ToPureTensor": (V(),),
    "ToPILImage": (V(),),
    "ConvertImageDtype": (V("float32", dtype=torch.float32), V("uint8", dtype=torch.uint8)),
    "ToDtype": (
        V("float32-scale", dtype=torch.float32, scale=True),
        V("float32", dtype=torch.float32),
        V("uint8-scale", dtype=torch.uint8, scale=True),
        V("uint8", dtype=torch.uint8),
    ),
    # Value transforms.
    "Normalize": (V(mean=MEAN, std=STD),),
    "LinearTransformation": (Variant(make=_linear_identity),),
    "Lambda": (V(lambd=lambda image: image),),
    "Identity": (V(),),
    "ColorJitter": (
        V("default"),
        V("identity-pair", brightness=(1, 1)),
        V("jitter", brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1),
    ),
    "RandomAdjustSharpness": (V(sharpness_factor=2.0, p=1.0),),
    "RandomAutocontrast": (V(p=1.0),),
    "RandomInvert": (V(p=1.0),),
    "RandomEqualize": (V(p=1.0),),
    "RandomPosterize": (V(bits=4, p=1.0),),
    "RandomSolarize": (
        V("threshold=128", threshold=128, p=1.0),
        V("threshold=1", threshold=1.0, p=1.0),
        V("threshold=0.5", threshold=0.5, p=1.0),
    ),
    "AutoAugment": (V(),),
    "RandAugment": (V(),),
    "TrivialAugmentWide": (V(),),
    "AugMix": (V(),),
    "RandomPhotometricDistort": (V(p=1.0),),
    "GaussianNoise": (V("clip"), V("no-clip", clip=False)),
    "JPEG": (V("quality=50", quality=50), V("quality-range", quality=(50, 90))),
    "Grayscale": (V("1-channel"), V("3-channels", num_output_channels=3)),
    "RandomGrayscale": (V(p=1.0),),
    "RGB": (V(),),
    "RandomChannelPermutation": (V(),),
    "GaussianBlur": (V("sigma-range", kernel_size=3), V("sigma=1", kernel_size=3, sigma=1.0)),
    "RandomErasing": (V(p=1.0),),
    # Geometry.
    "Resize": (V("int", size=16), V("pair", size=(16, 20))),
    "CenterCrop": (V("int", size=8), V("pair", size=(8, 12))),
    "RandomCrop": (V("int", size=8), V("pair", size=(8, 12))),
    "RandomResizedCrop": (V("int", size=16), V("pair", size=(16, 20))),
    "FiveCrop": (V(size=8),),
    "TenCrop": (V(size=8),),
    "Pad": (V(padding=2),),
    "RandomHorizontalFlip": (V(p=1.0),),
    "RandomVerticalFlip": (V(p=1.0),),
    "RandomRotation": (V(degrees=30),),
    "RandomAffine": (V(degrees=30, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),),
    "RandomPerspective": (V(p=1.0),),
    "ElasticTransform": (V(),),
    "RandomZoomOut": (V(p=1.0),),
    "RandomResize": (V(min_size=16, max_size=24),),
    "RandomShortestSize": (V(min_size=[16, 20, 24]),),
    "ScaleJitter": (V(target_size=(SIZE, SIZE)),),
}

_V2_CONTAINER_ARGS = {
    "Compose": (V(transforms=[v2.Resize((16, 20))]),),
    "RandomApply": (V(transforms=[v2.RandomHorizontalFlip(p=1.0)]),),
    "RandomChoice": (V(transforms=[v2.RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0)]),),
    "RandomOrder": (V(transforms=[v2.Pad([0, 0, 4, 0]), v2.Resize((16, 16))]),),
}


def variants_of(entry: Transform) -> Tuple[Variant, ...]:
    if entry.namespace == V2 and entry.name in _V2_CONTAINER_ARGS:
        return _V2_CONTAINER_ARGS[entry.name]
    return ARGS[entry.name]


def transform_class(entry: Transform):
    return getattr(API[entry.namespace], entry.name)


def build(entry: Transform, kwargs: Dict[str, Any]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # v2.ToTensor warns at construction (checked below)
        return transform_class(entry)(**kwargs)


def seed_all(seed: int) -> None:
    """v1 RandomChoice / RandomOrder draw from ``random``, everything else from torch."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def run(transform, image, seed: int):
    seed_all(seed)
    return transform(image)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def matches(exc: BaseException, error: str) -> bool:
    """``error`` is ``"Type: message"``: same exception type, message at the start or inside.

    Inside, because some messages carry a build path first
    (``RuntimeError: encode_jpeg, /__w/vision/.../encode_jpeg.cpp:74, Input tensor dtype should be uint8``).
    """
    name, _, message = error.partition(": ")
    return type(exc).__name__ == name and message in str(exc)


def plain(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.as_subclass(torch.Tensor)


def as_arrays(out):
    """A comparable form of any transform output (PIL, tensor, or a tuple of them)."""
    if isinstance(out, Image.Image):
        return ("pil", out.mode, np.asarray(out).copy())
    if isinstance(out, torch.Tensor):
        return ("tensor", str(out.dtype), plain(out).detach().clone().numpy())
    if isinstance(out, (tuple, list)):
        return tuple(as_arrays(item) for item in out)
    if isinstance(out, dict):
        return tuple((key, as_arrays(value)) for key, value in sorted(out.items()))
    raise AssertionError(f"unexpected output type {type(out)!r}")


def same_output(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_output(x, y) for x, y in zip(a, b))
    return a == b


def outcome_for(entry: Transform, kind: str, args: Dict[str, Any]) -> Outcome:
    """The outcome the interpreter assumes for these literal arguments (see ``interpret.outcome_of``)."""
    outcome = entry.outcome(kind)
    if outcome.when is None:
        return outcome
    holds = outcome.when(args)
    assert holds is not None, f"predicate {outcome.when} cannot decide literal arguments {args}"
    return outcome if holds else OK


def is_random(entry: Transform, args: Dict[str, Any]) -> bool:
    """Whether the interpreter treats the step as random (see ``interpret.is_random``)."""
    if not entry.random:
        return False
    if entry.random is not True:
        decided = entry.random(args)
        assert decided is not None, f"predicate {entry.random} cannot decide literal arguments {args}"
        if not decided:
            return False
    return args.get("p", 0.5) != 0


def has_float_p(entry: Transform) -> bool:
    parameter = inspect.signature(transform_class(entry)).parameters.get("p")
    return parameter is not None and isinstance(parameter.default, float)


def variant_id(entry: Transform, variant: Variant, suffix: str) -> str:
    middle = f"-{variant.label}" if variant.label else ""
    return f"{entry.namespace}-{entry.name}{middle}-{suffix}"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny images: intra-op threads only add overhead (x10-x30 on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


PER_IMAGE = [e for e in TRANSFORMS.values() if not e.opaque and CONTAINER not in e.roles]
CONTAINERS = [e for e in TRANSFORMS.values() if CONTAINER in e.roles]
OPAQUE = [e for e in TRANSFORMS.values() if e.opaque]

OUTCOME_CASES = [
    pytest.param(entry, variant, kind, id=variant_id(entry, variant, kind))
    for entry in PER_IMAGE
    for variant in variants_of(entry)
    for kind in KINDS
]
RANDOM_CASES = [
    pytest.param(entry, variant, id=variant_id(entry, variant, "random"))
    for entry in PER_IMAGE + CONTAINERS
    for variant in variants_of(entry)
]


# ---------------------------------------------------------- 1. completeness


def public_transform_classes(namespace: str):
    """Public classes of the namespace that are transforms.

    Not only ``nn.Module`` / ``v2.Transform`` subclasses: v1 ``Compose``,
    ``Lambda``, ``ToTensor``, ``PILToTensor``, ``ToPILImage``, ``RandomChoice``
    and ``RandomOrder`` are plain callable classes. Enums (``InterpolationMode``,
    ``AutoAugmentPolicy``) and the ``v2.Transform`` base are not transforms.
    """
    module = API[namespace]
    found = set()
    for name in dir(module):
        obj = getattr(module, name)
        if name.startswith("_") or not inspect.isclass(obj) or issubclass(obj, enum.Enum) or obj is v2.Transform:
            continue
        assert issubclass(obj, torch.nn.Module) or callable(getattr(obj, "__call__", None)), name
        found.add(name)
    return found


@pytest.mark.parametrize("namespace", [V1, V2])
def test_every_public_transform_has_an_entry(namespace):
    classes = public_transform_classes(namespace)
    assert len(classes) > 30
    entries = {name for ns, name in TRANSFORMS if ns == namespace}
    assert sorted(classes - entries) == [], f"{MODULES[namespace]} classes missing from the catalogue"
    assert sorted(entries - classes) == [], f"catalogue entries that are not public {MODULES[namespace]} classes"


def test_every_entry_names_a_real_class():
    for (namespace, name), entry in TRANSFORMS.items():
        assert (entry.namespace, entry.name) == (namespace, name)
        obj = getattr(API[namespace], name, None)
        assert inspect.isclass(obj), f"{entry.qualified_name} is not a class"


def test_every_entry_has_arguments_for_the_oracle():
    missing = sorted({e.name for e in TRANSFORMS.values() if not e.opaque} - set(ARGS))
    assert missing == [], "add constructor arguments for these entries to ARGS"
    assert sorted({e.name for e in OPAQUE} ^ set(OPAQUE_BEHAVIOUR)) == [], "OPAQUE_BEHAVIOUR out of date"


@pytest.mark.parametrize("entry", list(TRANSFORMS.values()), ids=lambda e: f"{e.namespace}-{e.name}")
def test_params_are_the_leading_positional_parameters(entry):
    """The extractor binds positional arguments by ``params``: they must be the constructor's, in order."""
    parameters = [
        p.name for p in inspect.signature(transform_class(entry)).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert list(entry.params) == parameters[: len(entry.params)]


def _predicates(entry: Transform):
    found = [o.when for o in (entry.pil, entry.uint8, entry.float) if o.when is not None]
    if isinstance(entry.random, ArgPredicate):
        found.append(entry.random)
    found.extend(predicate for _, predicate in entry.role_when)
    return found


def _predicate_params(predicate: ArgPredicate):
    if hasattr(predicate, "param"):
        return (predicate.param,)
    return tuple(predicate.params)


@pytest.mark.parametrize(
    "entry", [e for e in TRANSFORMS.values() if _predicates(e)], ids=lambda e: f"{e.namespace}-{e.name}"
)
def test_predicate_defaults_match_the_constructor(entry):
    """A predicate asked about an omitted argument must answer as for the real default value."""
    signature = inspect.signature(transform_class(entry))
    for predicate in _predicates(entry):
        for param in _predicate_params(predicate):
            assert param in signature.parameters, f"{predicate} names no parameter of {entry.qualified_name}"
            default = signature.parameters[param].default
            if default is inspect.Parameter.empty:
                continue  # required argument: never omitted
            assert predicate({}) == predicate({param: default}), (predicate, param, default)


@pytest.mark.parametrize("entry", list(TRANSFORMS.values()), ids=lambda e: f"{e.namespace}-{e.name}")
def test_deprecated_iff_construction_warns(entry):
    variant = variants_of(entry)[0] if entry.name in ARGS else Variant(make=OPAQUE_BEHAVIOUR[entry.name].make)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        transform_class(entry)(**variant.arguments())
    deprecations = [str(w.message) for w in record if "deprecat" in str(w.message).lower()]
    if entry.deprecated:
        assert deprecations, f"{entry.qualified_name} is marked deprecated but does not warn"
    else:
        assert deprecations == [], f"{entry.qualified_name} warns but is not marked deprecated"


# -------------------------------------------------- 2. outcomes and effects


def value_range(tensor: torch.Tensor) -> str:
    low, high = float(plain(tensor).min()), float(plain(tensor).max())
    if low >= 0 and high <= 1:
        return "0-1"
    if low >= 0 and high <= 255:
        return "0-255"
    return "other"


def geometry(image) -> Tuple[int, Tuple[int, int]]:
    """(channels, (height, width)) of a PIL image or CHW tensor."""
    if isinstance(image, Image.Image):
        return len(image.getbands()), (image.height, image.width)
    return image.shape[-3], tuple(image.shape[-2:])


def assert_same_container(image, out):
    if isinstance(image, Image.Image):
        assert isinstance(out, Image.Image), f"PIL input gave {type(out).__name__}"
    else:
        assert isinstance(out, torch.Tensor), f"tensor input gave {type(out).__name__}"
        assert out.dtype == image.dtype, f"dtype changed from {image.dtype} to {out.dtype}"


def _size_pair(size):
    return (size, size) if isinstance(size, int) else tuple(size) * (2 if len(size) == 1 else 1)


INPUT_RANGE = {"uint8": "0-255", "float": "0-1"}


def check_effect(entry: Transform, args: Dict[str, Any], kind: str, image, out) -> None:
    """What ``orderlint.interpret`` derives from ``effect`` must describe ``out``."""
    effect = entry.effect
    channels, size = geometry(image)
    if effect == "unknown":
        return
    if effect in ("to_float_tensor", "to_uint8_tensor"):
        assert isinstance(out, torch.Tensor)
        if kind == "pil":
            dtype, expected_range = (
                (torch.float32, "0-1") if effect == "to_float_tensor" else (torch.uint8, "0-255")
            )
            assert out.dtype == dtype
            assert geometry(out) == (channels, size)
            assert value_range(out) == expected_range and float(out.max()) > 0.5
        else:  # the interpreter keeps a tensor's state: values and dtype must be untouched
            assert out.dtype == image.dtype
            assert torch.equal(plain(out), image)
        return
    if effect == "to_pil":
        assert isinstance(out, Image.Image)
        assert geometry(out) == (channels, size)
        return
    if effect in ("to_dtype", "convert_dtype"):
        assert isinstance(out, torch.Tensor), "the PIL input of a dtype step must be a passthrough"
        assert geometry(out) == (channels, size)
        # Without a literal dtype the interpreter knows the dtype only for ConvertImageDtype (float).
        default = torch.float32 if entry.name == "ConvertImageDtype" else None
        target = args.get("dtype", default)
        if target is None:
            return  # dtype and values unknown
        scale = True if effect == "convert_dtype" else args.get("scale", False)
        assert out.dtype == target
        if target == image.dtype:
            expected_range = INPUT_RANGE[kind]
        elif scale:
            expected_range = "0-1" if target.is_floating_point else "0-255"
        else:
            expected_range = INPUT_RANGE[kind]  # cast, not rescaled
        assert value_range(out) == expected_range
        if expected_range == "0-255":
            assert float(out.max()) > 1
        return
    if effect == "unknown_dtype":  # dtype and values unknown afterwards: only the container and shape are facts
        assert isinstance(out, type(image)) or isinstance(out, torch.Tensor) == isinstance(image, torch.Tensor)
        assert geometry(out) == (channels, size)
        return
    assert_same_container(image, out)
    if effect is None or effect == "unknown_values":
        assert geometry(out) == (channels, size)
        if effect is None and kind == "float" and (entry.namespace, entry.name, args) not in RANGE_CHANGING:
            assert value_range(out) == "0-1", "effect None keeps the [0, 1] range"
        if effect is None and kind == "float" and (entry.namespace, entry.name, args) in RANGE_CHANGING:
            assert value_range(out) != "0-1", "no longer leaves [0, 1]: drop it from RANGE_CHANGING"
    elif effect == "normalize":
        assert geometry(out) == (channels, size)
        mean, std = torch.tensor(args["mean"]).view(-1, 1, 1), torch.tensor(args["std"]).view(-1, 1, 1)
        torch.testing.assert_close(plain(out), (image - mean) / std)
    elif effect == "grayscale":
        assert geometry(out) == (args.get("num_output_channels", 1), size)
    elif effect == "rgb":
        assert geometry(out) == (3, size)
    elif effect == "resize":
        assert geometry(out)[0] == channels
        requested = args["size"]
        if isinstance(requested, int) or len(requested) == 1:
            side = requested if isinstance(requested, int) else requested[0]
            assert min(geometry(out)[1]) == side
        else:
            assert geometry(out)[1] == tuple(requested)
    elif effect in ("crop", "square_or_pair_size"):
        assert geometry(out) == (channels, _size_pair(args["size"]))
    elif effect == "unknown_size":
        assert geometry(out)[0] == channels
    else:
        raise AssertionError(f"effect {effect!r} has no oracle: teach check_effect what it means")


# Arguments under which an effect-None transform leaves [0, 1] on float input.
# ``effect`` cannot depend on arguments, and the default (clip=True) keeps the
# range, so the catalogue keeps ``effect=None``; listed here so the exception is
# explicit (and checked to still be one) rather than an unchecked range.
RANGE_CHANGING = [(V2, "GaussianNoise", {"clip": False})]

# An Outcome names one error. Where a transform can fail in more than one way,
# the other errors seen are listed here (and must still be seen) so that any
# new, undeclared failure still fails the test.
ALSO_RAISES = {
    # The policies' Solarize draws thresholds in 0..255, above a float image's bound of 1.
    (V1, name, "float"): "TypeError: Threshold should be less than bound of img."
    for name in ("AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix")
}


@pytest.mark.parametrize("entry, variant, kind", OUTCOME_CASES)
def test_outcome_and_effect(request, entry, variant, kind):
    image = request.getfixturevalue(FIXTURES[kind])
    args = variant.literal_args()
    outcome = outcome_for(entry, kind, args)
    transform = build(entry, variant.arguments())
    # A random transform is tried on many draws: an "ok" that raises for some draws is "intermittent".
    seeds = OK_SEEDS if entry.random else range(2)

    if outcome.kind == "ok":
        for seed in seeds:
            try:
                out = run(transform, image, seed)
            except Exception as exc:
                pytest.fail(f"catalogue says ok, seed {seed} raised {describe(exc)}")
            check_effect(entry, args, kind, image, out)
    elif outcome.kind == "crash":
        assert outcome.error, "a crash outcome must name its error"
        for seed in CRASH_SEEDS if entry.random else range(2):
            with pytest.raises(Exception) as caught:
                run(transform, image, seed)
            assert matches(caught.value, outcome.error), describe(caught.value)
    elif outcome.kind == "intermittent":
        assert outcome.error, "an intermittent outcome must name its error"
        also = ALSO_RAISES.get((entry.namespace, entry.name, kind))
        seen = {"ok": 0, outcome.error: 0, also: 0}
        for seed in SEEDS:
            try:
                run(transform, image, seed)
            except Exception as exc:
                key = outcome.error if matches(exc, outcome.error) else also if also and matches(exc, also) else None
                assert key is not None, f"seed {seed}: undeclared error {describe(exc)}"
                seen[key] += 1
            else:
                seen["ok"] += 1
            if seen["ok"] and seen[outcome.error] and (also is None or seen[also]):
                break
        assert seen["ok"] and seen[outcome.error], f"over {len(SEEDS)} seeds: {seen}"
        assert also is None or seen[also], f"ALSO_RAISES entry no longer raised: {seen}"
    elif outcome.kind == "passthrough":
        for seed in range(2):
            out = run(transform, image, seed)
            if isinstance(image, torch.Tensor):
                assert isinstance(out, torch.Tensor) and out.dtype == image.dtype
                assert torch.equal(plain(out), image)
            else:
                assert out is image
    else:
        raise AssertionError(f"unknown outcome kind {outcome.kind!r}")


def test_linear_transformation_on_uint8_documented_limits(uint8_image):
    """Why LinearTransformation's uint8 facts are what they are (the abstract state has no memory layout).

    v1 ``crash``: the uint8 tensor PILToTensor / ToImage return is a permuted,
    non-contiguous view and v1 calls ``.view()`` on it; a contiguous uint8
    tensor (e.g. after a resize) does not raise. Both versions return float32
    for uint8 input, hence v2's ``effect="unknown_dtype"`` rather than
    ``unknown_values`` (which keeps uint8).
    """
    assert not uint8_image.is_contiguous()
    v1_step = T.LinearTransformation(**_linear_identity())
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        v1_step(uint8_image)
    assert v1_step(uint8_image.contiguous()).dtype == torch.float32
    assert v2.LinearTransformation(**_linear_identity())(uint8_image).dtype == torch.float32


# -------------------------------------------------------------- 3. random


def low_contrast(image):
    """The image squeezed into the middle of its range (a full-range image is autocontrast's fixed point)."""
    if isinstance(image, Image.Image):
        return Image.fromarray((np.asarray(image) // 2 + 64).astype(np.uint8), image.mode)
    if image.dtype == torch.uint8:
        return image // 2 + 64
    return image / 2 + 0.25


def _ok_inputs(request, entry: Transform, args: Dict[str, Any], probes: bool = False):
    for kind in KINDS:
        if outcome_for(entry, kind, args).kind == "ok":
            image = request.getfixturevalue(FIXTURES[kind])
            yield kind, image
            if probes:
                yield f"low-contrast {kind}", low_contrast(image)


@pytest.mark.parametrize("entry, variant", RANDOM_CASES)
def test_random(request, entry, variant):
    """Random entries vary across seeds (at their default ``p``); the others never do."""
    args, kwargs = variant.literal_args(), variant.arguments()
    if has_float_p(entry):
        # At p=1 a flip is deterministic: randomness is judged at the default p.
        args.pop("p", None)
        kwargs.pop("p", None)
    transform = build(entry, kwargs)
    inputs = list(_ok_inputs(request, entry, args, probes=True))
    assert inputs, "no input kind to observe randomness on"
    if is_random(entry, args):
        varied = []
        for kind, image in inputs:
            first = as_arrays(run(transform, image, SEEDS[0]))
            if any(not same_output(first, as_arrays(run(transform, image, s))) for s in SEEDS[1:]):
                varied.append(kind)
                break
        assert varied, "catalogue says random, but the output never changed across seeds"
    else:
        for kind, image in inputs:
            first = as_arrays(run(transform, image, DETERMINISM_SEEDS[0]))
            for seed in DETERMINISM_SEEDS[1:]:
                assert same_output(first, as_arrays(run(transform, image, seed))), (
                    f"catalogue says not random, but the {kind} output changed with the seed"
                )


@pytest.mark.parametrize(
    "entry, variant",
    [
        pytest.param(e, v, id=variant_id(e, v, "p=0"))
        for e in PER_IMAGE + CONTAINERS
        if e.random and has_float_p(e)
        for v in variants_of(e)
    ],
)
def test_p_zero_is_not_random(request, entry, variant):
    """``interpret.is_random`` treats ``p=0`` as never random: the step must then be deterministic."""
    args = {**variant.literal_args(), "p": 0.0}
    assert not is_random(entry, args)
    transform = build(entry, {**variant.arguments(), "p": 0.0})
    for kind, image in _ok_inputs(request, entry, args):
        first = as_arrays(run(transform, image, 0))
        for seed in DETERMINISM_SEEDS[1:]:
            assert same_output(first, as_arrays(run(transform, image, seed))), kind


@pytest.mark.parametrize("entry", CONTAINERS, ids=lambda e: f"{e.namespace}-{e.name}")
@pytest.mark.parametrize("kind", KINDS)
def test_container_runs_its_steps_on_every_input(request, entry, kind):
    """Containers are ``ok`` on every input; what they do is their steps' business."""
    image = request.getfixturevalue(FIXTURES[kind])
    assert entry.outcome(kind) == OK and entry.effect is None
    transform = build(entry, variants_of(entry)[0].arguments())
    for seed in range(10):
        assert_same_container(image, run(transform, image, seed))


# -------------------------------------------------------------- 4. opaque


def _boxes(n: int = 2):
    return tv_tensors.BoundingBoxes(
        [[4, 4, 20, 20], [10, 8, 30, 28]][:n], format="XYXY", canvas_size=(SIZE, SIZE)
    )


def _keypoints():
    return tv_tensors.KeyPoints([[4.0, 4.0], [40.0, 10.0]], canvas_size=(SIZE, SIZE))


def _detection_sample(uint8_image):
    return {"image": tv_tensors.Image(uint8_image), "boxes": _boxes(), "labels": torch.tensor([1, 2])}


@dataclass(frozen=True)
class OpaqueFacts:
    why: str  # why orderlint cannot follow it as a per-image step ("opaque because it ...")
    make: Callable[[], Dict[str, Any]]
    lone_image: Dict[str, str]  # input kind -> "passthrough" or the error prefix it raises
    sample: Callable[[Any], Any]  # the input the transform is made for, from a uint8 image


_BATCH = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
_LABELS = torch.arange(4)
_MIX_ERRORS = {
    "pil": "ValueError: {}() does not support PIL images",
    "uint8": "ValueError: labels should be index based with shape (batch_size,)",
    "float": "ValueError: labels should be index based with shape (batch_size,)",
}
_ALL_PASSTHROUGH = {kind: "passthrough" for kind in KINDS}

OPAQUE_BEHAVIOUR: Dict[str, OpaqueFacts] = {
    "CutMix": OpaqueFacts(
        "mixes a batch of images and their labels, not one image",
        lambda: dict(num_classes=4),
        {k: m.format("CutMix") for k, m in _MIX_ERRORS.items()},
        lambda image: (_BATCH, _LABELS),
    ),
    "MixUp": OpaqueFacts(
        "mixes a batch of images and their labels, not one image",
        lambda: dict(num_classes=4),
        {k: m.format("MixUp") for k, m in _MIX_ERRORS.items()},
        lambda image: (_BATCH, _LABELS),
    ),
    "RandomIoUCrop": OpaqueFacts(
        "crops for detection and needs bounding boxes in the sample",
        dict,
        {kind: "TypeError: RandomIoUCrop() requires input sample to contain tensor or PIL images and bounding boxes"
         for kind in KINDS},
        _detection_sample,
    ),
    "SanitizeBoundingBoxes": OpaqueFacts(
        "filters detection targets (boxes and labels)",
        dict,
        {
            "pil": "ValueError: When using the default labels_getter, the input passed to forward must be a dictionary",
            "uint8": "ValueError: No bounding boxes were found in the sample",
            "float": "ValueError: No bounding boxes were found in the sample",
        },
        _detection_sample,
    ),
    "SanitizeKeyPoints": OpaqueFacts(
        "filters keypoint targets",
        dict,
        {kind: "ValueError: No keypoints were found in the sample" for kind in KINDS},
        lambda image: {"image": tv_tensors.Image(image), "keypoints": _keypoints()},
    ),
    "ClampBoundingBoxes": OpaqueFacts(
        "acts on bounding boxes only; images pass through", dict, _ALL_PASSTHROUGH, lambda image: _boxes()
    ),
    "ClampKeyPoints": OpaqueFacts(
        "acts on keypoints only; images pass through", dict, _ALL_PASSTHROUGH, lambda image: _keypoints()
    ),
    "ConvertBoundingBoxFormat": OpaqueFacts(
        "acts on bounding boxes only; images pass through",
        lambda: dict(format="CXCYWH"),
        _ALL_PASSTHROUGH,
        lambda image: _boxes(),
    ),
    "SetClampingMode": OpaqueFacts(
        "sets the clamping mode of bounding boxes; images pass through",
        lambda: dict(clamping_mode="soft"),
        _ALL_PASSTHROUGH,
        lambda image: _boxes(),
    ),
    "UniformTemporalSubsample": OpaqueFacts(
        "subsamples the frames of a video (T, C, H, W)",
        lambda: dict(num_samples=2),
        {"pil": "passthrough", "uint8": "IndexError: tuple index out of range",
         "float": "IndexError: tuple index out of range"},
        lambda image: tv_tensors.Video(torch.stack([image, image.flip(-1), image.flip(-2), image.flip(-1, -2)])),
    ),
}


@pytest.mark.parametrize("entry", OPAQUE, ids=lambda e: f"{e.namespace}-{e.name}")
@pytest.mark.parametrize("kind", KINDS)
def test_opaque_on_a_lone_image(request, entry, kind):
    """Opaque entries are not per-image steps; document what a lone image meets."""
    facts = OPAQUE_BEHAVIOUR[entry.name]
    assert entry.effect is None and entry.outcome(kind) == OK, "the interpreter ignores opaque entries' facts"
    image = request.getfixturevalue(FIXTURES[kind])
    transform = build(entry, facts.make())
    expected = facts.lone_image[kind]
    if expected == "passthrough":
        assert run(transform, image, 0) is image, f"opaque because it {facts.why}"
    else:
        with pytest.raises(Exception) as caught:
            run(transform, image, 0)
        assert matches(caught.value, expected), f"opaque because it {facts.why}: {describe(caught.value)}"


@pytest.mark.parametrize("entry", OPAQUE, ids=lambda e: f"{e.namespace}-{e.name}-random")
def test_opaque_random_on_its_own_input(uint8_image, entry):
    """``random`` of an opaque entry, judged on the sample it is made for (a batch, boxes, a video)."""
    facts = OPAQUE_BEHAVIOUR[entry.name]
    transform = build(entry, facts.make())
    sample = facts.sample(uint8_image)
    first = as_arrays(run(transform, sample, 0))
    changed = any(not same_output(first, as_arrays(run(transform, sample, s))) for s in range(1, 50))
    assert changed == bool(entry.random), f"catalogue random={entry.random!r}, output changed: {changed}"
