"""Oracle tests for RULES.md "OL1xx: transform pipelines".

Each test runs the real torchvision on CPU and fails if the behaviour a rule
relies on stops being true. The bad order and the fixed order are both shown.
Nothing here imports orderlint.
"""
import re
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F
from torchvision.transforms import v2

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SEEDS = range(200)
NUMEL = 3 * 32 * 32

UINT8_ONLY = "Only torch.uint8 image tensors are supported, but found torch.float32"
THRESHOLD_BOUND = "Threshold should be less than bound of img."
FLOAT_ONLY = "Input tensor should be a float tensor. Got torch.uint8."


# ---------------------------------------------------------------- helpers


def raises(exc, fragment):
    """pytest.raises matching a literal message fragment."""
    return pytest.raises(exc, match=re.escape(fragment))


def plain(tensor):
    """Drop any tv_tensors wrapper so values can be compared as plain tensors."""
    return tensor.as_subclass(torch.Tensor)


def v2_to_tensor():
    """Build v2.ToTensor, which warns at construction (OL107)."""
    with pytest.warns(UserWarning, match="deprecated"):
        return v2.ToTensor()


def normalize(api=T):
    return api.Normalize(MEAN, STD)


def denormalize(api=T):
    """The inverse idiom Normalize(-m/s, 1/s)."""
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    return api.Normalize((-mean / std).tolist(), (1 / std).tolist())


def white_pil():
    return Image.new("RGB", (32, 32), (255, 255, 255))


def outcomes(transform, image, seeds=SEEDS):
    """Counter of ``"ok"`` / ``(ExceptionName, message)`` over seeded calls."""
    seen = Counter()
    for seed in seeds:
        torch.manual_seed(seed)
        try:
            transform(image)
        except Exception as exc:  # counted, asserted on by the caller
            seen[(type(exc).__name__, str(exc))] += 1
        else:
            seen["ok"] += 1
    return seen


def failures(seen):
    return sum(n for key, n in seen.items() if key != "ok")


def channel_const(value, size=4):
    """A 3-channel float image filled with one value."""
    return torch.full((3, size, size), float(value))


# ------------------------------------------------------------------ OL101

V1_TENSOR_ONLY = [
    pytest.param(lambda: T.Normalize(MEAN, STD), TypeError,
                 "img should be Tensor Image. Got <class 'PIL.Image.Image'>", id="Normalize"),
    pytest.param(lambda: T.RandomErasing(p=1), AttributeError,
                 "'Image' object has no attribute 'shape'", id="RandomErasing"),
    pytest.param(lambda: T.ConvertImageDtype(torch.float32), TypeError,
                 "Input img should be Tensor Image", id="ConvertImageDtype"),
    pytest.param(lambda: T.LinearTransformation(torch.eye(NUMEL), torch.zeros(NUMEL)),
                 AttributeError, "'Image' object has no attribute 'shape'",
                 id="LinearTransformation"),
]


@pytest.mark.parametrize("make_step, exc, message", V1_TENSOR_ONLY)
def test_ol101_v1_tensor_only_step_before_to_tensor_raises(pil_rgb, make_step, exc, message):
    """OL101: a v1 tensor-only step before ToTensor raises on PIL; after it, it works."""
    with raises(exc, message):
        T.Compose([make_step(), T.ToTensor()])(pil_rgb)
    out = T.Compose([T.ToTensor(), make_step()])(pil_rgb)
    assert out.dtype == torch.float32 and out.shape == (3, 32, 32)


@pytest.mark.parametrize("make_step, message", [
    pytest.param(lambda: v2.Normalize(MEAN, STD),
                 "Normalize() does not support PIL images.", id="Normalize"),
    pytest.param(lambda: v2.LinearTransformation(torch.eye(NUMEL), torch.zeros(NUMEL)),
                 "LinearTransformation() does not support PIL images.",
                 id="LinearTransformation"),
])
def test_ol101_v2_normalize_like_step_before_to_image_raises(pil_rgb, make_step, message):
    """OL101: v2 Normalize/LinearTransformation on PIL raise TypeError; after ToImage they work."""
    to_float = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    with raises(TypeError, message):
        v2.Compose([make_step(), *to_float])(pil_rgb)
    out = v2.Compose([*to_float, make_step()])(pil_rgb)
    assert out.dtype == torch.float32 and out.shape == (3, 32, 32)


