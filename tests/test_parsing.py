"""Parsing statement by statement (the editor's path) gives what one parse of the file gives."""

from pathlib import Path

import libcst
import pytest

from orderlint import parsing
from orderlint.engine import lint_source
from orderlint.parsing import StatementCache, parse_unvalidated
from orderlint.regions import relevant_source
from orderlint.rules import ALL_RULES

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").rglob("*.py"))
TRIGGERS = ["Compose", "Sequential", "backward", "save(", "autocast"]


def _sources():
    yield from ((fixture.name, fixture.read_text(encoding="utf-8")) for fixture in FIXTURES)
    tabbed = "import torch\nclass Net(torch.nn.Module):\n\tdef forward(self, x):\n\t\treturn torch.nn.Sequential()(x)\n"
    yield "tabs", tabbed
    yield "crlf", FIXTURES[0].read_text(encoding="utf-8").replace("\n", "\r\n")


@pytest.mark.parametrize("name, source", list(_sources()))
def test_statements_parsed_one_by_one_generate_the_same_code(name, source):
    reduced = relevant_source(source, TRIGGERS)
    whole = libcst.parse_module(reduced.text)
    assembled = StatementCache().module(reduced.text, reduced.statements)
    assert assembled is not None and len(assembled.body) == len(whole.body), name
    for alone, together in zip(assembled.body, whole.body):
        # The comments and blank lines above a statement belong to it in the whole parse only.
        alone, together = alone.with_changes(leading_lines=()), together.with_changes(leading_lines=())
        assert assembled.code_for_node(alone) == whole.code_for_node(together), name
        assert alone.deep_equals(together), name


def test_findings_with_the_cache_equal_findings_without_it_every_time():
    cache = StatementCache()
    for fixture in FIXTURES:
        source = fixture.read_text(encoding="utf-8")
        expected = lint_source(source, str(fixture), ALL_RULES)
        assert lint_source(source, str(fixture), ALL_RULES, cache=cache) == expected, fixture.name
        assert lint_source(source, str(fixture), ALL_RULES, cache=cache) == expected, fixture.name  # all reused


def test_an_edit_reparses_only_the_statement_it_changed(monkeypatch):
    source = (Path(__file__).parent.parent / "fixtures" / "OL101.py").read_text(encoding="utf-8")
    cache = StatementCache()
    lint_source(source, "OL101.py", ALL_RULES, cache=cache)
    parsed = []
    monkeypatch.setattr(parsing, "parse_unvalidated", lambda text, *config: parsed.append(text) or parse_unvalidated(text, *config))
    edited = source.replace("T.Normalize(IMAGENET_MEAN, IMAGENET_STD),  # expect: OL101", "T.Normalize(IMAGENET_STD, IMAGENET_MEAN),  # expect: OL101", 1)
    assert edited != source
    after = lint_source(edited, "OL101.py", ALL_RULES, cache=cache)
    assert len(parsed) == 1 and "T.Normalize(IMAGENET_STD, IMAGENET_MEAN)" in parsed[0]
    assert after == lint_source(edited, "OL101.py", ALL_RULES)


def test_the_cache_forgets_the_least_recently_used_statements_beyond_its_size():
    cache = StatementCache(max_chars=50)
    for number in range(20):
        source = f"import torch\nx{number} = torch.zeros({number})\n"
        cache.module(source, relevant_source(source, []).statements)
    assert sum(len(text) for text, _, _ in cache._parsed) <= 50
