"""The flake8 plugin under the real flake8: the same diagnostics as
``orderlint check --output-format concise``, at the same line and column."""

import shutil
import subprocess
import sys
from pathlib import Path

from samples import BUGGY, CLEAN

ROOT = Path(__file__).resolve().parents[1]

SEVERAL = """\
import torchvision.transforms as T
from torchvision.transforms import v2

if True:
\tweird = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5]), T.ColorJitter(0.4)])  # a tab before it
caf\u00e9 = "\u00e9\u00e9"; p = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])  # non-ASCII before it
suppressed = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])  # noqa: OL101
second = T.Compose([
    T.Resize(256),
    T.Normalize([0.5], [0.5]),
    T.ToTensor(),
])
"""


def flake8(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "OL", *args],
                            cwd=cwd, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr
    assert "failed during execution" not in result.stderr, result.stderr
    return result.stdout


def orderlint(*args, cwd):
    exe = shutil.which("orderlint", path=str(Path(sys.executable).parent)) or "orderlint"
    result = subprocess.run([exe, "check", "--no-cache", "--output-format", "concise", *args],
                            cwd=cwd, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def findings(text):
    """(path, line, column, code, message) for each line of ``path:line:col: CODE message`` output."""
    rows = []
    for line in text.splitlines():
        if line.startswith(("Found ", "All checks passed", "[*] ", "(")):
            continue
        path, row, column, rest = line.split(":", 3)
        code, _, message = rest.strip().partition(" ")
        rows.append((path, int(row), int(column), code, message.removeprefix("[*] ")))  # flake8 has no fix mark
    return sorted(rows)


def test_flake8_registers_the_plugin():
    result = subprocess.run([sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, check=True)
    assert "orderlint" in result.stdout


def test_flake8_reports_what_orderlint_reports(tmp_path):
    (tmp_path / "train.py").write_text(SEVERAL, encoding="utf-8")
    expected = findings(orderlint("train.py", cwd=tmp_path))
    assert [row[1:4] for row in expected] == [(5, 62, "OL103"), (6, 29, "OL101"), (10, 5, "OL101")]
    assert findings(flake8("train.py", cwd=tmp_path)) == expected


def test_flake8_columns_are_orderlints_exactly(tmp_path):
    (tmp_path / "train.py").write_text(BUGGY, encoding="utf-8")
    out = flake8("train.py", cwd=tmp_path)
    assert out.startswith("train.py:3:23: OL101 `T.Normalize` runs before `T.ToTensor`")  # not 3:24, not 3:22


def test_flake8_on_the_example_project_matches():
    expected = findings(orderlint("examples", cwd=ROOT))
    assert expected
    assert findings(flake8("examples", cwd=ROOT)) == expected


def test_flake8_clean_file_and_configuration(tmp_path):
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "train.py").write_text(BUGGY, encoding="utf-8")
    assert findings(flake8("clean.py", cwd=tmp_path)) == []
    (tmp_path / "pyproject.toml").write_text('[tool.orderlint]\nignore = ["OL101"]\n', encoding="utf-8")
    assert findings(flake8("train.py", cwd=tmp_path)) == findings(orderlint("train.py", cwd=tmp_path)) == []


def test_flake8_reads_stdin(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "OL", "-"],
                            cwd=tmp_path, input=BUGGY, capture_output=True, text=True)
    assert result.stdout.startswith("stdin:3:23: OL101 ")


def test_flake8_shows_a_configuration_error_as_a_finding(tmp_path):
    (tmp_path / "train.py").write_text(BUGGY, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.orderlint]\nselct = ["OL1"]\n', encoding="utf-8")
    out = flake8("train.py", cwd=tmp_path)
    assert out == (f"train.py:1:1: OL000 orderlint configuration error, file not checked: {tmp_path / 'pyproject.toml'}: "
                   "[tool.orderlint]: unknown key `selct` (did you mean `select`?)\n")