@pytest.mark.parametrize("make_step", [
    pytest.param(lambda: v2.ToDtype(torch.float32, scale=True), id="ToDtype"),
    pytest.param(lambda: v2.ConvertImageDtype(torch.float32), id="ConvertImageDtype"),
])
def test_ol101_v2_dtype_step_before_to_image_is_silent_noop(pil_rgb, make_step):
    """OL101: v2 ToDtype/ConvertImageDtype pass PIL through, so the data ends uint8."""
    assert make_step()(pil_rgb) is pil_rgb
    bad = v2.Compose([make_step(), v2.ToImage()])(pil_rgb)
    assert bad.dtype == torch.uint8 and bad.max() > 1
    fixed = v2.Compose([v2.ToImage(), make_step()])(pil_rgb)
    assert fixed.dtype == torch.float32 and 0 <= fixed.min() and fixed.max() <= 1
    torch.testing.assert_close(plain(fixed), F.to_tensor(pil_rgb))


def test_ol101_v2_random_erasing_supports_pil(pil_rgb):
    """OL101 (not flagged): v2 RandomErasing works on PIL images."""
    torch.manual_seed(0)
    erased = v2.RandomErasing(p=1)(pil_rgb)
    assert isinstance(erased, Image.Image)
    assert not np.array_equal(np.asarray(erased), np.asarray(pil_rgb))
    out = v2.Compose([v2.RandomErasing(p=1), v2.ToImage()])(pil_rgb)
    assert out.shape == (3, 32, 32)


# ------------------------------------------------------------------ OL102

V1_CONVERSIONS = {
    "ToTensor": (T.ToTensor, "pic should be PIL Image or ndarray. Got <class 'torch.Tensor'>"),
    "PILToTensor": (T.PILToTensor, "pic should be PIL Image. Got <class 'torch.Tensor'>"),
}


@pytest.mark.parametrize("first", V1_CONVERSIONS)
@pytest.mark.parametrize("second", V1_CONVERSIONS)
def test_ol102_v1_second_conversion_raises(pil_rgb, first, second):
    """OL102: a v1 ToTensor/PILToTensor on data that is already a tensor raises TypeError."""
    make_second, message = V1_CONVERSIONS[second]
    with raises(TypeError, message):
        T.Compose([V1_CONVERSIONS[first][0](), make_second()])(pil_rgb)
    assert T.Compose([V1_CONVERSIONS[first][0]()])(pil_rgb).shape == (3, 32, 32)


@pytest.mark.parametrize("make_conversion", [
    pytest.param(v2.ToImage, id="ToImage"),
    pytest.param(v2_to_tensor, id="ToTensor"),
    pytest.param(v2.PILToTensor, id="PILToTensor"),
    pytest.param(v2.ToPureTensor, id="ToPureTensor"),
])
@pytest.mark.parametrize("image_fixture", ["uint8_image", "float_image"])
def test_ol102_v2_conversions_pass_tensors_through(request, make_conversion, image_fixture):
    """OL102 (not flagged): v2 conversions leave tensor data (values and dtype) unchanged."""
    image = request.getfixturevalue(image_fixture)
    out = make_conversion()(image)
    assert out.dtype == image.dtype
    assert torch.equal(plain(out), image)


def test_ol102_v2_to_tensor_after_conversion_skips_scaling(pil_rgb):
    """OL102: v2 ToTensor after ToImage/PILToTensor runs but leaves uint8 0..255 data."""
    to_tensor = v2_to_tensor()
    for first in (v2.ToImage(), v2.PILToTensor()):
        out = v2.Compose([first, to_tensor])(pil_rgb)
        assert out.dtype == torch.uint8 and out.max() == 255
    alone = v2.Compose([to_tensor])(pil_rgb)
    assert alone.dtype == torch.float32 and alone.max() <= 1


