"""--fix, --unsafe-fixes and --diff: expected output per fixture pair, and nothing ever lost."""

import json
import os
import stat
from pathlib import Path

import libcst
import pytest

from orderlint.config import select_rules
from orderlint.context import Settings
from orderlint.runner import fix_source

PAIRS = Path(__file__).parent.parent / "fixtures" / "fixes"
INPUTS = sorted(p for p in PAIRS.glob("*.py") if not p.name.endswith(".fixed.py"))
ALL = select_rules(None, [], [], preview=False)


def _fixed(source: str, unsafe: bool) -> str:
    return fix_source(source, "pipeline.py", ALL, Settings(), unsafe).text


@pytest.mark.parametrize("case", INPUTS, ids=lambda p: p.stem)
def test_fix_gives_the_expected_output_parses_and_is_idempotent(case):
    unsafe = "unsafe" in case.stem
    expected = case.with_name(case.stem + ".fixed.py").read_text(encoding="utf-8")
    fixed = _fixed(case.read_text(encoding="utf-8"), unsafe)
    assert fixed == expected
    libcst.parse_module(fixed)
    assert _fixed(fixed, unsafe) == fixed


def test_safe_mode_leaves_unsafe_fixes_alone():
    source = (PAIRS / "transforms_unsafe.py").read_text(encoding="utf-8")
    assert _fixed(source, unsafe=False) == source


def test_every_rule_with_a_fix_has_a_fixture_pair():
    from orderlint.rules import ALL_RULES

    applied = set()
    for case in INPUTS:
        applied |= set(fix_source(case.read_text(encoding="utf-8"), "p.py", ALL_RULES, Settings(), unsafe=True).applied)
    declared = {r.code for r in ALL_RULES if r.fix != "-"}
    assert declared <= applied, f"rules declaring a fix with no fixture pair applying it: {sorted(declared - applied)}"


UNSAFE_SOURCE = (PAIRS / "transforms_unsafe.py").read_bytes()
UNSAFE_FIXED = (PAIRS / "transforms_unsafe.fixed.py").read_bytes()


@pytest.mark.parametrize(
    "name, encode",
    [
        ("lf", lambda b: b),
        ("crlf", lambda b: b.replace(b"\n", b"\r\n")),
        ("bom", lambda b: b"\xef\xbb\xbf" + b),
        ("bom-crlf", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")),
        ("latin-1", lambda b: b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + b),
    ],
)
def test_fix_keeps_encoding_bom_line_endings_and_mode(project, run, name, encode):
    path = project("train.py", encode(UNSAFE_SOURCE))
    path.chmod(0o640)
    result = run("check", "--fix", "--unsafe-fixes", "--no-cache", "--output-format", "concise")
    assert result.exit_code == 0, result.stdout
    assert path.read_bytes() == encode(UNSAFE_FIXED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(project.root)) == ["train.py"]  # no temporary file left behind
    assert "Found 5 problems (5 fixed, 0 remaining)." in result.stdout


def test_fix_reports_what_remains_and_show_fixes_lists_files(project, run):
    path = project("train.py", UNSAFE_SOURCE)
    result = run("check", "--fix", "--show-fixes", "--no-cache", "--output-format", "concise")
    assert result.exit_code == 1 and path.read_bytes() == UNSAFE_SOURCE  # only unsafe fixes exist here
    assert "(3 hidden fixes can be enabled with the `--unsafe-fixes` option.)" in result.stdout
    result = run("check", "--fix", "--unsafe-fixes", "--show-fixes", "--no-cache", "--output-format", "concise")
    assert "Fixed 5 problems:\n- train.py: 5\n" in result.stdout


def test_diff_prints_and_writes_nothing(project, run):
    path = project("train.py", UNSAFE_SOURCE)
    result = run("check", "--diff", "--unsafe-fixes", "--no-cache")
    assert result.exit_code == 1
    assert path.read_bytes() == UNSAFE_SOURCE
    assert "--- train.py\n+++ train.py\n" in result.stdout and "+    T.Normalize(MEAN, STD),\n" in result.stdout
    assert result.stdout.rstrip().endswith("Would fix 5 problems.")
    clean = project("clean.py", UNSAFE_FIXED)
    assert run("check", "--diff", "--unsafe-fixes", "--no-cache", str(clean.name)).exit_code == 0


def test_stdin_fix_prints_the_fixed_source(run):
    result = run("check", "-", "--stdin-filename", "t.py", "--fix", "--unsafe-fixes", input=UNSAFE_SOURCE.decode())
    assert result.stdout == UNSAFE_FIXED.decode() and result.exit_code == 0


def test_json_fix_has_applicability_message_and_edits(project, run):
    project("train.py", (PAIRS / "transforms_safe.py").read_bytes())
    records = json.loads(run("check", "--output-format", "json", "--no-cache").stdout)
    (ol107, *_) = [r for r in records if r["code"] == "OL107"]
    fix = ol107["fix"]
    assert fix["applicability"] == "safe" and fix["message"].startswith("Replace with `ToImage()`")
    assert {"content", "location", "end_location"} == set(fix["edits"][0])
    assert fix["edits"][-1]["content"] == "v2.ToImage(), v2.ToDtype(torch.float32, scale=True)"
    assert fix["edits"][-1]["location"] == {"row": 12, "column": 5}


def test_a_fix_that_would_break_the_code_is_not_written(project, run, monkeypatch):
    import orderlint.fixes

    path = project("train.py", UNSAFE_SOURCE)
    monkeypatch.setattr(orderlint.fixes, "parses", lambda text: False)
    result = run("check", "--fix", "--unsafe-fixes", "--no-cache", "--jobs", "1")
    assert path.read_bytes() == UNSAFE_SOURCE
    assert "a fix produced code that does not parse" in result.stderr


def test_notebook_fix_rewrites_only_the_cell(project, run):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Data\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["import torchvision.transforms as T\n", "%matplotlib inline\n",
                    "p = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5]), T.ColorJitter(0.3)])"]},
    ]
    notebook = json.dumps({"cells": cells, "metadata": {"kernelspec": {"language": "python"}},
                           "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    path = project("train.ipynb", notebook)
    run("check", "--fix", "--unsafe-fixes", "--no-cache")
    fixed = json.loads(path.read_text())
    assert fixed["cells"][1]["source"][-1] == "p = T.Compose([T.ToTensor(), T.ColorJitter(0.3), T.Normalize([0.5], [0.5])])"
    assert fixed["cells"][1]["source"][1] == "%matplotlib inline\n"
    assert path.read_text().replace("T.ColorJitter(0.3), T.Normalize([0.5], [0.5])", "T.Normalize([0.5], [0.5]), T.ColorJitter(0.3)") == notebook
