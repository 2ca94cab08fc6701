"""Which torch names are which training-step events and objects (data, no logic)."""

from __future__ import annotations

OPTIMIZER_NAMESPACE = "torch.optim."
SCHEDULER_NAMESPACES = ("torch.optim.lr_scheduler.", "torch.optim.swa_utils.SWALR")
# Not optimizers although they live in torch.optim.
NOT_OPTIMIZERS = ("torch.optim.swa_utils.", "torch.optim.lr_scheduler.")
PLATEAU_SCHEDULER = "ReduceLROnPlateau"
GRAD_SCALER = "GradScaler"  # torch.amp / torch.cuda.amp / torch.cpu.amp / ShardedGradScaler: matched by suffix
DISTRIBUTED_SAMPLERS = frozenset({
    "torch.utils.data.DistributedSampler",
    "torch.utils.data.distributed.DistributedSampler",
})

# Parameter names that say "scheduler" (RULES.md "Readings settled").
SCHEDULER_PARAMETER_NAMES = frozenset({"scheduler", "sched", "lr_scheduler"})
SCHEDULER_PARAMETER_SUFFIXES = ("_scheduler", "_sched")

# Autocast context managers: qualified name -> device type when the name fixes it.
AUTOCAST = {
    "torch.autocast": None,
    "torch.amp.autocast": None,
    "torch.amp.autocast_mode.autocast": None,
    "torch.cuda.amp.autocast": "cuda",
    "torch.cuda.amp.autocast_mode.autocast": "cuda",
    "torch.cpu.amp.autocast": "cpu",
    "torch.cpu.amp.autocast_mode.autocast": "cpu",
}
# The dtype autocast uses when none is given.
AUTOCAST_DEFAULT_DTYPE = {"cuda": "float16", "cpu": "bfloat16", "xpu": "bfloat16", "mps": "float16"}

NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad"})

GRADIENT_CLIPPING = frozenset({
    "torch.nn.utils.clip_grad_norm_",
    "torch.nn.utils.clip_grad_norm",
    "torch.nn.utils.clip_grad_value_",
    "torch.nn.utils.clip_grad.clip_grad_norm_",
    "torch.nn.utils.clip_grad.clip_grad_value_",
})
AUTOGRAD_BACKWARD = frozenset({"torch.autograd.backward"})

LOW_PRECISION_DTYPES = frozenset({"float16", "half", "bfloat16"})
# torch dtype aliases -> the canonical name.
DTYPE_ALIASES = {"half": "float16", "float": "float32", "double": "float64"}
LOW_PRECISION_METHODS = frozenset({"half", "bfloat16"})
LOW_PRECISION_TENSOR_TYPES = frozenset({"HalfTensor", "BFloat16Tensor"})

# Deprecated since torch 2.4: the call -> its replacement.
DEPRECATED_AMP = {
    "torch.cuda.amp.autocast": 'torch.amp.autocast("cuda", ...)',
    "torch.cuda.amp.GradScaler": 'torch.amp.GradScaler("cuda", ...)',
    "torch.cpu.amp.autocast": 'torch.amp.autocast("cpu", ...)',
    "torch.cpu.amp.GradScaler": 'torch.amp.GradScaler("cpu", ...)',
}

APEX_AMP = "apex.amp"

# Function and method names that say "evaluation".
EVALUATION_WORDS = frozenset({"val", "valid", "validate", "validation", "eval", "evaluate", "evaluation", "test", "testing"})
