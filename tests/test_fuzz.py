"""Fuzzing: whatever the input, no exception escapes, JSON output parses and
every diagnostic points inside the file.

The generators write code around the things orderlint reads: Compose pipelines
(known torchvision transforms with random literal arguments, every import
spelling, steps assembled in variables, appended under ``if``), Sequential
stacks, training loops (zero_grad / backward / step / scheduler in random
orders, AMP, clipping) and checkpoints; then mutate it (delete, duplicate,
insert syntax). Arbitrary text and bytes are fed too. The runs are bounded and
derandomized, so CI is deterministic.
"""

from __future__ import annotations

import json
import re
import string

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderlint.cli import cli
from orderlint.engine import lint_source
from orderlint.files import SourceError, decode
from orderlint.rules import ALL_RULES
from orderlint.runner import INTERNAL_ERROR, lint_bytes

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
SMALL = settings(FUZZ, max_examples=60)

# Every import spelling of the transforms, with the prefix a call then uses.
IMPORTS = [
    ("import torchvision.transforms as T", "T."),
    ("from torchvision import transforms", "transforms."),
    ("from torchvision import transforms as tf", "tf."),
    ("import torchvision", "torchvision.transforms."),
    ("import torchvision.transforms.v2 as v2", "v2."),
    ("from torchvision.transforms import v2", "v2."),
    ("from torchvision.transforms import v2 as T", "T."),
    ("from torchvision.transforms import *", ""),
    ("from torchvision.transforms.v2 import *", ""),
    ("import torchvision.transforms as T\nT2 = T", "T2."),
    ("import torchvision.transforms as transforms", "transforms."),
]
TRANSFORMS = [
    "ToTensor", "PILToTensor", "ToPILImage", "ToImage", "ToDtype", "ConvertImageDtype", "Normalize", "Resize",
    "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "ColorJitter",
    "Grayscale", "RandomGrayscale", "GaussianBlur", "RandomErasing", "Pad", "RandomRotation", "RandomAffine",
    "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix", "Lambda", "FiveCrop", "TenCrop", "RandomInvert",
    "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize",
    "LinearTransformation", "ElasticTransform", "GaussianNoise", "ToPureTensor", "SanitizeBoundingBoxes",
    "RandomPhotometricDistort", "ScaleJitter", "RandomShortestSize", "ClampBoundingBoxes", "CutMix", "MixUp",
    "UnknownTransform", "MyTransform",
]
CONTAINERS = ["Compose", "RandomApply", "RandomChoice", "RandomOrder"]
LAYERS = [
    "Conv2d", "Conv1d", "Conv3d", "ConvTranspose2d", "BatchNorm2d", "BatchNorm1d", "LayerNorm", "GroupNorm",
    "InstanceNorm2d", "ReLU", "GELU", "SiLU", "LeakyReLU", "Sigmoid", "Softmax", "LogSoftmax", "Dropout", "Dropout2d",
    "Linear", "LazyLinear", "Flatten", "Unflatten", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Identity",
    "Embedding", "LSTM", "Upsample", "PixelShuffle", "Sequential", "ModuleList", "Block",
]
LOSSES = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "KLDivLoss"]
LOOP_EVENTS = [
    "optimizer.zero_grad()", "optimizer.zero_grad(set_to_none=True)", "loss.backward()", "optimizer.step()",
    "scheduler.step()", "scheduler.step(loss)", "scaler.scale(loss).backward()", "scaler.step(optimizer)",
    "scaler.update()", "scaler.unscale_(optimizer)", "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)",
    "nn.utils.clip_grad_value_(model.parameters(), 0.5)", "loss = criterion(model(x), y)", "output = model(x)",
    "model.eval()", "model.train()", "loss = F.cross_entropy(output, y)", "loss = loss / accumulation",
    "optimizer.zero_grad(); loss.backward()", "del loss", "continue", "break", "pass",
    "torch.save(model.state_dict(), path)", "model.zero_grad()", "loss.item()", "model.half()",
]
LOOP_WRAPPERS = [
    "with torch.autocast('cuda'):", "with torch.cuda.amp.autocast():", "with torch.autocast(device_type='cpu', dtype=torch.bfloat16):",
    "with torch.no_grad():", "with torch.inference_mode():", "if i % 4 == 0:", "if step > 10:", "try:", "else:",
    "for micro in chunks:", "while True:",
]

