"""The rule registry: every rule orderlint ships, by code."""

from __future__ import annotations

from typing import Dict, List

from orderlint.rules.base import Rule
from orderlint.rules.transforms import TRANSFORM_RULES

ALL_RULES: List[Rule] = [*TRANSFORM_RULES]
RULES_BY_CODE: Dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}
