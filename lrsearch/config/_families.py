"""Resolve the ``search_space.families`` section against the schedule family registry.

Every family parameter ends up as one :class:`ParamSearch`: fixed, a range, a set of choices,
a milestone list (``fractions``) or free-form knots (``knots``). Unset parameters take the
default search range of :func:`lrsearch.schedules.list_families`, declared only there.
Problems are returned, not raised, so the loader can report all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lrsearch.schedules import ParamInfo, family_names, get_family

__all__ = ["FamilySearch", "ParamSearch", "resolve_families", "KNOT_POSITIONS",
           "FINAL_KNOT_HIGH"]

KNOT_POSITIONS = (0.25, 0.5, 0.75)
"""Default interior knot positions (fractions of training) of the ``piecewise`` family."""

FINAL_KNOT_HIGH = 0.1
"""Highest multiplier the last ``piecewise`` knot (progress 1) is sampled up to."""

_MAX_MILESTONES = 5

_KEYS = {
    "float": ("low", "high", "log", "choices"),
    "int": ("low", "high", "log", "choices"),
    "choice": ("choices",),
    "bool": ("choices",),
    "fractions": ("low", "high", "min_count", "max_count"),
    "knots": ("low", "high", "positions"),
}


@dataclass(frozen=True)
class ParamSearch:
    """How the search treats one family parameter.

    Attributes:
        name: The family's parameter name (namespaced as ``family.name`` in Optuna).
        kind: The parameter's kind (:attr:`lrsearch.schedules.ParamInfo.kind`).
        fixed: The fixed value, or ``None`` when searched.
        low: Lowest sampled value (numbers), milestone or knot multiplier.
        high: Highest sampled value.
        log: Sample on a log scale.
        choices: Values to choose from (choice, bool, or numbers given as choices).
        min_count: Fewest milestones (``fractions``).
        max_count: Most milestones (``fractions``).
        positions: Interior knot positions (``knots``).
    """

    name: str
    kind: str
    fixed: Any = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    min_count: int = 1
    max_count: int = 3
    positions: tuple[float, ...] = KNOT_POSITIONS

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for the fingerprint and the study's stored config)."""
        data = {"kind": self.kind}
        if self.fixed is not None:
            data["fixed"] = _plain(self.fixed)
            return data
        if self.choices is not None:
            data["choices"] = list(self.choices)
            return data
        data.update(low=self.low, high=self.high, log=self.log)
        if self.kind == "fractions":
            data.update(min_count=self.min_count, max_count=self.max_count)
        if self.kind == "knots":
            data["positions"] = list(self.positions)
        return data


@dataclass(frozen=True)
class FamilySearch:
    """A searched family and how each of its parameters is searched."""

    name: str
    params: tuple[ParamSearch, ...]

    def param(self, name: str) -> ParamSearch:
        """The search of parameter ``name``."""
        return next(p for p in self.params if p.name == name)


def resolve_families(families: list[str] | dict[str, Any], path: str
                     ) -> tuple[list[FamilySearch], list[str]]:
    """Resolve the families section; return ``(families, problems)``."""
    items = {name: None for name in families} if isinstance(families, list) else families
    resolved, problems = [], []
    if isinstance(families, list):
        twice = sorted({name for name in families if families.count(name) > 1})
        if twice:
            problems.append(f"{path}: got {twice[0]!r} more than once; name each family once")
    if not items:
        problems.append(f"{path}: got {families!r}; must name at least one family")
    for family, overrides in items.items():
        info = get_family(family)
        if info is None:
            problems.append(f"{path}.{family}: unknown family; must be one of {family_names()}")
            continue
        overrides = overrides or {}
        for key, value in overrides.items():
            if key not in {p.name for p in info.params}:
                known = [p.name for p in info.params]
                problems.append(f"{path}.{family}.{key}: got {value!r}; unknown parameter of "
                                f"{family!r}, its parameters are {known}")
        params = []
        for param in info.params:
            search, found = _resolve(param, overrides.get(param.name), f"{path}.{family}."
                                     f"{param.name}")
            params.append(search)
            problems += found
        resolved.append(FamilySearch(family, tuple(params)))
    return resolved, problems


