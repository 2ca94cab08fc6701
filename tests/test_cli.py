"""The command line as users meet it: output, exit codes, selection, suppression, bad input."""

import json

import pytest

from samples import BUGGY, CLEAN


def test_finding_is_reported_with_clickable_location_and_exit_1(project, run):
    project("train.py", BUGGY)
    result = run("check", "--output-format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("train.py:3:23: OL101 `T.Normalize` runs before `T.ToTensor`")
    assert lines[1:] == ["Found 1 problem.", "(1 hidden fix can be enabled with the `--unsafe-fixes` option.)"]


def test_clean_tree_passes_with_exit_0(project, run):
    project("train.py", CLEAN)
    result = run("check")
    assert (result.exit_code, result.stdout) == (0, "All checks passed!\n")


def test_exit_zero_keeps_findings_but_exits_0(project, run):
    project("train.py", BUGGY)
    result = run("check", "--exit-zero")
    assert result.exit_code == 0 and "OL101" in result.stdout


def test_output_sorted_by_path_line_column(project, run):
    project("b.py", BUGGY)
    project("a.py", BUGGY + BUGGY.replace("pipeline", "other"))
    rows = [line.split(":")[:3] for line in run("check", "--output-format", "concise").stdout.splitlines() if ": OL" in line]
    assert rows == [["a.py", "3", "23"], ["a.py", "6", "20"], ["b.py", "3", "23"]]


def test_json_output_uses_ruff_field_names(project, run):
    project("train.py", BUGGY)
    result = run("check", "--output-format", "json")
    (record,) = json.loads(result.stdout)
    assert set(record) == {"code", "name", "message", "filename", "location", "end_location", "fix", "url", "noqa_row", "cell"}
    assert record["code"] == "OL101" and record["name"] == "tensor-transform-before-to-tensor"
    assert record["location"] == {"row": 3, "column": 23}
    assert record["end_location"] == {"row": 3, "column": 48}
    assert record["filename"] == str(project.root / "train.py")
    assert record["fix"]["applicability"] == "unsafe" and record["noqa_row"] == 3 and record["cell"] is None
    assert record["url"].endswith("#ol101-tensor-transform-before-to-tensor")


def test_statistics_counts_per_rule(project, run):
    project("a.py", BUGGY)
    project("b.py", BUGGY)
    assert run("check", "--statistics").stdout == "    2\tOL101\ttensor-transform-before-to-tensor\n"


@pytest.mark.parametrize(
    "args, fires",
    [
        ((), True),
        (("--select", "OL101"), True),
        (("--select", "OL1"), True),
        (("--select", "ALL"), True),
        (("--select", "OL102,OL103"), False),
        (("--ignore", "OL101"), False),
        (("--ignore", "OL1"), False),
        (("--select", "OL101", "--ignore", "OL1"), True),  # the more specific selector wins
        (("--select", "OL102", "--extend-select", "OL101"), True),
    ],
)
def test_rule_selection(project, run, args, fires):
    project("train.py", BUGGY)
    assert ("OL101" in run("check", *args).stdout) is fires


PREVIEW_ONLY = """\
import torchvision.transforms as T

pipeline = T.Compose([T.CenterCrop(148), T.Resize(64), T.ToTensor()])
"""


@pytest.mark.parametrize("args, fires", [((), False), (("--preview",), True), (("--extend-select", "OL111"), True),
                                         (("--select", "OL1"), False), (("--select", "OL1", "--preview"), True)])
def test_preview_rules_need_preview_or_their_exact_code(project, run, args, fires):
    project("train.py", PREVIEW_ONLY)
    assert ("OL111" in run("check", *args).stdout) is fires


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_rule_code_exits_2_with_closest_code(project, run, option):
    project("train.py", BUGGY)
    result = run("check", option, "OL1O1")
    assert result.exit_code == 2
    assert result.stderr == f"orderlint: error: {option}: unknown rule code or prefix `OL1O1`; did you mean `OL101`?\n"


def test_missing_path_exits_2_with_one_line(project, run):
    result = run("check", "nope.py")
    assert result.exit_code == 2
    assert result.stderr == "orderlint: error: nope.py: no such file or directory\n"


def test_syntax_error_is_ol000_and_the_run_goes_on(project, run):
    project("broken.py", "import torchvision.transforms as T\ndef f(:\n    T.Compose([])\n")
    project("train.py", BUGGY)
    result = run("check", "--output-format", "concise")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("broken.py:2:7: OL000 could not parse: invalid syntax")
    assert "train.py:3:23: OL101" in result.stdout


def test_file_without_trigger_is_not_parsed(project, run):
    project("notes.py", "this is not python at all (\n")
    assert run("check").exit_code == 0


def test_undecodable_bytes_are_ol000(project, run):
    project("bad.py", b"import torchvision.transforms as T\nx = '\xff\xfe'\n")
    result = run("check", "--output-format", "concise")
    assert result.exit_code == 1
    assert result.stdout.startswith("bad.py:2:6: OL000 could not decode as utf-8: invalid start byte (byte 0xff)")


def test_coding_cookie_and_bom_are_honoured(project, run):
    latin = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + BUGGY
    project("latin.py", latin.encode("latin-1"))
    project("bom.py", b"\xef\xbb\xbf" + BUGGY.encode())
    project("crlf.py", BUGGY.replace("\n", "\r\n").encode())
    out = run("check").stdout
    assert "latin.py:5:23: OL101" in out and "bom.py:3:23: OL101" in out and "crlf.py:3:23: OL101" in out


@pytest.mark.parametrize("comment, suppressed", [
    ("# noqa", True), ("# noqa: OL101", True), ("# NOQA:OL101,OL102", True), ("# noqa: OL102", False),
])
def test_noqa_on_the_reported_line(project, run, comment, suppressed):
    project("train.py", BUGGY.replace("T.ToTensor()])", f"T.ToTensor()])  {comment}"))
    assert ("OL101" not in run("check").stdout) is suppressed


def test_file_level_noqa_skips_the_file(project, run):
    project("train.py", "# orderlint: noqa\n" + BUGGY)
    assert run("check").exit_code == 0


def test_discovery_skips_hidden_venv_pycache_and_gitignored(project, run):
    for place in [".hidden/a.py", "venv/lib/b.py", "env/c.py", "__pycache__/d.py", "generated/e.py", "kept/f.py"]:
        project(place, BUGGY)
    project("env/pyvenv.cfg", "home = /usr\n")
    project(".gitignore", "generated/\n")
    (project.root / ".git").mkdir()
    out = run("check").stdout
    assert "kept/f.py" in out
    for skipped in ["a.py", "b.py", "c.py", "d.py", "e.py"]:
        assert skipped not in out


def test_gitignore_negation_and_nested_files(project, run):
    (project.root / ".git").mkdir()
    project(".gitignore", "*.py\n!keep.py\n")
    project("keep.py", BUGGY)
    project("drop.py", BUGGY)
    project("sub/.gitignore", "!drop_here.py\n")
    project("sub/drop_here.py", BUGGY)
    out = run("check").stdout
    assert "keep.py" in out and "sub/drop_here.py" in out and "drop.py:" not in out.replace("drop_here.py", "")


def test_explicit_file_is_linted_even_if_excluded(project, run):
    project(".gitignore", "generated/\n")
    path = project("generated/e.py", BUGGY)
    assert "OL101" in run("check", str(path.relative_to(project.root))).stdout


def test_stdin_with_filename(project, run):
    result = run("check", "-", "--stdin-filename", "pipeline.py", "--output-format", "concise", input=BUGGY)
    assert result.stdout.startswith("pipeline.py:3:23: OL101")


def test_unreadable_file_exits_2_but_reports_the_rest(project, run):
    project("train.py", BUGGY)
    result = run("check", "/proc/self/mem", "train.py")  # exists, but reading it fails even for root
    assert result.exit_code == 2
    assert "train.py:3:23: OL101" in result.stdout
    assert result.stderr == "orderlint: error: /proc/self/mem: cannot read: Input/output error\n"


def test_dangling_symlink_named_explicitly_exits_2(project, run):
    (project.root / "gone.py").symlink_to(project.root / "missing.py")
    result = run("check", "gone.py")
    assert result.exit_code == 2 and result.stderr == "orderlint: error: gone.py: no such file or directory\n"


def test_rules_lists_every_rule(run):
    from orderlint.rules import ALL_RULES

    out = run("rules").stdout.splitlines()
    assert out[0].split() == ["code", "name", "kind", "default", "fix"]
    assert [line.split()[0] for line in out[1:]] == [r.code for r in ALL_RULES]


def test_rule_explains_why_with_example_and_fix(run):
    out = run("rule", "OL103").stdout
    for heading in ("# OL103 augment-after-normalize", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in out


def test_rule_unknown_code_exits_2(run):
    result = run("rule", "OL199")
    assert result.exit_code == 2 and "did you mean" in result.stderr


def test_show_prints_the_walk(project, run):
    project("train.py", CLEAN)
    out = run("show", "train.py:3").stdout.splitlines()
    assert out[0] == "train.py:3:12: T.Compose (v1)"
    assert out[1].split() == ["step", "container", "dtype", "range", "channels", "size", "random"]
    assert out[4].split()[:4] == ["T.ToTensor", "tensor", "float", "0-1"]
    assert out[5].split()[:4] == ["T.Normalize", "tensor", "float", "normalized"]


def test_docs_rules_reference_is_up_to_date(run):
    from pathlib import Path

    committed = (Path(__file__).parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    assert run("rules", "--markdown").stdout == committed, "regenerate: orderlint rules --markdown > docs/rules.md"