# ------------------------------------------------------------------ OL103

RANGE_CLAMPING = [
    pytest.param(lambda: T.ColorJitter(brightness=0.5), id="v1-ColorJitter-brightness"),
    pytest.param(lambda: T.ColorJitter(contrast=0.5), id="v1-ColorJitter-contrast"),
    pytest.param(lambda: T.ColorJitter(saturation=0.5), id="v1-ColorJitter-saturation"),
    pytest.param(lambda: T.ColorJitter(brightness=(0.999, 1.001)), id="v1-ColorJitter-near-identity"),
    pytest.param(lambda: T.RandomAdjustSharpness(2, p=1), id="v1-RandomAdjustSharpness"),
    pytest.param(lambda: T.RandomAdjustSharpness(1, p=1), id="v1-RandomAdjustSharpness-identity"),
    pytest.param(lambda: T.RandomAutocontrast(p=1), id="v1-RandomAutocontrast"),
    pytest.param(lambda: v2.ColorJitter(brightness=0.5), id="v2-ColorJitter-brightness"),
    pytest.param(lambda: v2.ColorJitter(contrast=0.5), id="v2-ColorJitter-contrast"),
    pytest.param(lambda: v2.ColorJitter(saturation=0.5), id="v2-ColorJitter-saturation"),
    pytest.param(lambda: v2.RandomAdjustSharpness(2, p=1), id="v2-RandomAdjustSharpness"),
    pytest.param(lambda: v2.RandomAutocontrast(p=1), id="v2-RandomAutocontrast"),
    pytest.param(lambda: v2.RandomPosterize(4, p=1), id="v2-RandomPosterize"),
    pytest.param(lambda: v2.RandomEqualize(p=1), id="v2-RandomEqualize"),
    pytest.param(lambda: v2.RandomPhotometricDistort(p=1), id="v2-RandomPhotometricDistort"),
    pytest.param(lambda: v2.GaussianNoise(), id="v2-GaussianNoise"),
]


@pytest.mark.parametrize("make_op", RANGE_CLAMPING)
def test_ol103_range_op_after_normalize_clamps_negatives(float_image, make_op):
    """OL103: a value-range op after Normalize clamps to >= 0, losing every negative value."""
    normalized = normalize()(float_image)
    assert (normalized < 0).sum() > 100
    torch.manual_seed(0)
    bad = T.Compose([normalize(), make_op()])(float_image)
    assert bad.min() >= 0 and not (bad < 0).any()
    torch.manual_seed(0)
    fixed = T.Compose([make_op(), normalize()])(float_image)
    assert (fixed < 0).sum() > 100


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
@pytest.mark.parametrize("kwargs", [
    {}, {"brightness": (1, 1)}, {"contrast": (1, 1)}, {"saturation": (1, 1)}, {"hue": (0, 0)},
], ids=["default", "brightness", "contrast", "saturation", "hue"])
def test_ol103_identity_color_jitter_is_noop(float_image, api, kwargs):
    """OL103: ColorJitter with identity ranges stores None and leaves normalized data intact."""
    jitter = api.ColorJitter(**kwargs)
    assert all(getattr(jitter, k) is None for k in ("brightness", "contrast", "saturation", "hue"))
    normalized = normalize()(float_image)
    assert torch.equal(plain(jitter(normalized)), normalized)


