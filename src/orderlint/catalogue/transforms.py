"""Every torchvision transform, v1 (``torchvision.transforms``) and v2
(``torchvision.transforms.v2``), as data: which inputs it accepts, what it
produces, and the properties rules ask about.

Inputs are the three kinds a pipeline carries: a PIL image (or ndarray), a
uint8 tensor and a float tensor. ``effect`` names a parametric state change in
``orderlint.interpret``; ``None`` keeps the state. Each fact here is checked
against the real library by ``tests/oracle/test_catalogue_facts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple, Union

from orderlint.catalogue.facts import (
    OK,
    PASSTHROUGH,
    ArgAbove,
    ArgEquals,
    ArgIsRange,
    ArgsNotIdentity,
    ArgPredicate,
    Outcome,
    crash,
    intermittent,
)

V1 = "v1"
V2 = "v2"
MODULES = {V1: "torchvision.transforms", V2: "torchvision.transforms.v2"}

# Roles rules ask about.
CONVERSION = "conversion"  # turns a PIL image into a tensor
NORMALIZE = "normalize"
RANGE_SENSITIVE = "range-sensitive"  # assumes values in [0, 1] or [0, 255]
TO_PIL = "to-pil"
CROP = "crop"  # fixed-size crop whose size must fit the input
RESIZE = "resize"
PIXEL_OP = "pixel-op"  # parameters measured in input pixels
CONTAINER = "container"  # holds other transforms: Compose, RandomApply, ...

_UINT8_ONLY = "TypeError: Only torch.uint8 image tensors are supported"
_NOT_TENSOR_V1 = "TypeError: pic should be PIL Image or ndarray"
_NOT_PIL_V1 = "TypeError: pic should be PIL Image"
_NO_SHAPE = "AttributeError: 'Image' object has no attribute 'shape'"


@dataclass(frozen=True)
class Transform:
    name: str
    namespace: str
    params: Tuple[str, ...] = ()
    pil: Outcome = OK
    uint8: Outcome = OK
    float: Outcome = OK
    effect: Optional[str] = None
    roles: FrozenSet[str] = frozenset()
    random: Union[bool, ArgPredicate] = False
    # A role that only holds under an argument predicate (GaussianNoise clamps unless clip=False).
    role_when: Tuple[Tuple[str, ArgPredicate], ...] = ()
    # Not a per-image step (batch mixing, detection targets, video): interpreted as unknown.
    opaque: bool = False
    deprecated: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{MODULES[self.namespace]}.{self.name}"

    def outcome(self, input_kind: str) -> Outcome:
        return {"pil": self.pil, "uint8": self.uint8, "float": self.float}[input_kind]


def _both(name: str, **facts) -> Tuple[Transform, Transform]:
    v1_only = {k[3:]: facts.pop(k) for k in list(facts) if k.startswith("v1_")}
    v2_only = {k[3:]: facts.pop(k) for k in list(facts) if k.startswith("v2_")}
    return (
        Transform(name, V1, **{**facts, **v1_only}),
        Transform(name, V2, **{**facts, **v2_only}),
    )


def _roles(*names: str) -> FrozenSet[str]:
    return frozenset(names)


_TABLE = (
    # Containers: their steps are followed by the extractor.
    *_both("Compose", params=("transforms",), roles=_roles(CONTAINER)),
    *_both("RandomApply", params=("transforms", "p"), roles=_roles(CONTAINER), random=True),
    *_both("RandomChoice", params=("transforms", "p"), roles=_roles(CONTAINER), random=True),
    *_both("RandomOrder", params=("transforms",), roles=_roles(CONTAINER), random=True),
    # Conversions.
    *_both(
        "ToTensor",
        effect="to_float_tensor",
        roles=_roles(CONVERSION),
        v1_uint8=crash(_NOT_TENSOR_V1),
        v1_float=crash(_NOT_TENSOR_V1),
        v2_uint8=PASSTHROUGH,
        v2_float=PASSTHROUGH,
        v2_deprecated="v2.ToTensor is deprecated and will be removed; use v2.ToImage() followed by "
        "v2.ToDtype(torch.float32, scale=True)",
    ),
    *_both(
        "PILToTensor",
        effect="to_uint8_tensor",
        roles=_roles(CONVERSION),
        v1_uint8=crash(_NOT_PIL_V1),
        v1_float=crash(_NOT_PIL_V1),
        v2_uint8=PASSTHROUGH,
        v2_float=PASSTHROUGH,
    ),
    Transform("ToImage", V2, effect="to_uint8_tensor", roles=_roles(CONVERSION)),
    Transform("ToPureTensor", V2),
    *_both(
        "ToPILImage",
        params=("mode",),
        effect="to_pil",
        roles=_roles(TO_PIL),
        v1_pil=crash("TypeError: pic should be Tensor or ndarray"),
        v2_pil=PASSTHROUGH,
    ),
    *_both(
        "ConvertImageDtype",
        params=("dtype",),
        effect="convert_dtype",
        v1_pil=crash("TypeError: Input img should be Tensor Image"),
        v2_pil=PASSTHROUGH,
    ),
    Transform("ToDtype", V2, params=("dtype", "scale"), effect="to_dtype", pil=PASSTHROUGH),
    # Value transforms.
    *_both(
        "Normalize",
        params=("mean", "std", "inplace"),
        effect="normalize",
        roles=_roles(NORMALIZE),
        uint8=crash("TypeError: Input tensor should be a float tensor. Got torch.uint8."),
        v1_pil=crash("TypeError: img should be Tensor Image"),
        v2_pil=crash("TypeError: Normalize() does not support PIL images."),
    ),
    *_both(
        "LinearTransformation",
        params=("transformation_matrix", "mean_vector"),
        effect="unknown_values",
        # v2 returns float32 for uint8 input.
        v2_effect="unknown_dtype",
        v1_pil=crash(_NO_SHAPE),
        # The uint8 tensor PILToTensor returns is a non-contiguous view; v1 calls .view() on it.
        v1_uint8=crash("RuntimeError: view size is not compatible with input tensor's size and stride"),
        v2_pil=crash("TypeError: LinearTransformation() does not support PIL images."),
    ),
    *_both("Lambda", params=("lambd",), effect="unknown"),
    Transform("Identity", V2),
    # Photometric augmentations that assume the [0, 1] / [0, 255] range.
    # ColorJitter with every factor at identity (the default) returns its input untouched.
    *_both(
        "ColorJitter",
        params=("brightness", "contrast", "saturation", "hue"),
        role_when=((RANGE_SENSITIVE, ArgsNotIdentity(("brightness", "contrast", "saturation", "hue"))),),
        random=ArgsNotIdentity(("brightness", "contrast", "saturation", "hue")),
    ),
    *_both("RandomAdjustSharpness", params=("sharpness_factor", "p"), roles=_roles(RANGE_SENSITIVE), random=True),
    *_both("RandomAutocontrast", params=("p",), roles=_roles(RANGE_SENSITIVE), random=True),
    *_both("RandomInvert", params=("p",), roles=_roles(RANGE_SENSITIVE), random=True),
    *_both(
        "RandomEqualize",
        params=("p",),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=crash(_UINT8_ONLY),
    ),
    *_both(
        "RandomPosterize",
        params=("bits", "p"),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=crash(_UINT8_ONLY),
    ),
    *_both(
        "RandomSolarize",
        params=("threshold", "p"),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=crash("TypeError: Threshold should be less than bound of img.", when=ArgAbove("threshold", 1)),
        v2_float=crash(
            "TypeError: Threshold should be less or equal the maximum value of the dtype", when=ArgAbove("threshold", 1)
        ),
    ),
    *_both(
        "AutoAugment",
        params=("policy", "interpolation", "fill"),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=intermittent(_UINT8_ONLY),
    ),
    *_both(
        "RandAugment",
        params=("num_ops", "magnitude"),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=intermittent(_UINT8_ONLY),
    ),
    *_both(
        "TrivialAugmentWide",
        params=("num_magnitude_bins",),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=intermittent(_UINT8_ONLY),
    ),
    *_both(
        "AugMix",
        params=("severity", "mixture_width", "chain_depth", "alpha"),
        roles=_roles(RANGE_SENSITIVE),
        random=True,
        v1_float=intermittent(_UINT8_ONLY),
    ),
    Transform("RandomPhotometricDistort", V2, roles=_roles(RANGE_SENSITIVE), random=True),
    Transform(
        "GaussianNoise",
        V2,
        params=("mean", "sigma", "clip"),
        random=True,
        pil=crash("ValueError: Gaussian Noise is not implemented for PIL images."),
        role_when=((RANGE_SENSITIVE, ArgEquals("clip", True, default=True)),),
    ),
    Transform(
        "JPEG",
        V2,
        params=("quality",),
        random=ArgIsRange("quality", default_is_range=False),
        float=crash("RuntimeError: Input tensor dtype should be uint8"),
    ),
    *_both("Grayscale", params=("num_output_channels",), effect="grayscale"),
    *_both("RandomGrayscale", params=("p",), random=True),
    Transform("RGB", V2, effect="rgb"),
    Transform("RandomChannelPermutation", V2, random=True),
    *_both(
        "GaussianBlur",
        params=("kernel_size", "sigma"),
        roles=_roles(PIXEL_OP),
        random=ArgIsRange("sigma", default_is_range=True),
    ),
    *_both(
        "RandomErasing",
        params=("p", "scale", "ratio", "value", "inplace"),
        random=True,
        v1_pil=crash(_NO_SHAPE),
    ),
    # Geometry.
    *_both("Resize", params=("size", "interpolation", "max_size", "antialias"), effect="resize", roles=_roles(RESIZE)),
    *_both("CenterCrop", params=("size",), effect="crop", roles=_roles(CROP, PIXEL_OP)),
    *_both(
        "RandomCrop",
        params=("size", "padding", "pad_if_needed", "fill", "padding_mode"),
        effect="crop",
        roles=_roles(CROP, PIXEL_OP),
        random=True,
    ),
    *_both(
        "RandomResizedCrop",
        params=("size", "scale", "ratio", "interpolation", "antialias"),
        effect="square_or_pair_size",
        roles=_roles(RESIZE),
        random=True,
    ),
    *_both("FiveCrop", params=("size",), effect="unknown", roles=_roles(PIXEL_OP)),
    *_both("TenCrop", params=("size", "vertical_flip"), effect="unknown", roles=_roles(PIXEL_OP)),
    *_both("Pad", params=("padding", "fill", "padding_mode"), effect="unknown_size", roles=_roles(PIXEL_OP)),
    *_both("RandomHorizontalFlip", params=("p",), random=True),
    *_both("RandomVerticalFlip", params=("p",), random=True),
    *_both(
        "RandomRotation",
        params=("degrees", "interpolation", "expand", "center", "fill"),
        effect="unknown_size",
        random=True,
    ),
    *_both("RandomAffine", params=("degrees", "translate", "scale", "shear"), random=True),
    *_both("RandomPerspective", params=("distortion_scale", "p"), random=True),
    *_both("ElasticTransform", params=("alpha", "sigma"), roles=_roles(PIXEL_OP), random=True),
    Transform("RandomZoomOut", V2, effect="unknown_size", random=True),
    Transform("RandomResize", V2, params=("min_size", "max_size"), effect="unknown_size", roles=_roles(RESIZE), random=True),
    Transform(
        "RandomShortestSize", V2, params=("min_size", "max_size"), effect="unknown_size", roles=_roles(RESIZE), random=True
    ),
    Transform("ScaleJitter", V2, params=("target_size",), effect="unknown_size", roles=_roles(RESIZE), random=True),
    # Not per-image: batch mixing, detection targets, video.
    Transform("CutMix", V2, opaque=True, random=True),
    Transform("MixUp", V2, opaque=True, random=True),
    Transform("RandomIoUCrop", V2, opaque=True, random=True),
    Transform("SanitizeBoundingBoxes", V2, opaque=True),
    Transform("SanitizeKeyPoints", V2, opaque=True),
    Transform("ClampBoundingBoxes", V2, opaque=True),
    Transform("ClampKeyPoints", V2, opaque=True),
    Transform("ConvertBoundingBoxFormat", V2, opaque=True),
    Transform("SetClampingMode", V2, opaque=True),
    Transform("UniformTemporalSubsample", V2, opaque=True),
)

TRANSFORMS: Dict[Tuple[str, str], Transform] = {(t.namespace, t.name): t for t in _TABLE}
NAMES: FrozenSet[str] = frozenset(t.name for t in _TABLE)


def lookup(qualified_name: Optional[str]) -> Optional[Transform]:
    """The catalogue entry for a resolved name such as ``torchvision.transforms.v2.Normalize``.

    Private module paths (``torchvision.transforms.transforms.Normalize``,
    ``torchvision.transforms.v2._misc.Normalize``) resolve to the public entry.
    """
    if not qualified_name or not qualified_name.startswith("torchvision.transforms."):
        return None
    rest = qualified_name[len("torchvision.transforms.") :]
    namespace = V2 if rest.startswith("v2.") else V1
    parts = rest.split(".")
    if parts[0] == "functional" or (namespace == V2 and len(parts) > 1 and parts[1] == "functional"):
        return None
    return TRANSFORMS.get((namespace, parts[-1]))


def has_role(transform: Transform, role: str, args) -> bool:
    if role in transform.roles:
        return True
    return any(r == role and predicate(args) for r, predicate in transform.role_when)
