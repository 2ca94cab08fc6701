"""Region-level parsing keeps every line number and drops only what cannot matter."""

import textwrap

from orderlint.regions import relevant_source

SOURCE = textwrap.dedent('''\
    import torchvision.transforms as T
    try:
        from torchvision.transforms import v2
    except ImportError:
        v2 = None
    MEAN = [0.5]


    @decorator
    def unrelated(x):
        return x * 2


    def helper():
        return 1


    def build():
        helper()
        return T.Compose([T.ToTensor()])


    class Other:
        pass
    ''')


def test_irrelevant_statements_are_blanked_line_for_line():
    reduced = relevant_source(SOURCE, ["Compose"])
    assert reduced.count("\n") == SOURCE.count("\n")
    kept = {line for line in reduced.splitlines() if line}
    assert "def unrelated(x):" not in kept and "@decorator" not in kept and "class Other:" not in kept
    for line in ("import torchvision.transforms as T", "    from torchvision.transforms import v2",
                 "MEAN = [0.5]", "def build():", "def helper():"):
        assert line in kept  # imports (even under try), constants, the pipeline and the helper it calls
    for number, (before, after) in enumerate(zip(SOURCE.splitlines(), reduced.splitlines())):
        assert after in ("", before), number


def test_unparseable_or_single_statement_source_is_returned_whole():
    assert relevant_source("def f(:\n", ["Compose"]) == "def f(:\n"
    assert relevant_source("x = 1\n", ["Compose"]) == "x = 1\n"


def test_crlf_line_endings_are_kept():
    source = "import torchvision\r\ndef f():\r\n    pass\r\ndef g():\r\n    torchvision.Compose()\r\n"
    reduced = relevant_source(source, ["Compose"])
    assert reduced == "import torchvision\r\n\r\n\r\ndef g():\r\n    torchvision.Compose()\r\n"


def test_findings_are_identical_with_and_without_regions():
    from pathlib import Path

    from orderlint.engine import lint_source
    from orderlint.rules import ALL_RULES

    for fixture in sorted((Path(__file__).parent.parent / "fixtures").glob("*.py")):
        source = fixture.read_text(encoding="utf-8")
        import orderlint.engine as engine

        reduced = lint_source(source, str(fixture), ALL_RULES)
        original = engine.relevant_source
        try:
            engine.relevant_source = lambda text, triggers: text
            whole = lint_source(source, str(fixture), ALL_RULES)
        finally:
            engine.relevant_source = original
        assert reduced == whole, fixture.name
