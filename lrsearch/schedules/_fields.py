"""The top-level fields of a spec, declared once: format, rules, and the warm-up defaults.

The study config and the search space read the warm-up defaults and rules from here (as the
family parameters are read from the registry), so each lives in exactly one place.
"""

from __future__ import annotations

from lrsearch.schedules._params import ParamInfo, SearchRange

__all__ = [
    "FORMAT", "FIELDS", "PEAK_LR", "TOTAL_STEPS", "WARMUP_FRAC", "WARMUP_START",
    "WARMUP_FRAC_DEFAULT", "WARMUP_START_DEFAULT",
]

FORMAT = "lrsearch.schedule/1"
"""The ``format`` value of every spec this version writes and reads."""

FIELDS = ("format", "family", "peak_lr", "total_steps", "warmup_frac", "warmup_start", "params")
"""Every key of a spec's dict form, in the order :meth:`ScheduleSpec.to_dict` writes them."""

WARMUP_FRAC_DEFAULT = 0.0
"""No warm-up unless a spec asks for one."""

WARMUP_START_DEFAULT = 0.0
"""A warm-up starts from an LR of 0 (torch's ``LinearLR`` refuses 0; the formula is the same)."""

PEAK_LR = ParamInfo("peak_lr", "LR at multiplier 1 (of the optimizer's first param group)",
                    low=0.0, low_open=True)
TOTAL_STEPS = ParamInfo("total_steps", "optimizer steps in all of training", kind="int", low=1)
WARMUP_FRAC = ParamInfo(
    "warmup_frac", "fraction of total_steps spent warming up linearly", low=0.0, high=1.0,
    high_open=True, default=WARMUP_FRAC_DEFAULT, search=SearchRange(0.0, 0.2))
WARMUP_START = ParamInfo(
    "warmup_start", "multiplier of peak_lr at step 0 of the warm-up", low=0.0, high=1.0,
    default=WARMUP_START_DEFAULT)
