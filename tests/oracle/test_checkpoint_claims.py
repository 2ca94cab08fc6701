"""Oracle tests for the OL5xx claims, with real torch on CPU (RULES.md "OL5xx: checkpoints").

- OL501: a run resumed from a complete checkpoint equals an uninterrupted one; without the optimizer
  state it does not.
- OL502, OL505: what torch >= 2.6's default ``torch.load`` refuses, and what it loads.
- OL503: ``weights_only=False`` runs the code a pickle carries; ``weights_only=True`` refuses it.
"""

import argparse
import pickle
import random

import numpy as np
import pytest
import torch
from torch import nn

REFUSED = "Weights only load failed"
STEPS = 4


def _objects(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    # Not StepLR(step_size=1): chainable, it recomputes the same rate from the optimizer's restored lr alone.
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3], gamma=0.1)
    scaler = torch.amp.GradScaler("cpu")
    return model, optimizer, scheduler, scaler


def _batches():
    generator = torch.Generator().manual_seed(1)
    return [(torch.randn(16, 4, generator=generator), torch.randint(0, 2, (16,), generator=generator)) for _ in range(STEPS)]


def _step(model, optimizer, scheduler, scaler, batch):
    inputs, target = batch
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(inputs), target)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()


def _resumed(tmp_path, keys):
    """Two steps, a checkpoint holding ``keys``, fresh objects loaded from it, two more steps."""
    batches = _batches()
    model, optimizer, scheduler, scaler = _objects()
    for epoch in range(2):
        _step(model, optimizer, scheduler, scaler, batches[epoch])
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "scaler": scaler.state_dict(), "epoch": 1}
    torch.save({key: state[key] for key in keys}, tmp_path / "last.pt")

    model, optimizer, scheduler, scaler = _objects(seed=123)  # a new process: different initial weights
    checkpoint = torch.load(tmp_path / "last.pt")
    for key, target in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if key in checkpoint:
            target.load_state_dict(checkpoint[key])
    for epoch in range(checkpoint["epoch"] + 1, STEPS):
        _step(model, optimizer, scheduler, scaler, batches[epoch])
    return model


def _straight():
    batches = _batches()
    model, optimizer, scheduler, scaler = _objects()
    for epoch in range(STEPS):
        _step(model, optimizer, scheduler, scaler, batches[epoch])
    return model


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_resume_from_a_complete_checkpoint_equals_an_uninterrupted_run(tmp_path):
    resumed = _resumed(tmp_path, ["model", "optimizer", "scheduler", "scaler", "epoch"])
    assert _same(resumed, _straight())


def test_resume_without_the_optimizer_state_diverges(tmp_path):
    """OL501: momentum restarts from zero."""
    resumed = _resumed(tmp_path, ["model", "scheduler", "scaler", "epoch"])
    assert not _same(resumed, _straight())


def test_resume_without_the_scheduler_state_diverges(tmp_path):
    """OL501: the schedule restarts from its first epoch."""
    resumed = _resumed(tmp_path, ["model", "optimizer", "scaler", "epoch"])
    assert not _same(resumed, _straight())


def _load_default(tmp_path, obj):
    torch.save(obj, tmp_path / "checkpoint.pt")
    return torch.load(tmp_path / "checkpoint.pt")


def test_a_whole_model_is_refused_by_the_default_load(tmp_path):
    """OL502."""
    with pytest.raises(pickle.UnpicklingError, match=REFUSED) as raised:
        _load_default(tmp_path, nn.Sequential(nn.Linear(2, 2)))
    assert "torch.nn.modules.container.Sequential" in str(raised.value)
    assert _load_default(tmp_path, nn.Sequential(nn.Linear(2, 2)).state_dict()).keys() == {"0.weight", "0.bias"}


@pytest.mark.parametrize("value", [
    pytest.param(argparse.Namespace(lr=0.1), id="argparse.Namespace"),
    pytest.param(np.zeros(3), id="numpy array"),
    pytest.param(np.mean([1.0, 2.0]), id="np.mean scalar"),
    pytest.param(np.float32(1.0), id="np.float32"),
    pytest.param(np.int64(3), id="np.int64"),
    pytest.param(np.random.get_state(), id="np.random.get_state()"),
    pytest.param(np.random.default_rng(0), id="np.random.Generator"),
])
def test_values_the_default_load_refuses(tmp_path, value):
    """OL505: one such value makes the whole checkpoint unloadable."""
    with pytest.raises(pickle.UnpicklingError, match=REFUSED):
        _load_default(tmp_path, {"model": nn.Linear(2, 2).state_dict(), "value": value})


@pytest.mark.parametrize("value", [
    pytest.param(vars(argparse.Namespace(lr=0.1)), id="vars(args)"),
    pytest.param(torch.get_rng_state(), id="torch.get_rng_state()"),
    pytest.param(random.getstate(), id="random.getstate()"),
    pytest.param(float(np.mean([1.0, 2.0])), id="float(np.mean(...))"),
    pytest.param(np.zeros(3).tolist(), id="ndarray.tolist()"),
    pytest.param(torch.amp.GradScaler("cpu").state_dict(), id="GradScaler.state_dict()"),
])
def test_values_the_default_load_accepts(tmp_path, value):
    loaded = _load_default(tmp_path, {"value": value})
    assert type(loaded["value"]) is type(value)


class _Payload:
    """Unpickling it writes a marker file: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return _touch, (str(self.marker),)


def _touch(path):
    with open(path, "w") as handle:
        handle.write("ran")
    return path


def test_weights_only_false_runs_the_pickled_code_and_true_refuses_it(tmp_path):
    """OL503."""
    marker = tmp_path / "marker"
    torch.save({"payload": _Payload(marker)}, tmp_path / "evil.pt")

    with pytest.raises(pickle.UnpicklingError, match=REFUSED):
        torch.load(tmp_path / "evil.pt", weights_only=True)
    assert not marker.exists()

    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.read_text() == "ran"
