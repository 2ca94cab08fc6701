"""The pre-commit hooks under the real pre-commit, in a temporary git repository.

The repository's .pre-commit-config.yaml mirrors our .pre-commit-hooks.yaml
as ``repo: local`` hooks (``language: system``, the entry run with this
virtual environment's ``orderlint``), so nothing is installed from the network.
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # a dependency of pre-commit

from samples import BUGGY, CLEAN

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
ORDERLINT = shutil.which("orderlint", path=str(Path(sys.executable).parent))


def has_fix() -> bool:
    result = subprocess.run([ORDERLINT, "check", "--help"], capture_output=True, text=True)
    return "--fix" in result.stdout


def local_config(hook_ids) -> str:
    """Our manifest's hooks as ``repo: local`` hooks running the installed orderlint."""
    hooks = []
    for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8")):
        if hook["id"] not in hook_ids:
            continue
        program, _, arguments = hook["entry"].partition(" ")
        assert program == "orderlint"
        local = {key: value for key, value in hook.items() if key not in ("language", "entry")}
        local.update(language="system", entry=f"{shlex.quote(ORDERLINT)} {arguments}".strip())
        hooks.append(local)
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


class Repo:
    def __init__(self, path: Path, env: dict):
        self.path, self.env = path, env

    def run(self, *args, check=True):
        result = subprocess.run(list(args), cwd=self.path, env=self.env, capture_output=True, text=True)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def git(self, *args, check=True):
        return self.run("git", *args, check=check)

    def pre_commit(self, *args, check=True):
        return self.run(sys.executable, "-m", "pre_commit", *args, check=check)

    def write(self, name: str, text: str) -> None:
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        (self.path / name).write_text(text, encoding="utf-8")

    def commit(self, *names: str):
        """Stages ``names`` and commits them through the installed hook; returns the ``git commit`` result."""
        self.git("add", "--", *names)
        result = self.git("commit", "-m", "change", check=False)
        result.output = result.stdout + result.stderr
        return result

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").stdout)


def make_repo(tmp_path: Path, hook_ids) -> Repo:
    if ORDERLINT is None:
        pytest.fail("no orderlint executable beside this Python")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",  # no user or system git configuration
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
    )
    repo = Repo(tmp_path / "repo", env)
    repo.path.mkdir()
    repo.git("init", "-q")
    repo.write(".pre-commit-config.yaml", local_config(hook_ids))
    repo.pre_commit("validate-config", ".pre-commit-config.yaml")
    repo.git("add", ".pre-commit-config.yaml")
    repo.git("commit", "-q", "-m", "init")
    repo.pre_commit("install")
    return repo


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path, {"orderlint"})


def test_manifest_is_valid_for_pre_commit():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}
    assert hooks["orderlint"]["entry"] == "orderlint check"
    assert hooks["orderlint-fix"]["entry"] == "orderlint check --fix"
    assert all(hook["language"] == "python" and hook["types_or"] == ["python", "jupyter"] for hook in hooks.values())


def test_staged_buggy_file_fails_the_commit_with_the_diagnostic(repo):
    repo.write("train.py", BUGGY)
    result = repo.commit("train.py")
    assert result.returncode != 0, result.output
    assert "orderlint" in result.output and "Failed" in result.output
    assert "train.py:3:23: OL101 `T.Normalize` runs before `T.ToTensor`" in result.output
    assert repo.commits() == 1


def test_staged_clean_file_passes(repo):
    repo.write("pkg/train.py", CLEAN)
    result = repo.commit("pkg/train.py")
    assert result.returncode == 0, result.output
    assert "Passed" in result.output
    assert repo.commits() == 2


def test_only_staged_files_are_checked(repo):
    repo.write("old.py", BUGGY)  # never staged
    repo.write("new.py", CLEAN)
    result = repo.commit("new.py")
    assert result.returncode == 0, result.output


def test_commit_without_python_files_skips_the_hook(repo):
    repo.write("README.md", "# notes\n")
    repo.write("data.json", "{}\n")
    result = repo.commit("README.md", "data.json")
    assert result.returncode == 0, result.output
    assert "(no files to check)" in result.output and "Skipped" in result.output
    assert repo.commits() == 2


def test_fix_hook_reports_what_it_cannot_fix(tmp_path):
    if not has_fix():
        pytest.skip("`orderlint check --fix` does not exist yet")
    repo = make_repo(tmp_path, {"orderlint-fix"})
    repo.write("train.py", BUGGY)  # OL101's fix is unsafe: --fix alone leaves it and reports it
    result = repo.commit("train.py")
    assert result.returncode != 0, result.output
    assert "train.py:3:23: OL101" in result.output
