"""The grid of a grid space: the values each searched number takes, and how many trials walk it.

A grid space draws every searched number from ``points_per_param`` values (geometrically spaced
for a log range; an int range keeps its distinct rounded values) and ``multistep``'s milestones
from the ascending sets of grid fractions. Optuna's BruteForceSampler walks the resulting tree:
the family first, then only that family's parameters, so the grid is a sum over families, not a
product over every family's parameters.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import TYPE_CHECKING, Any

from lrsearch.config import AUTO, FINAL_KNOT_HIGH, ParamSearch, Range
from lrsearch.schedules import get_family

if TYPE_CHECKING:
    from lrsearch.search._space import SearchSpace

__all__ = ["grid_size", "grid_values", "grid_ints", "milestone_sets", "MAX_GRID_SIZE",
           "WARMUP"]

MAX_GRID_SIZE = 10_000
"""Largest grid a study may walk: at a minute a trial, a week of one GPU."""

# Shared values not sampled for families that warm up by themselves (warms_up_itself).
WARMUP = ("warmup_frac", "warmup_start")


def grid_values(low: float, high: float, log: bool, points: int) -> list[float]:
    """``points`` values from low to high, evenly spaced (geometrically on a log scale).

    Example:
        >>> grid_values(0.001, 0.1, True, 3)
        [0.001, 0.01, 0.1]
    """
    if low == high:
        return [low]
    if log:
        ratio = math.log(high / low)
        # 12 significant digits: the ends are exactly low and high, the values read well.
        return [float(f"{low * math.exp(ratio * i / (points - 1)):.12g}")
                for i in range(points)]
    return [float(low + (high - low) * i / (points - 1)) for i in range(points)]


def grid_ints(low: int, high: int, log: bool, points: int) -> list[int]:
    """The distinct rounded grid values of an int range."""
    return sorted({round(v) for v in grid_values(low, high, log, points)})


def milestone_sets(search: ParamSearch, points: int) -> list[str]:
    """Ascending sets of grid fractions, ``min_count`` to ``max_count`` long, as JSON text."""
    values = [v for v in grid_values(search.low, search.high, False, points) if 0 < v < 1]
    return [json.dumps(list(c)) for k in range(search.min_count, search.max_count + 1)
            for c in itertools.combinations(values, k)] or [json.dumps([0.5])]


def grid_size(space: SearchSpace) -> int:
    """Trials that walk the whole grid of a grid space: the leaves of its tree.

    The sum over families (each the product of its own parameters' values and of the shared
    values it uses) times the sum over optimizers of the product of their numbers' values.

    Example:
        >>> from lrsearch.config import parse_study
        >>> from lrsearch.search import SearchSpace
        >>> config = parse_study({"name": "g", "sampler": {"name": "grid"},
        ...     "search_space": {"families": ["cosine", "linear"], "warmup_frac": 0.0}})
        >>> grid_size(SearchSpace.from_config(config))  # (3 + 3) final ratios x 3 peak LRs
        18
    """
    points = space.grid_points
    if points is None:
        raise ValueError("grid_size: the space is not a grid space (sampler.name is not grid)")
    shared = {name: len(_number_values(value, points)) for name, value in space.shared.items()}
    families = 0
    for family in space.families:
        own_warmup = get_family(family.name).warms_up_itself
        families += math.prod(_param_count(p, points) for p in family.params) * math.prod(
            n for name, n in shared.items() if not (name in WARMUP and own_warmup))
    optimizers = sum(math.prod(len(_number_values(value, points)) for value in settings.values())
                     for settings in space.optimizers.values())
    return families * optimizers


def _param_count(search: ParamSearch, points: int) -> int:
    if search.fixed is not None:
        return 1
    if search.choices is not None:
        return len(search.choices)
    if search.kind == "int":
        return len(grid_ints(int(search.low), int(search.high), search.log, points))
    if search.kind == "fractions":
        return len(milestone_sets(search, points))
    if search.kind == "knots":
        inner = len(grid_values(search.low, search.high, False, points))
        return inner ** len(search.positions) * len(grid_values(0.0, FINAL_KNOT_HIGH, False,
                                                                points))
    return len(grid_values(search.low, search.high, search.log, points))


def _number_values(value: Any, points: int) -> list[Any]:
    if value == AUTO:  # a range, once the LR range test has run
        return [None] * points
    if isinstance(value, Range):
        return grid_values(value.low, value.high, value.log, points)
    return [value]
