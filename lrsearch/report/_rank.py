"""Rank agreement without scipy: Kendall's tau-b, used by the report and the pruning benchmark."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["kendall_tau"]

_CHUNK_ROWS = 256  # pairs are counted this many rows at a time


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b of paired values: +1 same order, -1 reversed, 0 unrelated.

    Tau-b counts each pair once, ``(concordant - discordant) / sqrt((n0 - ties_x) *
    (n0 - ties_y))`` with ``n0 = n(n-1)/2``, so pairs tied in one variable (schedules identical
    so far) lower neither the numerator nor the agreement of the others; it equals scipy's
    ``kendalltau`` (variant ``b``). O(n^2), vectorised: seconds for 10,000 trials.

    Returns:
        The coefficient, or None when it is undefined (fewer than 2 pairs, or one side all
        tied).

    Example:
        >>> kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]), kendall_tau([1, 2, 3], [3, 2, 1])
        (1.0, -1.0)
        >>> round(kendall_tau([1, 1, 2, 3], [1, 2, 3, 4]), 4), kendall_tau([1, 1], [1, 2])
        (0.9129, None)
    """
    if len(x) != len(y):
        raise ValueError(f"kendall_tau: got {len(x)} and {len(y)} values; the two sequences "
                         f"must pair up (same length)")
    import numpy as np

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xs)
    concordant = discordant = tied_x = tied_y = 0
    # Rows of pairs (i, j > i) in chunks: O(n^2) work, O(chunk * n) memory.
    for begin in range(0, n, _CHUNK_ROWS):
        rows = np.arange(begin, min(n, begin + _CHUNK_ROWS))
        later = np.arange(n)[None, :] > rows[:, None]
        dx = np.sign(xs[rows, None] - xs[None, :])[later]
        dy = np.sign(ys[rows, None] - ys[None, :])[later]
        product = dx * dy
        concordant += int((product > 0).sum())
        discordant += int((product < 0).sum())
        tied_x += int((dx == 0).sum())
        tied_y += int((dy == 0).sum())
    pairs = n * (n - 1) // 2
    denominator = math.sqrt((pairs - tied_x) * (pairs - tied_y))
    if denominator == 0:
        return None
    return (concordant - discordant) / denominator
