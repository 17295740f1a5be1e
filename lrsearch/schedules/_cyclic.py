"""Families that rise as well as fall: SGDR restarts, one-cycle and cyclical learning rates.

Pure functions of the local step ``k`` and the family length ``n``, written to reproduce the
arithmetic of the matching torch scheduler. Only ``math`` is used (``to_torch_code`` copies them).
"""

from __future__ import annotations

import math

__all__ = ["cosine_restarts", "onecycle", "cyclic"]


def cosine_restarts(k, n, cycles, cycle_mult, final_ratio):
    """torch CosineAnnealingWarmRestarts(T_0, T_mult = cycle_mult, eta_min = final_ratio * peak)
    with ``T_0 = ceil(n / (1 + m + ... + m ** (cycles - 1)))``: ``cycles`` cycles fill the
    family, so a run ends in the last one's fall (fewer than ``1 + m + ...`` steps before its
    low point, T_0 being whole steps), never after a restart."""
    # 1. find the position inside the current cycle (integer arithmetic, as torch counts T_cur)
    cycle_len = max(1, -(-n // sum(cycle_mult ** i for i in range(cycles))))
    if cycle_mult == 1:
        position = k % cycle_len
    else:
        position = k
        while position >= cycle_len:
            position -= cycle_len
            cycle_len *= cycle_mult
    # 2. cosine inside the cycle
    cosine = 1.0 + math.cos(math.pi * position / cycle_len)
    return final_ratio + (1.0 - final_ratio) * cosine / 2.0


def onecycle(k, n, pct_start, div_factor, final_div_factor, anneal, three_phase):
    """torch OneCycleLR(max_lr=peak, total_steps=n, ..., cycle_momentum=False)."""
    # 1. levels relative to the peak: start at peak/div_factor, end at start/final_div_factor
    initial = 1.0 / div_factor
    minimum = initial / final_div_factor
    # 2. phase ends in steps, exactly as torch places them; torch's last step is n - 1
    if three_phase:
        phases = [(pct_start * n - 1, initial, 1.0), (2 * pct_start * n - 2, 1.0, initial),
                  (n - 1, initial, minimum)]
    else:
        phases = [(pct_start * n - 1, initial, 1.0), (n - 1, 1.0, minimum)]
    k = min(k, n - 1)
    # 3. anneal inside the phase that holds k; a phase of zero length (where torch would divide
    #    by zero) counts as finished
    phase_start = 0.0
    for i, (phase_end, start_level, end_level) in enumerate(phases):
        if k <= phase_end or i == len(phases) - 1:
            span = phase_end - phase_start
            pct = (k - phase_start) / span if span > 0 else 1.0
            if anneal == "cos":
                return end_level + (start_level - end_level) / 2.0 * (math.cos(math.pi * pct) + 1.0)
            return (end_level - start_level) * pct + start_level
        phase_start = phase_end
    return minimum


def cyclic(k, n, base_ratio, cycles, up_frac, mode, gamma):
    """torch CyclicLR(base_lr = base_ratio * peak, max_lr = peak, step_size_up = up_frac * c,
    step_size_down = c - up_frac * c, cycle_momentum=False) with ``c = n / cycles``: torch takes
    fractional step sizes, so the cycles fill the family exactly and a run ends at a cycle's
    low point. ``gamma`` is torch's per-step factor of ``exp_range`` (unused by the triangular
    modes).
    """
    # 1. cycle geometry in steps, as torch computes it from the two (fractional) step sizes
    cycle_steps = n / cycles
    step_up, step_down = up_frac * cycle_steps, cycle_steps - up_frac * cycle_steps
    total = step_up + step_down
    up_ratio = step_up / total
    # 2. position in the cycle, as torch computes it
    cycle = math.floor(1 + k / total)
    x = 1.0 + k / total - cycle
    scale = x / up_ratio if x <= up_ratio else (x - 1) / (up_ratio - 1)
    # 3. amplitude of this cycle
    if mode == "triangular":
        amplitude = 1.0
    elif mode == "triangular2":
        amplitude = 1 / (2.0 ** (cycle - 1))
    else:  # "exp_range"
        amplitude = gamma ** k
    return base_ratio + (1.0 - base_ratio) * scale * amplitude
