"""Score the transfer rule against the truth: shards of ``horizon_transfer.py --truth``.

A shard keeps every point the fit reads (``points``) and the winner trained at 4T at several
multiples of its found peak LR (``truth``, plus x1 = stretched and the transferred multiple).
For each seed this prints the best peak LR per horizon, the multiple each rule picks and the
4T test accuracy there, interpolated in log LR between the trained multiples (held flat beyond
them), minus stretched:

* ``slope``: the trend through the best peak LR per horizon extrapolated to 4T (the rule until
  2026-12-04, where the best fell);
* ``longest``: the best peak LR at the longest horizon (the rule from 2026-12-04);
* ``interval``: the found peak LR, unless the 95% interval of the best at the longest horizon
  (:meth:`~lrsearch.records.HorizonFit.interval`) excludes it; then ``longest``.

Usage::

    python bench/horizon_rules.py bench/results/horizon/home-truth-s*.pkl
"""

from __future__ import annotations

import math
import pickle
import statistics
import sys

import numpy as np

from lrsearch.records import HorizonPoint, fit_horizon

MULTIPLE = 4  # the truth is trained at 4T


def curve(row: dict) -> dict[float, float]:
    """Test accuracy at 4T by multiple of the found peak LR, every multiple trained."""
    arm = row["arms"][MULTIPLE]
    return {1.0: arm["stretched"], arm["transferred_lr"] / row["found_lr"]: arm["transferred"],
            **row["truth"]}


def read(points: dict[float, float], multiple: float) -> float:
    factors = sorted(points)
    return float(np.interp(math.log(multiple), np.log(factors), [points[f] for f in factors]))


def main(paths: list[str]) -> None:
    gains: dict[str, list[float]] = {"slope": [], "longest": [], "interval": []}
    for row in (r for path in paths for r in pickle.load(open(path, "rb"))):
        if "points" not in row or "truth" not in row:
            continue
        fit = fit_horizon([HorizonPoint(**p) for p in row["points"]], True, bootstrap=True)
        epochs, found = MULTIPLE * row["searched_epochs"], row["found_lr"]
        truth = curve(row)
        picks = {"slope": min(fit.trend_lr(epochs), fit.peak_lr(epochs)) / found,
                 "longest": fit.peak_lr(epochs) / found}
        low, high = fit.interval(epochs, True)
        picks["interval"] = 1.0 if low <= found <= high else picks["longest"]
        best = ", ".join(f"x{b.peak_lr / found:.2f} at {b.epochs}" for b in fit.best)
        print(f"seed {row['seed']}: best {best}; " + "; ".join(
            f"{rule} x{m:.2f} {100 * (read(truth, m) - truth[1.0]):+.2f}"
            for rule, m in picks.items()))
        for rule, m in picks.items():
            gains[rule].append(read(truth, m) - truth[1.0])
    for rule, values in gains.items():
        if values:
            print(f"{rule}: {100 * statistics.fmean(values):+.2f} points over stretched at "
                  f"{MULTIPLE}T, mean of {len(values)} seeds")


if __name__ == "__main__":
    main(sys.argv[1:])
