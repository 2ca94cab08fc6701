"""Oracle tests for RULES.md "OL3xx: mixed precision" and "OL4xx: training-step order".

Each test runs real torch on CPU (no GPU needed) and fails if the behaviour a
rule relies on stops being true; the wrong order and the right one are both
run. Nothing here imports orderlint.
"""
import re
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DistributedSampler

SCALE = 2.0 ** 16


def linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(4, 1)


def batch(seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(8, 4, generator=generator), torch.randn(8, 1, generator=generator)


def loss_of(model, x, y):
    return nn.functional.mse_loss(model(x), y)


def weights(model):
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def emulated_scaler_step(model, optimizer, scale, unscale_first, max_norm):
    """What GradScaler does around clipping, written out: backward of loss*scale, optional unscale, clip, step."""
    x, y = batch()
    optimizer.zero_grad()
    (loss_of(model, x, y) * scale).backward()
    if unscale_first:
        for p in model.parameters():
            p.grad.div_(scale)
    return nn.utils.clip_grad_norm_(model.parameters(), max_norm).item()


# ---------------------------------------------------------------- OL304


def test_ol304_clipping_before_unscale_sees_the_scaled_norm():
    true_norm = emulated_scaler_step(linear(), torch.optim.SGD(linear().parameters(), lr=0.1), 1.0, False, 1e9)
    model = linear()
    scaled_norm = emulated_scaler_step(model, torch.optim.SGD(model.parameters(), lr=0.1), SCALE, False, 1e9)
    model = linear()
    unscaled_norm = emulated_scaler_step(model, torch.optim.SGD(model.parameters(), lr=0.1), SCALE, True, 1e9)
    assert scaled_norm == pytest.approx(true_norm * SCALE, rel=1e-4)
    assert unscaled_norm == pytest.approx(true_norm, rel=1e-4)


def test_ol304_with_the_real_cpu_gradscaler_clipping_before_unscale_clips_scaled_gradients():
    model = linear()
    scaler = torch.amp.GradScaler("cpu", init_scale=SCALE)
    x, y = batch()
    scaler.scale(loss_of(model, x, y)).backward()
    wrong = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    model2 = linear()
    scaler2 = torch.amp.GradScaler("cpu", init_scale=SCALE)
    scaler2.scale(loss_of(model2, x, y)).backward()
    scaler2.unscale_(torch.optim.SGD(model2.parameters(), lr=0.1))
    right = nn.utils.clip_grad_norm_(model2.parameters(), 1.0)
    assert (wrong / right).item() == pytest.approx(SCALE, rel=1e-4)


# ---------------------------------------------------------------- OL305


def test_ol305_direct_step_after_scaled_backward_moves_weights_by_the_scale_factor():
    x, y = batch()
    moves = {}
    for name, direct in (("direct", True), ("through_scaler", False)):
        model = linear().double()  # float64: the tiny right-sized move is not lost to rounding
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
        scaler = torch.amp.GradScaler("cpu", init_scale=SCALE)
        before = weights(model)
        scaler.scale(loss_of(model, x.double(), y.double())).backward()
        if direct:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
        moves[name] = (weights(model) - before).norm().item()
    assert moves["direct"] / moves["through_scaler"] == pytest.approx(SCALE, rel=1e-3)


# ---------------------------------------------------------------- OL301 / OL303


def test_ol303_small_gradient_underflows_in_float16_not_in_bfloat16():
    gradient = torch.tensor(1e-8)
    assert gradient.to(torch.float16).item() == 0.0
    assert gradient.to(torch.bfloat16).item() != 0.0
    # The scaler's factor brings it back into float16's range (why GradScaler fixes OL303).
    assert (gradient * SCALE).to(torch.float16).item() != 0.0


def test_ol301_bfloat16_has_float32_exponent_range():
    assert torch.finfo(torch.bfloat16).tiny == torch.finfo(torch.float32).tiny
    assert torch.finfo(torch.float16).tiny > 1e-5


def test_ol301_cpu_autocast_defaults_to_bfloat16():
    with torch.autocast("cpu"):
        out = nn.Linear(4, 4)(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16


# ---------------------------------------------------------------- OL302


def test_ol302_half_model_with_gradscaler_raises():
    model = linear().half()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    x, y = batch()
    scaler.scale(loss_of(model, x.half(), y.half())).backward()
    with pytest.raises(ValueError, match=re.escape("Attempting to unscale FP16 gradients.")):
        scaler.step(optimizer)


# ---------------------------------------------------------------- OL307


@pytest.mark.parametrize("namespace, device, name, make", [
    ("cuda", "cuda", "autocast", lambda: torch.cuda.amp.autocast(enabled=False)),
    ("cpu", "cpu", "autocast", lambda: torch.cpu.amp.autocast()),
    ("cuda", "cuda", "GradScaler", lambda: torch.cuda.amp.GradScaler(enabled=False)),
    ("cpu", "cpu", "GradScaler", lambda: torch.cpu.amp.GradScaler(enabled=False)),
])
def test_ol307_old_amp_namespaces_warn_deprecated(namespace, device, name, make):
    expected = f"`torch.{namespace}.amp.{name}(args...)` is deprecated. Please use `torch.amp.{name}('{device}', args...)` instead."
    with pytest.warns(FutureWarning, match=re.escape(expected)):
        make()


# ---------------------------------------------------------------- OL401 / OL403 / OL404


def test_ol401_zero_grad_between_backward_and_step_leaves_weights_unchanged():
    model = linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = weights(model)
    loss_of(model, *batch()).backward()
    optimizer.zero_grad()
    optimizer.step()
    assert torch.equal(weights(model), before)


def test_ol403_missing_zero_grad_doubles_gradients():
    model = linear()
    x, y = batch()
    loss_of(model, x, y).backward()
    first = model.weight.grad.clone()
    loss_of(model, x, y).backward()
    assert torch.allclose(model.weight.grad, 2 * first)


def test_ol404_step_before_backward_applies_no_gradient_in_the_first_iteration():
    model = linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = weights(model)
    optimizer.zero_grad()
    optimizer.step()
    loss_of(model, *batch()).backward()
    assert torch.equal(weights(model), before)


# ---------------------------------------------------------------- OL402


def learning_rates(scheduler_first):
    model = linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    used = []
    for _ in range(3):
        if scheduler_first:
            scheduler.step()
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        loss_of(model, *batch()).backward()
        optimizer.step()
        if not scheduler_first:
            scheduler.step()
    return used


def test_ol402_scheduler_before_optimizer_warns_and_shifts_the_schedule():
    with pytest.warns(UserWarning, match=re.escape("Detected call of `lr_scheduler.step()` before `optimizer.step()`")):
        wrong = learning_rates(scheduler_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = learning_rates(scheduler_first=False)
    assert wrong == pytest.approx([0.05, 0.025, 0.0125])
    assert right == pytest.approx([0.1, 0.05, 0.025])


# ---------------------------------------------------------------- OL405 / OL406


def test_ol405_dropout_in_train_mode_makes_evaluation_non_deterministic():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 16), nn.Dropout(0.5))
    x = torch.randn(4, 16)
    with torch.no_grad():
        assert not torch.equal(model(x), model(x))
        model.eval()
        assert torch.equal(model(x), model(x))


def test_ol406_eval_mode_persists_until_train_is_called():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    assert not model.training and not model[1].training


# ---------------------------------------------------------------- OL407 / OL408


def test_ol407_eval_mode_alone_still_records_the_graph():
    model = linear().eval()
    assert model(torch.randn(2, 4)).grad_fn is not None
    with torch.no_grad():
        assert model(torch.randn(2, 4)).grad_fn is None


def test_ol408_total_plus_loss_keeps_a_grad_fn():
    model = linear()
    total, total_item = 0.0, 0.0
    for seed in range(3):
        loss = loss_of(model, *batch(seed))
        total += loss
        total_item += loss.item()
    assert total.grad_fn is not None
    assert isinstance(total_item, float)


# ---------------------------------------------------------------- OL409


def test_ol409_distributed_sampler_without_set_epoch_repeats_its_order():
    dataset = list(range(32))
    sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True)
    assert list(sampler) == list(sampler)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert sorted(first) == dataset


# ---------------------------------------------------------------- OL410


def test_ol410_forward_skips_hooks():
    model = linear()
    calls = []
    model.register_forward_hook(lambda module, inputs, output: calls.append(1))
    x = torch.randn(2, 4)
    model.forward(x)
    assert calls == []
    model(x)
    assert calls == [1]


# ---------------------------------------------------------------- OL306


def test_ol306_backward_inside_autocast_runs_but_outside_is_the_documented_form():
    model = linear()
    x, y = batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out.dtype == torch.bfloat16
    loss = nn.functional.mse_loss(out.float(), y)
    loss.backward()
    assert model.weight.grad.dtype == torch.float32
