"""Checkpoint extraction (what a save holds, where a resume leads) and the ``torch-version`` setting."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orderlint.config import ConfigError, load_config, select_rules
from orderlint.context import Settings
from orderlint.engine import lint_source, parse
from orderlint.extract.checkpoints import checkpoints

HEADER = """
import torch
import torchvision

def train_one_epoch(model, loader, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
"""


def _ctx(body: str):
    return parse(textwrap.dedent(HEADER) + textwrap.dedent(body))


def _entries(body: str):
    """The code of each value the last save holds, and whether it holds more, unseen."""
    ctx = _ctx(body)
    found = checkpoints(ctx)
    content = found.content(found.saves[-1])
    return [ctx.code(entry.value) for entry in content.entries], content.open


def _codes(body: str, settings: Settings = Settings()):
    source = textwrap.dedent(HEADER) + textwrap.dedent(body)
    return [(d.row - HEADER.count("\n"), d.code) for d in
            lint_source(source, "train.py", select_rules(["OL5"], [], [], True), settings)]


def test_a_dict_built_up_by_assignments_and_update():
    entries, hidden = _entries("""
    def main(model, optimizer, epoch):
        ckpt = {"model": model.state_dict()}
        ckpt["optimizer"] = optimizer.state_dict()
        ckpt.update(epoch=epoch)
        torch.save(ckpt, "last.pt")
    """)
    assert entries == ["model.state_dict()", "optimizer.state_dict()", "epoch"] and not hidden


def test_dict_call_and_spread_of_a_known_dict():
    entries, hidden = _entries("""
    def main(model, optimizer):
        base = {"model": model.state_dict()}
        torch.save(dict(base, optimizer=optimizer.state_dict()), "last.pt")
    """)
    assert entries == ["model.state_dict()", "optimizer.state_dict()"] and not hidden


def test_content_from_elsewhere_opens_the_dict():
    _, hidden = _entries("""
    def main(model, extra):
        torch.save({"model": model.state_dict(), **extra}, "last.pt")
    """)
    assert hidden


def test_only_the_dict_assigned_last_counts():
    entries, _ = _entries("""
    def main(model, optimizer, path):
        ckpt = torch.load(path, weights_only=True)
        model.load_state_dict(ckpt["model"])
        ckpt = {"model": model.state_dict()}
        torch.save(ckpt, "last.pt")
    """)
    assert entries == ["model.state_dict()"]


def test_a_helper_that_saves_its_parameter_is_checked_at_its_call_sites():
    ctx = _ctx("""
    def save_checkpoint(state, is_best, filename="checkpoint.pth"):
        torch.save(state, filename)

    def main(model, optimizer, epoch):
        save_checkpoint({"model": model.state_dict()}, True)
        save_checkpoint({"optimizer": optimizer.state_dict()}, False)
    """)
    saves = checkpoints(ctx).saves
    assert [ctx.code(save.node).split("(")[0] for save in saves] == ["save_checkpoint", "save_checkpoint"]
    assert [ctx.code(save.payload) for save in saves] == ['{"model": model.state_dict()}',
                                                          '{"optimizer": optimizer.state_dict()}']


def test_a_resume_through_a_helper_reaches_the_epoch_loop_after_its_call():
    assert _codes("""
    def restore(path, model, optimizer):
        checkpoint = torch.load(path, weights_only=True)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])

    def main(args, loader):
        model = torchvision.models.resnet18()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        restore(args.resume, model, optimizer)
        for epoch in range(args.epochs):
            train_one_epoch(model, loader, optimizer)
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, "last.pt")
    """) == [(11, "OL504")]


def test_a_step_loop_after_a_resume_is_not_an_epoch_loop():
    assert _codes("""
    def main(args, loader, model):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        optimizer.load_state_dict(torch.load(args.resume, weights_only=True))
        for step in range(args.steps):
            optimizer.zero_grad()
            model(loader).sum().backward()
            optimizer.step()
    """) == []


LOAD = """
def load(path):
    return torch.load(path, map_location="cpu")
"""


@pytest.mark.parametrize("version, reported", [(None, False), ((2, 4), True), ((2, 6), False), ((2, 5, 1), True)])
def test_a_missing_weights_only_is_reported_below_torch_2_6(version, reported):
    assert _codes(LOAD, Settings(torch_version=version)) == ([(3, "OL503")] if reported else [])


def _config(tmp_path: Path, value: str):
    (tmp_path / "pyproject.toml").write_text(f"[tool.orderlint]\ntorch-version = {value}\n", encoding="utf-8")
    return load_config(tmp_path / "pyproject.toml", tmp_path)


def test_torch_version_is_read_from_the_configuration(tmp_path):
    assert _config(tmp_path, '"2.4"').settings == Settings(torch_version=(2, 4))
    assert load_config(None, tmp_path).settings == Settings()


@pytest.mark.parametrize("value, shown", [('"2"', "'2'"), ('"two"', "'two'"), ("2.4", "a number")])
def test_torch_version_must_be_a_version_string(tmp_path, value, shown):
    with pytest.raises(ConfigError, match=f'`torch-version` must be a version string like "2.4", got {shown}'):
        _config(tmp_path, value)


def test_the_cli_applies_the_configured_torch_version(tmp_path):
    _config(tmp_path, '"2.4"')
    (tmp_path / "train.py").write_text(textwrap.dedent(HEADER) + LOAD, encoding="utf-8")
    exe = Path(sys.executable).parent / "orderlint"
    result = subprocess.run([str(exe), "check", "--output-format", "concise", "train.py"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert "OL503 `torch.load` without `weights_only=True`" in result.stdout
    assert "this project supports 2.4" in result.stdout


@pytest.mark.parametrize("tail, flagged", [
    ("args = argparse.ArgumentParser().parse_args()\n", True),  # the file parses its command line
    ("", False),  # `args` could be anything
])
def test_an_args_parameter_no_call_binds_is_the_parsed_namespace(tail, flagged):
    body = """
    import argparse
    def main_worker(gpu, args):
        model = torchvision.models.resnet18()
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        for epoch in range(args.epochs):
            train_one_epoch(model, None, optimizer)
            torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "args": args}, "last.pt")
    """ + tail
    assert (("OL505" in {code for _, code in _codes(body)}) is flagged)
