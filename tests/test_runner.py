"""Worker processes, the results cache, shards and internal errors."""

import json

import pytest

from samples import BUGGY, CLEAN


def _tree(project, count=40):
    for number in range(count):
        project(f"pkg/m{number:02}.py", BUGGY if number % 3 == 0 else CLEAN)
    project("pkg/broken.py", "import torchvision\nT.Compose([\n")


def test_output_is_identical_for_any_number_of_jobs(project, run):
    _tree(project)
    outputs = {jobs: run("check", "--no-cache", "--output-format", "json", "--jobs", str(jobs)).stdout for jobs in (1, 2, 3)}
    assert outputs[1] == outputs[2] == outputs[3]
    assert len(json.loads(outputs[1])) == 15  # 14 buggy files and one OL000


def test_output_is_identical_across_runs(project, run):
    _tree(project)
    assert run("check", "--no-cache").stdout == run("check", "--no-cache").stdout


def test_cache_is_written_tagged_and_reused(project, run, monkeypatch):
    _tree(project, 5)
    first = run("check")
    assert (project.root / ".orderlint_cache" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")

    import orderlint.runner

    def refuse(*args):
        raise AssertionError("a cached file was linted again")

    monkeypatch.setattr(orderlint.runner, "lint_bytes", refuse)
    assert run("check").stdout == first.stdout


def test_cache_notices_a_changed_file_and_changed_settings(project, run):
    path = project("train.py", CLEAN)
    assert run("check").exit_code == 0
    path.write_text(BUGGY)
    assert run("check").exit_code == 1
    assert run("check", "--ignore", "OL101").exit_code == 0
    assert run("check").exit_code == 1


def test_no_cache_writes_nothing_and_clean_removes_it(project, run):
    project("train.py", BUGGY)
    run("check", "--no-cache")
    assert not (project.root / ".orderlint_cache").exists()
    run("check")
    assert (project.root / ".orderlint_cache").exists()
    assert run("clean").exit_code == 0
    assert not (project.root / ".orderlint_cache").exists()


def test_shards_partition_the_files(project, run):
    _tree(project, 12)

    def findings(*args):
        return {line for line in run("check", "--no-cache", "--output-format", "concise", *args).stdout.splitlines()
                if ": OL" in line}

    whole = findings()
    parts = [findings("--shard", f"{i}/3")
             for i in (1, 2, 3)]
    assert set().union(*parts) == whole
    assert sum(len(p) for p in parts) == len(whole)


@pytest.mark.parametrize("spec", ["0/2", "3/2", "a/b", "1"])
def test_bad_shard_exits_2(project, run, spec):
    project("train.py", BUGGY)
    result = run("check", "--shard", spec)
    assert result.exit_code == 2 and "--shard takes i/n" in result.stderr


def test_a_crashing_rule_gives_ol999_keeps_other_results_and_exits_2(project, run, monkeypatch):
    from orderlint.rules import transforms

    project("a.py", BUGGY)
    project("b.py", BUGGY.replace("import torchvision.transforms as T", "import torchvision.transforms as T  # boom"))
    original = transforms.TensorTransformBeforeToTensor.check

    def flaky(self, walk, pipeline, ctx):
        if "boom" in ctx.module.code:
            raise RuntimeError("simulated bug")
        return original(self, walk, pipeline, ctx)

    monkeypatch.setattr(transforms.TensorTransformBeforeToTensor, "check", flaky)
    result = run("check", "--no-cache", "--jobs", "1")
    assert result.exit_code == 2
    assert "a.py:3:23: OL101" in result.stdout
    assert "b.py:1:1: OL999 internal error while checking this file (RuntimeError: simulated bug)" in result.stdout


def test_cache_is_not_reused_when_orderlint_itself_changes(project, run, monkeypatch):
    import orderlint.cache

    project("train.py", BUGGY)
    run("check")
    monkeypatch.setattr(orderlint.cache, "_code_fingerprint", lambda: "an edited rule")
    import orderlint.runner

    linted = []
    original = orderlint.runner.lint_bytes
    monkeypatch.setattr(orderlint.runner, "lint_bytes", lambda *a, **k: linted.append(a[1]) or original(*a, **k))
    run("check", "--jobs", "1")
    assert linted == ["train.py"]
