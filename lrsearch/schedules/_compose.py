"""Warm-up and family composed into one multiplier: the single place warm-up is applied.

``to_torch_code`` copies these functions' source into exported code, so they use nothing but
their arguments.
"""

from __future__ import annotations

__all__ = ["warmup_multiplier", "schedule_multiplier", "set_peak_lrs"]


def warmup_multiplier(step, warmup_steps, warmup_start):
    """Linear warm-up from ``warmup_start`` to 1, as torch LinearLR(warmup_start, ...)."""
    if step >= warmup_steps:
        return 1.0
    return warmup_start + (1.0 - warmup_start) * step / warmup_steps


def schedule_multiplier(step, total_steps, warmup_frac, warmup_start, family, params):
    """Multiplier of ``peak_lr`` after ``step`` optimizer steps (the LR of the next update)."""
    # 1. linear warm-up over round(warmup_frac * total_steps) steps
    warmup_steps = round(warmup_frac * total_steps)
    if step < warmup_steps:
        return warmup_multiplier(step, warmup_steps, warmup_start)
    # 2. the family runs over the remaining n steps and holds its last value past the end
    n = total_steps - warmup_steps
    k = min(step - warmup_steps, n)
    return family(k, n, **params)


def set_peak_lrs(param_groups, peak_lr):
    """Give group 0 ``peak_lr`` and every other group its ratio to group 0.

    Ratios come from ``initial_lr`` when every group has one (a scheduler already ran, so ``lr``
    may be mid-schedule, even 0), else from ``lr``. Sets both ``lr`` and ``initial_lr``: torch's
    schedulers only ``setdefault`` ``initial_lr``, so a leftover one would otherwise win.
    """
    key = "initial_lr" if all("initial_lr" in group for group in param_groups) else "lr"
    reference_lr = float(param_groups[0][key])
    if not reference_lr > 0:
        raise ValueError(f"optimizer.param_groups[0][{key!r}]: got {reference_lr!r}; must be > 0: "
                         f"it gets peak_lr and the other groups keep their LR ratio to it")
    peaks = [peak_lr * float(group[key]) / reference_lr for group in param_groups]
    for group, peak in zip(param_groups, peaks):
        group["lr"] = peak
        group["initial_lr"] = peak
    return peaks
