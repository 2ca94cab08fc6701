"""Vocabulary for catalogue facts: what happens when a step meets an input, and
predicates over a step's literal arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from orderlint.extract.values import UNKNOWN


@dataclass(frozen=True)
class Outcome:
    """What a transform does with one kind of input.

    ``ok``: transforms it. ``crash``: raises ``error``. ``intermittent``: raises
    ``error`` for some random draws. ``passthrough``: returns the input untouched.
    ``when``: the outcome applies only when this argument predicate holds
    (otherwise the transform is ``ok``).
    """

    kind: str
    error: str = ""
    when: Optional["ArgPredicate"] = None

    @property
    def fails(self) -> bool:
        return self.kind != "ok"


OK = Outcome("ok")
PASSTHROUGH = Outcome("passthrough")


def crash(error: str, when: Optional["ArgPredicate"] = None) -> Outcome:
    return Outcome("crash", error, when)


def intermittent(error: str) -> Outcome:
    return Outcome("intermittent", error)


class ArgPredicate:
    """A yes/no question about a step's bound literal arguments; None when unknowable."""

    def __call__(self, args: Mapping[str, Any]) -> Optional[bool]:
        raise NotImplementedError


@dataclass(frozen=True)
class ArgEquals(ArgPredicate):
    param: str
    value: Any
    default: Any

    def __call__(self, args):
        got = args.get(self.param, self.default)
        return None if got is UNKNOWN else got == self.value


@dataclass(frozen=True)
class ArgAbove(ArgPredicate):
    param: str
    bound: float

    def __call__(self, args):
        got = args.get(self.param, UNKNOWN)
        if isinstance(got, (int, float)) and not isinstance(got, bool):
            return got > self.bound
        return None


@dataclass(frozen=True)
class ArgIsRange(ArgPredicate):
    """True when the argument is a (min, max) pair, i.e. sampled at random per call."""

    param: str
    default_is_range: bool

    def __call__(self, args):
        if self.param not in args:
            return self.default_is_range
        got = args[self.param]
        if got is UNKNOWN:
            return None
        return isinstance(got, (tuple, list)) and len(got) == 2 and got[0] != got[1]


@dataclass(frozen=True)
class ArgsNotIdentity(ArgPredicate):
    """ColorJitter-style factors: 0, None, (1, 1) (or (0, 0) for hue) change nothing.

    True when any factor is known to change the image, or is not literal (assumed to).
    """

    params: tuple

    def __call__(self, args):
        return any(_changes_image(param, args.get(param, None)) for param in self.params)


def _changes_image(param: str, value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if value is None or value == 0:
        return False
    if isinstance(value, (list, tuple)):
        return tuple(value) != ((0, 0) if param == "hue" else (1, 1))
    return True
