"""How the best peak LR moves with the training length, and the winner laid onto the user's own.

The best peak LR falls as the horizon grows at scale (Bjorck et al., ICLR 2025:
``LR*(D) = B * D**-beta``, fitted from short horizons). A study measures its winner's shape
(family, its parameters and the optimizer, all but the peak LR fixed) at several horizons: its
horizon rungs train a schedule whole at shorter lengths, and the horizon sweep
(``lrsearch.search``) trains the winner's shape at a few multiples of its peak LR at two
horizons. At each horizon the best peak LR is the vertex of a parabola in log peak LR through
the values there (an LR trained more than once, a trial and its re-runs, by its mean), when the
best point lies among the LRs tried (bracketed); the trend is a line through those vertices in
log-log, shown as evidence.

The transferred peak LR (:data:`TRANSFER_RULE`) is the one the search found, unless the 95%
interval of the best peak LR at the longest horizon excludes it; then that best. Not the trend
extrapolated: measured against the truth at 4x the length, the trend between a study's short
horizons (tens of steps to a few epochs) pointed the wrong way or too far on every seed of two
workloads, even where its bootstrap interval excluded 0; and moving to the longest horizon's
best where it lies within one training's noise of the found LR gained nothing and added that
noise (docs/horizon-transfer.md). The interval is a bootstrap over the points. A transfer is
refused past what the evidence supports (:func:`supported_epochs`) unless forced, and when the
best LR at a horizon is not bracketed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from lrsearch.errors import LrsearchError
from lrsearch.records._attrs import RUNGS_ATTR
from lrsearch.records._readers import trial_optimizer, trial_schedule
from lrsearch.text import counted

__all__ = ["HorizonPoint", "BestPeakLr", "HorizonFit", "TransferError", "best_peak_lr",
           "fit_horizon", "horizon_points", "same_shape", "supported_epochs",
           "MAX_TRANSFER_FACTOR", "TRANSFER_RULE"]

MAX_TRANSFER_FACTOR = 16
"""The longest transfer, as a multiple of the longest horizon measured, however wide the
evidence (the power law is not log-linear at every scale: arXiv 2606.29158)."""
_BOOTSTRAP_ROUNDS = 200

TRANSFER_RULE = ("the found peak LR, unless the 95% interval of the best one measured at the "
                 "longest horizon excludes it (then that best); the trend is not extrapolated")
"""What ``lrsearch export --epochs N`` lays onto N epochs (``best_schedule.json``: horizon.rule)."""


class TransferError(LrsearchError):
    """The evidence does not support the transfer asked for (the message says why)."""


@dataclass(frozen=True)
class HorizonPoint:
    """One training of the winner's shape: its length, peak LR and final metric value."""

    epochs: int
    peak_lr: float
    value: float
    source: str  # "rung", "trial", "reseed" or "sweep"


@dataclass(frozen=True)
class BestPeakLr:
    """The best peak LR at one horizon: a parabola's vertex when ``bracketed``, else the best
    point's LR (the optimum lies beyond the LRs tried, or they are too few)."""

    epochs: int
    peak_lr: float
    bracketed: bool
    points: int


def best_peak_lr(points: Sequence[HorizonPoint], maximize: bool) -> BestPeakLr:
    """The best peak LR among ``points`` of one horizon (points at one LR, such as a trial and
    its re-runs, count by their mean).

    Example:
        >>> pts = [HorizonPoint(3, lr, -(math.log(lr / 0.1)) ** 2, "sweep")
        ...        for lr in (0.025, 0.05, 0.1, 0.2, 0.4)]
        >>> best = best_peak_lr(pts, maximize=True)
        >>> round(best.peak_lr, 6), best.bracketed
        (0.1, True)
        >>> best_peak_lr(pts[:3], maximize=True).bracketed  # the best is the largest tried
        False
    """
    sign = 1.0 if maximize else -1.0
    by_lr: dict[float, list[float]] = {}
    for point in points:
        by_lr.setdefault(point.peak_lr, []).append(point.value)
    best_lr = max(by_lr, key=lambda lr: sign * float(np.mean(by_lr[lr])))
    epochs = points[0].epochs
    lrs = sorted(by_lr)
    if len(lrs) < 3 or best_lr in (lrs[0], lrs[-1]):
        return BestPeakLr(epochs, best_lr, False, len(points))
    x = np.log([p.peak_lr for p in points])
    y = sign * np.array([p.value for p in points])
    curvature, slope, _ = np.polyfit(x, y, 2)
    if curvature >= 0:  # no maximum: the values do not bend down around the best
        return BestPeakLr(epochs, best_lr, False, len(points))
    vertex = -slope / (2 * curvature)
    if not math.log(lrs[0]) < vertex < math.log(lrs[-1]):
        # The parabola through every LR is pulled past the LRs tried by the far ones, though
        # the best point has a neighbour on each side: the vertex of the three around it.
        at = lrs.index(best_lr)
        near = lrs[at - 1:at + 2]
        curvature, slope, _ = np.polyfit(np.log(near), [sign * float(np.mean(by_lr[lr]))
                                                        for lr in near], 2)
        vertex = min(max(-slope / (2 * curvature), math.log(near[0])), math.log(near[-1]))
    return BestPeakLr(epochs, float(math.exp(vertex)), True, len(points))


