"""Oracle tests for RULES.md "OL2xx: layer stacks".

Each test runs the real torch on CPU and fails if the behaviour a rule relies
on stops being true: the buggy stack raises the stated error (or computes the
wrong thing) and the fixed stack works. Nothing here imports orderlint.
"""
import math
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F


def raises(exc, fragment):
    return pytest.raises(exc, match=re.escape(fragment))


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


IMAGE = (2, 3, 16, 16)


# OL203 feature-count-mismatch ------------------------------------------------------


@pytest.mark.parametrize(
    "bad, good, shape, exc, fragment",
    [
        (nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(32)), nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64)),
         IMAGE, RuntimeError, "running_mean should contain 64 elements not 32"),
        (nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(128, 10)),
         nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)),
         (2, 784), RuntimeError, "mat1 and mat2 shapes cannot be multiplied (2x256 and 128x10)"),
        (nn.Sequential(nn.Conv2d(3, 32, 3), nn.BatchNorm2d(32), nn.Conv2d(64, 128, 3)),
         nn.Sequential(nn.Conv2d(3, 32, 3), nn.BatchNorm2d(32), nn.Conv2d(32, 128, 3)),
         IMAGE, RuntimeError, "to have 64 channels, but got 32 channels instead"),
        (nn.Sequential(nn.Linear(384, 1536), nn.GELU(), nn.LayerNorm(384)),
         nn.Sequential(nn.Linear(384, 1536), nn.GELU(), nn.LayerNorm(1536)),
         (2, 384), RuntimeError, "Given normalized_shape=[384], expected input with shape [*, 384], but got input of size[2, 1536]"),
        (nn.Sequential(nn.Conv2d(3, 64, 3), nn.GroupNorm(8, 32)), nn.Sequential(nn.Conv2d(3, 64, 3), nn.GroupNorm(8, 64)),
         IMAGE, RuntimeError, "Expected weight to be a vector of size equal to the number of channels in input"),
        (nn.Sequential(nn.Linear(128, 64), nn.Dropout(0.5), nn.BatchNorm1d(32)),
         nn.Sequential(nn.Linear(128, 64), nn.Dropout(0.5), nn.BatchNorm1d(64)),
         (4, 128), RuntimeError, "running_mean should contain 64 elements not 32"),
    ],
    ids=["conv-bn", "linear-linear", "conv-conv", "linear-layernorm", "conv-groupnorm", "linear-bn1d"],
)
def test_count_mismatch_raises_and_the_fix_runs(bad, good, shape, exc, fragment):
    with raises(exc, fragment):
        bad(torch.randn(*shape))
    good(torch.randn(*shape))


def test_flattened_count_after_adaptive_pool_is_the_channel_count():
    """OL203 computes Flatten's output from AdaptiveAvgPool2d(1): 256 channels x 1 x 1."""
    stack = nn.Sequential(nn.Conv2d(3, 256, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert stack(torch.randn(*IMAGE)).shape == (2, 256)
    with raises(RuntimeError, "mat1 and mat2 shapes cannot be multiplied (2x256 and 512x10)"):
        nn.Sequential(stack, nn.Linear(512, 10))(torch.randn(*IMAGE))


# OL204 rank-mismatch ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, good, shape, exc, fragment",
    [
        (nn.Sequential(nn.Conv2d(3, 32, 3), nn.BatchNorm1d(32)), nn.Sequential(nn.Conv2d(3, 32, 3), nn.BatchNorm2d(32)),
         IMAGE, ValueError, "expected 2D or 3D input (got 4D input)"),
        (nn.Sequential(nn.Linear(128, 64 * 7 * 7), nn.ReLU(), nn.BatchNorm2d(64)),
         nn.Sequential(nn.Linear(128, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)), nn.BatchNorm2d(64)),
         (2, 128), ValueError, "expected 4D input (got 2D input)"),
        (nn.Sequential(nn.Flatten(), nn.Conv2d(3, 8, 3)), nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten()),
         IMAGE, RuntimeError, "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 768]"),
        (nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Linear(16 * 8 * 8, 10)),
         nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 8 * 8, 10)),
         IMAGE, RuntimeError, "mat1 and mat2 shapes cannot be multiplied (256x8 and 1024x10)"),
    ],
    ids=["conv2d-bn1d", "linear-bn2d", "flatten-conv2d", "pool-linear"],
)
def test_rank_mismatch_raises_and_the_fix_runs(bad, good, shape, exc, fragment):
    with raises(exc, fragment):
        bad(torch.randn(*shape))
    good(torch.randn(*shape))


def test_linear_on_a_feature_map_is_silently_wrong_when_sizes_happen_to_match():
    """OL204 "silent": Linear(in_features=W) after a pool multiplies the width, not the features."""
    stack = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveAvgPool2d(4), nn.Linear(4, 10))
    out = stack(torch.randn(*IMAGE))
    assert out.shape == (2, 8, 4, 10)  # runs, but it is not (N, classes)


# OL201 conv-bias-before-batchnorm -------------------------------------------------------


