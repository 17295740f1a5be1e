"""The report's horizon evidence: for each top schedule shape, the best peak LR at each
horizon the study measured, their power-law trend, and the transferred peak LR with its interval
at the target length.

Plain data only; ``_horizon_figure.py`` draws it (:mod:`lrsearch.records._horizon` fits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from lrsearch.records import (
    HORIZON_SWEEP_ATTR,
    BestPeakLr,
    HorizonFit,
    TransferError,
    best_peak_lr,
    fit_horizon,
    horizon_points,
    reseed_runs,
    same_shape,
    supported_epochs,
    trial_family,
    trial_optimizer,
    trial_schedule,
)

__all__ = ["HorizonLine", "extract_horizons"]

MIN_LRS = 3  # distinct peak LRs at a horizon before its best one means anything


@dataclass
class HorizonLine:
    """One schedule shape's best peak LR against the training length.

    Attributes:
        label: ``#N family optimizer`` of the top trial of that shape.
        best: The best peak LR at each horizon measured with at least ``MIN_LRS`` LRs.
        fit: The trend and the transfer (:class:`~lrsearch.records.HorizonFit`), or None
            (``note`` says why).
        target_epochs: The study's ``target_epochs``, or None.
        interval: The fit's 95% interval at ``target_epochs``, or None.
        supported_epochs: The longest training the evidence supports a transfer to.
        found: ``(epochs, peak LR)`` the trial was found with: the study's length, its LR.
        note: Why there is no fit, when there is none.
    """

    label: str
    best: list[BestPeakLr]
    fit: HorizonFit | None
    target_epochs: int | None
    interval: tuple[float, float] | None
    supported_epochs: int | None
    found: tuple[int, float] | None = None
    note: str = ""


def extract_horizons(ranked: Sequence[FrozenTrial], all_trials: Sequence[FrozenTrial],
                     attrs: dict[str, Any], epochs: int | None, maximize: bool
                     ) -> list[HorizonLine]:
    """A line per distinct shape among the ``ranked`` top trials that was measured at two
    horizons or more with enough peak LRs (the winner's horizon sweep makes one)."""
    if not epochs:
        return []
    target = (attrs.get(HORIZON_SWEEP_ATTR) or {}).get("target_epochs")
    lines: list[HorizonLine] = []
    shown: list[FrozenTrial] = []
    for trial in ranked:
        if any(same_shape(trial, other) for other in shown):
            continue
        shown.append(trial)
        points = horizon_points(all_trials, trial, epochs, attrs.get(HORIZON_SWEEP_ATTR),
                                reseed_runs(attrs))
        by_horizon: dict[int, list] = {}
        for point in points:
            by_horizon.setdefault(point.epochs, []).append(point)
        measured = {h: pts for h, pts in by_horizon.items()
                    if len({p.peak_lr for p in pts}) >= MIN_LRS}
        if len(measured) < 2:
            continue
        best = [best_peak_lr(measured[h], maximize) for h in sorted(measured)]
        optimizer = (trial_optimizer(trial) or {}).get("name", "?")
        label = f"#{trial.number} {trial_family(trial)} {optimizer}"
        found = (epochs, float(trial_schedule(trial)["peak_lr"]))
        try:
            fit = fit_horizon([p for pts in measured.values() for p in pts], maximize,
                              found_lr=found[1])
        except TransferError as exc:
            lines.append(HorizonLine(label, best, None, target, None, None, found, str(exc)))
            continue
        interval = fit.interval(target, maximize) if target else None
        lines.append(HorizonLine(label, best, fit, target, interval,
                                 supported_epochs(b.epochs for b in fit.best), found))
    return lines
