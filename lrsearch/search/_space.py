"""The search space: a checked study config turned into Optuna suggestions, and back.

Optuna parameter names are namespaced so distributions never clash between families or
optimizers (STYLE.md trap 4): ``family`` and ``optimizer`` are categoricals, a family's
parameters are ``cosine.final_ratio``, an optimizer's are ``sgd.peak_lr``; ``warmup_frac``,
``warmup_start`` and ``head_lr_mult`` are shared. ``multistep.milestones`` becomes
``multistep.milestone_count`` plus ``multistep.milestone_0..``; ``piecewise.knots`` becomes one
multiplier per fixed position (``piecewise.knot_0..``) plus ``piecewise.knot_end``. Fixed
values are not Optuna parameters; they are in each trial's ``schedule`` and ``optimizer``
attributes.
"""

from __future__ import annotations

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
from lrsearch.schedules import ScheduleSpec, get_family

__all__ = ["SearchSpace", "PLACEHOLDER_TOTAL_STEPS"]

PLACEHOLDER_TOTAL_STEPS = 1000
"""``total_steps`` of a sampled spec; training lays the spec onto its real step count."""

_OPTIMIZER_NUMBERS = ("peak_lr", "weight_decay", "momentum", "beta1", "beta2", "eps",
                      "lookahead_alpha")
_SHARED = ("warmup_frac", "warmup_start", "head_lr_mult")
# Not sampled for families that warm up by themselves (FamilyInfo.warms_up_itself).
_WARMUP = ("warmup_frac", "warmup_start")


@dataclass(frozen=True)
class SearchSpace:
    """The resolved search space of a study.

    Attributes:
        families: Each searched family and how its parameters are searched.
        optimizers: ``name -> {setting: fixed value or Range}`` (unset settings are absent and
            keep the optimizer's defaults).
        shared: ``warmup_frac``, ``warmup_start`` and ``head_lr_mult``: fixed value or Range.
    """

    families: tuple[FamilySearch, ...]
    optimizers: dict[str, dict[str, Any]]
    shared: dict[str, Any]

    @classmethod
    def from_config(cls, config: StudyConfig) -> SearchSpace:
        """The search space of a checked study config."""
        space = config.search_space
        families, _ = resolve_families(space.families, "search_space.families")
        optimizers = {}
        for name, opt in optimizer_space(config).items():
            settings = opt.model_dump(exclude_none=True)
            settings = {key: getattr(opt, key) for key in settings}
            settings.setdefault("peak_lr", space.peak_lr)
            settings.setdefault("weight_decay", space.weight_decay)
            optimizers[name] = settings
        shared = {name: getattr(space, name) for name in _SHARED}
        return cls(tuple(families), optimizers, shared)

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
        return SearchSpace(self.families, optimizers, self.shared)

    # -- sampling ---------------------------------------------------------------------------

    def suggest(self, trial: Any) -> tuple[ScheduleSpec, dict[str, Any]]:
        """Sample a trial: ``(spec, optimizer settings as a dict)``; the spec is always valid."""
        family_name = trial.suggest_categorical("family", [f.name for f in self.families])
        family = next(f for f in self.families if f.name == family_name)
        params = {p.name: _suggest_param(trial, family.name, p) for p in family.params}
        own_warmup = get_family(family_name).warms_up_itself
        shared = {name: _suggest_number(trial, name, value) for name, value in
                  self.shared.items() if not (name in _WARMUP and own_warmup)}
        shared.setdefault("warmup_frac", 0.0)
        shared.setdefault("warmup_start", 0.0)
        opt_name = trial.suggest_categorical("optimizer", list(self.optimizers))
        if self.optimizers[opt_name]["peak_lr"] == AUTO:
            raise StudyError(f"search_space: the peak_lr of {opt_name!r} is auto and was not "
                             f"set by a range test yet; open the study with open_study")
        settings = {key: _suggest_number(trial, f"{opt_name}.{key}", value)
                    if key in _OPTIMIZER_NUMBERS else value
                    for key, value in self.optimizers[opt_name].items()}
        peak_lr = settings.pop("peak_lr")
        spec = ScheduleSpec(family_name, peak_lr=peak_lr, total_steps=PLACEHOLDER_TOTAL_STEPS,
                            warmup_frac=shared["warmup_frac"],
                            warmup_start=shared["warmup_start"], params=params)
        return spec, {"name": opt_name, "head_lr_mult": shared["head_lr_mult"], **settings}

    def baseline_params(self, baseline: BaselineConfig) -> dict[str, Any]:
        """The Optuna parameters that make a trial run ``baseline`` (for ``enqueue_trial``).

        Values the baseline leaves out (``peak_lr``, ``warmup_frac``) are not fixed, so the
        sampler draws them.
        """
        family = next(f for f in self.families if f.name == baseline.family)
        values, _ = baseline_params(baseline.params, family, "baseline")
        params: dict[str, Any] = {"family": family.name}
        for search in family.params:
            params.update(_encode_param(family.name, search, values[search.name]))
        optimizer = baseline.optimizer or next(iter(self.optimizers))
        params["optimizer"] = optimizer
        if baseline.peak_lr is not None and isinstance(
                self.optimizers[optimizer]["peak_lr"], Range):
            params[f"{optimizer}.peak_lr"] = baseline.peak_lr
        if baseline.warmup_frac is not None and isinstance(self.shared["warmup_frac"], Range):
            params["warmup_frac"] = baseline.warmup_frac
        return params

    # -- description ------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """Plain data describing the whole space (stable order; for the fingerprint)."""
        return {
            "families": {f.name: {p.name: p.as_dict() for p in f.params} for f in self.families},
            "optimizers": {name: {k: _plain(v) for k, v in sorted(s.items())}
                           for name, s in self.optimizers.items()},
            "shared": {k: _plain(v) for k, v in self.shared.items()},
        }

    def grid(self, points: int) -> dict[str, list[Any]]:
        """Every Optuna parameter with ``points`` values per searched number (GridSampler)."""
        grid: dict[str, list[Any]] = {"family": [f.name for f in self.families],
                                      "optimizer": list(self.optimizers)}
        for family in self.families:
            for search in family.params:
                grid.update(_grid_param(family.name, search, points))
        for name, value in self.shared.items():
            if isinstance(value, Range):
                grid[name] = _grid_values(value.low, value.high, value.log, points)
        for opt_name, settings in self.optimizers.items():
            for key, value in settings.items():
                if isinstance(value, Range):
                    grid[f"{opt_name}.{key}"] = _grid_values(value.low, value.high, value.log,
                                                             points)
        return grid


