"""Region-level parsing keeps every line number and drops only what cannot matter."""

import textwrap
from pathlib import Path

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
    reduced = relevant_source(SOURCE, ["Compose"]).text
    assert reduced.count("\n") == SOURCE.count("\n")
    kept = {line for line in reduced.splitlines() if line}
    assert "def unrelated(x):" not in kept and "@decorator" not in kept and "class Other:" not in kept
    for line in ("import torchvision.transforms as T", "    from torchvision.transforms import v2",
                 "MEAN = [0.5]", "def build():", "def helper():"):
        assert line in kept  # imports (even under try), constants, the pipeline and the helper it calls
    for number, (before, after) in enumerate(zip(SOURCE.splitlines(), reduced.splitlines())):
        assert after in ("", before), number


def test_unparseable_or_single_statement_source_is_returned_whole():
    assert relevant_source("def f(:\n", ["Compose"]) == ("def f(:\n", None)
    assert relevant_source("x = 1\n", ["Compose"]) == ("x = 1\n", [1])


def test_crlf_line_endings_are_kept():
    source = "import torchvision\r\ndef f():\r\n    pass\r\ndef g():\r\n    torchvision.Compose()\r\n"
    reduced = relevant_source(source, ["Compose"]).text
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
            engine.relevant_source = lambda text, triggers: (text, None)
            whole = lint_source(source, str(fixture), ALL_RULES)
        finally:
            engine.relevant_source = original
        assert reduced == whole, fixture.name


def test_statement_lines_follow_libcst_grouping_and_def_lines():
    source = "import os\nx = 1; y = (2,\n  3); z = 4\n\n@decorator\ndef f():\n    return Compose()\n"
    assert relevant_source(source, ["Compose"]).statement_lines == [1, 2, 6]


def test_form_feed_and_line_separator_do_not_shift_lines():
    source = 'import torchvision\nnote = "a\x0cb\u2028c"\ndef unused():\n    pass\ndef g():\n    torchvision.Compose()\n'
    reduced = relevant_source(source, ["Compose"]).text
    assert reduced.split("\n")[2:4] == ["", ""] and "torchvision.Compose()" in reduced


def test_positions_of_nodes_match_the_whole_module_measure():
    import libcst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from orderlint.extract.walk import walk
    from orderlint.positions import positions_of

    for fixture in sorted((Path(__file__).parent.parent / "fixtures").glob("*.py"))[:12]:
        reduced = relevant_source(fixture.read_text(encoding="utf-8"), ["Compose", "Sequential", "backward"])
        module = libcst.parse_module(reduced.text)
        calls = [node for node in walk(module) if isinstance(node, libcst.Call)]
        whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        assert positions_of(module, calls, reduced.statement_lines) == {call: whole[call] for call in calls}, fixture.name


def test_callers_are_kept_however_many_levels_up():
    source = textwrap.dedent('''\
        import torch
        class Trainer:
            def __init__(self, model):
                self.model = model
            def _run_batch(self, batch):
                self.model(batch).backward()
            def _run_epoch(self, loader):
                for batch in loader:
                    self._run_batch(batch)
            def fit(self, loader, epochs):
                for epoch in range(epochs):
                    self._run_epoch(loader)
            def unrelated(self):
                return 1
        ''')
    kept = relevant_source(source, ["backward"]).text
    assert "def fit(" in kept and "def _run_epoch(" in kept and "def unrelated(" not in kept
