"""Priors: schedules the field knows work, queued as a search's first ordinary trials.

Linear decay to zero (budgeted training) and warmup-stable-decay with a 20% cooldown (Hägele
et al. 2024), at the optimizer's typical peak LR (the registry's): a search of 20-100 trials
that starts there spends its first trials where good schedules are, and the sampler learns from
them as from any trial. Unlike baselines they are points of the search space that can be
pruned; a prior whose family is not searched, or whose values the space cannot sample, is left
out. Measured effect: docs/search_quality.md.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import optuna

from lrsearch.config import BaselineConfig, Range, StudyConfig, baseline_params
from lrsearch.optimizers import get_optimizer
from lrsearch.records import PRIOR_ATTR
from lrsearch.search._space import SearchSpace

__all__ = ["PRIORS", "enqueue_priors", "prior_points", "uses_priors"]

PRIORS = (
    ("linear-to-zero", "linear", {"final_ratio": 0.0}),
    ("wsd-20", "wsd", {"decay_frac": 0.2, "final_ratio": 0.0, "decay_shape": "linear"}),
)
"""``(name, family, params)``: the first optimizer gets each, every other one the first."""


def uses_priors(config: StudyConfig) -> bool:
    """``sampler.priors``, or when left out: on for the model-based samplers (tpe, gp, cmaes),
    off for random, qmc and grid (they promise to draw every point themselves)."""
    if config.sampler.priors is not None:
        return config.sampler.priors
    return config.sampler.name in ("tpe", "gp", "cmaes")


def prior_points(space: SearchSpace) -> list[BaselineConfig]:
    """The priors ``space`` can run, as points of it (values it leaves out are sampled)."""
    families = {f.name: f for f in space.families}
    points = []
    for index, optimizer in enumerate(space.optimizers):
        for name, family, params in PRIORS[:1] if index else PRIORS:
            if family not in families or baseline_params(params, families[family], "")[1]:
                continue
            points.append(BaselineConfig(
                name=f"{name} ({optimizer})", family=family, params=params,
                peak_lr=_peak_lr(optimizer, space.optimizers[optimizer]["peak_lr"]),
                warmup_frac=_no_warmup(space.shared["warmup_frac"]), optimizer=optimizer))
    return points


def _peak_lr(optimizer: str, searched: Any) -> float | None:
    """The typical peak LR when the range holds it, else the range's geometric middle; None
    (sampled) for a fixed peak LR."""
    if not isinstance(searched, Range):
        return None
    typical = get_optimizer(optimizer).typical_peak_lr
    if searched.low <= typical <= searched.high:
        return typical
    if searched.log:
        return math.sqrt(searched.low * searched.high)
    return (searched.low + searched.high) / 2


def _no_warmup(searched: Any) -> float | None:
    return 0.0 if isinstance(searched, Range) and searched.low <= 0.0 else None


def enqueue_priors(study: optuna.Study, space: SearchSpace) -> None:
    """Queue the priors not queued yet (a set-up taken over may find some queued)."""
    queued = {t.user_attrs.get(PRIOR_ATTR) for t in study.get_trials(deepcopy=False)}
    for point in prior_points(space):
        if point.name in queued:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            study.enqueue_trial(space.baseline_params(point),
                                user_attrs={PRIOR_ATTR: point.name})
