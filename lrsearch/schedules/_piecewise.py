"""The free-form family: linear interpolation between knots ``[[p, m], ...]``.

It lets the search discover shapes no named family has. Pure, ``math``-free, copied by
``to_torch_code``.
"""

from __future__ import annotations

__all__ = ["piecewise"]


def piecewise(k, n, knots):
    """Interpolate linearly between knots; p is the fraction of the family, m the multiplier."""
    progress = k / n
    for (p0, m0), (p1, m1) in zip(knots, knots[1:]):
        if progress <= p1:
            return m0 + (m1 - m0) * (progress - p0) / (p1 - p0)
    return knots[-1][1]
