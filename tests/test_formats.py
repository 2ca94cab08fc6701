"""Every --output-format, on diagnostics that stress them: OL000, paths with
spaces, commas and colons, messages with newlines, percent signs and XML
metacharacters; and --output-file."""

import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orderlint.diagnostics import Diagnostic
from orderlint.report import FORMATS, Context, Sources
from orderlint.rules import ALL_RULES
from samples import BUGGY, CLEAN

ROOT = Path(__file__).resolve().parents[1]
ODD_NAME = "dir with space/a, b: c.py"
ODD_SOURCE = """\
import torchvision.transforms as T

pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])
"""
MESSAGE = "first line: 100% wrong, <really> & \"quoted\"\nsecond line\r\nthird"


def diagnostics(root: Path):
    """What the formats are fed: sorted by path, as the runner sorts them."""
    odd = str(root / ODD_NAME) if root else ODD_NAME
    return [
        Diagnostic("broken.py", 2, 7, "OL000", "could not parse: invalid syntax", name="syntax-error", end_row=2, end_column=7),
        Diagnostic(odd, 3, 23, "OL101", "`T.Normalize` runs before `T.ToTensor`", name="tensor-transform-before-to-tensor",
                   end_row=3, end_column=48, url=ALL_RULES[0].url),
        Diagnostic(odd, 3, 50, "OL103", MESSAGE, name="augment-after-normalize", end_row=3, end_column=62),
    ]


@pytest.fixture
def tree(project):
    project(ODD_NAME, ODD_SOURCE)
    project("broken.py", "import torchvision.transforms as T\ndef f(:\n")
    project("clean.py", CLEAN)
    return project


def render(name, diags, context=None):
    out = io.StringIO()
    FORMATS[name](diags, out, context)
    return out.getvalue()


# every format --------------------------------------------------------------------------------


def test_the_registry_has_every_format():
    assert list(FORMATS) == ["full", "concise", "json", "json-lines", "sarif", "github", "gitlab", "junit"]


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_renders_nothing_and_something(tree, name):
    assert render(name, []) is not None
    text = render(name, diagnostics(None), Context(files=["broken.py", ODD_NAME, "clean.py"]))
    for code in ("OL000", "OL101", "OL103"):
        assert code in text


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_through_the_cli(project, run, name):
    project("train.py", BUGGY)
    result = run("check", "--no-cache", "--output-format", name)
    assert result.exit_code == 1 and "OL101" in result.stdout and result.stderr == ""


def test_default_format_is_full(project, run):
    project("train.py", BUGGY)
    assert run("check", "--no-cache").stdout == run("check", "--no-cache", "--output-format", "full").stdout


# concise, full --------------------------------------------------------------------------------


def test_concise_is_unchanged(tree):
    assert render("concise", diagnostics(None)) == (
        "broken.py:2:7: OL000 could not parse: invalid syntax\n"
        f"{ODD_NAME}:3:23: OL101 `T.Normalize` runs before `T.ToTensor`\n"
        f"{ODD_NAME}:3:50: OL103 {MESSAGE}\n"
        "Found 3 problems.\n"
    )
    assert render("concise", []) == "All checks passed!\n"


def test_full_underlines_the_span_under_the_source_line(project, run):
    project("train.py", BUGGY)
    result = run("check", "--no-cache")
    assert result.stdout == (
        "train.py:3:23: OL101 `T.Normalize` runs before `T.ToTensor`: on the PIL image it raises "
        "`TypeError: img should be Tensor Image`; move it after the conversion\n"
        "  |\n"
        "3 | pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])\n"
        "  |                       ^^^^^^^^^^^^^^^^^^^^^^^^^ OL101\n"
        "  |\n"
        "\n"
        "Found 1 problem.\n"
        "(1 hidden fix can be enabled with the `--unsafe-fixes` option.)\n"
    )


def test_full_zero_width_ol000_and_a_file_that_cannot_be_read(tree):
    diags = [diagnostics(None)[0], Diagnostic("gone.py", 4, 1, "OL101", "the file was deleted since")]
    assert render("full", diags, Context()) == (
        "broken.py:2:7: OL000 could not parse: invalid syntax\n"
        "  |\n"
        "2 | def f(:\n"
        "  |       ^ OL000\n"
        "  |\n"
        "\n"
        "gone.py:4:1: OL101 the file was deleted since\n"
        "\n"
        "Found 2 problems.\n"
    )