@pytest.mark.parametrize("make_op", [
    pytest.param(lambda: T.RandomPosterize(4, p=1), id="RandomPosterize"),
    pytest.param(lambda: T.RandomEqualize(p=1), id="RandomEqualize"),
])
def test_ol103_v1_uint8_only_op_after_normalize_raises(pil_rgb, make_op):
    """OL103: v1 RandomPosterize/RandomEqualize after Normalize raise TypeError; before, they work."""
    with raises(TypeError, UINT8_ONLY):
        T.Compose([T.ToTensor(), normalize(), make_op()])(pil_rgb)
    fixed = T.Compose([make_op(), T.ToTensor(), normalize()])(pil_rgb)
    assert fixed.min() < 0


def test_ol103_gaussian_noise_clip_clamps_to_unit_range(float_image):
    """OL103: v2 GaussianNoise (clip=True default) after Normalize clamps to [0, 1]; clip=False does not."""
    normalized = normalize()(float_image)
    assert normalized.min() < 0 and normalized.max() > 1
    assert v2.GaussianNoise().clip is True
    torch.manual_seed(0)
    clipped = v2.GaussianNoise()(normalized)
    assert clipped.min() >= 0 and clipped.max() <= 1
    torch.manual_seed(0)
    unclipped = v2.GaussianNoise(clip=False)(normalized)
    assert unclipped.min() < 0 and unclipped.max() > 1


@pytest.mark.parametrize("make_op", [
    pytest.param(lambda: T.GaussianBlur(3, sigma=1.0), id="v1-GaussianBlur"),
    pytest.param(lambda: v2.GaussianBlur(3, sigma=1.0), id="v2-GaussianBlur"),
    pytest.param(lambda: T.RandomErasing(p=1), id="v1-RandomErasing"),
    pytest.param(lambda: v2.RandomErasing(p=1), id="v2-RandomErasing"),
])
def test_ol103_lookalike_after_normalize_keeps_negatives(float_image, make_op):
    """OL103 (not flagged): GaussianBlur/RandomErasing after Normalize keep negative values."""
    torch.manual_seed(0)
    out = T.Compose([normalize(), make_op()])(float_image)
    assert (out < 0).sum() > 100


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol103_gaussian_blur_commutes_with_normalize(float_image, api):
    """OL103 (not flagged): GaussianBlur is linear, so its order relative to Normalize is irrelevant."""
    after = api.Compose([normalize(api), api.GaussianBlur(3, sigma=1.0)])(float_image)
    before = api.Compose([api.GaussianBlur(3, sigma=1.0), normalize(api)])(float_image)
    torch.testing.assert_close(plain(after), plain(before), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("make_op", [
    pytest.param(lambda: T.RandomInvert(p=1), id="RandomInvert"),
    pytest.param(lambda: T.RandomSolarize(0.5, p=1), id="RandomSolarize"),
])
def test_ol103_value_dependent_op_after_normalize_changes_result(float_image, make_op):
    """OL103: RandomInvert/RandomSolarize assume [0, 1]; after Normalize they compute something else."""
    after = T.Compose([normalize(), make_op()])(float_image)
    before = T.Compose([make_op(), normalize()])(float_image)
    assert (after - before).abs().max() > 0.5


# ------------------------------------------------------------------ OL104


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol104_double_normalize_differs_from_single(float_image, api):
    """OL104: Normalize applied twice gives a different result from one Normalize."""
    once = api.Compose([normalize(api)])(float_image)
    twice = api.Compose([normalize(api), normalize(api)])(float_image)
    assert (plain(twice) - plain(once)).abs().max() > 1


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol104_denormalize_idiom_restores_unit_range(float_image, api):
    """OL104 (not flagged): Normalize(-m/s, 1/s) after Normalize(m, s) restores the [0, 1] input."""
    out = api.Compose([normalize(api), denormalize(api)])(float_image)
    torch.testing.assert_close(plain(out), float_image, atol=1e-6, rtol=0)
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6


# ------------------------------------------------------------------ OL105


@pytest.mark.parametrize("scale, low, high", [(False, 1000, 1200), (True, 2, 3)],
                         ids=["unscaled", "scaled"])
def test_ol105_to_dtype_scale_then_normalize_white(scale, low, high):
    """OL105: v2 ToDtype(float32) without scale=True then Normalize gives values around 1100."""
    pipeline = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=scale), normalize(v2)])
    out = plain(pipeline(white_pil()))
    top = 255.0 if not scale else 1.0
    expected = (top - torch.tensor(MEAN)) / torch.tensor(STD)
    torch.testing.assert_close(out.amax(dim=(1, 2)), expected)
    assert low < out.max() < high