def _resolve(info: ParamInfo, override: Any, path: str) -> tuple[ParamSearch, list[str]]:
    default = info.search
    base = ParamSearch(info.name, info.kind, low=default.low, high=default.high,
                       log=default.log, choices=default.choices)
    if override is None:
        return base, []
    if not isinstance(override, dict):
        value, problems = info.check(override, path)
        return ParamSearch(info.name, info.kind, fixed=value), problems
    problems = [f"{path}.{key}: unknown key for a {info.kind} parameter; allowed keys are "
                f"{list(_KEYS[info.kind])}" for key in override if key not in _KEYS[info.kind]]
    if "choices" in override and "choices" in _KEYS[info.kind]:
        return _resolve_choices(info, override["choices"], path, problems)
    fields = {"low": default.low, "high": default.high, "log": default.log}
    fields.update({k: override[k] for k in ("low", "high", "log") if k in override})
    problems += _check_bounds(info, fields, path)
    if info.kind == "fractions":
        counts = (override.get("min_count", 1), override.get("max_count", 3))
        problems += _check_counts(counts, path)
        return ParamSearch(info.name, info.kind, low=fields["low"], high=fields["high"],
                           min_count=counts[0], max_count=counts[1]), problems
    if info.kind == "knots":
        positions = override.get("positions", KNOT_POSITIONS)
        problems += _check_positions(positions, path)
        return ParamSearch(info.name, info.kind, low=fields["low"], high=fields["high"],
                           positions=tuple(positions) if not problems else KNOT_POSITIONS
                           ), problems
    return ParamSearch(info.name, info.kind, low=fields["low"], high=fields["high"],
                       log=bool(fields["log"])), problems


def _resolve_choices(info, choices, path, problems):
    if not isinstance(choices, list) or not choices:
        problems.append(f"{path}.choices: got {choices!r}; must be a non-empty list")
        return ParamSearch(info.name, info.kind), problems
    values = []
    for i, choice in enumerate(choices):
        value, found = info.check(choice, f"{path}.choices.{i}")
        problems += found
        values.append(value)
    if len(set(map(repr, values))) != len(values):
        problems.append(f"{path}.choices: got {choices!r}; must not repeat a value")
    return ParamSearch(info.name, info.kind, choices=tuple(values)), problems


def _check_bounds(info: ParamInfo, fields: dict[str, Any], path: str) -> list[str]:
    problems = []
    element = _ELEMENT_RULES.get(info.kind)
    for key in ("low", "high"):
        value = fields[key]
        if element is not None:
            ok, rule = element(value)
            if not ok:
                problems.append(f"{path}.{key}: got {value!r}; {rule}")
        else:
            problems += info.check(value, f"{path}.{key}")[1]
    if not isinstance(fields["log"], bool):
        problems.append(f"{path}.log: got {fields['log']!r}; must be true or false")
    if problems:
        return problems
    if fields["high"] < fields["low"]:
        problems.append(f"{path}.high: got {fields['high']!r}; must be >= low "
                        f"({fields['low']!r})")
    if fields["log"] and fields["low"] <= 0:
        problems.append(f"{path}.log: got true; a log scale needs low > 0 (low is "
                        f"{fields['low']!r})")
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_ELEMENT_RULES = {
    "fractions": lambda v: (_number(v) and 0 < v < 1, "must be a number in (0, 1)"),
    "knots": lambda v: (_number(v) and v >= 0, "must be a number >= 0"),
}


def _check_counts(counts: tuple[Any, Any], path: str) -> list[str]:
    problems = []
    for key, value in zip(("min_count", "max_count"), counts):
        if not isinstance(value, int) or isinstance(value, bool) or not (
                1 <= value <= _MAX_MILESTONES):
            problems.append(f"{path}.{key}: got {value!r}; must be an integer in "
                            f"[1, {_MAX_MILESTONES}]")
    if not problems and counts[1] < counts[0]:
        problems.append(f"{path}.max_count: got {counts[1]!r}; must be >= min_count "
                        f"({counts[0]!r})")
    return problems


def _check_positions(positions: Any, path: str) -> list[str]:
    ok = (isinstance(positions, list) and positions
          and all(_number(p) and 0 < p < 1 for p in positions)
          and all(b > a for a, b in zip(positions, positions[1:])))
    if ok:
        return []
    return [f"{path}.positions: got {positions!r}; must be a non-empty list of strictly "
            f"ascending fractions in (0, 1)"]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
