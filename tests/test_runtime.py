"""Promises about orderlint itself, not its rules."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_linting_never_imports_torch():
    script = (
        "import sys\n"
        "from orderlint.cli import main\n"
        "sys.argv = ['orderlint', 'check', '--exit-zero', 'examples']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'numpy'))\n"
        "print('LEAKED', leaked)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "LEAKED []" in result.stdout
    assert "OL1" in result.stdout  # it did lint something


def test_console_script_reports_errors_in_one_line_without_traceback(tmp_path):
    exe = Path(sys.executable).parent / "orderlint"
    result = subprocess.run([str(exe), "check", str(tmp_path / "missing.py")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_example_project_has_findings():
    exe = Path(sys.executable).parent / "orderlint"
    result = subprocess.run([str(exe), "check", "--output-format", "concise", "examples"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    codes = {line.split()[1] for line in result.stdout.splitlines() if ": OL" in line}
    assert {"OL103", "OL105", "OL108", "OL109", "OL110", "OL113"} <= codes
