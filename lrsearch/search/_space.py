"""The search space: a checked study config turned into Optuna suggestions, and back.

Optuna parameter names are namespaced so distributions never clash between families or
optimizers (Optuna refuses a parameter whose distribution changed): ``family`` and
``optimizer`` are categoricals, a family's parameters are ``cosine.final_ratio``, an
optimizer's are ``sgd.peak_lr``; ``warmup_frac``, ``warmup_start`` and ``head_lr_mult`` are
shared. ``multistep.milestones`` becomes ``multistep.milestone_count``, the first milestone
``multistep.milestone_0`` and ``multistep.milestone_gap_1..`` (each next milestone that share
of the way from the last to the range's high end); ``piecewise.knots`` becomes one multiplier
per fixed position (``piecewise.knot_0..``) plus ``piecewise.knot_end``. Fixed values are not
Optuna parameters; they are in each trial's ``schedule`` and ``optimizer`` attributes.

A grid space (``sampler: {name: grid}``) draws every searched number from ``points_per_param``
values (geometrically spaced for a log range; an int range keeps its distinct rounded values),
a categorical, and ``multistep``'s milestones as one categorical of ascending sets of grid
fractions. Optuna's BruteForceSampler walks the resulting tree: the family first, then only that
family's parameters, so the grid is a sum over families, not a product over every family's
parameters.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from lrsearch.config import (
    AUTO,
    FINAL_KNOT_HIGH,
    BaselineConfig,
    FamilySearch,
    ParamSearch,
    Range,
    StudyConfig,
    baseline_params,
    optimizer_space,
    resolve_families,
)
from lrsearch.errors import StudyError
from lrsearch.records import FAMILY_PARAM, OPTIMIZER_PARAM
from lrsearch.schedules import (
    WARMUP_FRAC_DEFAULT,
    WARMUP_START_DEFAULT,
    ScheduleSpec,
    get_family,
)

__all__ = ["SearchSpace", "PLACEHOLDER_TOTAL_STEPS", "grid_size", "grid_values", "grid_ints",
           "milestone_sets", "MAX_GRID_SIZE", "WARMUP"]


PLACEHOLDER_TOTAL_STEPS = 1000


"""``total_steps`` of a sampled spec; training lays the spec onto its real step count."""


_SHARED = ("warmup_frac", "warmup_start", "head_lr_mult")


@dataclass(frozen=True)
class SearchSpace:
    """The resolved search space of a study.

    Attributes:
        families: Each searched family and how its parameters are searched.
        optimizers: ``name -> {setting: fixed value or Range}`` (unset settings are absent and
            keep the optimizer's defaults).
        shared: ``warmup_frac``, ``warmup_start`` and ``head_lr_mult``: fixed value or Range.
        grid_points: Values per searched number in a grid space; None when numbers are drawn
            from their ranges.
    """

    families: tuple[FamilySearch, ...]
    optimizers: dict[str, dict[str, Any]]
    shared: dict[str, Any]
    grid_points: int | None = None

    @classmethod
    def from_config(cls, config: StudyConfig) -> SearchSpace:
        """The search space of a checked study config."""
        space = config.search_space
        families, _ = resolve_families(space.families, "search_space.families")
        optimizers = {name: {key: getattr(opt, key) for key in opt.model_dump(exclude_none=True)}
                      for name, opt in optimizer_space(config).items()}
        shared = {name: getattr(space, name) for name in _SHARED}
        grid = config.sampler.points_per_param if config.sampler.name == "grid" else None
        return cls(tuple(families), optimizers, shared, grid)

    @property
    def auto_optimizers(self) -> list[str]:
        """The optimizers whose peak LR is ``auto`` (set by an LR range test)."""
        return [name for name, s in self.optimizers.items() if s["peak_lr"] == AUTO]

    def with_peak_lr(self, ranges: dict[str, Range]) -> SearchSpace:
        """This space with the peak LR of each optimizer in ``ranges`` replaced.

        Example:
            >>> from lrsearch.config import parse_study
            >>> auto = parse_study({"name": "d", "search_space": {"peak_lr": "auto"}})
            >>> space = SearchSpace.from_config(auto)
            >>> space.auto_optimizers
            ['sgd']
            >>> space.with_peak_lr({"sgd": Range(low=0.01, high=0.1, log=True)}).auto_optimizers
            []
        """
        optimizers = {name: {**s, "peak_lr": ranges.get(name, s["peak_lr"])}
                      for name, s in self.optimizers.items()}
        return SearchSpace(self.families, optimizers, self.shared, self.grid_points)

    # -- sampling ---------------------------------------------------------------------------

    def suggest(self, trial: Any, baseline: BaselineConfig | None = None
                ) -> tuple[ScheduleSpec, dict[str, Any]]:
        """Sample a trial: ``(spec, optimizer settings as a dict)``; the spec is always valid.

        With ``baseline`` (a grid space's baseline trial, whose values need not lie on the
        grid) the baseline's own values are used as they are and only those it leaves out are
        drawn; its family and optimizer come from the enqueued ``baseline_params``.
        """
        draw = _Draw(trial, self.grid_points)
        family_name = draw.choice(FAMILY_PARAM, [f.name for f in self.families])
        family = next(f for f in self.families if f.name == family_name)
        given = {} if baseline is None else _given(baseline, family)
        params = {p.name: given[p.name] if p.name in given else
                  _draw_param(draw, family.name, p) for p in family.params}
        own_warmup = get_family(family_name).warms_up_itself
        shared = {name: given[f"shared.{name}"] if f"shared.{name}" in given else
                  draw.number(name, value)
                  for name, value in self.shared.items()
                  if not (name in WARMUP and own_warmup)}
        shared.setdefault("warmup_frac", WARMUP_FRAC_DEFAULT)
        shared.setdefault("warmup_start", WARMUP_START_DEFAULT)
        opt_name = draw.choice(OPTIMIZER_PARAM, list(self.optimizers))
        if self.optimizers[opt_name]["peak_lr"] == AUTO:
            raise StudyError(f"search_space: the peak_lr of {opt_name!r} is auto and was not "
                             f"set by a range test yet; open the study with open_study")
        settings = {key: given[f"opt.{key}"] if f"opt.{key}" in given else
                    draw.number(f"{opt_name}.{key}", value)
                    for key, value in self.optimizers[opt_name].items()}
        peak_lr = settings.pop("peak_lr")
        spec = ScheduleSpec(family_name, peak_lr=peak_lr, total_steps=PLACEHOLDER_TOTAL_STEPS,
                            warmup_frac=shared["warmup_frac"],
                            warmup_start=shared["warmup_start"], params=params)
        return spec, {"name": opt_name, "head_lr_mult": shared["head_lr_mult"], **settings}

    def fixed_params(self, family: str) -> dict[str, Any]:
        """The Optuna parameters a ready-made baseline of ``family`` is queued with: its
        family, where the space searches it (so Optuna's tables and ``params_family`` filters
        show it), and nothing else: its spec is fixed, not a point of the space."""
        return {FAMILY_PARAM: family} if family in self.family_names else {}

    def label_family(self, trial: Any, family: str) -> None:
        """Give a running ready-made baseline the family parameter it was queued with
        (:meth:`fixed_params`); a family the space does not search stays unlabelled."""
        if family in self.family_names:
            trial.suggest_categorical(FAMILY_PARAM, self.family_names)

    @property
    def family_names(self) -> list[str]:
        return [f.name for f in self.families]

    def baseline_params(self, baseline: BaselineConfig) -> dict[str, Any]:
        """The Optuna parameters that make a trial run ``baseline`` (for ``enqueue_trial``).

        Values the baseline leaves out (``peak_lr``, ``warmup_frac``) are not fixed, so the
        sampler draws them. In a grid space only ``family`` and ``optimizer`` become trial
        parameters (the rest need not be grid values; :meth:`suggest` takes them from the
        baseline), but all are listed, so two baselines never look like one.
        """
        family = next(f for f in self.families if f.name == baseline.family)
        values, _ = baseline_params(baseline.params, family, "baseline")
        params: dict[str, Any] = {FAMILY_PARAM: family.name}
        for search in family.params:
            params.update(_encode_param(family.name, search, values[search.name]))
        optimizer = baseline.optimizer or next(iter(self.optimizers))
        params[OPTIMIZER_PARAM] = optimizer
        if baseline.peak_lr is not None and isinstance(
                self.optimizers[optimizer]["peak_lr"], Range):
            params[f"{optimizer}.peak_lr"] = baseline.peak_lr
        if baseline.warmup_frac is not None and isinstance(self.shared["warmup_frac"], Range):
            params["warmup_frac"] = baseline.warmup_frac
        return params

    # -- description ------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """Plain data describing the whole space (stable order; for the fingerprint)."""
        described = {
            "families": {f.name: {p.name: p.as_dict() for p in f.params} for f in self.families},
            "optimizers": {name: {k: _plain(v) for k, v in sorted(s.items())}
                           for name, s in self.optimizers.items()},
            "shared": {k: _plain(v) for k, v in self.shared.items()},
        }
        if self.grid_points is not None:  # only then: other studies keep their fingerprint
            described["grid_points"] = self.grid_points
        return described


class _Draw:
    """A trial's draws: Optuna's own suggestions, or the grid's values in a grid space."""

    def __init__(self, trial: Any, points: int | None) -> None:
        self.trial, self.points = trial, points

    def choice(self, name: str, choices: list[Any]) -> Any:
        return self.trial.suggest_categorical(name, choices)

    def number(self, name: str, value: Any) -> Any:
        """A shared or optimizer number: fixed as it is, or drawn from its Range."""
        if not isinstance(value, Range):
            return value
        return self.real(name, value.low, value.high, value.log)

    def real(self, name: str, low: float, high: float, log: bool = False) -> float:
        if self.points:
            return self.choice(name, grid_values(low, high, log, self.points))
        return self.trial.suggest_float(name, low, high, log=log)

    def integer(self, name: str, low: int, high: int, log: bool = False) -> int:
        if self.points:
            return self.choice(name, grid_ints(low, high, log, self.points))
        return self.trial.suggest_int(name, low, high, log=log)


def _given(baseline: BaselineConfig, family: FamilySearch) -> dict[str, Any]:
    """What a baseline fixes: its family's parameters, ``shared.warmup_frac``, ``opt.peak_lr``."""
    values, _ = baseline_params(baseline.params, family, "baseline")
    if baseline.warmup_frac is not None:
        values["shared.warmup_frac"] = baseline.warmup_frac
    if baseline.peak_lr is not None:
        values["opt.peak_lr"] = baseline.peak_lr
    return values


def _draw_param(draw: _Draw, family: str, search: ParamSearch) -> Any:
    name = f"{family}.{search.name}"
    if search.fixed is not None:
        return search.fixed
    if search.choices is not None:
        return draw.choice(name, list(search.choices))
    if search.kind == "int":
        return draw.integer(name, int(search.low), int(search.high), log=search.log)
    if search.kind == "fractions" and draw.points:
        # One categorical of ascending sets: the grid holds each set of milestones once.
        return tuple(json.loads(draw.choice(name, milestone_sets(search, draw.points))))
    if search.kind == "fractions":
        count = draw.trial.suggest_int(f"{family}.milestone_count", search.min_count,
                                       search.max_count)
        # One-to-one: the first milestone, then each next one a share of the way from the
        # last to ``high``, so every parameter means one thing to the sampler (drawing the
        # positions and sorting them would mix their meanings).
        drawn = [draw.real(f"{family}.milestone_0", search.low, search.high)]
        for i in range(1, count):
            gap = draw.real(f"{family}.milestone_gap_{i}", 0.0, 1.0)
            drawn.append(drawn[-1] + gap * (search.high - drawn[-1]))
        # De-duplicated: the spec needs strictly ascending fractions in (0, 1).
        return [m for m in sorted(set(drawn)) if 0.0 < m < 1.0] or [0.5]
    if search.kind == "knots":
        inner = [draw.real(f"{family}.knot_{i}", search.low, search.high)
                 for i in range(len(search.positions))]
        end = draw.real(f"{family}.knot_end", 0.0, FINAL_KNOT_HIGH)
        return [[0.0, 1.0], *([p, m] for p, m in zip(search.positions, inner)), [1.0, end]]
    return draw.real(name, search.low, search.high, log=search.log)


def _encode_param(family: str, search: ParamSearch, value: Any) -> dict[str, Any]:
    """The Optuna parameters that make :func:`_draw_param` return ``value``."""
    if search.fixed is not None:
        return {}
    if search.kind == "fractions" and search.choices is None:
        encoded = {f"{family}.milestone_count": len(value), f"{family}.milestone_0": value[0]}
        for i in range(1, len(value)):
            room = search.high - value[i - 1]
            encoded[f"{family}.milestone_gap_{i}"] = (
                min(1.0, max(0.0, (value[i] - value[i - 1]) / room)) if room > 0 else 1.0)
        return encoded
    if search.kind == "knots" and search.choices is None:
        encoded = {f"{family}.knot_{i}": m for i, (_, m) in enumerate(value[1:-1])}
        encoded[f"{family}.knot_end"] = value[-1][1]
        return encoded
    if isinstance(value, tuple):
        value = _plain(value)
    return {f"{family}.{search.name}": value}


def _plain(value: Any) -> Any:
    if isinstance(value, Range):
        return value.model_dump()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


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