def test_batchnorm_in_train_mode_cancels_the_preceding_conv_bias():
    with_bias = nn.Conv2d(3, 16, 3, bias=True)
    without = nn.Conv2d(3, 16, 3, bias=False)
    with torch.no_grad():
        without.weight.copy_(with_bias.weight)
        with_bias.bias.uniform_(-5, 5)
    x = torch.randn(8, 3, 16, 16)
    bn_a, bn_b = nn.BatchNorm2d(16).train(), nn.BatchNorm2d(16).train()
    out_a = bn_a(with_bias(x))
    out_b = bn_b(without(x))
    assert torch.allclose(out_a, out_b, atol=1e-5)
    (out_a * torch.randn_like(out_a)).sum().backward()
    # The bias receives no gradient (up to rounding): it is dead weight.
    assert with_bias.bias.grad.abs().max() < 1e-4 * with_bias.weight.grad.abs().max()


def test_bias_false_changes_the_state_dict_keys():
    """Why OL201's fix is unsafe: old checkpoints carry a `bias` key the fixed model lacks."""
    old = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16)).state_dict()
    new = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16))
    assert "0.bias" in old and "0.bias" not in new.state_dict()
    with raises(RuntimeError, 'Unexpected key(s) in state_dict: "0.bias"'):
        new.load_state_dict(old)


# OL202 dropout-before-batchnorm ----------------------------------------------------------


def _eval_variance_ratio(p: float) -> float:
    """BN running variance (learned in train mode) / variance BN actually receives in eval mode."""
    stack = nn.Sequential(nn.Dropout(p), nn.BatchNorm1d(64, momentum=None)).train()
    data = torch.randn(4096, 64) + 1.0
    for batch in data.split(256):
        stack(batch)
    stack.eval()
    seen_in_eval = stack[0](data).var(0, unbiased=True)
    return (stack[1].running_var / seen_in_eval).mean().item()


def test_dropout_before_batchnorm_shifts_the_variance_between_train_and_eval():
    assert _eval_variance_ratio(0.5) > 2.5  # mean 1, var 1: train-mode variance (1+1)/(1-p) - 1 = 3
    assert abs(_eval_variance_ratio(0.0) - 1.0) < 0.05  # no dropout, no shift


# OL205 softmax-before-cross-entropy ------------------------------------------------------


def test_double_softmax_raises_the_loss_floor_and_shrinks_the_gradient():
    classes = 10
    target = torch.arange(4) % classes
    logits = torch.full((4, classes), -20.0)
    logits[torch.arange(4), target] = 20.0  # a confident, correct prediction
    logits.requires_grad_(True)
    assert F.cross_entropy(logits, target).item() < 1e-6
    double = F.cross_entropy(F.softmax(logits, dim=1), target)
    floor = math.log((math.e + classes - 1) / math.e)  # softmax of (1, 0, ..., 0)
    assert double.item() == pytest.approx(floor, abs=1e-4)
    assert double.item() > 1.4

    wrong = torch.zeros(4, classes, requires_grad=True)  # an uninformed prediction: gradients compared
    F.cross_entropy(wrong, target).backward()
    plain = wrong.grad.norm().item()
    wrong.grad = None
    F.cross_entropy(F.softmax(wrong, dim=1), target).backward()
    assert wrong.grad.norm().item() < plain / 5


def test_log_softmax_then_cross_entropy_equals_cross_entropy_on_logits():
    """Why OL205 does not fire on LogSoftmax + CrossEntropyLoss."""
    logits, target = torch.randn(8, 10), torch.randint(0, 10, (8,))
    assert torch.allclose(F.cross_entropy(F.log_softmax(logits, 1), target), F.cross_entropy(logits, target))


def test_softmax_into_nll_loss_is_not_the_negative_log_likelihood():
    logits, target = torch.randn(8, 10), torch.randint(0, 10, (8,))
    assert not torch.allclose(F.nll_loss(F.softmax(logits, 1), target), F.cross_entropy(logits, target))
    assert F.nll_loss(F.softmax(logits, 1), target).item() <= 0  # "loss" of probabilities: in [-1, 0]


# OL206 sigmoid-before-bce-with-logits ----------------------------------------------------


def test_double_sigmoid_has_a_loss_floor_of_0_313():
    target = torch.ones(16)
    confident = torch.full((16,), 30.0)
    assert F.binary_cross_entropy_with_logits(confident, target).item() < 1e-6
    double = F.binary_cross_entropy_with_logits(torch.sigmoid(confident), target).item()
    assert double == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    assert round(double, 3) == 0.313


def test_sigmoid_then_bce_loss_is_the_fixed_form():
    logits, target = torch.randn(16), torch.randint(0, 2, (16,)).float()
    assert torch.allclose(F.binary_cross_entropy(torch.sigmoid(logits), target),
                          F.binary_cross_entropy_with_logits(logits, target), atol=1e-6)


# OL207 logits-into-nll-loss ----------------------------------------------------------------


def test_nll_loss_on_logits_gives_the_wrong_value():
    """RULES.md: "0.374 instead of the true 3.332"; a two-class case with exactly those values."""
    logits = torch.tensor([[-0.374, 2.922]])
    target = torch.tensor([0])
    assert F.nll_loss(logits, target).item() == pytest.approx(0.374, abs=1e-3)
    assert F.cross_entropy(logits, target).item() == pytest.approx(3.332, abs=1e-3)
    assert F.nll_loss(F.log_softmax(logits, 1), target).item() == pytest.approx(3.332, abs=1e-3)  # the fix


def test_nll_loss_on_logits_is_unbounded_below():
    logits = torch.tensor([[100.0, 0.0]], requires_grad=True)
    assert F.nll_loss(logits, torch.tensor([0])).item() == -100.0
