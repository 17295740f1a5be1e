"""Suggestion rules of the LR range test: a peak LR read off a (learning rate, loss) curve.

Pure functions of plain lists (numpy only, no torch), so they are tested on synthetic curves.
Each takes the LRs of an exponential ramp and the *smoothed* loss at each of them:

* ``steepest``: the LR where the loss falls fastest per factor of LR, i.e. the most negative
  ``d loss / d log(lr)``. The gradient must be taken against ``log(lr)``: the ramp's LRs grow
  exponentially, so ``d loss / d lr`` divides that slope by ``lr`` and is always steepest at
  the smallest LRs, however flat the curve is there.
* ``min_over_10``: a tenth of the LR at the lowest loss (the loss is still falling there, and
  the minimum itself is already at the edge of divergence).
* ``valley`` (the default, fastai's ``valley`` since 2.5, index for index): ``length[i]`` is
  the longest strictly decreasing subsequence of the loss ending at ``i`` (O(n^2)); the first
  ``i`` with the greatest length is ``end``, ``start = end - length[end]`` (0 when the loss
  never falls), and the suggestion is the point ``start + int(s / 3) + int(s / 6)``, with
  ``s = end - start``: about half-way down.

Why ``valley`` is the default, measured against the other two: docs/lr-range-test.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lrsearch.config import DEFAULT_RULE, RANGE_TEST_RULES
from lrsearch.errors import TrainingError

__all__ = ["DEFAULT_RULE", "MIN_POINTS", "RULES", "min_over_10", "steepest", "suggest", "valley"]

MIN_POINTS = 5  # fewer usable points than this: no rule can read a curve


def steepest(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The LR of the most negative ``d loss / d log(lr)``.

    Example:
        >>> steepest([1e-3, 1e-2, 1e-1, 1.0], [2.3, 2.2, 1.4, 1.3])
        0.1
    """
    slopes = np.gradient(np.asarray(losses, dtype=float), np.log(np.asarray(lrs, dtype=float)))
    return float(lrs[int(np.argmin(slopes))])


def min_over_10(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """A tenth of the LR at the lowest loss.

    Example:
        >>> min_over_10([1e-3, 1e-2, 1e-1, 1.0], [2.3, 2.2, 1.4, 9.0])
        0.01
    """
    return float(lrs[int(np.argmin(np.asarray(losses, dtype=float)))]) / 10


def valley(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The LR half-way along the longest descending stretch of the loss (fastai's valley).

    The same index as fastai's ``valley`` (fastai/callback/schedule.py) on every curve but
    one kind: when the longest descent is two points starting at the first, fastai's index is
    -1 (Python then takes the *last*, largest LR); here it is 0, the descent's first point.

    Example:
        >>> lrs = [10.0 ** (k - 8) for k in range(13)]
        >>> valley(lrs, [2.3, 2.3, 2.25, 2.2, 2.0, 1.8, 1.5, 1.3, 1.2, 1.1, 1.05, 1.0, 4.0])
        0.0001
    """
    start, end = _longest_descent(losses)
    sections = (end - start) / 3
    return float(lrs[max(0, start + int(sections) + int(sections / 2))])


def _longest_descent(losses: Sequence[float]) -> tuple[int, int]:
    """``(start, end)`` of the valley as fastai reads it off the loss.

    ``length[i]`` is the longest strictly decreasing subsequence ending at ``i``; the first
    ``i`` with the greatest length ends the valley, which starts ``length[end]`` points before
    it (one before the subsequence's first point when the descent is unbroken; -1 when that is
    the curve's first point). A loss that never falls has the valley ``(0, 0)``.
    """
    count = len(losses)
    length = [1] * count
    for i in range(1, count):
        for j in range(i):
            if losses[j] > losses[i] and length[j] + 1 > length[i]:
                length[i] = length[j] + 1
    end = max(range(count), key=lambda i: (length[i], -i))
    return (0, 0) if length[end] == 1 else (end - length[end], end)


RULES: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "valley": valley, "steepest": steepest, "min_over_10": min_over_10}
"""Every suggestion rule by name (the names a study may give: ``RANGE_TEST_RULES``)."""
if set(RULES) != set(RANGE_TEST_RULES):  # pragma: no cover - a rule added on one side only
    raise ImportError(f"suggestion rules {sorted(RULES)} differ from the settings' "
                      f"{sorted(RANGE_TEST_RULES)}")


def suggest(lrs: Sequence[float], losses: Sequence[float], skip_start: int = 0,
            skip_end: int = 0) -> dict[str, float]:
    """Every rule's suggestion, on the curve without its first and last points.

    The first points are the ramp's warm-up, where the smoothed loss is still settling; the
    last are where it blows up. When skipping them would leave fewer than :data:`MIN_POINTS`
    points, nothing is skipped.

    Raises:
        TrainingError: The curve has fewer than :data:`MIN_POINTS` points.

    Example:
        >>> lrs = [10 ** (k / 2 - 5) for k in range(13)]
        >>> losses = [2.3, 2.3, 2.25, 2.2, 2.0, 1.8, 1.5, 1.3, 1.2, 1.1, 1.05, 1.0, 4.0]
        >>> {rule: f"{lr:.1e}" for rule, lr in suggest(lrs, losses, 1, 1).items()}
        {'valley': '1.0e-03', 'steepest': '3.2e-03', 'min_over_10': '3.2e-01'}
    """
    if len(lrs) < MIN_POINTS:
        raise TrainingError(f"range test: got a curve of {len(lrs)} point(s); the rules need "
                            f"at least {MIN_POINTS} (the loss diverged at once: lower start_lr)")
    if len(lrs) - skip_start - skip_end >= MIN_POINTS:
        lrs, losses = lrs[skip_start:len(lrs) - skip_end], losses[skip_start:len(lrs) - skip_end]
    return {name: rule(lrs, losses) for name, rule in RULES.items()}