names = st.sampled_from
small_int = st.integers(-3, 600)
literal = st.recursive(
    st.one_of(small_int, st.floats(-2, 300, allow_nan=False).map(lambda f: round(f, 3)), st.booleans(), st.none(),
              st.sampled_from(["'bilinear'", "'constant'", "0.5", "-1", "10**9", "1e400", "(0.485, 0.456, 0.406)",
                               "[0.229, 0.224, 0.225]", "x", "args.size", "(lambda x: x)", "...",
                               "torch.float32", "torch.uint8", "InterpolationMode.BICUBIC", "f'{x}'", "b'\\x00'"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(map(str, xs)) + "]"),
                            st.lists(inner, min_size=1, max_size=3).map(lambda xs: "(" + ", ".join(map(str, xs)) + ",)")),
    max_leaves=4,
).map(str)
keyword = st.sampled_from(["size", "mean", "std", "p", "scale", "ratio", "dtype", "scale", "antialias", "inplace",
                           "num_output_channels", "padding", "degrees", "brightness", "kernel_size", "transforms"])


@st.composite
def call(draw, prefix, pool):
    args = draw(st.lists(literal, max_size=3))
    kwargs = draw(st.lists(st.tuples(keyword, literal), max_size=2))
    kwargs = [f"{k}={v}" for k, v in dict(kwargs).items()]
    unpacked = draw(st.lists(names(["*sizes", "**kw"]), max_size=1))
    return f"{prefix}{draw(names(pool))}({', '.join(args + kwargs + unpacked)})"


@st.composite
def transform_step(draw, prefix, depth=0):
    if depth < 2 and draw(st.integers(0, 7)) == 0:
        inner = draw(st.lists(transform_step(prefix, depth + 1), max_size=3))
        container = draw(names(CONTAINERS))
        extra = draw(names(["", ", p=0.5", ", p=1.5", ", 0.3", ", p=x"])) if container == "RandomApply" else ""
        return f"{prefix}{container}([{', '.join(inner)}]{extra})"
    return draw(call(prefix, TRANSFORMS))


@st.composite
def pipeline_module(draw):
    """Compose pipelines built directly, in variables, with append/insert/extend, under if, with + and *."""
    header, prefix = draw(names(IMPORTS))
    lines = [header, "import torch", "from torchvision import datasets", ""]
    steps = lambda: st.lists(transform_step(prefix), max_size=6)  # noqa: E731
    for number in range(draw(st.integers(1, 3))):
        form = draw(st.integers(0, 5))
        name = f"pipeline{number}"
        if form == 0:
            lines.append(f"{name} = {prefix}Compose([{', '.join(draw(steps()))}])")
        elif form == 1:
            lines.append(f"steps = [{', '.join(draw(steps()))}]")
            for method, step in draw(st.lists(st.tuples(names(["append", "insert", "extend", "+="]), transform_step(prefix)), max_size=4)):
                guard = draw(names(["", "if train:\n    ", "if args.augment:\n    ", "else:\n    "]))
                if guard == "else:\n    ":
                    guard = "if flag:\n    pass\nelse:\n    "
                statement = {"append": f"steps.append({step})", "insert": f"steps.insert({draw(small_int)}, {step})",
                             "extend": f"steps.extend([{step}])", "+=": f"steps += [{step}]"}[method]
                lines.append(guard + statement)
            lines.append(f"{name} = {prefix}Compose(steps)")
        elif form == 2:
            lines.append(f"base = [{', '.join(draw(steps()))}]")
            lines.append(f"{name} = {prefix}Compose(base + [{', '.join(draw(steps()))}])")
            lines.append(f"other = {prefix}Compose([*base, {draw(transform_step(prefix))}])")
        elif form == 3:
            lines.append(f"def build(train={draw(st.booleans())}, size={draw(small_int)}):")
            lines.append(f"    t = [{', '.join(draw(steps()))}]")
            lines.append("    if train:")
            lines.append(f"        t.append({draw(transform_step(prefix))})")
            lines.append(f"    return {prefix}Compose(t)")
            lines.append(f"{name} = build()")
        elif form == 4:
            lines.append(f"{name} = {prefix}Compose([{prefix}Compose([{', '.join(draw(steps()))}]), {draw(transform_step(prefix))}])")
        else:
            step = draw(transform_step(prefix))
            lines.append(f"step = {step}")
            lines.append(f"{name} = {prefix}Compose([step, step] if x else [{', '.join(draw(steps()))}])")
        dataset = draw(names(["MNIST", "CIFAR10", "ImageFolder", "FashionMNIST", "FakeData"]))
        split = draw(names(["train=False", "train=True", "split='val'", "'val'"]))
        lines.append(f"data{number} = datasets.{dataset}(root, {split}, transform={name})")
    return "\n".join(lines) + "\n"


@st.composite
def sequential_module(draw):
    nn = draw(names(["nn.", "torch.nn.", ""]))
    header = {"nn.": "import torch\nimport torch.nn as nn", "torch.nn.": "import torch", "": "from torch.nn import *\nimport torch"}[nn]
    layers = draw(st.lists(call(nn, LAYERS), max_size=8))
    body = [header, "", f"model = {nn}Sequential({', '.join(layers)})",
            f"criterion = {nn}{draw(names(LOSSES))}({', '.join(draw(st.lists(literal, max_size=1)))})"]
    if draw(st.booleans()):
        body += ["", f"class Net({nn}Module):", "    def __init__(self):", "        super().__init__()"]
        attributes = [f"l{i}" for i in range(len(layers))]
        for attribute, layer in zip(attributes, layers):
            body.append(f"        self.{attribute} = {layer}")
        body.append("    def forward(self, x):")
        for attribute in draw(st.permutations(attributes)):
            body.append(f"        x = self.{attribute}(x)")
        body.append(f"        return {draw(names(['x', 'x.softmax(-1)', 'torch.sigmoid(x)', 'F.log_softmax(x, 1)']))}")
    return "\n".join(body) + "\n"


@st.composite
def block(draw, depth):
    """Statements at one indentation level: loop events, nested wrappers and loops."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        if depth < 3 and draw(st.integers(0, 3)) == 0:
            head = draw(names(LOOP_WRAPPERS + ["for x, y in loader:", "for epoch in range(10):"]))
            if head == "else:":
                out += ["if warmup:", "    pass"]
            out.append(head)
            out.extend("    " + line for line in draw(block(depth + 1)))
            if head == "try:":
                out.append("except Exception:")
                out.append("    pass")
        else:
            out.append(draw(names(LOOP_EVENTS)))
    return out


@st.composite
def training_module(draw):
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F",
             "from torch.cuda.amp import GradScaler", "",
             f"optimizer = torch.optim.{draw(names(['SGD', 'Adam', 'AdamW']))}(model.parameters(), lr={draw(literal)})",
             f"scheduler = torch.optim.lr_scheduler.{draw(names(['StepLR', 'OneCycleLR', 'ReduceLROnPlateau']))}(optimizer, {draw(literal)})",
             "scaler = GradScaler()", "", "def train(model, loader, epochs):", "    for epoch in range(epochs):",
             "        for i, (x, y) in enumerate(loader):"]
    lines += ["            " + line for line in draw(block(0))]
    lines += ["        " + line for line in draw(st.lists(names(LOOP_EVENTS), max_size=2))]
    return "\n".join(lines) + "\n"


@st.composite
def checkpoint_module(draw):
    keys = draw(st.lists(names(["'model'", "'optimizer'", "'scheduler'", "'scaler'", "'epoch'", "'state_dict'",
                                "'model_state_dict'", "'optimizer_state_dict'", "'rng'", "key", "**extra"]), max_size=6))
    values = draw(st.lists(names(["model.state_dict()", "optimizer.state_dict()", "scheduler.state_dict()",
                                  "scaler.state_dict()", "epoch", "model", "optimizer", "torch.get_rng_state()",
                                  "model.module.state_dict()", "{}", "None"]), min_size=len(keys), max_size=len(keys)))
    items = ", ".join(k if k == "**extra" else f"{k}: {v}" for k, v in zip(keys, values))
    lines = ["import torch", "", f"checkpoint = {{{items}}}",
             f"torch.save({draw(names(['checkpoint', '{' + items + '}', 'model', 'model.state_dict()', 'dict(model=model.state_dict())']))}, "
             f"{draw(names(['path', repr('ckpt.pt'), 'f']))})",
             f"state = torch.load(path{draw(names(['', ', weights_only=True', ', weights_only=False', ', map_location=device']))})",
             draw(names(["model", "optimizer", "scheduler"])) + ".load_state_dict(state"
             + draw(names(["", "['model']", "[key]"])) + ")",
             "start = state" + draw(names(["['epoch']", ".get('epoch', 0)", ""]))]
    return "\n".join(lines) + "\n"


any_module = st.one_of(pipeline_module(), sequential_module(), training_module(), checkpoint_module())
# Everything at once, as in a real train.py.
combined_module = st.lists(any_module, min_size=2, max_size=4).map(
    lambda parts: "\n".join(parts))

JUNK = ["(", ")", "[", "]", "{", "}", ":", ",", "\n", "    ", "\t", "lambda", "*", "**", "yield", "await", "async ",
        "'", '"', '"""', "\\", "#", "@", "=", ":=", "->", "if", "else", "\x0c", "\r", "\x00", "é", "\u2028", "0x",
        "nonlocal", "global x", "del", "not", "...", "return", "class", "def f(", "match x:", "case _:"]