FULL_SOURCE = (
    "import x\n\tfoo = T.Compose([\n    T.Normalize(m, s),\n    T.ToTensor(),\n])\n\u5168\u89d2 = T.Normalize(1)\nbad(\n"
    + "".join(f"a{i}\n" for i in range(10)) + "end)\n"
)


def test_full_multiline_spans_tabs_wide_characters_and_elision():
    diags = [
        Diagnostic("f.py", 2, 8, "OL101", "multi", end_row=5, end_column=2),
        Diagnostic("f.py", 2, 14, "OL102", "past the end of the line", end_row=2, end_column=23),
        Diagnostic("f.py", 6, 6, "OL103", "wide", end_row=6, end_column=20),
        Diagnostic("f.py", 7, 1, "OL104", "long", end_row=18, end_column=5),
    ]
    assert render("full", diags, Context(Sources({"f.py": FULL_SOURCE}))) == (
        "f.py:2:8: OL101 multi\n"
        "  |\n"
        "2 |       foo = T.Compose([\n"
        "  |  ___________^\n"
        "3 | |     T.Normalize(m, s),\n"
        "4 | |     T.ToTensor(),\n"
        "5 | | ])\n"
        "  | |_^ OL101\n"
        "  |\n"
        "\n"
        "f.py:2:14: OL102 past the end of the line\n"
        "  |\n"
        "2 |     foo = T.Compose([\n"  # the tab drawn as four spaces, the carets shifted to match
        "  |                 ^^^^^ OL102\n"
        "  |\n"
        "\n"
        "f.py:6:6: OL103 wide\n"
        "  |\n"
        "6 | \u5168\u89d2 = T.Normalize(1)\n"  # two double-width characters before the span
        "  |        ^^^^^^^^^^^^^^ OL103\n"
        "  |\n"
        "\n"
        "f.py:7:1: OL104 long\n"
        "   |\n"
        " 7 |   bad(\n"
        "   |  _^\n"
        " 8 | | a0\n"
        "   | | ...\n"
        "17 | | a9\n"
        "18 | | end)\n"
        "   | |____^ OL104\n"
        "   |\n"
        "\n"
        "Found 4 problems.\n"
    )


def test_full_shows_the_text_read_from_stdin(project, run):
    project("pipeline.py", CLEAN)  # on disk: not what was linted
    out = run("check", "-", "--stdin-filename", "pipeline.py", input=BUGGY).stdout
    assert "3 | pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])\n" in out


def test_full_crlf_and_undecodable_files(project, run):
    project("crlf.py", BUGGY.replace("\n", "\r\n").encode())
    project("bad.py", b"import torchvision.transforms as T\nx = '\xff\xfe'\n")
    out = run("check", "--no-cache").stdout
    assert "3 | pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])\n" in out
    assert "2 | x = '\ufffd\ufffd'\n  |      ^ OL000\n" in out


# json, json-lines ---------------------------------------------------------------------------


def test_json_lines_has_the_records_of_json(tree):
    diags = diagnostics(None)
    records = json.loads(render("json", diags))
    lines = render("json-lines", diags).splitlines()
    assert len(lines) == 3 and [json.loads(line) for line in lines] == records
    assert records[2]["message"] == MESSAGE and records[0]["code"] == "OL000"
    assert records[1]["filename"] == os.path.abspath(ODD_NAME)
    assert render("json-lines", []) == ""


# sarif --------------------------------------------------------------------------------------


