"""The training-step extractor and object identification, on small sources."""

import textwrap

from orderlint.engine import parse
from orderlint.extract.objects import MODEL, OPTIMIZER, SAMPLER, SCALER, SCHEDULER, training_objects
from orderlint.extract.steps import (
    ASSIGN, BACKWARD, CLIP, EVAL_MODE, SCALER_STEP, SCHEDULER_STEP, TRAIN_MODE, ZERO_GRAD, exclusive, training_steps,
)


def context(source):
    return parse(textwrap.dedent(source), whole=True)


def events(source, root=None):
    """(kind, target) of the events of the root named ``root`` (the module when None), assignments left out."""
    ctx = context(source)
    for step in training_steps(ctx):
        name = getattr(getattr(step.root, "name", None), "value", None)
        if name == root:
            return [(e.kind, e.target) for e in step.events if e.kind != ASSIGN], step
    raise AssertionError(f"no root {root}")


def test_objects_are_known_by_construction_and_by_usage():
    ctx = context("""
        import torch
        from torch.optim import lr_scheduler
        from torch.utils.data.distributed import DistributedSampler

        def main(model, data):
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            plateau = lr_scheduler.ReduceLROnPlateau(opt)
            scaler = torch.cuda.amp.GradScaler(enabled=False)
            sampler = DistributedSampler(data)

        def step(optimizer, scheduler, loss_scaler, loss):
            loss_scaler.scale(loss).backward()
            loss_scaler.step(optimizer)
            scheduler.step()
    """)
    objects = training_objects(ctx)
    assert objects.get("opt").kind == OPTIMIZER
    assert objects.get("model").kind == MODEL  # its parameters() build an optimizer
    assert objects.get("plateau").kind == SCHEDULER and objects.get("plateau").plateau is True
    assert objects.get("scaler").kind == SCALER and objects.get("scaler").enabled is False
    assert objects.get("sampler").kind == SAMPLER
    assert objects.get("loss_scaler").kind == SCALER  # x.scale(loss).backward()
    assert objects.get("optimizer").kind == OPTIMIZER  # scaler.step(x)
    assert objects.get("scheduler").kind == SCHEDULER and objects.get("scheduler").plateau is None  # by name
    assert objects.get("loss") is None


def test_a_helper_called_per_epoch_is_folded_in_with_its_parameters_renamed():
    found, step = events("""
        import torch

        def train_one_epoch(model, optimizer, loader):
            model.train()
            for x in loader:
                optimizer.zero_grad()
                model(x).sum().backward()
                optimizer.step()

        def main(net, loader):
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            sched = torch.optim.lr_scheduler.StepLR(opt, 1)
            for epoch in range(3):
                train_one_epoch(net, opt, loader)
                sched.step()
                net.eval()
    """, root="main")
    assert found == [
        (TRAIN_MODE, "net"), (ZERO_GRAD, "opt"), ("forward", "net"), (BACKWARD, None), ("optimizer_step", "opt"),
        (SCHEDULER_STEP, "sched"), (EVAL_MODE, "net"),
    ]
    epoch = step.loops()[0]
    assert step.is_epoch_loop(epoch) and len(step.loops()) == 2


def test_methods_of_a_trainer_are_folded_in_and_scaled_backward_is_recognised():
    found, _ = events("""
        import torch
        from torch import nn

        class Trainer:
            def __init__(self, model):
                self.opt = torch.optim.AdamW(model.parameters())
                self.scaler = torch.amp.GradScaler("cuda")

            def training_step(self, loss):
                self.scaler.scale(loss).backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.scaler.step(self.opt)

            def fit(self, loader):
                for batch in loader:
                    self.training_step(self.model(batch))
    """, root="fit")
    assert found == [(BACKWARD, None), (CLIP, None), (SCALER_STEP, "self.scaler")]


def test_conditions_and_arms():
    _, step = events("""
        import torch

        def train(model, loader, scaler, k):
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for i, x in enumerate(loader):
                if scaler is not None:
                    scaler.scale(model(x)).backward()
                else:
                    model(x).backward()
                if (i + 1) % k == 0:
                    optimizer.step()
    """, root="train")
    first, second = step.of_kind(BACKWARD)
    assert first.scaled_by == "scaler" and second.scaled_by is None
    assert exclusive(first, second)
    stepping = step.of_kind("optimizer_step")[0]
    assert stepping.guard == ("(i + 1) % k == 0",) and not exclusive(first, stepping)


def test_autocast_regions_record_device_and_dtype():
    _, step = events("""
        import torch

        def train(model, x, dtype):
            with torch.autocast("cuda"):
                a = model(x)
            with torch.cuda.amp.autocast(True, torch.bfloat16):
                b = model(x)
            with torch.autocast("cpu", dtype=dtype):
                c = model(x)
            with torch.no_grad():
                d = model(x)
    """, root="train")
    regions = [e.regions for e in step.events if e.kind == ASSIGN]
    assert [(r[0].device, r[0].dtype) for r in regions[:3]] == [("cuda", "float16"), ("cuda", "bfloat16"), ("cpu", None)]
    assert regions[3][0].kind == "no_grad"


def test_recursion_and_unknown_calls_do_not_hang():
    found, _ = events("""
        def a(n):
            return b(n)

        def b(n):
            return a(n - 1)

        a(3)
    """)
    assert found == []


def test_a_method_is_a_root_unless_its_own_class_calls_it():
    source = """
        import torch

        class A:
            def training_step(self, batch):
                batch.sum().backward()

        class B:
            def training_step(self, batch):
                batch.mean().backward()

            def fit(self, loader):
                for batch in loader:
                    self.training_step(batch)
    """
    roots = [getattr(step.root, "name", None) for step in training_steps(context(source))]
    names = [r.value for r in roots if r is not None]
    assert names.count("training_step") == 1  # A's (B's is folded into B.fit)
    assert "fit" in names


def test_a_nested_disabled_autocast_switches_the_outer_one_off():
    found, step = events("""
        import torch

        def train(model, x):
            with torch.autocast("cuda"):
                loss = model(x)
                with torch.autocast("cuda", enabled=False):
                    loss.backward()
            with torch.autocast("cuda", dtype=torch.half):
                other = model(x)
                other.backward()
    """, "train")
    backwards = [e for e in step.events if e.kind == BACKWARD]
    assert backwards[0].autocast == ()
    assert [r.dtype for r in backwards[1].autocast] == ["float16"]  # torch.half is float16
