"""Jupyter notebooks: code cells linted as one source, IPython syntax masked,
diagnostics mapped back to cells, and a lossless way back to the JSON."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderlint.notebooks import (
    NotebookError,
    lint_notebook,
    read_notebook,
    split_cells,
    write_back,
)
from orderlint.rules import ALL_RULES
from samples import BUGGY, CLEAN


def code(source, **extra):
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **extra}


def markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def lines(text):
    """nbformat's list form of a cell's source."""
    return text.splitlines(keepends=True)


def notebook(*cells, language="python"):
    document = {"cells": list(cells), "metadata": {"kernelspec": {"display_name": "Python 3", "language": language,
                                                                  "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"  # as Jupyter writes it


TRAIN = notebook(
    markdown(["# Training\n", "Normalize first?\n"]),
    code(["%matplotlib inline\n", "import torchvision.transforms as T\n", "!pip install -q timm"]),
    code(["%%bash\n", "echo skipped\n"]),
    code(["T.Compose?\n", "pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])\n"]),
)


# the concatenated source -----------------------------------------------------


def test_code_cells_are_concatenated_with_ipython_syntax_masked():
    nb = read_notebook(TRAIN)
    assert [cell.number for cell in nb.cells] == [2, 4]  # markdown and %%bash cells are left out
    python = [line for line in nb.source.splitlines() if not line.startswith("# orderlint-cell")]
    assert python == [
        "pass  # orderlint-magic 0",
        "import torchvision.transforms as T",
        "pass  # orderlint-magic 1",
        "pass  # orderlint-magic 0",
        "pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])",
    ]
    compile(nb.source, "nb", "exec")


@pytest.mark.parametrize("line", [
    "%time x = 1", "%%capture", "!ls -l", "files = !ls", "t = %timeit -o f()", "a, b = %who_ls",
    "obj?", "obj.method??", "?obj", "??obj", "len()?",
])
def test_ipython_lines_are_masked_keeping_indentation(line):
    text = f"if True:\n    {line}\n"
    nb = read_notebook(notebook(code(text)))
    assert nb.source.splitlines()[2] == "    pass  # orderlint-magic 0"
    compile(nb.source, "nb", "exec")


def test_a_continued_shell_line_is_masked_at_the_indentation_it_starts_at():
    text = "!pip install torch \\\n    torchvision \\\n        timm\nif True:\n    !ls \\\n  -l\n"
    nb = read_notebook(notebook(code(text)))
    assert nb.source.splitlines()[1:7] == [
        "pass  # orderlint-magic 0", "pass  # orderlint-magic 1", "pass  # orderlint-magic 2",
        "if True:", "    pass  # orderlint-magic 3", "    pass  # orderlint-magic 4",
    ]
    compile(nb.source, "nb", "exec")


@pytest.mark.parametrize("text", [
    "y = (3\n     % 2)\n",  # the modulo operator continuing an expression
    "y = 3 \\\n    % 2\n",
    's = """\n%d items\n!important\n"""\n',
    "x = a if b else c  # what?\n",
    "print('why?')\n",
    "x != y\n",
])
def test_python_that_looks_like_ipython_is_kept(text):
    nb = read_notebook(notebook(code(text)))
    assert nb.source.split("\n", 1)[1] == text


def test_a_cell_magic_skips_the_whole_cell_even_after_blank_lines():
    nb = read_notebook(notebook(code("\n%%timeit\nimport torchvision.transforms as T\n"), code("x = 1\n")))
    assert [cell.number for cell in nb.cells] == [2]


def test_row_map_points_every_line_to_its_cell():
    nb = read_notebook(notebook(code("a = 1\nb = 2\n"), markdown("m"), code(""), code("c = 3\n\nd = 4")))
    rows = nb.source.splitlines()
    for row, text in enumerate(rows, start=1):
        if text.startswith("# orderlint-cell"):
            continue
        cell, in_cell = nb.locate(row)
        assert nb.cells[[c.number for c in nb.cells].index(cell)].masked[in_cell - 1] == text
    assert nb.locate(len(rows) + 5) == (4, 3)  # past the end (a parse error at EOF): the last line


# linting --------------------------------------------------------------------


def test_diagnostics_are_mapped_to_cell_row_and_column():
    (d,) = lint_notebook(TRAIN, "train.ipynb", ALL_RULES)
    assert (d.code, d.cell, d.row, d.column, d.end_row, d.end_column) == ("OL101", 4, 2, 23, 2, 48)


def test_noqa_in_a_cell_suppresses():
    text = notebook(code(BUGGY.replace("T.ToTensor()])", "T.ToTensor()])  # noqa: OL101")))
    assert lint_notebook(text, "nb.ipynb", ALL_RULES) == []


def test_a_syntax_error_is_reported_in_its_cell():
    text = notebook(code(lines(CLEAN)), markdown("x"), code(["y = 1\n", "def f(:\n", "    pass\n"]))
    (d,) = lint_notebook(text, "nb.ipynb", ALL_RULES)
    assert (d.code, d.cell, d.row) == ("OL000", 3, 2)


@pytest.mark.parametrize("text, message", [
    ("{not json", "invalid notebook: not valid JSON"),
    ("[1, 2]", "invalid notebook: the JSON has no `cells` list"),
    ('{"worksheets": [], "nbformat": 3}', "nbformat 3 is not supported"),
    ('{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1: `source` must be a string or a list of strings"),
    ('{"cells": [7]}', "cell 1 is not an object"),
])
def test_an_invalid_notebook_is_ol000(text, message):
    (d,) = lint_notebook(text, "bad.ipynb", ALL_RULES)
    assert d.code == "OL000" and message in d.message and d.cell is None


def test_a_notebook_in_another_language_is_not_linted():
    assert lint_notebook(notebook(code(lines(BUGGY)), language="R"), "r.ipynb", ALL_RULES) == []


# the command line ------------------------------------------------------------


def test_notebooks_are_discovered_and_reported_with_their_cell(project, run):
    project("train.ipynb", TRAIN)
    project(".ipynb_checkpoints/train-checkpoint.ipynb", TRAIN)
    project("train.py", BUGGY)
    result = run("check", "--output-format", "concise")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "train.ipynb:cell 4:2:23: OL101 `T.Normalize` runs before `T.ToTensor`: on the PIL image it raises "
        "`TypeError: img should be Tensor Image`; move it after the conversion",
        "train.py:3:23: OL101 `T.Normalize` runs before `T.ToTensor`: on the PIL image it raises "
        "`TypeError: img should be Tensor Image`; move it after the conversion",
        "Found 2 problems.",
        "(2 hidden fixes can be enabled with the `--unsafe-fixes` option.)",
    ]
    # the cache keeps the cell
    assert run("check", "--output-format", "concise").stdout == result.stdout


def test_json_output_has_the_cell(project, run):
    project("train.ipynb", TRAIN)
    project("train.py", BUGGY)
    notebook_record, python_record = json.loads(run("check", "--output-format", "json").stdout)
    assert notebook_record["cell"] == 4
    assert notebook_record["location"] == {"row": 2, "column": 23}
    assert notebook_record["filename"].endswith("train.ipynb")
    assert python_record.get("cell") is None


def test_an_invalid_notebook_does_not_stop_the_run(project, run):
    project("bad.ipynb", "{not json")
    project("train.ipynb", TRAIN)
    result = run("check", "--output-format", "concise")
    assert result.exit_code == 1
    first, second, *_ = result.stdout.splitlines()
    assert first.startswith("bad.ipynb:1:2: OL000 invalid notebook: not valid JSON")
    assert second.startswith("train.ipynb:cell 4:2:23: OL101")


def test_a_notebook_on_standard_input(project, run):
    result = run("check", "-", "--stdin-filename", "nb.ipynb", "--output-format", "concise", input=TRAIN)
    assert result.stdout.startswith("nb.ipynb:cell 4:2:23: OL101")


def test_a_notebook_that_is_not_utf8_is_ol000(project, run):
    project("latin.ipynb", TRAIN.replace("Training", "Entra\u00eenement").encode("latin-1"))
    result = run("check", "--output-format", "concise")
    assert "latin.ipynb:1:1: OL000 invalid notebook: not UTF-8" in result.stdout


# writing back ---------------------------------------------------------------


def test_round_trip_is_lossless_when_nothing_changes():
    for text in (TRAIN, TRAIN.replace("\n", "\r\n"), json.dumps(json.loads(TRAIN)), json.dumps(json.loads(TRAIN), indent=4)):
        nb = read_notebook(text)
        assert write_back(nb, nb.source) == text


def test_a_fixed_cell_is_written_back_and_nothing_else_changes():
    nb = read_notebook(TRAIN)
    fixed = nb.source.replace("T.Normalize([0.5], [0.5]), T.ToTensor()", "T.ToTensor(), T.Normalize([0.5], [0.5])")
    out = write_back(nb, fixed)
    before, after = json.loads(TRAIN), json.loads(out)
    assert after["cells"][3]["source"] == ["T.Compose?\n",  # the help line is restored
                                           "pipeline = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])])\n"]
    after["cells"][3]["source"] = before["cells"][3]["source"]
    assert after == before
    # byte for byte outside the changed value, and in the layout Jupyter writes
    assert out == notebook(*before["cells"][:3], code(
        ["T.Compose?\n", "pipeline = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])])\n"]))


def test_a_fix_that_adds_lines_stays_in_its_cell():
    text = notebook(code("%load_ext autoreload\nimport torch"), code("x = 1\n"), code("y = 2"))
    nb = read_notebook(text)
    fixed = "import os\n" + nb.source.replace("x = 1\n", "x = 1\nx += 1\n")
    assert split_cells(nb, fixed) == ["import os\n%load_ext autoreload\nimport torch", "x = 1\nx += 1\n", "y = 2"]
    after = json.loads(write_back(nb, fixed))
    assert [cell["source"] for cell in after["cells"]] == [
        "import os\n%load_ext autoreload\nimport torch", "x = 1\nx += 1\n", "y = 2"]


def test_string_sources_and_empty_lists_keep_their_form():
    text = json.dumps({"cells": [code("x = 1\n"), code([])], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1)
    nb = read_notebook(text)
    out = write_back(nb, nb.source.replace("x = 1", "x = 2") + "y = 3\n")
    # the last line of a cell has no line break, as Jupyter stores it
    assert [cell["source"] for cell in json.loads(out)["cells"]] == ["x = 2\n", ["y = 3"]]
    assert out.replace('"x = 2\\n"', '"x = 1\\n"').replace('[\n    "y = 3"\n   ]', "[]") == text


def test_a_compact_notebook_stays_compact():
    text = json.dumps({"cells": [code([]), code(["x = 1\n", "y = 2"])], "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5})
    nb = read_notebook(text)
    out = write_back(nb, nb.source.replace("# orderlint-cell 1\n", "# orderlint-cell 1\nimport os\n")
                     .replace("y = 2", "y = 3"))
    assert "\n" not in out.replace("\\n", "")
    assert out == text.replace('"source": []', '"source": ["import os"]').replace('"y = 2"', '"y = 3"')


_line = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["%time f()", "!ls", "obj?", "  %%bash", "x = (1", "    % 2)", '"""', "if x:", "\\", "\t# c"]),
)
_cell = st.lists(_line, max_size=5).map("\n".join) | st.lists(_line, max_size=4).map(lambda ls: "".join(l + "\n" for l in ls))


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.tuples(_cell, st.booleans(), st.sampled_from(["code", "markdown", "raw"])), max_size=6),
       indent=st.sampled_from([None, 1, 2]), ascii_only=st.booleans())
