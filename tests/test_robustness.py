"""Robustness: nothing crashes, nothing is lost, bad input gets a clear answer.

A sweep of CPython's standard library, bad input of every kind (Python 2,
null bytes, empty files, a file of megabytes, code nested deeper than any
recursion limit, odd file-system entries) and a check that linting a project
never runs a line of it. What tests/test_cli.py already covers (a missing
path, invalid TOML, wrong types, unknown codes, undecodable bytes, an
unreadable file, a dangling symlink) is not repeated here.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

import orderlint.engine as engine
from orderlint.rules import ALL_RULES
from orderlint.runner import INTERNAL_ERROR, lint_bytes

EXE = str(Path(sys.executable).parent / "orderlint")
STDLIB = Path(sysconfig.get_paths()["stdlib"])
BUG = "bad = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])\n"  # OL101, wherever it is
HEAD = "import torch\nimport torchvision.transforms as T\n"


def _orderlint(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _findings(output: str) -> list:
    return [line for line in output.splitlines() if ": OL" in line]


# Sweeps ----------------------------------------------------------------------

# Files of CPython's test suite that are broken on purpose (bad encodings, Python 2
# syntax) or that LibCST cannot parse; only these may give OL000.
def _broken_on_purpose(path: str) -> bool:
    parts = Path(path).relative_to(STDLIB).parts
    return parts[0] in ("test", "lib2to3", "idlelib") and ("test" in parts or "tests" in parts or "idle_test" in parts)


def test_stdlib_sweep_has_no_internal_error_and_no_traceback(tmp_path):
    """The whole standard library, every rule, as a user runs it (about 1800 files)."""
    started = time.perf_counter()
    result = _orderlint("check", "--isolated", "--no-cache", "--select", "ALL", "--preview", "--output-format", "json",
                        str(STDLIB), cwd=tmp_path, timeout=600)
    seconds = time.perf_counter() - started
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    records = json.loads(result.stdout)
    assert [r for r in records if r["code"] == INTERNAL_ERROR] == []
    unparsable = sorted({r["filename"] for r in records if r["code"] == "OL000"})
    assert all(_broken_on_purpose(name) for name in unparsable), unparsable
    print(f"\nstdlib sweep: {seconds:.1f} s, {len(records)} diagnostics, OL000 in {len(unparsable)} files:",
          *(Path(name).relative_to(STDLIB) for name in unparsable), sep="\n  ")


# Files that are parsed whole, with every rule family forced on whatever the text says:
# a sample of the standard library and the files known to be hard.
HARD_STDLIB_FILES = [
    "pydoc_data/topics.py",  # implicit string concatenations thousands of strings long
    "test/test_grammar.py",  # syntax LibCST does not accept
    "lib2to3/tests/data/py2_test_grammar.py",  # Python 2
    "test/tokenizedata/badsyntax_3131.py",
    "test/tokenizedata/bad_coding2.py",
    "unicodedata.py", "_pydecimal.py", "typing.py",
]


def test_stdlib_sample_parsed_whole_with_every_family_forced(monkeypatch):
    monkeypatch.setattr("orderlint.rules.base.Family.triggered_by", lambda self, source: True)
    keep_every_statement = engine.relevant_source
    monkeypatch.setattr(engine, "relevant_source", lambda source, triggers: keep_every_statement(source, ("",)))
    parse_module, parsed = engine.cst.parse_module, []
    monkeypatch.setattr(engine.cst, "parse_module", lambda source, *args, **kw: parse_module(parsed.append(source) or source, *args, **kw))
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts)[::60]
    files += [STDLIB / name for name in HARD_STDLIB_FILES if (STDLIB / name).is_file()]
    for path in files:
        data = path.read_bytes()
        diagnostics = lint_bytes(data, str(path), ALL_RULES)  # nothing may escape
        assert [d for d in diagnostics if d.code == INTERNAL_ERROR] == [], path
        if any(d.code == "OL000" for d in diagnostics):
            assert _broken_on_purpose(str(path)), (path, diagnostics)
        lines = data.count(b"\n") + 1
        assert all(1 <= d.row <= lines and d.column >= 1 for d in diagnostics), path
    assert len(parsed) >= len(files) - 5 and sum(map(len, parsed)) > 1_000_000  # really parsed, whole


# RecursionError, wherever it happens -----------------------------------------


def _raise_recursion(*args, **kwargs):
    raise RecursionError("maximum recursion depth exceeded")


def _raise_masked_recursion(*args, **kwargs):
    """As LibCST's code generation does: the RecursionError surfaces as a KeyError."""
    try:
        _raise_recursion()
    except RecursionError:
        raise KeyError("node")


