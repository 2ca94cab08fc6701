"""``torch.nn`` layers (and the functional ops a ``forward`` applies inline) as
data: which input ranks a layer accepts, which channel/feature count it
checks, what it produces, and the roles rules ask about.

Ranks are of batched tensors (``Conv2d`` takes ``N, C, H, W``); where a layer
also accepts the unbatched rank, ``ranks`` lists both, and an input of unknown
rank is assumed batched. ``channels`` is the size of dim 1, ``features`` the
size of the last dim (the same dim for a 2D tensor). Each fact here is checked
against the real torch by ``tests/oracle/test_layer_catalogue.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional, Tuple

from orderlint.extract.values import UNKNOWN

# Roles rules ask about.
CONV = "conv"
BATCHNORM = "batchnorm"
DROPOUT = "dropout"
SPATIAL_INPUT_FORBIDDEN = "spatial-input-forbidden"  # Linear: a feature map needs Flatten first

# What a layer's output is, for the loss that receives it.
LOGITS = "logits"
SOFTMAX = "softmax probabilities"
SIGMOID = "sigmoid probabilities"
LOG_SOFTMAX = "log-probabilities"
KEEP = "keep"  # passes the kind of its input through (Dropout, Flatten, Identity)

CHANNELS = "channels"
FEATURES = "features"


@dataclass(frozen=True)
class TensorState:
    """What is known of the tensor flowing between two layers; ``None`` is unknown."""

    rank: Optional[int] = None
    channels: Optional[int] = None
    features: Optional[int] = None
    # Sizes of the spatial dims of a channels-first feature map (each maybe None);
    # None when the tensor is not known to be such a map.
    spatial: Optional[Tuple[Optional[int], ...]] = None
    output: Optional[str] = None
    # The rank is a guess (a Linear's input of unknown rank taken as (N, features)): good enough to flag the
    # next layer, not to derive another rank from (a Linear keeps every leading dim of a (B, N, C) input).
    rank_assumed: bool = False

    def with_(self, **changes) -> "TensorState":
        return replace(self, **changes)

    def count(self, dim: str) -> Optional[int]:
        return self.channels if dim == CHANNELS else self.features


UNKNOWN_TENSOR = TensorState()


@dataclass(frozen=True)
class Problem:
    """Why a layer cannot take the tensor it receives: a wrong rank or a wrong count."""

    kind: str  # "rank" or "count"
    expected: Any
    got: Any
    error: str  # what torch raises, or "" when the result is silently wrong


@dataclass(frozen=True)
class Layer:
    name: str
    params: Tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    ranks: Optional[FrozenSet[int]] = None  # accepted input ranks; None: any
    batched_rank: Optional[int] = None  # assumed output rank when the input rank is unknown
    rank_error: str = ""  # what torch raises on another rank, with {got} for the rank received
    checks: Optional[str] = None  # CHANNELS or FEATURES: the input count the layer requires
    expects: Optional[Callable[[Mapping[str, Any]], Any]] = None  # that count from its arguments
    count_error: str = ""  # with {expected} and {got}
    effect: str = "keep"  # how the tensor changes, a name in ``_EFFECTS``
    roles: FrozenSet[str] = frozenset()
    output: Optional[str] = None  # LOGITS, SOFTMAX, ..., KEEP; None: not a known output kind
    functional: bool = False  # an op applied inline (``F.relu(x)``), its first argument the tensor

    def argument(self, args: Mapping[str, Any], param: str) -> Any:
        return args.get(param, self.defaults.get(param, UNKNOWN))


def _arg(param: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda args: args.get(param, UNKNOWN)


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# Effects: how a layer changes the state, from its arguments ------------------


def _keep(layer: Layer, args, state: TensorState) -> TensorState:
    return state


def _set_rank(layer: Layer, state: TensorState) -> Optional[int]:
    return state.rank if state.rank is not None else layer.batched_rank


def _conv(layer: Layer, args, state: TensorState) -> TensorState:
    rank = _set_rank(layer, state)
    if rank != layer.batched_rank:  # unbatched: channels sit in dim 0, not worth following
        return TensorState(rank=rank)
    return TensorState(rank=rank, channels=_int(layer.argument(args, "out_channels")), spatial=(None,) * (rank - 2))


def _pool(layer: Layer, args, state: TensorState) -> TensorState:
    rank = _set_rank(layer, state)
    if rank != layer.batched_rank:
        return TensorState(rank=rank)
    if layer.argument(args, "return_indices") is True:
        return UNKNOWN_TENSOR  # a tuple (output, indices)
    sizes: Tuple[Optional[int], ...] = (None,) * (rank - 2)
    if "output_size" in layer.params:
        wanted = layer.argument(args, "output_size")
        if _int(wanted) is not None:
            sizes = (wanted,) * (rank - 2)
        elif isinstance(wanted, (tuple, list)) and len(wanted) == rank - 2:
            sizes = tuple(_int(v) for v in wanted)  # None keeps the input size: unknown here
    return TensorState(rank=rank, channels=state.channels, spatial=sizes)


def _batched_keep(layer: Layer, args, state: TensorState) -> TensorState:
    """A shape-preserving layer whose rank fixes the layout (BatchNorm2d: a 4D feature map)."""
    rank = _set_rank(layer, state)
    if rank is not None and rank == layer.batched_rank and rank > 2:
        spatial = state.spatial if state.spatial is not None and len(state.spatial) == rank - 2 else (None,) * (rank - 2)
        return state.with_(rank=rank, spatial=spatial, output=None)
    return state.with_(rank=rank, output=None)


def _linear(layer: Layer, args, state: TensorState) -> TensorState:
    out = _int(layer.argument(args, "out_features"))
    # An input of unknown rank is taken as (N, features): a Linear feeding a channels-first layer
    # (Conv2d, BatchNorm2d) is a bug whatever its input was.
    rank = 2 if state.rank is None else state.rank
    return TensorState(rank=rank, channels=out if rank == 2 else state.channels, features=out, output=LOGITS,
                       rank_assumed=state.rank is None or state.rank_assumed)


def _flatten(layer: Layer, args, state: TensorState) -> TensorState:
    start, end = _int(layer.argument(args, "start_dim")), _int(layer.argument(args, "end_dim"))
    if state.rank is None and (start, end) == (1, -1):
        return TensorState(rank=2, output=state.output)  # (N, everything else), whatever the input rank
    if start is None or end is None or state.rank is None:
        return TensorState(output=state.output)
    first, last = start % state.rank, end % state.rank
    if first > last:
        return UNKNOWN_TENSOR
    rank = state.rank - (last - first)
    if (first, last) != (1, state.rank - 1):
        return TensorState(rank=rank, output=state.output)
    dims = (state.channels,) + tuple(state.spatial or (None,) * (state.rank - 2))
    size = math.prod(dims) if state.spatial is not None and all(d is not None for d in dims) else None
    return TensorState(rank=2, channels=size, features=size, output=state.output)


def _unflatten(layer: Layer, args, state: TensorState) -> TensorState:
    dim, sizes = _int(layer.argument(args, "dim")), layer.argument(args, "unflattened_size")
    if state.rank != 2 or dim not in (1, -1) or not isinstance(sizes, (tuple, list)) or not sizes:
        return TensorState(output=state.output)
    sizes = tuple(_int(s) for s in sizes)
    rank = 1 + len(sizes)
    spatial = sizes[1:] if rank > 2 else None
    return TensorState(rank=rank, channels=sizes[0], features=sizes[-1], spatial=spatial, output=state.output)


def _reshape(layer: Layer, args, state: TensorState) -> TensorState:
    """``x.view(x.size(0), -1)`` or ``x.view(-1, 400)``: the (batch, features) flattening idiom."""
    shape = args.get("shape", UNKNOWN)
    if not isinstance(shape, tuple) or len(shape) != 2 or -1 not in shape:
        return UNKNOWN_TENSOR
    if shape[0] == -1:
        size = _int(shape[1])
    else:
        size = _flatten(FLATTEN, {}, state).features
    return TensorState(rank=2, channels=size, features=size, output=state.output)


def _reduce(layer: Layer, args, state: TensorState) -> TensorState:
    """``x.mean((2, 3))`` over every spatial dim of a feature map: (N, C)."""
    dims, keep = args.get("dim", UNKNOWN), args.get("keepdim", False)
    if state.rank is None or state.spatial is None or keep is not False:
        return UNKNOWN_TENSOR
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if not all(_int(d) is not None for d in dims):
        return UNKNOWN_TENSOR
    if sorted(d % state.rank for d in dims) != list(range(2, state.rank)):
        return UNKNOWN_TENSOR
    return TensorState(rank=2, channels=state.channels, features=state.channels)


def _pixel_shuffle(layer: Layer, args, state: TensorState) -> TensorState:
    """(N, C*r*r, H, W) -> (N, C, H*r, W*r); the channels sit in dim 1 only for a 4D input."""
    factor = _int(layer.argument(args, "upscale_factor"))
    if state.rank != 4 or not factor or not state.channels or state.channels % (factor * factor):
        return TensorState(rank=state.rank)
    return TensorState(rank=4, channels=state.channels // (factor * factor), spatial=(None, None))


def _pixel_unshuffle(layer: Layer, args, state: TensorState) -> TensorState:
    factor = _int(layer.argument(args, "downscale_factor"))
    if state.rank != 4 or not factor or not state.channels:
        return TensorState(rank=state.rank)
    return TensorState(rank=4, channels=state.channels * factor * factor, spatial=(None, None))


def _resample(layer: Layer, args, state: TensorState) -> TensorState:
    """Upsample, padding: channels kept, spatial sizes changed."""
    spatial = (None,) * (state.rank - 2) if state.rank and state.spatial is not None else state.spatial
    return state.with_(spatial=spatial, features=None if state.spatial is not None else state.features, output=None)


def _embedding(layer: Layer, args, state: TensorState) -> TensorState:
    dim = _int(layer.argument(args, "embedding_dim"))
    rank = state.rank + 1 if state.rank is not None else None
    return TensorState(rank=rank, features=dim, channels=dim if rank == 2 else None)


def _unknown(layer: Layer, args, state: TensorState) -> TensorState:
    return UNKNOWN_TENSOR


_EFFECTS: Dict[str, Callable[[Layer, Mapping[str, Any], TensorState], TensorState]] = {
    "keep": _keep,
    "conv": _conv,
    "pool": _pool,
    "batched_keep": _batched_keep,
    "linear": _linear,
    "flatten": _flatten,
    "unflatten": _unflatten,
    "reshape": _reshape,
    "reduce": _reduce,
    "pixel_shuffle": _pixel_shuffle,
    "pixel_unshuffle": _pixel_unshuffle,
    "resample": _resample,
    "embedding": _embedding,
    "unknown": _unknown,
}


def _output_kind(layer: Layer, state: TensorState) -> Optional[str]:
    if layer.output == KEEP:
        return state.output
    return layer.output


def problem(layer: Layer, args: Mapping[str, Any], state: TensorState) -> Optional[Problem]:
    """What goes wrong when ``layer`` receives ``state``: a rank problem first (it hides any count problem)."""
    if layer.ranks is not None and state.rank is not None and state.rank not in layer.ranks:
        return Problem("rank", layer.ranks, state.rank, layer.rank_error.format(got=state.rank))
    if SPATIAL_INPUT_FORBIDDEN in layer.roles and state.spatial and state.rank is not None and state.rank > 2:
        return Problem("rank", frozenset({2}), state.rank, layer.rank_error.format(got=state.rank))
    if layer.checks is None or layer.expects is None:
        return None
    expected, got = _int(layer.expects(args)), state.count(layer.checks)
    if expected is None or got is None or expected == got:
        return None
    return Problem("count", expected, got, layer.count_error.format(expected=expected, got=got))


def apply(layer: Layer, args: Mapping[str, Any], state: TensorState) -> TensorState:
    """The state after ``layer`` (unknown after a layer that fails: what follows a crash is moot)."""
    if problem(layer, args, state) is not None:
        return UNKNOWN_TENSOR
    output = _output_kind(layer, state)
    keeps_guess = state.rank_assumed and layer.effect in _RANK_KEEPING
    if state.rank_assumed and not keeps_guess:
        state = state.with_(rank=None, rank_assumed=False)
    after = _EFFECTS[layer.effect](layer, args, state)
    return after.with_(output=output, rank_assumed=after.rank_assumed or (keeps_guess and after.rank is not None))


_RANK_KEEPING = frozenset({"keep", "batched_keep", "linear"})


# The catalogue -----------------------------------------------------------------

_CONV_PARAMS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode")
_CONVT_PARAMS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
                 "dilation", "padding_mode")
_NORM_PARAMS = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_CHANNEL_MISMATCH = "RuntimeError: ... expected input[...] to have {expected} channels, but got {got} channels instead"
_BN_MISMATCH = "RuntimeError: running_mean should contain {got} elements not {expected}"
_MATMUL = "RuntimeError: mat1 and mat2 shapes cannot be multiplied (...x{got} and {expected}x...)"
_NORMALIZED_SHAPE = "RuntimeError: Given normalized_shape=[{expected}], expected input with shape [*...{expected}], but got input of size[...]"
_BN_RANK = {1: "2D or 3D", 2: "4D", 3: "5D"}
_BATCHED = {1: 3, 2: 4, 3: 5}
_ACCEPTS = {1: frozenset({2, 3}), 2: frozenset({3, 4}), 3: frozenset({4, 5})}
_UNBATCHED_OR_BATCHED = {1: "2D (unbatched) or 3D (batched)", 2: "3D (unbatched) or 4D (batched)", 3: "4D (unbatched) or 5D (batched)"}

CATALOGUE: Dict[str, Layer] = {}


def _add(*layers: Layer) -> None:
    for layer in layers:
        CATALOGUE[layer.name] = layer


for _n in (1, 2, 3):
    _conv_rank = f"RuntimeError: Expected {_UNBATCHED_OR_BATCHED[_n]} input to conv{_n}d, but got input of size: ..."
    _conv_common = dict(ranks=_ACCEPTS[_n], batched_rank=_BATCHED[_n], effect="conv", roles=frozenset({CONV}),
                        output=LOGITS, defaults={"bias": True})
    _add(
        Layer(f"Conv{_n}d", _CONV_PARAMS, rank_error=_conv_rank, checks=CHANNELS, expects=_arg("in_channels"),
              count_error=_CHANNEL_MISMATCH, **_conv_common),
        Layer(f"ConvTranspose{_n}d", _CONVT_PARAMS, checks=CHANNELS, expects=_arg("in_channels"),
              rank_error=f"RuntimeError: Expected {_UNBATCHED_OR_BATCHED[_n]} input to conv_transpose{_n}d, but got input of size: ...",
              count_error=_CHANNEL_MISMATCH, **_conv_common),
        Layer(f"LazyConv{_n}d", _CONV_PARAMS[1:], **_conv_common,
              rank_error=f"RuntimeError: Expected {_UNBATCHED_OR_BATCHED[_n]} input to LazyConv{_n}d, but got input of size: ..."),
        Layer(f"LazyConvTranspose{_n}d", _CONVT_PARAMS[1:], **_conv_common,
              rank_error=f"RuntimeError: Expected {_UNBATCHED_OR_BATCHED[_n]} input to LazyConvTranspose{_n}d, but got input of size: ..."),
    )
    _bn_common = dict(ranks=frozenset({2, 3}) if _n == 1 else frozenset({_BATCHED[_n]}),
                      batched_rank=None if _n == 1 else _BATCHED[_n],
                      rank_error=f"ValueError: expected {_BN_RANK[_n]} input (got {{got}}D input)",
                      effect="batched_keep", roles=frozenset({BATCHNORM}))
    _add(
        Layer(f"BatchNorm{_n}d", _NORM_PARAMS, checks=CHANNELS, expects=_arg("num_features"), count_error=_BN_MISMATCH,
              **_bn_common),
        Layer(f"LazyBatchNorm{_n}d", _NORM_PARAMS[1:], **_bn_common),
        Layer(f"InstanceNorm{_n}d", _NORM_PARAMS, ranks=_ACCEPTS[_n], batched_rank=_BATCHED[_n],
              rank_error=f"ValueError: expected {_UNBATCHED_OR_BATCHED[_n].replace(' (unbatched)', '').replace(' (batched)', '')} input (got {{got}}D input)",
              checks=CHANNELS, count_error="ValueError: expected input's size at dim=1 to match num_features ({expected}), but got: {got}.",
              # Without affine parameters (the default) a wrong num_features only warns.
              expects=lambda args: args.get("num_features", UNKNOWN) if args.get("affine", False) is True else UNKNOWN,
              effect="batched_keep"),
        Layer(f"LazyInstanceNorm{_n}d", _NORM_PARAMS[1:], ranks=_ACCEPTS[_n], batched_rank=_BATCHED[_n],
              rank_error=f"ValueError: expected {_UNBATCHED_OR_BATCHED[_n].replace(' (unbatched)', '').replace(' (batched)', '')} input (got {{got}}D input)",
              effect="batched_keep"),
    )
    _pool_common = dict(ranks=_ACCEPTS[_n], batched_rank=_BATCHED[_n], effect="pool")
    _two_ranks = _UNBATCHED_OR_BATCHED[_n].replace(" (unbatched)", "").replace(" (batched)", "")
    _non_empty = f"RuntimeError: non-empty {_two_ranks} (batch mode) tensor expected for input"
    _one_d = "RuntimeError: Expected 2 to 3 dimensions, but got {got}-dimensional tensor"
    _add(
        Layer(f"MaxPool{_n}d", ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"),
              rank_error=("RuntimeError: max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
                          "for input" if _n == 1 else _non_empty), **_pool_common),
        Layer(f"AvgPool{_n}d", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
              rank_error={1: _one_d, 2: "IndexError: Dimension out of range", 3: _non_empty}[_n], **_pool_common),
        Layer(f"AdaptiveAvgPool{_n}d", ("output_size",),
              rank_error=_one_d if _n == 1 else f"RuntimeError: adaptive_avg_pool{_n}d(): Expected {_two_ranks} tensor",
              **_pool_common),
        Layer(f"AdaptiveMaxPool{_n}d", ("output_size", "return_indices"),
              rank_error=_one_d if _n == 1 else f"RuntimeError: adaptive_max_pool{_n}d(): Expected {_two_ranks} tensor",
              **_pool_common),
    )
    _add(Layer(f"Dropout{_n}d", ("p", "inplace"), roles=frozenset({DROPOUT}), output=KEEP,
               **(dict(ranks=_ACCEPTS[1], rank_error="RuntimeError: dropout1d: Expected 2D or 3D input, but received a {got}D input") if _n == 1 else {})))

_add(
    Layer("SyncBatchNorm", _NORM_PARAMS + ("process_group",), ranks=frozenset({2, 3, 4, 5}),
          rank_error="ValueError: expected at least 2D input (got {got}D input)", checks=CHANNELS,
          expects=_arg("num_features"), count_error=_BN_MISMATCH, effect="keep", roles=frozenset({BATCHNORM})),
    Layer("GroupNorm", ("num_groups", "num_channels", "eps", "affine"), ranks=frozenset({2, 3, 4, 5}),
          rank_error="RuntimeError: Expected at least 2 dimensions for input tensor but received {got}",
          checks=CHANNELS, expects=_arg("num_channels"),
          count_error="RuntimeError: Expected weight to be a vector of size equal to the number of channels in input, but got weight of shape [{expected}] and input of shape [...]"),
    Layer("LayerNorm", ("normalized_shape", "eps", "elementwise_affine", "bias"), checks=FEATURES,
          expects=lambda args: _last_size(args.get("normalized_shape", UNKNOWN)),
          count_error=_NORMALIZED_SHAPE),
    Layer("RMSNorm", ("normalized_shape", "eps", "elementwise_affine"), checks=FEATURES,
          expects=lambda args: _last_size(args.get("normalized_shape", UNKNOWN)),
          count_error=_NORMALIZED_SHAPE),
    Layer("LocalResponseNorm", ("size", "alpha", "beta", "k"), ranks=frozenset({3, 4, 5}),
          rank_error="ValueError: Expected 3D or higher dimensionality input (got {got} dimensions)"),
    Layer("Linear", ("in_features", "out_features", "bias"), checks=FEATURES, expects=_arg("in_features"),
          count_error=_MATMUL, effect="linear", roles=frozenset({SPATIAL_INPUT_FORBIDDEN}), output=LOGITS,
          rank_error="RuntimeError: mat1 and mat2 shapes cannot be multiplied"),
    Layer("LazyLinear", ("out_features", "bias"), effect="linear", roles=frozenset({SPATIAL_INPUT_FORBIDDEN}), output=LOGITS),
    Layer("Identity", output=KEEP),
    Layer("Dropout", ("p", "inplace"), roles=frozenset({DROPOUT}), output=KEEP),
    Layer("AlphaDropout", ("p", "inplace"), roles=frozenset({DROPOUT}), output=KEEP),
    Layer("FeatureAlphaDropout", ("p", "inplace"), roles=frozenset({DROPOUT}), output=KEEP),
    Layer("Flatten", ("start_dim", "end_dim"), defaults={"start_dim": 1, "end_dim": -1}, effect="flatten", output=KEEP),
    Layer("Unflatten", ("dim", "unflattened_size"), effect="unflatten", output=KEEP),
    Layer("Softmax", ("dim",), output=SOFTMAX),
    Layer("Softmax2d", ranks=frozenset({3, 4}), rank_error="ValueError: Softmax2d: expected input to be 3D or 4D, got {got}D instead",
          output=SOFTMAX),
    Layer("LogSoftmax", ("dim",), output=LOG_SOFTMAX),
    Layer("Sigmoid", output=SIGMOID),
    Layer("PReLU", ("num_parameters", "init"), checks=CHANNELS,
          expects=lambda args: args.get("num_parameters", 1) if args.get("num_parameters", 1) != 1 else UNKNOWN,
          count_error="RuntimeError: Mismatch of parameter numbers and input channel size. Found parameter numbers = {expected} and channel size = {got}."),
    Layer("PixelShuffle", ("upscale_factor",), ranks=frozenset({3, 4, 5}),
          rank_error="RuntimeError: pixel_shuffle expects input to have at least 3 dimensions, but got input with {got} dimension(s)",
          effect="pixel_shuffle"),
    Layer("PixelUnshuffle", ("downscale_factor",), ranks=frozenset({3, 4, 5}),
          rank_error="RuntimeError: pixel_unshuffle expects input to have at least 3 dimensions, but got input with {got} dimension(s)",
          effect="pixel_unshuffle"),
    Layer("ChannelShuffle", ("groups",), ranks=frozenset({3, 4, 5}),
          rank_error="RuntimeError: channel_shuffle expects input with > 2 dims, but got input with sizes [...]"),
    Layer("Upsample", ("size", "scale_factor", "mode", "align_corners"), ranks=frozenset({3, 4, 5}),
          rank_error="NotImplementedError: Input Error: Only 3D, 4D and 5D input Tensors supported (got {got}D)", effect="resample"),
    Layer("UpsamplingNearest2d", ("size", "scale_factor"), ranks=frozenset({3, 4, 5}),
          rank_error="NotImplementedError: Input Error: Only 3D, 4D and 5D input Tensors supported (got {got}D)",
          effect="resample"),
    Layer("UpsamplingBilinear2d", ("size", "scale_factor"), ranks=frozenset({4}),
          rank_error="NotImplementedError: Input Error: Only 3D, 4D and 5D input Tensors supported (got {got}D)",
          effect="resample"),
    Layer("Embedding", ("num_embeddings", "embedding_dim", "padding_idx"), effect="embedding"),
)

# Activations: shape-preserving, and not a known output kind.
for _name, _params in {
    "ReLU": ("inplace",), "ReLU6": ("inplace",), "LeakyReLU": ("negative_slope", "inplace"), "ELU": ("alpha", "inplace"),
    "SELU": ("inplace",), "CELU": ("alpha", "inplace"), "GELU": ("approximate",), "SiLU": ("inplace",),
    "Mish": ("inplace",), "Tanh": (), "Hardtanh": ("min_val", "max_val", "inplace"), "Hardswish": ("inplace",),
    "Hardsigmoid": ("inplace",), "Softplus": ("beta", "threshold"), "Softsign": (), "Tanhshrink": (),
    "Threshold": ("threshold", "value", "inplace"), "LogSigmoid": (), "Softmin": ("dim",), "Hardshrink": ("lambd",),
    "Softshrink": ("lambd",), "RReLU": ("lower", "upper", "inplace"),
}.items():
    _add(Layer(_name, _params))

for _pad in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
    for _n in (1, 2, 3):
        _add(Layer(f"{_pad}{_n}d", ("padding", "value") if _pad == "ConstantPad" else ("padding",), batched_rank=_n + 2,
                   effect="resample"))


def _last_size(shape: Any) -> Any:
    if _int(shape) is not None:
        return shape
    if isinstance(shape, (tuple, list)) and shape and _int(shape[-1]) is not None:
        return shape[-1]
    return UNKNOWN


# Functional ops a forward applies inline: ``F.relu(x)``, ``torch.flatten(x, 1)``, ``x.softmax(1)``.
FLATTEN = CATALOGUE["Flatten"]
_SHAPE_KEEPING_OPS = ("relu", "relu_", "relu6", "gelu", "silu", "elu", "elu_", "selu", "celu", "mish", "leaky_relu",
                      "leaky_relu_", "hardswish", "hardsigmoid", "hardtanh", "hardtanh_", "tanh", "softplus")
FUNCTIONS: Dict[str, Layer] = {}
for _op in _SHAPE_KEEPING_OPS:
    FUNCTIONS[_op] = Layer(_op, functional=True)
FUNCTIONS.update({
    "sigmoid": Layer("sigmoid", output=SIGMOID, functional=True),
    "softmax": Layer("softmax", ("dim",), output=SOFTMAX, functional=True),
    "log_softmax": Layer("log_softmax", ("dim",), output=LOG_SOFTMAX, functional=True),
    "dropout": Layer("dropout", ("p", "training", "inplace"), roles=frozenset({DROPOUT}), output=KEEP, functional=True),
    # torch.flatten and Tensor.flatten start at dim 0, unlike nn.Flatten.
    "flatten": Layer("flatten", ("start_dim", "end_dim"), defaults={"start_dim": 0, "end_dim": -1}, effect="flatten",
                     output=KEEP, functional=True),
    "view": Layer("view", effect="reshape", output=KEEP, functional=True),
    "reshape": Layer("reshape", effect="reshape", output=KEEP, functional=True),
    "mean": Layer("mean", ("dim", "keepdim"), effect="reduce", functional=True),
})
# Tensor methods that move or cast values without changing what they are (logits stay logits).
for _op in ("squeeze", "unsqueeze", "permute", "transpose"):
    FUNCTIONS[_op] = Layer(_op, effect="unknown", output=KEEP, functional=True)
for _op in ("contiguous", "float", "double", "to", "cpu", "cuda"):
    FUNCTIONS[_op] = Layer(_op, output=KEEP, functional=True)
for _n in (1, 2, 3):
    FUNCTIONS[f"max_pool{_n}d"] = replace(CATALOGUE[f"MaxPool{_n}d"], name=f"max_pool{_n}d", functional=True)
    FUNCTIONS[f"avg_pool{_n}d"] = replace(CATALOGUE[f"AvgPool{_n}d"], name=f"avg_pool{_n}d", functional=True)
    FUNCTIONS[f"adaptive_avg_pool{_n}d"] = replace(CATALOGUE[f"AdaptiveAvgPool{_n}d"], name=f"adaptive_avg_pool{_n}d",
                                                   functional=True)

# Where each op lives: torch.nn.functional.X, torch.X, or a Tensor method.
_FUNCTIONAL_MODULE = {"sigmoid", "softmax", "log_softmax", "dropout", "tanh"} | set(_SHAPE_KEEPING_OPS) | {
    f"{kind}{n}d" for kind in ("max_pool", "avg_pool", "adaptive_avg_pool") for n in (1, 2, 3)}
_TORCH_MODULE = {"relu", "relu_", "sigmoid", "softmax", "log_softmax", "tanh", "flatten", "dropout", "selu", "celu",
                 "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d"}
METHODS = {"relu", "relu_", "sigmoid", "softmax", "log_softmax", "tanh", "flatten", "view", "reshape", "mean", "squeeze",
           "unsqueeze", "permute", "transpose", "contiguous", "float", "double", "to", "cpu", "cuda"}

_NN_PREFIXES = ("torch.nn.", "torch.nn.modules.")


def lookup(qualified_name: Optional[str]) -> Optional[Layer]:
    """The layer a qualified constructor name denotes (``torch.nn.Conv2d``, ``torch.nn.modules.conv.Conv2d``)."""
    if not qualified_name or not qualified_name.startswith("torch.nn."):
        return None
    module, _, name = qualified_name.rpartition(".")
    if module == "torch.nn" or module == "torch.nn.modules" or (
        module.startswith("torch.nn.modules.") and module.count(".") == 3
    ):
        return CATALOGUE.get(name)
    return None


def lookup_function(qualified_name: Optional[str]) -> Optional[Layer]:
    """The inline op a qualified function name denotes (``torch.nn.functional.relu``, ``torch.flatten``)."""
    if not qualified_name:
        return None
    module, _, name = qualified_name.rpartition(".")
    if module == "torch.nn.functional" and name in _FUNCTIONAL_MODULE:
        return FUNCTIONS[name]
    if module == "torch" and name in _TORCH_MODULE:
        return FUNCTIONS[name]
    return None


def lookup_method(name: str) -> Optional[Layer]:
    """The op a Tensor method denotes (``x.softmax(1)``, ``x.view(x.size(0), -1)``)."""
    return FUNCTIONS.get(name) if name in METHODS else None


# Losses: what each expects to receive ------------------------------------------------


@dataclass(frozen=True)
class Loss:
    name: str
    expects: str  # LOGITS, LOG_SOFTMAX or SIGMOID


_CROSS_ENTROPY = Loss("CrossEntropyLoss", LOGITS)
_NLL = Loss("NLLLoss", LOG_SOFTMAX)
_BCE_WITH_LOGITS = Loss("BCEWithLogitsLoss", LOGITS)
_BCE = Loss("BCELoss", SIGMOID)
LOSSES = {"CrossEntropyLoss": _CROSS_ENTROPY, "NLLLoss": _NLL, "NLLLoss2d": _NLL, "BCEWithLogitsLoss": _BCE_WITH_LOGITS,
          "BCELoss": _BCE}
FUNCTIONAL_LOSSES = {"cross_entropy": _CROSS_ENTROPY, "nll_loss": _NLL,
                     "binary_cross_entropy_with_logits": _BCE_WITH_LOGITS, "binary_cross_entropy": _BCE}


def lookup_loss(qualified_name: Optional[str]) -> Optional[Loss]:
    """The loss a constructor (``torch.nn.CrossEntropyLoss``) or function (``torch.nn.functional.nll_loss``) denotes."""
    if not qualified_name:
        return None
    module, _, name = qualified_name.rpartition(".")
    if module == "torch.nn.functional":
        return FUNCTIONAL_LOSSES.get(name)
    if module in ("torch.nn", "torch.nn.modules", "torch.nn.modules.loss"):
        return LOSSES.get(name)
    return None