def supported_epochs(horizons: Iterable[int]) -> int:
    """The longest training the evidence at ``horizons`` supports a transfer to: beyond the
    longest horizon by the square of their span (twice their distance in log), at most
    :data:`MAX_TRANSFER_FACTOR` times it.

    Example:
        >>> supported_epochs([1, 3]), supported_epochs([3, 10, 30]), supported_epochs([5])
        (27, 480, 5)
    """
    horizons = sorted(set(horizons))
    span = horizons[-1] / horizons[0]
    return int(horizons[-1] * min(MAX_TRANSFER_FACTOR, span ** 2))


@dataclass(frozen=True)
class HorizonFit:
    """The best peak LR per horizon, its trend ``log LR* = intercept - exponent * log
    epochs``, and the transferred peak LR (:data:`TRANSFER_RULE`).

    Attributes:
        best: The best peak LR at each horizon measured, shortest first.
        exponent: ``beta`` of the measured trend, how fast the best peak LR fell with the
            length (negative when it rose).
        intercept: The trend's value at one epoch (log).
        points: Every training the fit rests on.
        rising: The measured trend rose with the length.
        found_lr: The peak LR the search found (None: not known, the longest horizon's best
            is transferred).
        kept_found: The 95% interval of the longest horizon's best holds ``found_lr``, so
            ``found_lr`` is what is transferred.
    """

    best: tuple[BestPeakLr, ...]
    exponent: float
    intercept: float
    points: tuple[HorizonPoint, ...]
    rising: bool = False
    found_lr: float | None = None
    kept_found: bool = False

    def peak_lr(self, epochs: float) -> float:
        """The transferred peak LR for a training of ``epochs`` epochs (:data:`TRANSFER_RULE`),
        whatever ``epochs`` (within :func:`supported_epochs`)."""
        if self.kept_found and self.found_lr is not None:
            return float(self.found_lr)
        return float(self.best[-1].peak_lr)

    def trend_lr(self, epochs: float) -> float:
        """The measured trend at ``epochs`` (evidence for the figure, not the transfer)."""
        return float(math.exp(self.intercept - self.exponent * math.log(epochs)))

    def interval(self, epochs: float, maximize: bool) -> tuple[float, float] | None:
        """The 95% interval of :meth:`peak_lr` by a parametric bootstrap: each horizon's
        values are its parabola's plus normal noise of the residuals' spread, pooled over the
        horizons (one training's noise; a horizon alone has 1-2 degrees of freedom, too few
        to estimate it), the LRs tried staying. A round whose best at a horizon lies at the
        edge of the LRs tried uses that edge, so noise that moves the best out widens the
        interval instead of leaving the round out (None only for a fit of no points). Only
        the longest horizon's best is read (:meth:`peak_lr`), but every horizon's noise is
        drawn, shortest first, so a fit's interval is one fixed stream of draws."""
        rng = np.random.default_rng(0)
        fitted = [_fitted(pts) for pts in _by_horizon(self.points).values()]
        if not fitted:
            return None
        freedom = sum(f[3] for f in fitted)
        spread = math.sqrt(sum(f[2] for f in fitted) / freedom) if freedom else 0.0
        longest, longest_values = fitted[-1][:2]
        found = []
        for _ in range(_BOOTSTRAP_ROUNDS):
            noise = [rng.normal(0.0, spread, len(pts)) for pts, *_ in fitted]
            sample = [HorizonPoint(p.epochs, p.peak_lr, value, p.source)
                      for p, value in zip(longest, longest_values + noise[-1])]
            found.append(best_peak_lr(sample, maximize).peak_lr)
        low, high = np.percentile(found, [2.5, 97.5])
        return float(low), float(high)

    def as_dict(self) -> dict:
        """Plain JSON: the fit and its points (for ``best_schedule.json`` and the report)."""
        return {"rule": TRANSFER_RULE, "kept_found": self.kept_found,
                "exponent": self.exponent, "rising": self.rising,
                "best_peak_lr": [asdict(b) for b in self.best],
                "points": [asdict(p) for p in self.points]}


def _fitted(points: list[HorizonPoint]
            ) -> tuple[list[HorizonPoint], np.ndarray, float, int]:
    """A horizon's points, its parabola's values at them, the residuals' sum of squares and
    their degrees of freedom (three fitted coefficients; none with three points or fewer)."""
    x = np.log([p.peak_lr for p in points])
    y = np.array([p.value for p in points])
    if len(points) <= 3:
        return points, y, 0.0, 0
    values = np.polyval(np.polyfit(x, y, 2), x)
    return points, values, float(np.sum((y - values) ** 2)), len(points) - 3


