from pathlib import Path

import pytest
from click.testing import CliRunner

from orderlint.cli import cli
from samples import CLEAN

@pytest.fixture
def project(tmp_path, monkeypatch):
    """A temporary working directory; returns a helper that writes files into it."""
    monkeypatch.chdir(tmp_path)

    def write(relative: str, text: str = CLEAN, mode: str = "w") -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    write.root = tmp_path
    return write


@pytest.fixture
def run():
    """Runs the CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str, input: str = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke
