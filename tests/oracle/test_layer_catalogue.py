"""Every layer fact of ``orderlint.catalogue.layers`` checked against the real torch:
each layer is built, fed sample inputs of every rank, and what it accepts,
raises and produces is compared with what the catalogue says."""
import re
import warnings

import pytest
import torch
import torch.nn as nn

from orderlint.catalogue.layers import (
    CATALOGUE, CHANNELS, LOG_SOFTMAX, SIGMOID, SOFTMAX, SPATIAL_INPUT_FORBIDDEN, TensorState, apply, problem,
)

SIZE = 8  # every dim but the batch: channels, features and spatial sizes alike

_SAMPLE_ARGS = [
    (r"^(Conv|ConvTranspose)\dd$", {"in_channels": SIZE, "out_channels": 4, "kernel_size": 1}),
    (r"^LazyConv(Transpose)?\dd$", {"out_channels": 4, "kernel_size": 1}),
    (r"^(BatchNorm\dd|SyncBatchNorm)$", {"num_features": SIZE}),
    (r"^InstanceNorm\dd$", {"num_features": SIZE}),
    (r"^GroupNorm$", {"num_groups": 2, "num_channels": SIZE}),
    (r"^(LayerNorm|RMSNorm)$", {"normalized_shape": SIZE}),
    (r"^Linear$", {"in_features": SIZE, "out_features": 4}),
    (r"^LazyLinear$", {"out_features": 4}),
    (r"^(MaxPool|AvgPool)\dd$", {"kernel_size": 1}),
    (r"^Adaptive(Avg|Max)Pool\dd$", {"output_size": 2}),
    (r"^Unflatten$", {"dim": 1, "unflattened_size": (2, 4)}),
    (r"^PReLU$", {"num_parameters": SIZE}),
    (r"^PixelShuffle$", {"upscale_factor": 2}),
    (r"^PixelUnshuffle$", {"downscale_factor": 2}),
    (r"^ChannelShuffle$", {"groups": 2}),
    (r"^(Upsample|UpsamplingNearest2d|UpsamplingBilinear2d)$", {"scale_factor": 2}),
    (r"^ConstantPad\dd$", {"padding": 1, "value": 0.0}),
    (r"Pad\dd$", {"padding": 1}),
    (r"^(Softmax|LogSoftmax|Softmin)$", {"dim": 1}),
    (r"^Threshold$", {"threshold": 0.1, "value": 0.0}),
    (r"^LocalResponseNorm$", {"size": 2}),
    (r"^Embedding$", {"num_embeddings": 10, "embedding_dim": 4}),
]
LAYERS = sorted(name for name in CATALOGUE if name != "Embedding")


def sample_args(name):
    for pattern, args in _SAMPLE_ARGS:
        if re.search(pattern, name):
            return dict(args)
    return {}


def build(name, **overrides):
    module = getattr(nn, name)(**{**sample_args(name), **overrides})
    return module.eval()