def sarif_schema():
    candidates = [Path(__file__).parents[2] / "shared/schemas/sarif-schema-2.1.0.json",
                  ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"]
    for candidate in candidates:
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    if os.environ.get("CI"):
        pytest.fail(f"the SARIF schema is missing; looked at {[str(c) for c in candidates]}")
    pytest.skip("the SARIF schema (shared/schemas/sarif-schema-2.1.0.json beside the repository) is not here")


def validate_sarif(log):
    import jsonschema

    validator = jsonschema.Draft4Validator(sarif_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_is_valid_sarif_2_1_0(tree):
    log = json.loads(render("sarif", diagnostics(tree.root)))
    validate_sarif(log)
    validate_sarif(json.loads(render("sarif", [])))
    assert log["version"] == "2.1.0"


def test_sarif_describes_every_rule_with_its_docs(tree):
    (run,) = json.loads(render("sarif", []))["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "orderlint" and driver["version"] and driver["informationUri"].startswith("https://")
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(rules) == {r.code for r in ALL_RULES} | {"OL000", "OL999"}
    for rule in ALL_RULES:
        descriptor = rules[rule.code]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"] == rule.why
        for line in (rule.example + "\n" + rule.use_instead).splitlines():
            assert f"    {line}" in descriptor["help"]["text"]
        assert descriptor["help"]["markdown"].startswith(f"# {rule.code} {rule.name}")
        assert "## Why is this bad?" in descriptor["help"]["markdown"]
        assert descriptor["helpUri"] == rule.url


def test_sarif_results_point_at_relative_uris_and_regions(tree):
    (run,) = json.loads(render("sarif", diagnostics(tree.root)))["runs"]
    rules = run["tool"]["driver"]["rules"]
    syntax, normalize, jitter = run["results"]
    assert [r["ruleId"] for r in run["results"]] == ["OL000", "OL101", "OL103"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert all(r["level"] == "error" for r in run["results"])
    location = normalize["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "dir%20with%20space/a%2C%20b%3A%20c.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 23, "endLine": 3, "endColumn": 48}
    assert syntax["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 7, "endLine": 2, "endColumn": 7}
    assert jitter["message"]["text"] == MESSAGE
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tree.root.as_uri() + "/"
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_through_the_cli_is_valid(project, run):
    project("train.py", BUGGY)
    project("broken.py", "import torchvision.transforms as T\ndef f(:\n")
    validate_sarif(json.loads(run("check", "--no-cache", "--output-format", "sarif").stdout))


# github -------------------------------------------------------------------------------------


def test_github_workflow_commands_are_escaped_exactly(tree):
    assert render("github", diagnostics(None)).splitlines() == [
        "::error title=orderlint (OL000),file=broken.py,line=2,col=7,endLine=2,endColumn=7::could not parse: invalid syntax",
        "::error title=orderlint (OL101),file=dir with space/a%2C b%3A c.py,line=3,col=23,endLine=3,endColumn=48::"
        "`T.Normalize` runs before `T.ToTensor`",
        "::error title=orderlint (OL103),file=dir with space/a%2C b%3A c.py,line=3,col=50,endLine=3,endColumn=62::"
        "first line: 100%25 wrong, <really> & \"quoted\"%0Asecond line%0D%0Athird",
    ]
    assert render("github", []) == ""


def test_github_escapes_percent_first():
    from orderlint.report.github import escape_data, escape_property

    assert escape_data("%0A\n") == "%250A%0A"
    assert escape_property("a:b,c%\r") == "a%3Ab%2Cc%25%0D"


# gitlab -------------------------------------------------------------------------------------


def gitlab_issues(project, text):
    project("train.py", text)
    diags = [Diagnostic("train.py", row, 23, "OL101", "message", end_row=row, end_column=48)
             for row, line in enumerate(text.splitlines(), 1) if "T.Normalize" in line]
    return json.loads(render("gitlab", diags, Context()))


def test_gitlab_code_quality_fields(tree):
    issues = json.loads(render("gitlab", diagnostics(None), Context()))
    assert [issue["check_name"] for issue in issues] == ["OL000", "OL101", "OL103"]
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert len(issue["fingerprint"]) == 64
    assert issues[1]["location"] == {"path": ODD_NAME, "lines": {"begin": 3, "end": 3}}
    assert issues[2]["description"] == f"OL103 {MESSAGE}"
    assert len({issue["fingerprint"] for issue in issues}) == 3


def test_gitlab_fingerprint_survives_edits_above(project, monkeypatch):
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    (before,) = gitlab_issues(project, BUGGY)
    (after,) = gitlab_issues(project, "\n" + BUGGY.replace("import torchvision.transforms as T\n", "import torchvision.transforms as T  # edited\n\n"))
    assert after["location"]["lines"]["begin"] == before["location"]["lines"]["begin"] + 2
    assert after["fingerprint"] == before["fingerprint"]
    (changed,) = gitlab_issues(project, BUGGY.replace("[0.5], [0.5]", "[0.4], [0.5]"))
    assert changed["fingerprint"] != before["fingerprint"]  # the finding's own line changed


def test_gitlab_equal_findings_on_equal_lines_get_distinct_fingerprints(project):
    issues = gitlab_issues(project, BUGGY + BUGGY.split("\n", 2)[2])
    assert len(issues) == 2 and issues[0]["fingerprint"] != issues[1]["fingerprint"]


def test_gitlab_paths_are_relative_to_the_project_dir(project, monkeypatch):
    project("sub/train.py", BUGGY)
    monkeypatch.chdir(project.root / "sub")
    monkeypatch.setenv("CI_PROJECT_DIR", str(project.root))
    (issue,) = json.loads(render("gitlab", [Diagnostic("train.py", 3, 23, "OL101", "m")], Context()))
    assert issue["location"]["path"] == "sub/train.py"


# junit --------------------------------------------------------------------------------------


def test_junit_is_xml_with_a_testcase_per_file(tree):
    context = Context(files=["broken.py", ODD_NAME, "clean.py"])
    text = render("junit", diagnostics(None), context)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == {"broken.py", ODD_NAME, "clean.py"}
    assert cases["clean.py"].findall("failure") == []
    failures = cases[ODD_NAME].findall("failure")
    assert [f.get("type") for f in failures] == ["OL101", "OL103"]
    assert failures[1].get("message") == f"OL103 {MESSAGE}"  # newlines and CR kept: escaped as character references
    assert failures[1].text.startswith(f"{ODD_NAME}:3:50: OL103 first line: 100% wrong, <really> &")


def test_junit_survives_characters_xml_cannot_hold(tree):
    diags = [Diagnostic("clean.py", 1, 1, "OL101", "bell \x07 and nul \x00 and form feed \x0c")]
    (failure,) = ET.fromstring(render("junit", diags).encode()).iter("failure")
    assert failure.get("message") == "OL101 bell \\x07 and nul \\x00 and form feed \\x0c"


def test_junit_through_the_cli_counts_clean_files(project, run):
    project("a.py", BUGGY)
    project("b.py", CLEAN)
    root = ET.fromstring(run("check", "--no-cache", "--output-format", "junit").stdout.encode())
    assert [(c.get("name"), len(c.findall("failure"))) for c in root.iter("testcase")] == [("a.py", 1), ("b.py", 0)]


# notebooks ------------------------------------------------------------------------------------


def test_formats_place_notebook_diagnostics_by_cell(project):
    cells = [{"cell_type": "markdown", "source": "# t"},
             {"cell_type": "code", "source": ["import torchvision.transforms as T\n", "p = T.Compose([T.Normalize(m, s)])\n"]}]
    project("nb.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    d = Diagnostic("nb.ipynb", 2, 16, "OL101", "m", end_row=2, end_column=33)
    object.__setattr__(d, "cell", 2)  # whether or not Diagnostic has grown the field
    assert render("concise", [d]).startswith("nb.ipynb:cell 2:2:16: OL101 m\n")
    assert "2 | p = T.Compose([T.Normalize(m, s)])\n  |                ^^^^^^^^^^^^^^^^^ OL101\n" in render("full", [d], Context())
    assert render("github", [d]) == "::error title=orderlint (OL101),file=nb.ipynb::cell 2:2:16: m\n"


# --output-file --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["full", "sarif", "junit"])
def test_output_file_gets_the_report_and_stdout_nothing(project, run, name):
    project("train.py", BUGGY)
    expected = run("check", "--no-cache", "--output-format", name).stdout
    result = run("check", "--no-cache", "--output-format", name, "--output-file", "reports/out.txt")
    assert result.exit_code == 1 and result.stdout == "" and result.stderr == ""
    report = project.root / "reports" / "out.txt"
    assert report.read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in report.parent.iterdir()) == ["out.txt"]  # no temporary file left behind
    assert report.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_output_file_replaces_an_old_report_and_takes_statistics(project, run):
    project("train.py", CLEAN)
    (project.root / "out.txt").write_text("stale\n" * 1000)
    assert run("check", "--no-cache", "--output-file", "out.txt").stdout == ""
    assert (project.root / "out.txt").read_text() == "All checks passed!\n"
    project("train.py", BUGGY)
    run("check", "--no-cache", "--statistics", "--output-file", "out.txt")
    assert (project.root / "out.txt").read_text() == "    1\tOL101\ttensor-transform-before-to-tensor\n"


def test_output_file_that_cannot_be_written_exits_2(project, run):
    project("train.py", BUGGY)
    project("blocker", "a file where a directory is needed")
    result = run("check", "--no-cache", "--output-file", "blocker/out.txt")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("orderlint: error: blocker/out.txt: cannot write:")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
