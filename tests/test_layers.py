"""Layer stacks are found whatever the spelling, and followed however they are built."""

import textwrap

import pytest

from orderlint.engine import parse
from orderlint.extract.layers import label, stacks_of
from orderlint.extract.losses import loss_inputs


def stacks(source: str):
    ctx = parse(textwrap.dedent(source), whole=True)
    return ctx, stacks_of(ctx)


def layer_names(source: str, index: int = -1):
    """[[layer names]] per path of one stack of ``source``."""
    _, found = stacks(source)
    return [[a.use.layer.name if a.use.layer else "?" for a in walk] for walk in found[index].walks]


@pytest.mark.parametrize(
    "imports, conv",
    [
        ("import torch.nn as nn", "nn.Conv2d"),
        ("from torch import nn", "nn.Conv2d"),
        ("import torch", "torch.nn.Conv2d"),
        ("from torch.nn import Conv2d as C", "C"),
        ("from torch.nn import *", "Conv2d"),
        ("from torch.nn.modules.conv import Conv2d", "Conv2d"),
    ],
)
def test_every_import_spelling_resolves_to_the_same_layer(imports, conv):
    source = f"""
    {imports}
    import torch.nn as tnn
    s = tnn.Sequential({conv}(3, 8, 3), tnn.BatchNorm2d(8))
    """
    assert layer_names(source) == [["Conv2d", "BatchNorm2d"]]


def test_ordered_dict_nested_sequentials_and_starred_lists():
    source = """
    from collections import OrderedDict
    import torch.nn as nn
    a = nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 8, 3)), ("body", nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1)))]))
    s = nn.Sequential(nn.Conv2d(3, 8, 3), *[nn.ReLU()], nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(8, 2))
    """
    _, found = stacks(source)
    names = [[[a.use.layer.name for a in w] for w in s.walks] for s in found]
    assert ["Conv2d", "ReLU", "AdaptiveAvgPool2d"] in [paths[0] for paths in names]
    assert ["Conv2d", "ReLU", "AdaptiveAvgPool2d", "Flatten", "Linear"] in [paths[0] for paths in names]


def test_layers_appended_in_a_literal_range_loop_are_unrolled():
    source = """
    import torch.nn as nn
    def build():
        layers = []
        for _ in range(1, 3):
            layers += [nn.Conv2d(8, 8, 3), nn.ReLU()]
        return nn.Sequential(*layers)
    """
    assert layer_names(source) == [["Conv2d", "ReLU", "Conv2d", "ReLU"]]


def test_counts_from_constants_arithmetic_and_defaults_and_unknown_otherwise():
    source = """
    import torch.nn as nn
    WIDTH = 16
    def build(cin, hidden=32):
        return nn.Sequential(nn.Conv2d(cin, WIDTH * 2, 3), nn.Linear(hidden, cin))
    """
    _, found = stacks(source)
    conv, linear = found[0].walks[0]
    assert conv.use.args["out_channels"] == 32
    assert conv.after.state.channels == 32
    assert linear.use.args["in_features"] == 32
    assert linear.after.state.features is None  # `cin` has no default: unknown