def test_ol105_unscaled_max_is_green_channel_1136():
    """OL105: the white-image maximum is (255 - 0.456) / 0.224 = 1136.36, not 1131.9."""
    out = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32), normalize(v2)])(white_pil())
    assert out.max().item() == pytest.approx(1136.357, abs=1e-2)


def test_ol105_unscaled_to_dtype_ending_pipeline_keeps_0_255(pil_rgb):
    """OL105: a pipeline ending in ToDtype(float32) without scale yields float data in 0..255."""
    bad = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32)])(pil_rgb)
    assert bad.dtype == torch.float32 and bad.max() == 255
    fixed = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])(pil_rgb)
    assert fixed.dtype == torch.float32 and fixed.max() <= 1


# ------------------------------------------------------------------ OL106


@pytest.mark.parametrize("api, conversion, to_float", [
    pytest.param(T, T.PILToTensor, lambda: T.ConvertImageDtype(torch.float32), id="v1-PILToTensor"),
    pytest.param(v2, v2.ToImage, lambda: v2.ToDtype(torch.float32, scale=True), id="v2-ToImage"),
    pytest.param(v2, v2.PILToTensor, lambda: v2.ToDtype(torch.float32, scale=True),
                 id="v2-PILToTensor"),
])
def test_ol106_normalize_on_uint8_raises(pil_rgb, api, conversion, to_float):
    """OL106: Normalize reached by uint8 data raises TypeError; a float conversion first fixes it."""
    with raises(TypeError, FLOAT_ONLY):
        api.Compose([conversion(), normalize(api)])(pil_rgb)
    fixed = api.Compose([conversion(), to_float(), normalize(api)])(pil_rgb)
    torch.testing.assert_close(plain(fixed), normalize()(F.to_tensor(pil_rgb)))


# ------------------------------------------------------------------ OL107


def test_ol107_v2_to_tensor_warns_deprecated_at_construction(pil_rgb):
    """OL107: constructing v2.ToTensor warns "deprecated" and "will be removed"."""
    with pytest.warns(UserWarning) as record:
        to_tensor = v2.ToTensor()
    messages = [str(w.message) for w in record]
    assert any("deprecated" in m and "will be removed" in m for m in messages)
    out = to_tensor(pil_rgb)
    assert out.dtype == torch.float32


def test_ol107_replacement_matches_v1_to_tensor(pil_rgb):
    """OL107: v2 ToImage + ToDtype(float32, scale=True) equals v1 ToTensor up to float precision."""
    replacement = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])(pil_rgb)
    reference = T.ToTensor()(pil_rgb)
    assert replacement.dtype == reference.dtype == torch.float32
    torch.testing.assert_close(plain(replacement), reference, atol=1e-6, rtol=0)
    torch.testing.assert_close(plain(replacement), v2_to_tensor()(pil_rgb), atol=1e-6, rtol=0)


# ------------------------------------------------------------------ OL108


def distinct_outputs(pipeline, image, calls=10):
    torch.manual_seed(0)
    outputs = [pipeline(image) for _ in range(calls)]
    return sum(not torch.equal(outputs[0], o) for o in outputs[1:])