def test_round_trip_is_lossless_for_any_notebook(cells, indent, ascii_only):
    document = {"cells": [{"cell_type": kind, "metadata": {}, "source": lines(text) if as_list else text}
                          for text, as_list, kind in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    nb = read_notebook(text)
    assert write_back(nb, nb.source) == text
    assert split_cells(nb, nb.source) == [cell.text for cell in nb.cells]
    # every row of the linted source, as Python counts rows, maps to its cell's line
    rows = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)", nb.source)
    for cell in nb.cells:
        for offset, line in enumerate(cell.masked):
            assert rows[cell.start - 1 + offset].rstrip("\r\n") == line
            assert nb.locate(cell.start + offset) == (cell.number, offset + 1)
    # every code cell rewritten: only their sources change, in the same form (list or string)
    edited = "".join(line + "z = 0\n" if line.startswith("# orderlint-cell ") else line
                     for line in nb.source.splitlines(keepends=True))
    after = json.loads(write_back(nb, "".join(edited)))
    numbers = {cell.number: cell for cell in nb.cells}
    for number, (cell, original) in enumerate(zip(after["cells"], document["cells"]), start=1):
        if number in numbers:
            assert type(cell["source"]) is type(original["source"])
            text = numbers[number].text
            assert "".join(cell["source"]) == ("z = 0\n" + text if text else "z = 0")  # no break after a last line
            cell["source"] = original["source"]
    assert after == document


def test_notebook_error_is_a_source_error():
    with pytest.raises(NotebookError):
        read_notebook("{")
