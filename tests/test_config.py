"""[tool.orderlint] in pyproject.toml."""

import pytest

from samples import BUGGY


def test_select_and_ignore_from_pyproject(project, run):
    project("pyproject.toml", '[tool.orderlint]\nignore = ["OL101"]\n')
    project("train.py", BUGGY)
    assert run("check").exit_code == 0


def test_cli_select_overrides_config_select(project, run):
    project("pyproject.toml", '[tool.orderlint]\nselect = ["OL102"]\n')
    project("train.py", BUGGY)
    assert run("check").exit_code == 0
    assert run("check", "--select", "OL101").exit_code == 1


def test_nearest_pyproject_is_found_from_a_subdirectory(project, run, monkeypatch):
    project("pyproject.toml", '[tool.orderlint]\nignore = ["OL1"]\n')
    project("pkg/train.py", BUGGY)
    monkeypatch.chdir(project.root / "pkg")
    assert run("check").exit_code == 0


def test_per_file_ignores(project, run):
    project("pyproject.toml", '[tool.orderlint.per-file-ignores]\n"tests/*" = ["OL101"]\n')
    project("tests/test_a.py", BUGGY)
    project("train.py", BUGGY)
    out = run("check").stdout
    assert "train.py" in out and "tests/test_a.py" not in out


def test_exclude_and_extend_exclude(project, run):
    project("pyproject.toml", '[tool.orderlint]\nextend-exclude = ["legacy"]\n')
    project("legacy/old.py", BUGGY)
    project("train.py", BUGGY)
    out = run("check").stdout
    assert "train.py" in out and "legacy" not in out


def test_preview_in_config(project, run):
    project("pyproject.toml", "[tool.orderlint]\npreview = true\n")
    project("train.py", "import torchvision.transforms as T\nT.Compose([T.Pad(4), T.Resize(32)])\n")
    assert "OL111" in run("check").stdout


@pytest.mark.parametrize(
    "table, message",
    [
        ('selct = ["OL1"]', "unknown key `selct` (did you mean `select`?)"),
        ('select = "OL1"', "`select` must be a list of strings, got a string"),
        ("preview = 1", "`preview` must be a boolean, got an integer"),
        ('ignore = ["OL1O1"]', "`ignore`: unknown rule code or prefix `OL1O1`; did you mean `OL101`?"),
        ('per-file-ignores = {"a" = "OL1"}', "`per-file-ignores` must be a table of lists of strings"),
    ],
)
def test_bad_config_exits_2_naming_file_and_key(project, run, table, message):
    path = project("pyproject.toml", f"[tool.orderlint]\n{table}\n")
    project("train.py", BUGGY)
    result = run("check")
    assert result.exit_code == 2
    assert result.stderr == f"orderlint: error: {path}: [tool.orderlint]: {message}\n"


def test_invalid_toml_exits_2(project, run):
    path = project("pyproject.toml", "[tool.orderlint\nselect = \n")
    result = run("check", "--config", str(path))
    assert result.exit_code == 2 and result.stderr.startswith(f"orderlint: error: {path}: invalid TOML:")
    assert len(result.stderr.splitlines()) == 1


def test_isolated_ignores_config(project, run):
    project("pyproject.toml", '[tool.orderlint]\nignore = ["OL101"]\n')
    project("train.py", BUGGY)
    assert run("check", "--isolated").exit_code == 1