@st.composite
def mutated(draw, base=any_module):
    """A generated module with random edits: delete, duplicate, insert syntax fragments."""
    text = draw(base)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        edit = draw(st.integers(0, 3))
        if edit == 0:
            text = text[:position] + text[position + draw(st.integers(1, 20)):]
        elif edit == 1:
            text = text[:position] + draw(names(JUNK)) + text[position:]
        elif edit == 2:
            end = min(len(text), position + draw(st.integers(1, 60)))
            text = text[:position] + text[position:end] * 2 + text[end:]
        else:
            text = text[:position] + draw(st.text(max_size=8)) + text[position:]
    return text


TRIGGERS = "import torch\nimport torchvision.transforms as T\nT.Compose([T.ToTensor()])\nloss.backward()\nnn.Sequential()\n"


def _line_count(source: str) -> int:
    """Lines as Python counts them (``\n``, ``\r\n``, ``\r``; not ``\f`` or U+2028, which ``splitlines`` splits on)."""
    parts = re.split(r"\r\n|\r|\n", source)
    return len(parts) - 1 if len(parts) > 1 and parts[-1] == "" else len(parts)


def _check_positions(diagnostics, source: str) -> None:
    lines = _line_count(source)
    for d in diagnostics:
        assert d.code != INTERNAL_ERROR, d.message
        assert 1 <= d.row <= lines and d.column >= 1, (d, lines)
        if d.end_row:
            assert d.row <= d.end_row <= lines and d.end_column >= 1, (d, lines)
            assert (d.end_row, d.end_column) >= (d.row, d.column), d