def _suggest_number(trial: Any, name: str, value: Any) -> Any:
    if isinstance(value, Range):
        return trial.suggest_float(name, value.low, value.high, log=value.log)
    return value


def _suggest_param(trial: Any, family: str, search: ParamSearch) -> Any:
    name = f"{family}.{search.name}"
    if search.fixed is not None:
        return search.fixed
    if search.choices is not None:
        return trial.suggest_categorical(name, list(search.choices))
    if search.kind == "int":
        return trial.suggest_int(name, int(search.low), int(search.high), log=search.log)
    if search.kind == "fractions":
        count = trial.suggest_int(f"{family}.milestone_count", search.min_count,
                                  search.max_count)
        drawn = [trial.suggest_float(f"{family}.milestone_{i}", search.low, search.high)
                 for i in range(count)]
        # Sorted and de-duplicated: the spec needs strictly ascending fractions in (0, 1).
        return [m for m in sorted(set(drawn)) if 0.0 < m < 1.0] or [0.5]
    if search.kind == "knots":
        inner = [trial.suggest_float(f"{family}.knot_{i}", search.low, search.high)
                 for i in range(len(search.positions))]
        end = trial.suggest_float(f"{family}.knot_end", 0.0, FINAL_KNOT_HIGH)
        return [[0.0, 1.0], *([p, m] for p, m in zip(search.positions, inner)), [1.0, end]]
    return trial.suggest_float(name, search.low, search.high, log=search.log)


def _encode_param(family: str, search: ParamSearch, value: Any) -> dict[str, Any]:
    """The Optuna parameters that make :func:`_suggest_param` return ``value``."""
    if search.fixed is not None:
        return {}
    if search.kind == "fractions" and search.choices is None:
        encoded = {f"{family}.milestone_count": len(value)}
        encoded.update({f"{family}.milestone_{i}": m for i, m in enumerate(value)})
        return encoded
    if search.kind == "knots" and search.choices is None:
        encoded = {f"{family}.knot_{i}": m for i, (_, m) in enumerate(value[1:-1])}
        encoded[f"{family}.knot_end"] = value[-1][1]
        return encoded
    if isinstance(value, tuple):
        value = _plain(value)
    return {f"{family}.{search.name}": value}


def _grid_values(low: float, high: float, log: bool, points: int) -> list[float]:
    if low == high:
        return [low]
    if log:
        ratio = math.log(high / low)
        return [low * math.exp(ratio * i / (points - 1)) for i in range(points)]
    return [low + (high - low) * i / (points - 1) for i in range(points)]


def _grid_param(family: str, search: ParamSearch, points: int) -> dict[str, list[Any]]:
    if search.fixed is not None:
        return {}
    if search.choices is not None:
        return {f"{family}.{search.name}": list(search.choices)}
    if search.kind == "int":
        values = _grid_values(search.low, search.high, search.log, points)
        return {f"{family}.{search.name}": sorted({round(v) for v in values})}
    if search.kind == "fractions":
        grid = {f"{family}.milestone_count": list(range(search.min_count,
                                                        search.max_count + 1))}
        values = _grid_values(search.low, search.high, False, points)
        grid.update({f"{family}.milestone_{i}": values for i in range(search.max_count)})
        return grid
    if search.kind == "knots":
        values = _grid_values(search.low, search.high, False, points)
        grid = {f"{family}.knot_{i}": values for i in range(len(search.positions))}
        grid[f"{family}.knot_end"] = _grid_values(0.0, FINAL_KNOT_HIGH, False, points)
        return grid
    return {f"{family}.{search.name}": _grid_values(search.low, search.high, search.log,
                                                    points)}


def _plain(value: Any) -> Any:
    if isinstance(value, Range):
        return value.model_dump()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
