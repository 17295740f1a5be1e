"""Parameter declarations of the schedule families: meaning, valid range, default, search range.

Each parameter is declared once, as a :class:`ParamInfo` in ``_registry.py`` (family
parameters) or ``_fields.py`` (the spec's own numbers); this module defines the declaration and
checks and normalises a value of each kind. Checks return problem strings instead of raising, so
a spec can report every problem at once. Any ``numbers.Real`` is a number (numpy scalars too,
without importing numpy); values are normalised to plain ``int``/``float``/``str``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

__all__ = ["ParamInfo", "SearchRange"]

_INF = math.inf


@dataclass(frozen=True)
class SearchRange:
    """A sensible default range for the search to sample a parameter from.

    Attributes:
        low: Lower bound (numeric kinds).
        high: Upper bound (numeric kinds).
        log: Sample on a log scale.
        choices: The values to choose from (``choice`` and ``bool`` kinds).
    """

    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a schedule family.

    Attributes:
        name: Key in the spec's ``params``.
        help: What the parameter means, with its unit.
        kind: ``float``, ``int``, ``choice``, ``bool``, ``fractions`` (ascending fractions in
            (0, 1)) or ``knots`` (``[[p, m], ...]``, p from 0 to 1 ascending, m >= 0).
        low: Smallest valid value (numeric kinds).
        high: Largest valid value (numeric kinds).
        low_open: ``low`` itself is invalid.
        high_open: ``high`` itself is invalid.
        choices: Valid values (``choice`` kind).
        default: The value used when a caller asks for defaults (torch's default where torch has
            the same argument).
        search: Default search range.
    """

    name: str
    help: str
    kind: str = "float"
    low: float = -_INF
    high: float = _INF
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    default: Any = None
    search: SearchRange = SearchRange()

    def rule(self) -> str:
        """The validity rule in words, e.g. ``must be in (0, 1]``."""
        if self.kind == "choice":
            return f"must be one of {list(self.choices)}"
        if self.kind == "bool":
            return "must be true or false"
        if self.kind == "fractions":
            return "must be a non-empty list of strictly ascending fractions in (0, 1)"
        if self.kind == "knots":
            return ("must be a list of at least two [p, m] pairs with p strictly ascending from "
                    "0 to 1 and m >= 0")
        what = "an integer" if self.kind == "int" else "a number"
        if self.high == _INF:
            op = ">" if self.low_open else ">="
            return f"must be {what} {op} {_fmt(self.low)}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"must be {what} in {left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def check(self, value: Any, path: str) -> tuple[Any, list[str]]:
        """Validate and normalise ``value``; return ``(normalised, problems)``."""
        checker = _CHECKERS[self.kind]
        normalised = checker(self, value)
        if normalised is _BAD:
            return None, [f"{path}: got {value!r}; {self.rule()}"]
        return normalised, []


_BAD = object()


def _fmt(x: float) -> str:
    return f"{x:g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _as_float(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else ``None`` (huge ints overflow)."""
    if not _is_number(value):
        return None
    try:
        x = float(value)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None


def _in_range(info: ParamInfo, x: float | int) -> bool:
    low_ok = x > info.low if info.low_open else x >= info.low
    high_ok = x < info.high if info.high_open else x <= info.high
    return low_ok and high_ok


def _check_float(info: ParamInfo, value: Any) -> Any:
    x = _as_float(value)
    return x if x is not None and _in_range(info, x) else _BAD


def _check_int(info: ParamInfo, value: Any) -> Any:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        n = int(value)
    else:  # integral floats (2.0) are accepted: JSON from other languages may write them so
        x = _as_float(value)
        if x is None or x != int(x):
            return _BAD
        n = int(x)
    return n if _in_range(info, n) else _BAD


def _check_choice(info: ParamInfo, value: Any) -> Any:
    return str(value) if isinstance(value, str) and value in info.choices else _BAD


def _check_bool(info: ParamInfo, value: Any) -> Any:
    return value if isinstance(value, bool) else _BAD


def _check_fractions(info: ParamInfo, value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or not value:
        return _BAD
    fractions = tuple(_as_float(v) for v in value)
    if not all(f is not None and 0.0 < f < 1.0 for f in fractions):
        return _BAD
    if any(b <= a for a, b in zip(fractions, fractions[1:])):
        return _BAD
    return fractions


def _check_knots(info: ParamInfo, value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return _BAD
    knots = []
    for knot in value:
        if not isinstance(knot, (list, tuple)) or len(knot) != 2:
            return _BAD
        p, m = _as_float(knot[0]), _as_float(knot[1])
        if p is None or m is None:
            return _BAD
        knots.append((p, m))
    positions = [p for p, _ in knots]
    if positions[0] != 0.0 or positions[-1] != 1.0:
        return _BAD
    if any(b <= a for a, b in zip(positions, positions[1:])) or any(m < 0 for _, m in knots):
        return _BAD
    return tuple(knots)


_CHECKERS = {
    "float": _check_float,
    "int": _check_int,
    "choice": _check_choice,
    "bool": _check_bool,
    "fractions": _check_fractions,
    "knots": _check_knots,
}


def to_plain(value: Any) -> Any:
    """Turn a normalised parameter value back into plain JSON types (tuples become lists)."""
    if isinstance(value, tuple):
        return [to_plain(v) for v in value]
    return value