def _lint(source: str):
    diagnostics = lint_source(source, "fuzz.py", ALL_RULES)  # nothing may escape
    _check_positions(diagnostics, source)
    return diagnostics


@pytest.mark.parametrize("strategy", [pipeline_module(), sequential_module(), training_module(), checkpoint_module()],
                         ids=["pipelines", "sequential", "training", "checkpoints"])
def test_generated_code_never_crashes_and_positions_are_in_the_file(strategy):
    @FUZZ
    @given(strategy)
    def check(source):
        _lint(source)

    check()


@FUZZ
@given(combined_module)
def test_generated_combined_modules_are_linted_and_the_walk_is_sound(source):
    # The generator writes valid Python; orderlint must parse it (no OL000) and not crash.
    compile(source, "fuzz.py", "exec", dont_inherit=True)
    assert not [d for d in _lint(source) if d.code == "OL000"]


@FUZZ
@given(mutated())
def test_mutated_code_never_crashes(source):
    _lint(source)


@FUZZ
@given(mutated(combined_module))
def test_mutated_combined_code_never_crashes(source):
    _lint(source)


@FUZZ
@given(st.text())
def test_arbitrary_text(source):
    _lint(source)
    _lint(TRIGGERS + source)
    _lint(source + "\n" + TRIGGERS)


@FUZZ
@given(st.text(alphabet=string.printable + "([{}])'\"#\\:éπ\u2028\x00", max_size=300))
def test_arbitrary_text_in_a_pipeline(text):
    _lint(f"import torchvision.transforms as T\np = T.Compose([{text}])\n")
    _lint(f"import torch\nfor x in loader:\n    {text}\n    loss.backward()\n")


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data):
    for blob in (data, TRIGGERS.encode() + data, data + b"\n" + TRIGGERS.encode(), b"\xef\xbb\xbf" + data):
        diagnostics = lint_bytes(blob, "fuzz.py", ALL_RULES)
        assert all(d.code != INTERNAL_ERROR for d in diagnostics), diagnostics
        try:
            text = decode(blob)
        except SourceError:
            continue
        _check_positions(diagnostics, text)


@SMALL
@given(st.one_of(mutated(combined_module), st.text(), combined_module))
def test_cli_json_output_always_parses(source):
    runner = CliRunner()
    result = runner.invoke(cli, ["check", "-", "--stdin-filename", "fuzz.py", "--isolated", "--select", "ALL",
                                 "--preview", "--output-format", "json"], input=source, catch_exceptions=False)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    records = json.loads(result.stdout)
    assert isinstance(records, list)
    lines = _line_count(source)
    for record in records:
        assert record["code"] != INTERNAL_ERROR
        assert 1 <= record["location"]["row"] <= lines and record["location"]["column"] >= 1


@SMALL
@given(st.binary(max_size=300))
def test_cli_json_output_for_arbitrary_bytes_in_a_file(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "train.py").write_bytes(TRIGGERS.encode() + data)
    (directory / "raw.py").write_bytes(data)
    runner = CliRunner()
    result = runner.invoke(cli, ["check", str(directory), "--isolated", "--no-cache", "--select", "ALL", "--preview",
                                 "--output-format", "json"], catch_exceptions=False)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    assert all(record["code"] != INTERNAL_ERROR for record in json.loads(result.stdout))