@pytest.mark.parametrize("random_step", [
    pytest.param(lambda: T.RandomHorizontalFlip(), id="v1-RandomHorizontalFlip"),
    pytest.param(lambda: T.RandomResizedCrop(32), id="v1-RandomResizedCrop"),
    pytest.param(lambda: T.ColorJitter(brightness=0.5), id="v1-ColorJitter"),
    pytest.param(lambda: v2.RandomResizedCrop(32), id="v2-RandomResizedCrop"),
])
def test_ol108_random_step_makes_evaluation_nondeterministic(pil_rgb, random_step):
    """OL108: a random step gives different outputs for the same image; Resize+CenterCrop does not."""
    val = T.Compose([T.Resize(32), random_step(), T.ToTensor()])
    assert distinct_outputs(val, pil_rgb) > 0
    fixed = T.Compose([T.Resize(32), T.CenterCrop(24), T.ToTensor()])
    assert distinct_outputs(fixed, pil_rgb) == 0


# ------------------------------------------------------------------ OL109


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol109_random_crop_larger_than_resize_raises(make_pil, api):
    """OL109: RandomCrop(64) after Resize(32) raises ValueError; pad_if_needed or a smaller crop works."""
    image = make_pil(64)
    with raises(ValueError, "Required crop size (64, 64) is larger than input image size (32, 32)"):
        api.Compose([api.Resize(32), api.RandomCrop(64)])(image)
    assert api.Compose([api.Resize(32), api.RandomCrop(64, pad_if_needed=True)])(image).size == (64, 64)
    assert api.Compose([api.Resize(32), api.RandomCrop(32)])(image).size == (32, 32)


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol109_center_crop_larger_than_resize_zero_pads(make_pil, api):
    """OL109: CenterCrop(64) after Resize(32) silently zero-pads to 64x64."""
    image = make_pil(64)
    resized = F.pil_to_tensor(api.Resize(32)(image))
    out = F.pil_to_tensor(api.Compose([api.Resize(32), api.CenterCrop(64)])(image))
    assert out.shape == (3, 64, 64)
    border = torch.ones(64, 64, dtype=torch.bool)
    border[16:48, 16:48] = False
    assert (out[:, border] == 0).all()
    assert torch.equal(out[:, 16:48, 16:48], resized)
    fixed = F.pil_to_tensor(api.Compose([api.Resize(32), api.CenterCrop(32)])(image))
    assert torch.equal(fixed, resized)


# ------------------------------------------------------------------ OL110


def test_ol110_v1_grayscale_then_rgb_normalize_raises(pil_rgb):
    """OL110: v1 Grayscale(1), ToTensor, 3-channel Normalize raises RuntimeError."""
    with raises(RuntimeError, "output with shape [1, 32, 32] doesn't match the broadcast shape [3, 32, 32]"):
        T.Compose([T.Grayscale(1), T.ToTensor(), normalize()])(pil_rgb)
    fixed = T.Compose([T.Grayscale(1), T.ToTensor(), T.Normalize([0.5], [0.25])])(pil_rgb)
    assert fixed.shape == (1, 32, 32)


