"""The registry: every rule family and rule orderlint ships."""

from __future__ import annotations

from typing import Dict, List

from orderlint.rules import amp, checkpoint, layers, loop, transforms
from orderlint.rules.base import Family, Rule

FAMILIES: List[Family] = [transforms.FAMILY, layers.FAMILY, amp.FAMILY, loop.FAMILY, checkpoint.FAMILY]
ALL_RULES: List[Rule] = [rule for family in FAMILIES for rule in family.rules]
RULES_BY_CODE: Dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}
