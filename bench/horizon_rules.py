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

Then the rule as committed (``fit_horizon`` given the found LR) on every shard with points,
truth or not, with the issue's checks at 4T: transferred minus stretched and minus linear-tuned,
the transferred accuracy read from the trained arms where they hold the rule's pick (x1 is
stretched, or the multiple the shard transferred), else off the truth curve; a seed with
neither is left out and named.

Usage::

    python bench/horizon_rules.py bench/results/horizon/home-truth-s*.pkl
"""

from __future__ import annotations

import math
import pickle
import statistics
import sys

import numpy as np

from lrsearch.records import HorizonPoint, fit_horizon, paired_margin

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
    rows = [(path, r) for path in paths for r in pickle.load(open(path, "rb"))]
    gains: dict[str, list[float]] = {"slope": [], "longest": [], "interval": []}
    for _, row in rows:
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


    committed(rows)


def committed(rows: list[tuple[str, dict]]) -> None:
    """The rule as committed, scored against the trained arms (or the truth curve)."""
    print(f"\nthe rule as committed, at {MULTIPLE}T: transferred minus stretched (b-a) and minus "
          f"linear-tuned (b-c)")
    picked: dict[int, float] = {}
    stretched: dict[int, float] = {}
    tuned: dict[int, float] = {}
    for index, (path, row) in enumerate(rows):
        if "points" not in row:
            print(f"  {path} seed {row['seed']}: no points stored, not scored")
            continue
        found, arm = row["found_lr"], row["arms"][MULTIPLE]
        fit = fit_horizon([HorizonPoint(**p) for p in row["points"]], True, found_lr=found,
                          bootstrap=True)
        multiple = fit.peak_lr(MULTIPLE * row["searched_epochs"]) / found
        if math.isclose(multiple, 1.0):
            value, how = arm["stretched"], "kept"
        elif math.isclose(multiple, arm["transferred_lr"] / found, rel_tol=0.01):
            value, how = arm["transferred"], "trained"
        elif "truth" in row:
            value, how = read(curve(row), multiple), "truth curve"
        else:
            print(f"  {path} seed {row['seed']}: x{multiple:.2f} neither trained nor on a "
                  f"truth curve, not scored")
            continue
        picked[index], stretched[index], tuned[index] = value, arm["stretched"], arm[
            "linear-tuned"]
        print(f"  {path} seed {row['seed']}: x{multiple:.2f} ({how}) b-a "
              f"{100 * (value - arm['stretched']):+.2f}, b-c "
              f"{100 * (value - arm['linear-tuned']):+.2f}")
    for name, reference in (("b-a", stretched), ("b-c", tuned)):
        margin = paired_margin(picked, reference)
        if margin is None:
            continue
        spread = ("" if margin.half_width is None else
                  f" [{100 * (margin.mean - margin.half_width):+.2f}, "
                  f"{100 * (margin.mean + margin.half_width):+.2f}]")
        print(f"  {name}: {100 * margin.mean:+.2f}{spread} points over {margin.n} seeds")


if __name__ == "__main__":
    main(sys.argv[1:])
