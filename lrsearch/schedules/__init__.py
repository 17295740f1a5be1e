"""Learning-rate schedules as portable data: the ``lrsearch.schedule/1`` spec and its families.

Pure: importing this package loads neither torch, optuna, plotly nor pydantic. torch is loaded
only by :meth:`ScheduleSpec.to_torch` (and ``to_torch_code`` for ``plateau``).

Example:
    >>> from lrsearch.schedules import ScheduleSpec
    >>> spec = ScheduleSpec.from_dict({"family": "onecycle", "peak_lr": 0.4, "total_steps": 100,
    ...     "params": {"pct_start": 0.25, "div_factor": 25.0, "final_div_factor": 1e4,
    ...                "anneal": "cos", "three_phase": False}})
    >>> round(spec.lr(0), 4), round(spec.lr(24), 4)
    (0.016, 0.4)
"""

from lrsearch.schedules._fields import (
    FORMAT,
    PEAK_LR,
    WARMUP_FRAC,
    WARMUP_FRAC_DEFAULT,
    WARMUP_START,
    WARMUP_START_DEFAULT,
)
from lrsearch.schedules._load import load_spec
from lrsearch.schedules._params import ParamInfo, SearchRange
from lrsearch.schedules._registry import FamilyInfo, family_names, get_family, list_families
from lrsearch.schedules._sketch import sample_lrs, sketch
from lrsearch.schedules._spec import ScheduleSpec

__all__ = [
    "PEAK_LR", "sample_lrs", "sketch",
    "FORMAT",
    "FamilyInfo",
    "ParamInfo",
    "ScheduleSpec",
    "SearchRange",
    "WARMUP_FRAC",
    "WARMUP_FRAC_DEFAULT",
    "WARMUP_START",
    "WARMUP_START_DEFAULT",
    "family_names",
    "get_family",
    "list_families",
    "load_spec",
]
