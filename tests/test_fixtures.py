"""Fixture-driven tests of the OL1xx rules.

Every ``fixtures/*.py`` file is realistic pipeline code annotated with trailing
comments: ``# expect: OL101`` (or ``# expect: OL103, OL113``) on each line where
a diagnostic must point, and ``# ok: <why>`` on look-alikes that must stay
silent. The linter runs with every rule enabled, preview included, and the set
of (line, code) it reports must equal the set the comments declare.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from orderlint.config import select_rules
from orderlint.engine import lint_source
from orderlint.rules import ALL_RULES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))

_CODE = r"OL\d{3}"
_EXPECT = re.compile(rf"#\s*expect:\s*(?P<codes>{_CODE}(?:\s*,\s*{_CODE})*)\s*$")
_OK = re.compile(r"#\s*ok:\s*\S")
_EXPECT_LOOSE = re.compile(r"#\s*expect\b", re.IGNORECASE)

Expectation = Set[Tuple[int, str]]


def _comments(source: str) -> List[Tuple[int, str]]:
    """(line, text) of every real comment token: strings that look like comments are ignored."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]


def parse_annotations(source: str) -> Tuple[Expectation, Set[int], List[str]]:
    """The expected (line, code) pairs, the lines marked ``# ok:``, and malformed annotations."""
    expected: Expectation = set()
    ok_lines: Set[int] = set()
    problems: List[str] = []
    for line, text in _comments(source):
        match = _EXPECT.search(text)
        if match:
            expected.update((line, code.strip()) for code in match.group("codes").split(","))
        elif _EXPECT_LOOSE.search(text):
            problems.append(f"line {line}: malformed expectation {text!r} (want `# expect: OL1xx[, OL1xx]`)")
        if _OK.search(text):
            ok_lines.add(line)
    return expected, ok_lines, problems


def _all_rules():
    return select_rules(None, [], [], preview=True)


def _describe(pairs: Expectation, messages: Dict[Tuple[int, str], str], lines: List[str]) -> str:
    out = []
    for line, code in sorted(pairs):
        source_line = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        detail = messages.get((line, code))
        out.append(f"    line {line}: {code}    | {source_line}")
        if detail:
            out.append(f"        message: {detail}")
    return "\n".join(out)


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=[p.name for p in FIXTURE_FILES])
def test_fixture_diagnostics_match_expectations(fixture: Path):
    source = fixture.read_text(encoding="utf-8")
    expected, _, problems = parse_annotations(source)
    assert not problems, f"{fixture.name}: " + "; ".join(problems)

    diagnostics = lint_source(source, str(fixture), _all_rules())
    got = {(d.row, d.code) for d in diagnostics}
    messages = {(d.row, d.code): f"col {d.column}: {d.message}" for d in diagnostics}

    missing = expected - got
    unexpected = got - expected
    if missing or unexpected:
        lines = source.splitlines()
        report = [f"{fixture.name}: diagnostics differ from the `# expect:` comments"]
        if missing:
            report.append(f"  expected but not reported ({len(missing)}):")
            report.append(_describe(missing, messages, lines))
        if unexpected:
            report.append(f"  reported but not expected ({len(unexpected)}):")
            report.append(_describe(unexpected, messages, lines))
        pytest.fail("\n".join(report), pytrace=False)


def test_fixtures_cover_every_rule_with_enough_lookalikes():
    problems = []
    names = {p.name for p in FIXTURE_FILES}
    for rule in ALL_RULES:
        if f"{rule.code}.py" not in names:
            problems.append(f"rule {rule.code} ({rule.name}) has no fixture file fixtures/{rule.code}.py")
    known_codes = {rule.code for rule in ALL_RULES}
    for fixture in FIXTURE_FILES:
        source = fixture.read_text(encoding="utf-8")
        try:
            ast.parse(source, filename=str(fixture))
        except SyntaxError as error:
            problems.append(f"{fixture.name}: not valid Python: {error}")
            continue
        expected, ok_lines, malformed = parse_annotations(source)
        problems.extend(f"{fixture.name}: {m}" for m in malformed)
        expect_lines = {line for line, _ in expected}
        if not expect_lines:
            problems.append(f"{fixture.name}: no `# expect:` line")
        if len(ok_lines) < len(expect_lines):
            problems.append(
                f"{fixture.name}: {len(ok_lines)} `# ok:` look-alike lines for {len(expect_lines)} `# expect:` lines"
            )
        unknown = sorted({code for _, code in expected} - known_codes)
        if unknown:
            problems.append(f"{fixture.name}: `# expect:` names unknown codes {unknown}")
        own_code = fixture.stem
        if own_code in known_codes and own_code not in {code for _, code in expected}:
            problems.append(f"{fixture.name}: never expects its own rule {own_code}")
    assert not problems, "\n".join(problems)