def _patch(monkeypatch, dotted: str, replacement) -> object:
    """Replaces ``module.attribute`` or ``module.Class.attribute``; returns the original."""
    owner_name, _, attribute = dotted.rpartition(".")
    owner = _resolve(owner_name)
    original = getattr(owner, attribute)
    monkeypatch.setattr(owner, attribute, replacement)
    return original


STAGES = {
    "parse": "orderlint.engine.cst.parse_module",
    "index": "orderlint.engine.ModuleIndex",
    "rule": "orderlint.rules.transforms.TensorTransformBeforeToTensor.check",
    "positions": "orderlint.engine.positions_of",
}


@pytest.mark.parametrize("stage", sorted(STAGES))
@pytest.mark.parametrize("error", [_raise_recursion, _raise_masked_recursion], ids=["recursion", "masked"])
def test_recursion_error_in_any_stage_is_a_clear_ol000_never_ol999(monkeypatch, stage, error):
    _patch(monkeypatch, STAGES[stage], error)
    (diagnostic,) = lint_bytes((HEAD + BUG).encode(), "deep.py", ALL_RULES)
    assert (diagnostic.code, diagnostic.message) == ("OL000", "could not analyse: the code is nested too deeply")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_recursion_error_is_retried_on_a_deep_stack_with_the_same_result(monkeypatch, stage):
    import threading

    def only_on_the_main_thread(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            _raise_masked_recursion()
        return original(*args, **kwargs)

    expected = lint_bytes((HEAD + BUG).encode(), "deep.py", ALL_RULES)
    original = _patch(monkeypatch, STAGES[stage], only_on_the_main_thread)
    assert lint_bytes((HEAD + BUG).encode(), "deep.py", ALL_RULES) == expected
    assert [d.code for d in expected] == ["OL101"]


def _resolve(dotted: str):
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


# Deep nesting ----------------------------------------------------------------

# Deeper than CPython accepts: OL000 on the right line, LibCST never sees it (its
# native parser overflows its stack on these: a segmentation fault).
TOO_DEEP = {
    "1000 nested parentheses in a Compose": "p = T.Compose([" + "(" * 1000 + "T.ToTensor()" + ")" * 1000 + "])\n",
    "1000 nested lists in a Compose": "p = T.Compose(" + "[" * 1000 + "T.ToTensor()" + "]" * 1000 + ")\n",
    "300 nested Compose": "p = " + "T.Compose([" * 300 + "T.ToTensor()" + "])" * 300 + "\n",
    "5000 unary minus": "x = " + "-" * 5000 + "1\np = T.Compose([T.ToTensor()])\n",
    "10000 additions": "x = " + "+".join(["1"] * 10000) + "\np = T.Compose([T.ToTensor()])\n",
    "120 levels of indentation": "".join(" " * i + "if a:\n" for i in range(120)) + " " * 120 + "p = T.Compose([])\n",
}

# Valid Python, deeper than the default recursion limit of LibCST's visitors and of
# orderlint's own walks: linted completely (the bug at the end is found).
DEEP_BUT_VALID = {
    "3000-string implicit concatenation": "doc = (" + "\n".join(["    'line'"] * 3000) + ")\n",
    "1200 additions": "x = " + " + ".join(["1"] * 1200) + "\n",
    "600 list concatenations in a Compose": "y = T.Compose(" + " + ".join(["[T.Resize(8)]"] * 600) + ")\n",
    "1200-branch elif chain": "def pick(a):\n    if a == 0:\n        return T.ToTensor()\n" + "".join(
        f"    elif a == {i}:\n        opt.step()\n" for i in range(1, 1200)),
    # Only the positions of the finding need the deep stack (LibCST reports a KeyError there).
    "a finding in a function with a 1200-branch elif chain": "def pick(a):\n    " + BUG + "    if a == 0:\n"
        "        pass\n" + "".join(f"    elif a == {i}:\n        pass\n" for i in range(1, 1200)),
    "1200 chained calls": "x = f" + "()" * 1200 + "\n",
    "1200 attribute accesses": "x = T" + ".a" * 1200 + "\n",
    "1200 subscripts in a Compose": "y = T.Compose([T.ToTensor(), T.Normalize(m" + "[0]" * 1200 + ", s)])\n",
}


@pytest.mark.parametrize("name", sorted(TOO_DEEP))
def test_code_nested_deeper_than_cpython_accepts_is_ol000(project, run, name):
    project("deep.py", HEAD + TOO_DEEP[name])
    result = run("check", "--no-cache", "--output-format", "concise", "--select", "ALL", "--preview")
    assert result.exit_code == 1
    (line, summary) = result.stdout.splitlines()
    row = int(line.split(":")[1])
    assert line.startswith("deep.py:") and " OL000 could not parse: the code is nested too deeply" in line
    assert 1 <= row <= (HEAD + TOO_DEEP[name]).count("\n")
    shown = run("show", "deep.py")
    assert shown.exit_code == 2 and "nested too deeply" in shown.stderr and shown.stderr.count("\n") == 1


@pytest.mark.parametrize("name", sorted(DEEP_BUT_VALID))
def test_valid_code_nested_deeper_than_the_recursion_limit_is_linted(project, run, name):
    source = HEAD + DEEP_BUT_VALID[name] + BUG
    compile(source, "deep.py", "exec")
    project("deep.py", source)
    result = run("check", "--no-cache", "--output-format", "concise", "--select", "ALL", "--preview")
    last = source.count("\n")
    assert f"deep.py:{last}:18: OL101" in result.stdout
    if "a finding in a function" in name:
        assert "deep.py:4:22: OL101" in result.stdout
    assert "OL000" not in result.stdout and INTERNAL_ERROR not in result.stdout
    shown = run("show", "deep.py")
    assert shown.exit_code == 0 and f"deep.py:{last}:7: T.Compose" in shown.stdout


# Bad input -------------------------------------------------------------------


@pytest.mark.parametrize("source, row, message", [
    ('print "x"\n', 3, "Missing parentheses in call to 'print'"),
    ("raise ValueError, 'x'\n", 3, "invalid syntax"),
    ("mode = 0777\n", 3, "leading zeros in decimal integer literals are not permitted"),
    ("x = `1`\n", 3, "invalid syntax"),
    ('exec "x = 1"\n', 3, "Missing parentheses in call to 'exec'"),
])
def test_python2_code_is_ol000_with_cpythons_message(project, run, source, row, message):
    project("legacy.py", HEAD + source + BUG)
    result = run("check", "--no-cache", "--output-format", "concise")
    assert result.exit_code == 1
    (line, _) = result.stdout.splitlines()
    assert line.startswith(f"legacy.py:{row}:") and f"OL000 could not parse: {message}" in line


def test_valid_python_that_libcst_validation_would_refuse_is_linted(project, run):
    source = HEAD + BUG + "\n\n(x): int = 3\nafter = 1\n"  # CPython accepts a parenthesized annotated target
    project("grammar.py", source)
    result = run("check", "--no-cache", "--output-format", "concise")
    assert result.exit_code == 1
    (line,) = _findings(result.stdout)
    assert line.startswith("grammar.py:3:") and "OL101" in line


def test_valid_python_that_libcst_cannot_parse_is_ol000_on_the_right_line(monkeypatch):
    import libcst

    from orderlint import engine
    from orderlint.rules import ALL_RULES

    def refuse(text: str) -> libcst.Module:
        raise libcst.ParserSyntaxError("error at 6:5: expected NEWLINE", lines=text.splitlines(), raw_line=7, raw_column=0)

    monkeypatch.setattr(engine, "parse_unvalidated", refuse)
    (diagnostic,) = engine.lint_source(HEAD + BUG + "\n\nafter = 1\n", "grammar.py", ALL_RULES)
    assert (diagnostic.code, diagnostic.row, diagnostic.column) == ("OL000", 6, 6)
    assert diagnostic.message == "could not parse: valid Python that LibCST cannot parse yet (expected NEWLINE)"


DATASETS = "from torchvision import datasets\n"


@pytest.mark.parametrize("code", [
    # Escapes Python refuses but LibCST parses, wherever orderlint reads a string's value.
    "p = T.Compose([T.Resize(b'\\x')])",
    "p = T.Compose([T.Resize('\\N{nope}')])",
    "d = {'tr\\x': T.Compose([T.ToTensor()])}",
    "ds = datasets.ImageNet(root, split='va\\x', transform=T.Compose([T.ToTensor()]))",
    "ds = datasets.ImageFolder(os.path.join(root, 'va\\x'), T.Compose([T.ToTensor()]))",
    "x = x.type('torch.Half\\x')\nwith torch.autocast('cuda'):\n    loss = model(x)\nloss.backward()",
    # Valid Python: bytes where a split name is looked for.
    "d = {b'val': T.Compose([T.RandomHorizontalFlip(), T.ToTensor()])}",
    "ds = datasets.ImageFolder(os.path.join(root, b'val'), T.Compose([T.RandomHorizontalFlip(), T.ToTensor()]))",
    "ds = datasets.ImageNet(root, split=b'val', transform=T.Compose([T.RandomHorizontalFlip(), T.ToTensor()]))",
    "x = x.type(b'torch.HalfTensor')\nloss.backward()",
])
def test_string_literals_python_refuses_or_bytes_never_crash(code):
    source = HEAD + DATASETS + code + "\n" + BUG
    diagnostics = engine.lint_source(source, "strings.py", ALL_RULES)  # nothing may escape
    assert ("OL101", source.count("\n")) in [(d.code, d.row) for d in diagnostics]


@pytest.mark.parametrize("data, row, column", [
    ((HEAD + BUG).encode().replace(b"bad =", b"bad\0 ="), 3, 4),  # in the code
    ((HEAD + 'x = "a\0b"\n' + BUG).encode(), 3, 7),  # in a string literal: LibCST would accept it
    (b"\0" + (HEAD + BUG).encode(), 1, 1),
    ((HEAD + BUG).encode() + b"\0" * 1000, 4, 1),
])
def test_null_bytes_are_ol000_at_the_first_null(project, run, data, row, column):
    project("nul.py", data)
    result = run("check", "--no-cache", "--output-format", "concise")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"nul.py:{row}:{column}: OL000 could not parse: source code cannot contain null bytes"


@pytest.mark.parametrize("data", [b"", b"\n", b"\xef\xbb\xbf", b"\r\n\r\n", b"   \n\t\n", b"\x0c",
                                  b"# torchvision Compose backward Sequential torch.save\n",
                                  b'"""torchvision Compose ToTensor backward zero_grad"""'])
def test_empty_and_near_empty_files_pass(project, run, data):
    project("empty.py", data)
    result = run("check", "--no-cache", "--output-format", "concise", "--select", "ALL", "--preview")
    assert (result.exit_code, result.stdout) == (0, "All checks passed!\n")


FILLER = ("def helper_{i}(values, scale={i}):\n    \"\"\""
          + "Generated table of calibration constants for the sensor model; do not edit by hand. " * 8 + "\"\"\"\n"
          "    total = sum(v * scale for v in values)\n"
          "    return {{'name': 'helper_{i}', 'total': total, 'table': [{i}, {i} + 1, {i} * 2]}}\n\n")
TRAINING = ("def train_{i}(model, loader, optimizer, criterion):\n    for x, y in loader:\n"
            "        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.zero_grad()\n"
            "        optimizer.step()\n\n")


def _generated(size: int) -> str:
    """``size`` bytes of code: a pipeline bug first and last, a training step every ~85 kB in between."""
    parts, length, number = [HEAD, BUG], len(HEAD) + len(BUG), 0
    while length < size:
        part = (TRAINING if number % 100 == 50 else FILLER).format(i=number)
        parts.append(part)
        length += len(part)
        number += 1
    parts.append(BUG)
    return "".join(parts)


def test_a_file_of_megabytes_is_linted_in_linear_time():
    """5 and 10 MB of generated code with triggers throughout; the time ratio is at most 2.5."""
    timings, results = {}, {}
    for megabytes in (5, 10):
        source = _generated(megabytes * 1024 * 1024)
        gc.collect()
        started = time.perf_counter()
        results[megabytes] = engine.lint_source(source, "big.py", ALL_RULES)
        timings[megabytes] = time.perf_counter() - started
        rows = [(d.code, d.row) for d in results[megabytes] if d.code == "OL101"]
        assert rows == [("OL101", 3), ("OL101", source.count("\n"))]  # the first and the very last line
        steps = source.count("def train_")
        assert steps >= megabytes * 10 and sum(d.code.startswith("OL4") for d in results[megabytes]) >= steps
    print(f"\nlint time: 5 MB {timings[5]:.1f} s, 10 MB {timings[10]:.1f} s, ratio {timings[10] / timings[5]:.2f}")
    assert timings[10] / timings[5] <= 2.5


def test_a_directory_named_like_a_python_file_is_walked_not_read(project, run):
    project("pkg/x.py/inner.py", HEAD + BUG)
    project("pkg/y.py/__init__.py", "")
    for args in ((), ("pkg/x.py", "pkg/y.py")):
        result = run("check", "--no-cache", "--output-format", "concise", *args)
        assert (result.exit_code, result.stderr) == (1, "")
        (finding,) = _findings(result.stdout)
        assert finding.startswith("pkg/x.py/inner.py:3:18: OL101")


def test_symlink_loops_end_and_each_file_is_linted_once(project):
    project("a/train.py", HEAD + BUG)
    project("b/eval.py", HEAD + BUG)
    os.symlink("..", project.root / "a" / "up")  # a directory loop
    os.symlink("../b", project.root / "a" / "to_b")
    os.symlink("../a", project.root / "b" / "to_a")  # a -> b -> a
    os.symlink("self.py", project.root / "self.py")  # a file that links to itself
    result = _orderlint("check", "--no-cache", "--output-format", "concise", cwd=project.root, timeout=60)
    assert result.returncode == 1, result.stderr
    assert [line.split(" OL")[0] for line in _findings(result.stdout)] == ["a/train.py:3:18:", "b/eval.py:3:18:"]
    # Named explicitly: the loop is walked once; the self-link is an error that names it.
    result = _orderlint("check", "--no-cache", "--output-format", "concise", "a/up", "self.py", cwd=project.root, timeout=60)
    assert result.returncode == 2
    assert result.stderr == "orderlint: error: self.py: cannot read: Too many levels of symbolic links\n"
    assert [line.split(" OL")[0] for line in _findings(result.stdout)] == ["a/up/a/train.py:3:18:", "a/up/b/eval.py:3:18:"]


# Safety ----------------------------------------------------------------------


class _Planted:
    """Unpickling it writes the marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_linting_a_project_never_runs_its_code(project, tmp_path_factory):
    marker = tmp_path_factory.mktemp("outside") / "MARKER"
    write = f"open({str(marker)!r}, 'w').write(__name__)\n"
    project("train.py", write + "import evil\nfrom evilpkg import thing\nimport torchvision.transforms as T\n"
            "torch.load('checkpoint.pt')\npickle.load(open('data.pkl', 'rb'))\n" + BUG)
    for name in ("evil.py", "evilpkg/__init__.py", "evilpkg/thing.py", "__init__.py", "__main__.py", "conftest.py",
                 "setup.py", "sitecustomize.py", "usercustomize.py", "orderlint.py", "click.py", "libcst.py", "torch.py",
                 "typing.py", "pathlib.py"):
        project(name, write + "import torchvision.transforms as T\n" + BUG)
    project("evil.pth", f"import os; {write}")
    project("pyproject.toml", "[tool.orderlint]\nselect = ['ALL']\npreview = true\n")
    project("notebook.ipynb", json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                                    "execution_count": None, "source": [write, BUG]}],
                                          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (project.root / "checkpoint.pt").write_bytes(pickle.dumps(_Planted(str(marker))))
    (project.root / "data.pkl").write_bytes(pickle.dumps(_Planted(str(marker))))
    (project.root / "weights.py").write_bytes(pickle.dumps(_Planted(str(marker))))  # a pickle named .py

    for args in (("check", "--no-cache"), ("check", "--no-cache", "--jobs", "2", "--unsafe-fixes", "--diff"),
                 ("check", "--no-cache", "--output-format", "json", "train.py", "notebook.ipynb"), ("show", "train.py")):
        result = _orderlint(*args, cwd=project.root)
        assert result.returncode in (0, 1, 2) and "Traceback" not in result.stderr, (args, result.stderr)
        assert not marker.exists(), f"`orderlint {' '.join(args)}` ran code of the project it checks"
    result = _orderlint("check", "--no-cache", "--output-format", "concise", cwd=project.root)
    assert "train.py:7:18: OL101" in result.stdout  # the files were really linted
    assert "evilpkg/__init__.py:3:18: OL101" in result.stdout
    assert "weights.py:1:" in result.stdout and "OL000" in result.stdout
