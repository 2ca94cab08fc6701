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
    SIZE = 224
    __all__ = ["build"]


    @decorator
    def unrelated(x):
        return x * 2


    def helper():
        return 1


    def build():
        helper()
        return T.Compose([T.Resize(SIZE), T.ToTensor()])


    class Other:
        pass
    ''')


def test_irrelevant_statements_are_blanked_line_for_line():
    reduced = relevant_source(SOURCE, ["Compose"]).text
    assert reduced.count("\n") == SOURCE.count("\n")
    kept = {line for line in reduced.splitlines() if line}
    for line in ("def unrelated(x):", "@decorator", "class Other:", "MEAN = [0.5]", '__all__ = ["build"]'):
        assert line not in kept  # neither a trigger nor read nor called by what is kept
    for line in ("import torchvision.transforms as T", "    from torchvision.transforms import v2",
                 "SIZE = 224", "def build():", "def helper():"):
        assert line in kept  # imports (even under try), the constant read, the pipeline and the helper it calls
    for number, (before, after) in enumerate(zip(SOURCE.splitlines(), reduced.splitlines())):
        assert after in ("", before), number


def test_unparseable_or_single_statement_source_is_returned_whole():
    assert relevant_source("def f(:\n", ["Compose"]) == ("def f(:\n", None)
    assert relevant_source("x = 1\n", ["Compose"]) == ("x = 1\n", [(1, 1, 1)])


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


def test_statements_follow_libcst_grouping_with_their_def_lines_and_decorators():
    source = "import os\nx = 1; y = (2,\n  3); z = 4\n\n@decorator\ndef f():\n    return Compose(x, y, z)\n"
    assert relevant_source(source, ["Compose"]).statements == [(1, 1, 1), (2, 2, 3), (6, 5, 7)]


def test_form_feed_and_line_separator_do_not_shift_lines():
    source = 'import torchvision\nnote = "a\x0cb\u2028c"\ndef unused():\n    pass\ndef g():\n    torchvision.Compose()\n'
    reduced = relevant_source(source, ["Compose"]).text
    assert reduced.split("\n")[2:4] == ["", ""] and "torchvision.Compose()" in reduced


POSITIONED = ("Call", "Name", "Attribute", "Integer", "SimpleString", "Arg", "For", "SimpleStatementLine", "Import",
              "ImportFrom", "AugAssign", "Assign", "Decorator")


def _positions_equal_the_whole_module_measure(source: str, name: str) -> None:
    import libcst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from orderlint.extract.walk import walk
    from orderlint.positions import positions_of

    reduced = relevant_source(source, ["Compose", "Sequential", "backward", "save("])
    module = libcst.parse_module(reduced.text)
    nodes = [node for node in walk(module) if type(node).__name__ in POSITIONED]
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    measured = positions_of(module, nodes, reduced.statements, reduced.text)
    assert measured == {node: whole[node] for node in nodes}, name


def test_positions_of_nodes_match_the_whole_module_measure():
    for fixture in sorted((Path(__file__).parent.parent / "fixtures").rglob("*.py")):
        _positions_equal_the_whole_module_measure(fixture.read_text(encoding="utf-8"), fixture.name)


def test_positions_of_repeated_parenthesized_and_decorated_code():
    source = textwrap.dedent('''\
        import torch
        import torchvision.transforms as T


        @torch.no_grad()
        def evaluate(model, loader):
            a = T.Compose([T.ToTensor(), T.ToTensor()])  # T.ToTensor() again in a comment
            b = (T.Compose(
                [(T.Normalize([0.5], [0.5])),
                 T.ToTensor()]))
            for x in loader:
                model(x).sum().backward()
            return (a, b, torch.no_grad())


        x = 1; y = T.Compose([]); z = \\
            T.ToTensor()
        ''')
    _positions_equal_the_whole_module_measure(source, "inline")
    _positions_equal_the_whole_module_measure(source.replace("\n", "\r\n"), "crlf")
    _positions_equal_the_whole_module_measure(source.replace("\n", "\r"), "cr")


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
