"""The last searched trials spent on the incumbent's peak LR (``sampler.polish_trials``).

A search across families, shapes and optimizers finds a good schedule with a peak LR that is
only as close as its few draws near it; within one schedule, the peak LR is what matters most.
So the last ``polish_trials`` trials of the budget run the incumbent (the best complete searched
trial so far) at another peak LR, all its other values kept: half of it, twice it, then the
half-steps (x0.71, x1.41), the first not tried yet and inside the searched range. The incumbent
is taken again before each, so a polish trial that wins moves the next one further that way.
They are searched trials the sampler learns from and re-runs when they reach the top, except that
they are never pruned: they differ from the incumbent in the peak LR alone, and a shorter horizon
favours a higher one, so only the full length compares them. Each carries its origin in
``POLISH_ATTR``. Measured effect: docs/search_quality.md.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.config import MODEL_BASED_SAMPLERS, Range, SamplerConfig
from lrsearch.records import OPTIMIZER_PARAM, POLISH_ATTR, is_baseline
from lrsearch.search._space import SearchSpace

__all__ = ["DEFAULT_POLISH_TRIALS", "POLISH_FACTORS", "enqueue_polish", "polish_count",
           "polish_point", "polish_trials"]

DEFAULT_POLISH_TRIALS = 1
"""Polish trials of a model-based sampler's study that leaves ``polish_trials`` out (one, in
place of the third re-run the default ``reseed`` used to have: docs/search_quality.md, run 9)."""

POLISH_FACTORS = (0.5, 2.0, 2 ** -0.5, 2 ** 0.5)
"""Multiples of the incumbent's peak LR a polish trial tries, in this order."""

_SAME_LR = math.log(1.15)  # peak LRs closer than this (in log) count as already tried
_TRIED = tuple(TrialState)  # a failed point too: its retry, if any, is queued already


def polish_trials(config: SamplerConfig) -> int:
    """``polish_trials``, or when left out: :data:`DEFAULT_POLISH_TRIALS` for the model-based
    samplers (tpe, gp, cmaes), 0 for random, qmc and grid (they promise to draw every point
    themselves)."""
    if config.polish_trials is not None:
        return config.polish_trials
    return DEFAULT_POLISH_TRIALS if config.name in MODEL_BASED_SAMPLERS else 0


def _lr_param(trial: FrozenTrial) -> str | None:
    """The name of the trial's searched peak-LR parameter, or None (a fixed peak LR)."""
    name = f"{trial.params.get(OPTIMIZER_PARAM)}.peak_lr"
    return name if name in trial.params else None


def _incumbent(trials: list[FrozenTrial], maximize: bool) -> FrozenTrial | None:
    """The best complete searched trial (a searched peak LR, not a baseline), or None."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
                and math.isfinite(t.value) and not is_baseline(t) and _lr_param(t)]
    if not complete:
        return None
    sign = -1.0 if maximize else 1.0
    return min(complete, key=lambda t: (sign * t.value, t.number))


def polish_point(study: optuna.Study, space: SearchSpace) -> dict[str, Any] | None:
    """The next polish trial's parameters and origin, or None when there is none to run.

    Returns ``{"params": ..., "origin": {"trial": N, "factor": f}}``: the incumbent's
    parameters with its peak LR times the first of :data:`POLISH_FACTORS` that lies inside
    the searched range and that no trial of the same schedule and optimizer has tried.
    """
    trials = study.get_trials(deepcopy=False)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = _incumbent(trials, maximize)
    if best is None:
        return None
    lr_name = _lr_param(best)
    searched = space.optimizers[best.params[OPTIMIZER_PARAM]]["peak_lr"]
    if not isinstance(searched, Range):
        return None
    shape = {k: v for k, v in best.params.items() if k != lr_name}
    tried = [t.params[lr_name] for t in trials if t.state in _TRIED and lr_name in t.params
             and {k: v for k, v in t.params.items() if k != lr_name} == shape]
    lr = best.params[lr_name]
    for factor in POLISH_FACTORS:
        new_lr = lr * factor
        if not searched.low <= new_lr <= searched.high:
            continue
        if any(abs(math.log(new_lr / old)) < _SAME_LR for old in tried if old > 0):
            continue
        return {"params": {**best.params, lr_name: new_lr},
                "origin": {"trial": best.number, "factor": round(factor, 4)}}
    return None


def polish_count(study: optuna.Study, n_trials: int | None = None) -> int:
    """Polish trials queued so far for a budget of ``n_trials`` (a study resumed with more
    trials polishes again at its new end); a failed one is not counted (its retry, queued
    with the same attributes, is)."""
    return sum(POLISH_ATTR in t.user_attrs and t.state != TrialState.FAIL
               and t.user_attrs[POLISH_ATTR].get("n_trials") == n_trials
               for t in study.get_trials(deepcopy=False))


def enqueue_polish(study: optuna.Study, space: SearchSpace, polish_trials: int,
                   n_trials: int | None = None) -> bool:
    """Queue the next polish trial of the budget of ``n_trials`` while fewer than
    ``polish_trials`` were queued for it; whether one was (none: those are spent, or no point
    is left to try). Workers that reach the budget's end together may queue one each (the
    check and the queueing are not one transaction): a polish trial more, never a trial more."""
    if polish_count(study, n_trials) >= polish_trials:
        return False
    point = polish_point(study, space)
    if point is None:
        return False
    before = polish_count(study, n_trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # Another worker may have queued the same point a moment ago: then none is added.
        study.enqueue_trial(point["params"], skip_if_exists=True,
                            user_attrs={POLISH_ATTR: {**point["origin"], "n_trials": n_trials}})
    return polish_count(study, n_trials) > before