def test_ol110_v2_grayscale_then_rgb_normalize_broadcasts(pil_rgb):
    """OL110: v2 Grayscale(1) then 3-channel Normalize silently returns 3 copies of the gray channel."""
    to_float = [v2.Grayscale(1), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    out = plain(v2.Compose([*to_float, normalize(v2)])(pil_rgb))
    assert out.shape == (3, 32, 32)
    gray = out * torch.tensor(STD)[:, None, None] + torch.tensor(MEAN)[:, None, None]
    torch.testing.assert_close(gray, gray[:1].expand(3, -1, -1))
    fixed = v2.Compose([*to_float, v2.Normalize([0.5], [0.25])])(pil_rgb)
    assert fixed.shape == (1, 32, 32)


MISMATCH_3_VS_2 = "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0"


def broadcast_error(channels):
    return f"output with shape [1, 32, 32] doesn't match the broadcast shape [{channels}, 32, 32]"


NORMALIZE_LENGTHS = [
    # 3-channel image: a length-1 mean or std broadcasts, any other length mismatch raises
    (T, 3, 1, 3, (3, 32, 32)),
    (v2, 3, 1, 3, (3, 32, 32)),
    (T, 3, 3, 1, (3, 32, 32)),
    (v2, 3, 3, 1, (3, 32, 32)),
    (T, 3, 1, 1, (3, 32, 32)),
    (T, 3, 2, 2, MISMATCH_3_VS_2),
    (v2, 3, 2, 2, MISMATCH_3_VS_2),
    (T, 3, 2, 3, MISMATCH_3_VS_2),
    (v2, 3, 2, 3, MISMATCH_3_VS_2),
    (T, 3, 2, 1, MISMATCH_3_VS_2),
    (v2, 3, 4, 4, MISMATCH_3_VS_2.replace("(2)", "(4)")),
    # 1-channel image: v1 normalizes in place and always raises;
    # v2 broadcasts only when the mean has the longer length
    (T, 1, 3, 3, broadcast_error(3)),
    (v2, 1, 3, 3, (3, 32, 32)),
    (v2, 1, 3, 1, (3, 32, 32)),
    (T, 1, 1, 3, broadcast_error(3)),
    (v2, 1, 1, 3, broadcast_error(3)),
    (T, 1, 2, 2, broadcast_error(2)),
    (v2, 1, 2, 2, (2, 32, 32)),
]


@pytest.mark.parametrize("api, channels, mean_len, std_len, expected", [
    pytest.param(*row, id=f"{'v1' if row[0] is T else 'v2'}-{row[1]}ch-mean{row[2]}-std{row[3]}")
    for row in NORMALIZE_LENGTHS
])
def test_ol110_normalize_length_vs_channels(float_image, api, channels, mean_len, std_len, expected):
    """OL110: which mean/std lengths broadcast, raise, or change the channel count."""
    image = float_image[:channels].clone()
    step = api.Normalize([0.5] * mean_len, [0.25] * std_len)
    if isinstance(expected, str):
        with raises(RuntimeError, expected):
            step(image)
    else:
        out = step(image)
        assert out.shape == expected
        torch.testing.assert_close(plain(out), (image - 0.5).div(0.25).expand(expected))


# ------------------------------------------------------------------ OL111


def white_square(size=64, side=16):
    pixels = np.zeros((size, size, 3), dtype=np.uint8)
    start = (size - side) // 2
    pixels[start:start + side, start:start + side] = 255
    return Image.fromarray(pixels, "RGB")


def white_fraction(image):
    return float((np.asarray(image)[..., 0] > 127).mean())


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol111_crop_before_resize_means_something_else(api):
    """OL111: CenterCrop(16)->Resize(32) and Resize(32)->CenterCrop(16) both run, on different views."""
    image = white_square()
    crop_first = api.Compose([api.CenterCrop(16), api.Resize(32)])(image)
    resize_first = api.Compose([api.Resize(32), api.CenterCrop(16)])(image)
    assert crop_first.size == (32, 32) and resize_first.size == (16, 16)
    assert white_fraction(crop_first) == 1.0
    assert white_fraction(resize_first) == pytest.approx(0.25, abs=0.05)


# ------------------------------------------------------------------ OL112


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
def test_ol112_to_pil_after_normalize_corrupts_values(float_image, api):
    """OL112: ToPILImage after Normalize squeezes normalized values into uint8 and loses them."""
    normalized = normalize()(float_image)
    back = F.to_tensor(api.ToPILImage()(normalized))
    assert back.min() >= 0 and back.max() <= 1
    assert (back[normalized < 0] > 0.1).any()
    assert (back - normalized).abs().max() > 1
    fixed = api.ToPILImage()(denormalize()(normalized))
    assert np.abs(np.asarray(fixed, dtype=int) - np.asarray(F.to_pil_image(float_image), dtype=int)).max() <= 1


@pytest.mark.parametrize("api", [T, v2], ids=["v1", "v2"])
@pytest.mark.parametrize("value, wrapped, clipped", [(-0.5, 129, 0), (1.5, 126, 255), (-2.0, 2, 0)])
def test_ol112_to_pil_out_of_range_values(api, value, wrapped, clipped):
    """OL112: out-of-range values are wrapped (observed on x86) or clipped by ToPILImage."""
    pixel = np.asarray(api.ToPILImage()(channel_const(value)))[0, 0, 0]
    assert pixel in (wrapped, clipped)


# ------------------------------------------------------------------ OL113

V1_UINT8_ONLY = [
    pytest.param(lambda: T.RandomPosterize(4, p=1), id="RandomPosterize"),
    pytest.param(lambda: T.RandomEqualize(p=1), id="RandomEqualize"),
]
V1_POLICIES = [
    pytest.param(T.AutoAugment, id="AutoAugment"),
    pytest.param(T.RandAugment, id="RandAugment"),
    pytest.param(T.TrivialAugmentWide, id="TrivialAugmentWide"),
]
POLICY_ERRORS = {("TypeError", UINT8_ONLY), ("TypeError", THRESHOLD_BOUND)}


@pytest.mark.parametrize("make_op", V1_UINT8_ONLY)
def test_ol113_uint8_only_op_on_float_always_raises(pil_rgb, make_op):
    """OL113: v1 RandomPosterize/RandomEqualize after ToTensor always raise TypeError."""
    with raises(TypeError, UINT8_ONLY):
        T.Compose([T.ToTensor(), make_op()])(pil_rgb)
    fixed = T.Compose([T.PILToTensor(), make_op(), T.ConvertImageDtype(torch.float32)])(pil_rgb)
    assert fixed.dtype == torch.float32


@pytest.mark.parametrize("make_policy", V1_POLICIES)
def test_ol113_policy_on_float_raises_for_some_seeds(float_image, make_policy):
    """OL113: v1 AutoAugment/RandAugment/TrivialAugmentWide on float raise for some seeds only."""
    seen = outcomes(make_policy(), float_image)
    assert seen["ok"] > 0 and failures(seen) > 0
    assert set(seen) - {"ok"} <= POLICY_ERRORS


def test_ol113_augmix_on_float_raises_for_most_seeds(float_image):
    """OL113: v1 AugMix on float raises for most of 200 seeds (163 observed)."""
    seen = outcomes(T.AugMix(), float_image)
    assert failures(seen) > 100
    assert set(seen) - {"ok"} <= POLICY_ERRORS


@pytest.mark.parametrize("api, threshold, error", [
    (T, 128, (TypeError, THRESHOLD_BOUND)),
    (T, 1.5, (TypeError, THRESHOLD_BOUND)),
    (T, 1.0, None),
    (T, 0.5, None),
    (v2, 128, (TypeError, "Threshold should be less or equal the maximum value of the dtype, but got 128")),
    (v2, 0.5, None),
], ids=["v1-128", "v1-1.5", "v1-1.0", "v1-0.5", "v2-128", "v2-0.5"])
def test_ol113_solarize_threshold_on_float(float_image, uint8_image, api, threshold, error):
    """OL113: RandomSolarize on float raises for a threshold above 1 and works up to 1."""
    solarize = api.RandomSolarize(threshold, p=1)
    if error is None:
        out = solarize(float_image)
        assert out.dtype == torch.float32 and out.shape == (3, 32, 32)
    else:
        with raises(*error):
            solarize(float_image)
        assert solarize(uint8_image).dtype == torch.uint8


@pytest.mark.parametrize("make_op", V1_POLICIES + V1_UINT8_ONLY + [
    pytest.param(T.AugMix, id="AugMix"),
    pytest.param(lambda: T.RandomSolarize(128, p=1), id="RandomSolarize-128"),
])
@pytest.mark.parametrize("image_fixture", ["pil_rgb", "uint8_image"])
def test_ol113_augment_before_float_conversion_never_raises(request, make_op, image_fixture):
    """OL113: the same augmentations on PIL or uint8 data never raise over 200 seeds."""
    seen = outcomes(make_op(), request.getfixturevalue(image_fixture))
    assert seen == Counter(ok=len(SEEDS))