def test_a_module_is_its_init_layers_in_forward_order():
    source = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 10)
            self.conv = nn.Conv2d(1, 16, 3)
            self.bn = nn.BatchNorm2d(16)
        def forward(self, x):
            x = self.bn(self.conv(x))
            x = F.adaptive_avg_pool2d(F.relu(x), 1)
            x = torch.flatten(x, 1)
            return F.log_softmax(self.fc(x), dim=1)
    """
    ctx, found = stacks(source)
    (walk,) = found[-1].walks
    assert [label(ctx, a.use) for a in walk] == [
        "nn.Conv2d", "nn.BatchNorm2d", "F.relu", "F.adaptive_avg_pool2d", "torch.flatten", "nn.Linear", "F.log_softmax"]
    assert walk[5].before.state.features == 16  # 16 channels x 1 x 1
    assert found[-1].output.state.output == "log-probabilities"


def test_a_loss_is_linked_to_its_model_through_parameters_and_assignments():
    source = """
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
        def forward(self, x):
            return self.fc(x)
    def train(model, crit, x, y):
        out = model(x)
        return crit(out, y)
    def main():
        model = Net().to("cpu")
        criterion = nn.NLLLoss()
        train(model, criterion, None, None)
    """
    ctx = parse(textwrap.dedent(source), whole=True)
    (received,) = loss_inputs(ctx)
    assert (received.loss.name, received.reached.kind) == ("NLLLoss", "logits")


def test_a_sequential_of_transforms_is_not_a_layer_stack():
    source = """
    import torch.nn as nn
    import torchvision.transforms as T
    s = nn.Sequential(T.Resize(256), T.Normalize([0.5], [0.5]))
    """
    assert stacks(source)[1] == []


def test_what_one_pass_of_an_unknown_length_loop_adds_is_a_segment_of_the_stack():
    source = """
    import torch.nn as nn
    def build(widths):
        layers = []
        for w in widths:
            layers += [nn.Conv2d(w, w, 3), nn.BatchNorm2d(w), nn.ReLU()]
        return nn.Sequential(*layers)
    """
    _, found = stacks(source)
    names = [[a.use.layer.name if a.use.layer else "?" for a in walk] for walk in found[-1].walks]
    assert ["Conv2d", "BatchNorm2d", "ReLU"] in names
    assert found[-1].output is None  # a segment does not end the stack


@pytest.mark.parametrize("body", [
    "for w in widths:\n        layers.insert(0, nn.Conv2d(w, w, 3))\n        layers.append(nn.BatchNorm2d(w))",
    "for w in widths:\n        if w < 0:\n            continue\n        layers += [nn.Conv2d(w, w, 3), nn.BatchNorm2d(w)]",
])
def test_a_loop_that_reorders_or_skips_gives_no_segment(body):
    source = f"""
import torch.nn as nn
def build(widths):
    layers = []
    {body}
    return nn.Sequential(*layers)
"""
    _, found = stacks(source)
    assert all(len(walk) == 1 for stack in found for walk in stack.walks)


def test_a_layer_applied_under_a_condition_its_input_is_not_is_not_always_applied():
    source = """
    import torch.nn as nn
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3)
            self.bn = nn.BatchNorm2d(8)
            self.use_bn = True
        def forward(self, x):
            x = self.conv(x)
            if self.use_bn:
                x = self.bn(x)
            return x
    """
    _, found = stacks(source)
    (walk,) = found[-1].walks
    assert [a.always for a in walk] == [True, False]


def test_a_parameter_is_what_callers_pass_not_a_module_global_of_that_name():
    source = """
    import torch.nn as nn
    model = nn.Sequential(nn.Linear(4, 2), nn.LogSoftmax(dim=1))
    criterion = nn.NLLLoss()
    def train(net, criterion, x, y):
        return criterion(net(x), y)
    def main():
        net = nn.Sequential(nn.Linear(4, 2))
        ce = nn.CrossEntropyLoss()
        train(net, ce, None, None)
        criterion(model(None), None)
    """
    ctx = parse(textwrap.dedent(source), whole=True)
    assert sorted((r.loss.name, r.reached.kind) for r in loss_inputs(ctx)) == [
        ("CrossEntropyLoss", "logits"), ("NLLLoss", "log-probabilities")]


@pytest.mark.parametrize("source, parsed", [
    ("import torch\nclass A(torch.nn.Module):\n    def forward(self, x):\n        return x", False),
    ("import torch\nclass A(torch.nn.Module):\n    def forward(self, x):\n        return self.fc(x)\n# nn.Linear", True),
    ("import torch\nloss = torch.nn.CrossEntropyLoss()", True),
    ("class A:\n    def forward(self, x):\n        return Conv2d(x)", False),
])
def test_the_family_parses_only_files_that_can_hold_a_finding(source, parsed):
    from orderlint.rules.layers import FAMILY
    assert FAMILY.triggered_by(source) is parsed
