"""Fixes, proven with the real torchvision: each fixed pipeline runs and produces what the rule wanted,
and random orders of known transforms, once fixed with --fix --unsafe-fixes, lint clean and run."""

import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image

from orderlint.config import select_rules
from orderlint.context import Settings
from orderlint.runner import fix_source, lint_text

PAIRS = Path(__file__).parents[2] / "fixtures" / "fixes"
RULES = select_rules(None, [], [], preview=False)


def image(seed=0, size=48):
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (size, size, 3), dtype=torch.uint8, generator=generator)
    return Image.fromarray(pixels.numpy())


def load(path: Path) -> dict:
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


def test_unsafe_moves_turn_crashes_and_clamping_into_working_pipelines():
    before, after = load(PAIRS / "transforms_unsafe.py"), load(PAIRS / "transforms_unsafe.fixed.py")
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        before["train"](image())
    out = after["train"](image())
    assert out.dtype == torch.float32 and out.min() < 0  # normalized, not clamped
    assert before["jitter"](image()).min() >= 0  # ColorJitter after Normalize zeroed the negatives
    assert after["jitter"](image()).min() < 0
    raised = 0
    for seed in range(60):
        torch.manual_seed(seed)
        try:
            before["policy"](image(seed))
        except TypeError:
            raised += 1
        torch.manual_seed(seed)
        assert after["policy"](image(seed)).min() < 0
    assert raised > 0  # the uint8-only policy failed on float data for some draws


def test_safe_fixes_remove_the_deprecation_and_scale_the_values():
    with pytest.warns(UserWarning, match="deprecated"):
        before = load(PAIRS / "transforms_safe.py")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after = load(PAIRS / "transforms_safe.fixed.py")
    assert before["eval_transform"](image()).max() > 100  # unscaled: values in the hundreds
    fixed = after["eval_transform"](image())
    assert -3 < fixed.min() < 0 < fixed.max() < 3
    assert torch.allclose(after["to_tensor"](image()), before["to_tensor"](image()), atol=1e-6)
    assert after["train_transform"](image()).dtype == torch.float32


def test_direct_import_fix_runs():
    out = load(PAIRS / "transforms_direct_import.fixed.py")["pipeline"](image())
    assert out.dtype == torch.float32 and out.min() >= -1 and out.max() <= 1


def test_added_import_fix_runs_on_a_dataset():
    sample, _ = load(PAIRS / "transforms_add_import.fixed.py")["dataset"][0]
    assert sample.dtype == torch.float32 and 0 <= sample.min() and sample.max() <= 1


STEPS = {
    "resize": "T.Resize(40)",
    "crop": "T.CenterCrop(32)",
    "flip": "T.RandomHorizontalFlip()",
    "jitter": "T.ColorJitter(0.3, 0.3, 0.3)",
    "blur": "T.GaussianBlur(3)",
    "erase": "T.RandomErasing(p=0.5)",
    "policy": "T.AutoAugment()",
    "posterize": "T.RandomPosterize(4, p=1.0)",
}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.permutations(["to_tensor", "normalize", *STEPS]).map(lambda order: order[: max(4, len(order) - 3)]))
def test_fixing_any_order_gives_a_clean_pipeline_that_runs(order):
    if "to_tensor" not in order:
        order = ["to_tensor", *order]
    spelled = {"to_tensor": "T.ToTensor()", "normalize": "T.Normalize(MEAN, STD)", **STEPS}
    source = (
        "import torchvision.transforms as T\n"
        "MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]\n"
        f"pipeline = T.Compose([{', '.join(spelled[step] for step in order)}])\n"
    )
    fixed = fix_source(source, "p.py", RULES, Settings(), unsafe=True).text
    assert not [d for d in lint_text(fixed, "p.py", RULES) if d.code.startswith("OL1")], fixed
    namespace: dict = {}
    exec(fixed, namespace)
    for seed in range(5):
        torch.manual_seed(seed)
        out = namespace["pipeline"](image(seed))
        assert isinstance(out, torch.Tensor) and out.is_floating_point()


def test_fixed_training_step_runs_and_returns_a_plain_number():
    """OL304/OL307/OL408 fixed: the epoch runs (CUDA autocast and scaler disable themselves on CPU) and the
    running loss is a float, not a tensor holding every iteration's graph."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available": expected on this CPU-only machine
        fixed = load(PAIRS / "training_safe.fixed.py")
        model = torch.nn.Linear(4, 3)
        loader = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(3)]
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        result = fixed["train_one_epoch"](model, loader, optimizer, fixed["make_scaler"](), torch.nn.CrossEntropyLoss())
    assert isinstance(result, float)


def test_fixed_aliased_amp_is_valid_code_that_runs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = load(PAIRS / "training_aliased_amp.fixed.py")
        out = fixed["forward_half"](torch.nn.Linear(4, 2), torch.randn(3, 4))
    assert out.shape == (3, 2) and isinstance(fixed["scaler"], torch.amp.GradScaler)
