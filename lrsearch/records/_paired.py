"""Plain statistics of a confirmation: mean, spread and paired margins over seeds.

Every schedule in a confirmation is trained with the same seeds, so a schedule and a baseline
form pairs (same seed: same initial weights, data order and augmentation). The paired
difference cancels the part of the seed noise they share, which is most of it, so its interval
is much narrower than comparing two means would give.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

__all__ = ["MIN_INTERVAL_VALUES", "Summary", "summarise_values", "paired_margin",
           "t_quantile_975"]

MIN_INTERVAL_VALUES = 3
"""Fewest values given a 95% interval: from 2, t's quantile at 1 degree of freedom (12.7) times
a spread measured from 2 points says nothing useful."""

def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t with ``dof`` degrees of freedom (scipy's, exact).

    Example:
        >>> round(t_quantile_975(2), 3), round(t_quantile_975(31), 3)
        (4.303, 2.04)
    """
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and 95% half-width of ``n`` values.

    ``std`` is None for a single value; ``half_width`` is None for fewer than
    :data:`MIN_INTERVAL_VALUES` values (no interval is given).
    """

    n: int
    mean: float
    std: float | None
    half_width: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        """Plain JSON types."""
        return {"n": self.n, "mean": self.mean, "std": self.std, "half_width": self.half_width}


def summarise_values(values: list[float]) -> Summary:
    """:class:`Summary` of ``values`` (at least one).

    Example:
        >>> s = summarise_values([0.90, 0.92, 0.94])
        >>> round(s.mean, 4), round(s.std, 4), round(s.half_width, 4)
        (0.92, 0.02, 0.0497)
    """
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return Summary(n, mean, None, None)
    std = statistics.stdev(values)
    if n < MIN_INTERVAL_VALUES:
        return Summary(n, mean, std, None)
    return Summary(n, mean, std, t_quantile_975(n - 1) * std / math.sqrt(n))


def paired_margin(values: dict[int, float], reference: dict[int, float],
                  sign: float = 1.0) -> Summary | None:
    """Margin of ``values`` over ``reference``, paired by seed (seeds both have), or None.

    Args:
        values: ``seed -> metric`` of one schedule.
        reference: ``seed -> metric`` of the reference (the best baseline).
        sign: 1 when higher is better (accuracy), -1 when lower is (loss), so a positive
            margin always means better than the reference.

    Example:
        >>> m = paired_margin({1: 0.91, 2: 0.93}, {1: 0.90, 2: 0.91})
        >>> round(m.mean, 4), m.n
        (0.015, 2)
    """
    seeds = sorted(set(values) & set(reference))
    if not seeds:
        return None
    return summarise_values([sign * (values[s] - reference[s]) for s in seeds])
