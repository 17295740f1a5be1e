"""Monotone decay families: one pure function each, of the local step ``k`` and length ``n``.

Each function maps ``0 <= k <= n`` to a multiplier of ``peak_lr``. They use nothing but ``math``
and their own arguments, because ``to_torch_code`` copies their source into exported code.
"""

from __future__ import annotations

import math

__all__ = ["constant", "step", "multistep", "exponential", "poly", "linear", "cosine", "wsd"]


def constant(k, n):
    """Multiplier 1 throughout."""
    return 1.0


def step(k, n, step_frac, gamma):
    """torch StepLR: multiply by ``gamma`` every ``step_frac`` of the family's steps."""
    step_size = max(1, round(step_frac * n))
    return gamma ** (k // step_size)


def multistep(k, n, milestones, gamma):
    """torch MultiStepLR: multiply by ``gamma`` at each milestone (fractions of the family)."""
    passed = sum(1 for m in milestones if k >= round(m * n))
    return gamma ** passed


def exponential(k, n, final_ratio):
    """torch ExponentialLR with ``gamma = final_ratio ** (1 / n)``: reaches ``final_ratio`` at n."""
    return final_ratio ** (k / n)


def poly(k, n, power, final_ratio):
    """Polynomial decay to ``final_ratio`` (torch PolynomialLR when ``final_ratio == 0``)."""
    return final_ratio + (1.0 - final_ratio) * (1.0 - k / n) ** power


def linear(k, n, final_ratio):
    """Linear decay to ``final_ratio`` (torch LinearLR(1, final_ratio, n))."""
    return final_ratio + (1.0 - final_ratio) * (1.0 - k / n)


def cosine(k, n, final_ratio):
    """Cosine annealing to ``final_ratio`` (torch CosineAnnealingLR, eta_min = final_ratio*peak)."""
    return final_ratio + (1.0 - final_ratio) * (1.0 + math.cos(math.pi * k / n)) / 2.0


def wsd(k, n, decay_frac, final_ratio, decay_shape):
    """Warmup-stable-decay: hold 1, then decay to ``final_ratio`` over the last ``decay_frac``."""
    decay_start = 1.0 - decay_frac
    progress = k / n
    if progress <= decay_start:
        return 1.0
    # 1. position inside the decay, clamped so rounding never overshoots the end
    q = min(1.0, (progress - decay_start) / decay_frac)
    # 2. the decay shape, falling from 1 to 0
    if decay_shape == "linear":
        shape = 1.0 - q
    elif decay_shape == "cosine":
        shape = (1.0 + math.cos(math.pi * q)) / 2.0
    else:  # "sqrt": the 1 - sqrt cooldown of the WSD papers
        shape = 1.0 - math.sqrt(q)
    return final_ratio + (1.0 - final_ratio) * shape