def _by_horizon(points: Iterable[HorizonPoint]) -> dict[int, list[HorizonPoint]]:
    grouped: dict[int, list[HorizonPoint]] = {}
    for point in points:
        grouped.setdefault(point.epochs, []).append(point)
    return dict(sorted(grouped.items()))


def fit_horizon(points: Iterable[HorizonPoint], maximize: bool, found_lr: float | None = None,
                bootstrap: bool = False) -> HorizonFit:
    """The best peak LR at each horizon, its power-law trend and the transfer.

    ``found_lr``: the search's own peak LR, kept when the longest horizon's 95% interval
    holds it (:data:`TRANSFER_RULE`). ``bootstrap``: an unbracketed best counts at the best
    LR tried instead of being refused (how the rules are scored offline).

    Raises:
        TransferError: Fewer than two horizons, or a horizon whose best peak LR is not
            bracketed by the LRs tried there (the message names it).

    Example:
        >>> pts = [HorizonPoint(h, lr, -(math.log(lr / (0.3 * h ** -0.5))) ** 2, "sweep")
        ...        for h in (1, 3) for lr in (0.05, 0.1, 0.2, 0.4, 0.8)]
        >>> fit = fit_horizon(pts, maximize=True)
        >>> round(fit.exponent, 3), round(fit.trend_lr(12), 4), round(fit.peak_lr(12), 4)
        (0.5, 0.0866, 0.1732)
    """
    points = tuple(points)
    grouped = _by_horizon(points)
    if len(grouped) < 2:
        raise TransferError(f"horizons: got {sorted(grouped) or 'none'} (epochs); a transfer "
                            f"needs the best peak LR at two training lengths at least")
    best = tuple(best_peak_lr(pts, maximize) for pts in grouped.values())
    loose = [b for b in best if not b.bracketed]
    if loose and not bootstrap:
        b = loose[0]
        lrs = sorted({p.peak_lr for p in grouped[b.epochs]})
        raise TransferError(
            f"the best peak LR at {counted(b.epochs, 'epoch')} is not bracketed: the best of "
            f"{len(lrs)} LRs tried ({', '.join(f'{lr:.3g}' for lr in lrs)}) is "
            f"{b.peak_lr:.3g}, at the edge or without a peak around it; widen "
            f"horizon_sweep.lr_factors")
    slope, intercept = np.polyfit(np.log([b.epochs for b in best]),
                                  np.log([b.peak_lr for b in best]), 1)
    fit = HorizonFit(best, float(-slope), float(intercept), points, bool(slope > 0))
    if found_lr is None:
        return fit
    interval = fit.interval(best[-1].epochs, maximize)
    kept = interval is not None and interval[0] <= found_lr <= interval[1]
    return dataclasses.replace(fit, found_lr=float(found_lr), kept_found=kept)


def _shape(trial: Any) -> str | None:
    schedule, optimizer = trial_schedule(trial), trial_optimizer(trial)
    if schedule is None or optimizer is None:
        return None
    spec = {k: v for k, v in schedule.items() if k not in ("peak_lr", "total_steps")}
    return json.dumps([spec, optimizer], sort_keys=True)


def same_shape(trial: Any, other: Any) -> bool:
    """Whether two trials ran one schedule shape: the same family, parameters, warm-up and
    optimizer settings, whatever their peak LR and length."""
    return _shape(trial) is not None and _shape(trial) == _shape(other)


def horizon_points(trials: Iterable[FrozenTrial], winner: FrozenTrial, epochs: int,
                   sweep: dict[str, Any] | None,
                   reseeds: Mapping[int, Mapping[int, float]] | None = None
                   ) -> list[HorizonPoint]:
    """What a study measured of ``winner``'s shape: the horizon rungs and final values of
    every trial of that shape (``epochs``: the study's training length), their re-runs with
    other training seeds (``reseeds``, :func:`~lrsearch.records.reseed_runs`: the winner's own
    value was picked for being the best, its re-runs were not, so they temper its luck), and
    the horizon sweep stored for the winner (``HORIZON_SWEEP_ATTR``), if any."""
    points = []
    for trial in trials:
        if not same_shape(trial, winner):
            continue
        peak_lr = float(trial_schedule(trial)["peak_lr"])
        for rung in trial.user_attrs.get(RUNGS_ATTR) or []:
            if rung.get("value") is not None and math.isfinite(rung["value"]):
                points.append(HorizonPoint(int(rung["epochs"]), peak_lr, float(rung["value"]),
                                           "rung"))
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            points.append(HorizonPoint(epochs, peak_lr, float(trial.value), "trial"))
            points += [HorizonPoint(epochs, peak_lr, float(value), "reseed")
                       for _, value in sorted((reseeds or {}).get(trial.number, {}).items())
                       if math.isfinite(value)]
    if sweep and sweep.get("trial") == winner.number:
        points += [HorizonPoint(int(p["epochs"]), float(p["peak_lr"]), float(p["value"]),
                                "sweep") for p in sweep.get("points") or []]
    return points