def run(module, shape):
    """The output, or the exception the module raises (warnings count as acceptance)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return module(torch.randn(*shape))
        except Exception as error:  # noqa: BLE001 - the exception is the fact under test
            return error


def shape_of_rank(rank):
    return (SIZE,) * rank  # an unbatched input then has SIZE channels in dim 0, as torch expects


def assert_error_matches(error, template, **values):
    """The exception type and every literal piece of the template (between ``...``) appear in the error."""
    kind, _, text = template.format(**values).partition(": ")
    assert type(error).__name__ == kind, f"{type(error).__name__}: {error}"
    message = " ".join(str(error).split())
    for piece in text.split("..."):
        assert " ".join(piece.split()) in message, f"{piece!r} not in {message!r}"


def test_the_catalogue_has_sample_arguments_for_each_layer():
    for name in LAYERS:
        build(name)


@pytest.mark.parametrize("name", [n for n in LAYERS if CATALOGUE[n].ranks is not None])
def test_accepted_ranks_and_the_rank_error(name):
    """Every rank 1-5 is accepted exactly when the catalogue says; the error stated is the one raised
    for the wrong rank met in practice: 2D (after a Linear or Flatten), else 4D (after a Conv2d)."""
    layer = CATALOGUE[name]
    for rank in range(1, 6):
        outcome = run(build(name), shape_of_rank(rank))
        accepted = not isinstance(outcome, Exception)
        assert accepted == (rank in layer.ranks), f"{name} on {rank}D: {outcome!r:.200}"
        assert (problem(layer, sample_args(name), TensorState(rank=rank)) is None) == accepted
    typical = next(rank for rank in (2, 4, 3, 5, 1) if rank not in layer.ranks)
    assert_error_matches(run(build(name), shape_of_rank(typical)), layer.rank_error, got=typical)


@pytest.mark.parametrize("name", [n for n in LAYERS if CATALOGUE[n].expects is not None])
def test_a_wrong_count_raises_the_count_error(name):
    layer = CATALOGUE[name]
    affine = {"affine": True} if "affine" in layer.params and name.startswith("InstanceNorm") else {}
    args = {**sample_args(name), **affine}
    rank = layer.batched_rank or 2
    wrong = list(shape_of_rank(rank))
    wrong[1 if layer.checks == CHANNELS else -1] = SIZE - 2
    state = TensorState(rank=rank, channels=wrong[1], features=wrong[-1])
    found = problem(layer, args, state)
    assert found is not None and found.kind == "count"
    assert (found.expected, found.got) == (SIZE, SIZE - 2)
    assert_error_matches(run(build(name, **affine), wrong), layer.count_error, expected=SIZE, got=SIZE - 2)
    right = TensorState(rank=rank, channels=SIZE, features=SIZE)
    assert problem(layer, args, right) is None
    assert not isinstance(run(build(name, **affine), shape_of_rank(rank)), Exception)


def _input_state(layer):
    if SPATIAL_INPUT_FORBIDDEN in layer.roles:
        return TensorState(rank=2, channels=SIZE, features=SIZE)
    rank = layer.batched_rank or (max(layer.ranks) if layer.ranks else 4)
    return TensorState(rank=rank, channels=SIZE, features=SIZE if rank == 2 else SIZE, spatial=(SIZE,) * (rank - 2))


@pytest.mark.parametrize("name", LAYERS)
def test_what_the_layer_produces(name):
    layer = CATALOGUE[name]
    before = _input_state(layer)
    after = apply(layer, sample_args(name), before)
    out = run(build(name), shape_of_rank(before.rank))
    assert not isinstance(out, Exception), repr(out)
    if after.rank is not None:
        assert out.dim() == after.rank
    if after.channels is not None:
        assert out.shape[1] == after.channels
    if after.features is not None:
        assert out.shape[-1] == after.features
    if after.spatial is not None and after.rank is not None:
        assert len(after.spatial) == after.rank - 2
        for size, real in zip(after.spatial, out.shape[2:]):
            assert size is None or size == real


def test_embedding_adds_the_embedding_dim():
    after = apply(CATALOGUE["Embedding"], {"embedding_dim": 4}, TensorState(rank=2))
    out = nn.Embedding(10, 4)(torch.randint(0, 10, (2, 5)))
    assert (out.dim(), out.shape[-1]) == (after.rank, after.features)


def test_output_kinds():
    x = torch.randn(4, 10) * 5
    assert CATALOGUE["Softmax"].output == SOFTMAX and torch.allclose(nn.Softmax(dim=1)(x).sum(1), torch.ones(4))
    assert CATALOGUE["LogSoftmax"].output == LOG_SOFTMAX
    assert torch.allclose(nn.LogSoftmax(dim=1)(x).exp().sum(1), torch.ones(4))
    sigmoid = nn.Sigmoid()(x)
    assert CATALOGUE["Sigmoid"].output == SIGMOID and bool(((sigmoid > 0) & (sigmoid < 1)).all())


def test_conv_bias_is_on_by_default():
    for name in LAYERS:
        if "bias" in CATALOGUE[name].defaults:
            assert (build(name).bias is not None) == CATALOGUE[name].defaults["bias"], name
