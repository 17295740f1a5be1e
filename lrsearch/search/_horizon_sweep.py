"""The horizon sweep: the winner's shape at a few peak LRs at two horizons, for ``target_epochs``.

A study trains schedules for ``training.epochs``; the user trains the winner for longer. How
its best peak LR moves with the length is measured here, once the study is done: the winner's
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
    reseed_runs,
    set_study_record,
    study_records,
    trial_optimizer,
    trial_schedule,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search._pruners import horizon_epochs
from lrsearch.text import counted

__all__ = ["sweep_horizons", "sweep_epochs", "short_horizon"]

FULL_TRAININGS_BUDGET = 8  # max_epochs left out: this many full trainings at most


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
    """The most epochs the sweep may train (``horizon_sweep.max_epochs``, default eight full
    trainings)."""
    given = config.horizon_sweep.max_epochs
    return given if given is not None else FULL_TRAININGS_BUDGET * config.training.epochs


def sweep_horizons(study: optuna.Study, config: StudyConfig, data: Any,
                   on_run: Callable[[str], None] | None = None) -> float:
    """Train what the sweep of the study's winner still lacks; return the epochs trained.

    At each horizon: the planned factors, then, while the best LR there is the smallest or
    the largest tried, one more at half the smallest or twice the largest (up to
    ``MAX_EXTENSIONS``), so the best is bracketed where the budget allows. A training that
    diverges is stored as diverged (no value): the fit leaves it out, and the LRs above it
    are not tried.
    """
    trials = study.get_trials(deepcopy=False)
    ranked = rank_complete(trials, study_records(study), config.direction == "maximize")
    if not ranked or trial_schedule(ranked[0]) is None:
        return 0.0
    sweep = _Sweep(study, config, data, ranked[0], trials, on_run)
    for epochs in (short_horizon(config), config.training.epochs):
        for factor in sorted({1.0, *config.horizon_sweep.lr_factors}):
            if not sweep.train(epochs, sweep.spec.peak_lr * factor):
                return sweep.trained  # horizon_sweep.max_epochs: what is stored is the evidence
        for _ in range(MAX_EXTENSIONS):
            beyond = sweep.beyond_edge(epochs)
            if beyond is None:
                break
            if not sweep.train(epochs, beyond):
                return sweep.trained
    return sweep.trained


MAX_EXTENSIONS = 3  # LRs added beyond the edge at one horizon, at most


class _Sweep:
    """The stored sweep of one winner, and training one of its points."""

    def __init__(self, study: optuna.Study, config: StudyConfig, data: Any,
                 winner: Any, trials: list, on_run: Callable[[str], None] | None) -> None:
        self.study, self.config, self.data, self.winner = study, config, data, winner
        self.trials, self.on_run, self.trained = trials, on_run, 0.0
        records = study_records(study)
        self.reseeds = reseed_runs(records)  # done before the sweep: the winner is named by them
        stored = dict(records.get(HORIZON_SWEEP_ATTR) or {})
        if stored.get("trial") != winner.number:  # a new winner: its own sweep
            stored = {"trial": winner.number, "points": [], "diverged": [],
                      "epochs_trained": 0.0}
        stored["target_epochs"] = config.target_epochs
        self.stored = stored
        self.spec = ScheduleSpec.from_dict(trial_schedule(winner))
        self.optimizer = OptimizerSettings(**(trial_optimizer(winner) or {}))
        set_study_record(study, HORIZON_SWEEP_ATTR, stored)

    def _values(self, epochs: int) -> dict[float, float]:
        """Peak LR -> value of what is known at ``epochs`` (the sweep's and the study's; an LR
        trained more than once, a trial and its re-runs, by its mean)."""
        known: dict[float, list[float]] = {}
        for point in horizon_points(self.trials, self.winner, self.config.training.epochs,
                                    self.stored, self.reseeds):
            if point.epochs == epochs:
                known.setdefault(_key(point.peak_lr), []).append(point.value)
        return {lr: sum(values) / len(values) for lr, values in known.items()}

    def _diverged(self, epochs: int) -> set[float]:
        return {_key(d["peak_lr"]) for d in self.stored["diverged"] if d["epochs"] == epochs}

    def beyond_edge(self, epochs: int) -> float | None:
        """The next LR outward when the best at ``epochs`` is at the edge of those tried."""
        values = self._values(epochs)
        if len(values) < 2:
            return None
        sign = 1.0 if self.config.direction == "maximize" else -1.0
        best = max(values, key=lambda lr: sign * values[lr])
        diverged = self._diverged(epochs)
        if best == min(values):
            return best / 2
        if best == max(values) and not any(lr > best for lr in diverged):
            return best * 2
        return None

    def train(self, epochs: int, peak_lr: float) -> bool:
        """Train one point unless it is known; False when the budget has no room for it."""
        from lrsearch.train import train

        if _key(peak_lr) in self._values(epochs) or _key(peak_lr) in self._diverged(epochs):
            return True
        if self.stored["epochs_trained"] + epochs > sweep_epochs(self.config) + 1e-9:
            return False
        if self.on_run is not None:
            self.on_run(f"horizon sweep: trial {self.winner.number}'s schedule at peak LR "
                        f"{peak_lr:.3g} (x{peak_lr / self.spec.peak_lr:.3g}) for "
                        f"{counted(epochs, 'epoch')}")
        try:
            result = train(dataclasses.replace(self.spec, peak_lr=peak_lr), self.optimizer,
                           self.config.train_settings(epochs=epochs), self.data)
            self.stored["points"].append({"epochs": epochs, "peak_lr": peak_lr, "value": float(
                getattr(result.epochs[-1], self.config.metric))})
        except DivergedError:
            self.stored["diverged"].append({"epochs": epochs, "peak_lr": peak_lr})
        self.stored["epochs_trained"] += epochs
        self.trained += epochs
        set_study_record(self.study, HORIZON_SWEEP_ATTR, self.stored)  # each point as it comes
        return True


def _key(peak_lr: float) -> float:
    """Peak LRs equal to 9 significant digits are one point."""
    return float(f"{peak_lr:.9g}") if math.isfinite(peak_lr) else peak_lr
