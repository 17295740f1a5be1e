"""The horizon sweep: the winner's shape at a few peak LRs at two horizons, for ``target_epochs``.

A study trains schedules for ``training.epochs``; the user trains the winner for longer. How
its best peak LR falls with the length is measured here, once the study is done: the winner's
spec (family, parameters, warm-up, optimizer fixed) at ``horizon_sweep.lr_factors`` times its
peak LR, at the study's shortest horizon and at its full length, each one training with the
search's seed. What the study already measured of that shape (horizon rungs, the winner itself
at factor 1) is not trained again. The points are stored (``HORIZON_SWEEP_ATTR``);
``lrsearch export --epochs N`` fits them (:mod:`lrsearch.records._horizon`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import optuna

from lrsearch.config import StudyConfig, pruning_policy
from lrsearch.errors import DivergedError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import (
    HORIZON_SWEEP_ATTR,
    horizon_points,
    rank_complete,
    set_study_record,
    study_records,
    trial_optimizer,
    trial_schedule,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search._pruners import horizon_epochs
from lrsearch.text import counted

__all__ = ["sweep_horizons", "sweep_epochs", "short_horizon"]

FULL_TRAININGS_BUDGET = 6  # max_epochs left out: this many full trainings at most


def short_horizon(config: StudyConfig) -> int:
    """The shorter horizon of the sweep: the study's shortest horizon rung, else a third of
    its epochs (at least one).

    Example:
        >>> from lrsearch.config import parse_study
        >>> short_horizon(parse_study({"name": "d", "training": {"epochs": 30}}))
        3
    """
    epochs = config.training.epochs
    if pruning_policy(config.pruner.name).rungs:
        return horizon_epochs(epochs, config.pruner.reduction_factor)[0]
    return max(1, round(epochs / 3))


def sweep_epochs(config: StudyConfig) -> float:
    """The most epochs the sweep may train (``horizon_sweep.max_epochs``, default six full
    trainings)."""
    given = config.horizon_sweep.max_epochs
    return given if given is not None else FULL_TRAININGS_BUDGET * config.training.epochs


def sweep_horizons(study: optuna.Study, config: StudyConfig, data: Any,
                   on_run: Callable[[str], None] | None = None) -> float:
    """Train what the sweep of the study's winner still lacks; return the epochs trained.

    A training that diverges is stored as diverged (no value): the fit leaves it out, and the
    best peak LR is then bracketed by the LRs that trained.
    """
    from lrsearch.train import train

    trials = study.get_trials(deepcopy=False)
    ranked = rank_complete(trials, study_records(study), config.direction == "maximize")
    if not ranked or trial_schedule(ranked[0]) is None:
        return 0.0
    winner = ranked[0]
    stored = dict(study_records(study).get(HORIZON_SWEEP_ATTR) or {})
    if stored.get("trial") != winner.number:  # a new winner: its own sweep
        stored = {"trial": winner.number, "points": [], "diverged": [], "epochs_trained": 0.0}
    stored["target_epochs"] = config.target_epochs
    spec = ScheduleSpec.from_dict(trial_schedule(winner))
    optimizer = OptimizerSettings(**(trial_optimizer(winner) or {}))
    known = {(p.epochs, _key(p.peak_lr)) for p in
             horizon_points(trials, winner, config.training.epochs, stored)}
    known |= {(int(d["epochs"]), _key(d["peak_lr"])) for d in stored["diverged"]}
    set_study_record(study, HORIZON_SWEEP_ATTR, stored)
    budget, trained = sweep_epochs(config), 0.0
    for epochs in (short_horizon(config), config.training.epochs):
        for factor in sorted({1.0, *config.horizon_sweep.lr_factors}):
            peak_lr = spec.peak_lr * factor
            if (epochs, _key(peak_lr)) in known:
                continue
            if stored["epochs_trained"] + epochs > budget + 1e-9:
                return trained  # horizon_sweep.max_epochs: what is stored is the evidence
            if on_run is not None:
                on_run(f"horizon sweep: trial {winner.number}'s schedule at peak LR "
                       f"{peak_lr:.3g} (x{factor:g}) for {counted(epochs, 'epoch')}")
            try:
                result = train(dataclasses.replace(spec, peak_lr=peak_lr), optimizer,
                               config.train_settings(epochs=epochs), data)
                stored["points"].append({"epochs": epochs, "peak_lr": peak_lr, "value": float(
                    getattr(result.epochs[-1], config.metric))})
            except DivergedError:
                stored["diverged"].append({"epochs": epochs, "peak_lr": peak_lr})
            stored["epochs_trained"] += epochs
            trained += epochs
            set_study_record(study, HORIZON_SWEEP_ATTR, stored)  # each point as it comes
    return trained


def _key(peak_lr: float) -> float:
    """Peak LRs equal to 9 significant digits are one point."""
    return float(f"{peak_lr:.9g}") if math.isfinite(peak_lr) else peak_lr
