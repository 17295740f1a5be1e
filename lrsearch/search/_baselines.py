"""Ready-made baselines: textbook schedules and a schedule-free optimizer, run as fixed trials.

A study file names them (``baselines: [cosine, linear, onecycle, step, schedulefree]``); each is
queued once, at the study's creation, as a trial that runs exactly its spec and optimizer (no
Optuna parameters), so every study carries its own yardstick even for families it does not
search. All of them use the study's reference peak LR: the middle of the first optimizer's
searched peak-LR range (geometric for a log range), or its fixed value.

| preset | schedule | optimizer |
|---|---|---|
| cosine | cosine to zero | the study's first |
| linear | linear decay to zero | the study's first |
| onecycle | one-cycle at torch's defaults (pct_start 0.3, div 25, final_div 1e4, cos) | first |
| step | x0.1 at 50% and 75% of training | the study's first |
| schedulefree | constant after a 5% warm-up | schedule-free SGD (for sgd), else AdamW |
"""

from __future__ import annotations

import math
from typing import Any

from lrsearch.config import Range
from lrsearch.optimizers import get_optimizer
from lrsearch.schedules import ScheduleSpec, get_family
from lrsearch.search._space import PLACEHOLDER_TOTAL_STEPS, SearchSpace

__all__ = ["preset_trial", "reference_value"]

SCHEDULE_FREE_WARMUP_FRAC = 0.05  # schedule-free methods are run with a short warm-up

_SCHEDULES: dict[str, tuple[str, dict[str, Any]]] = {
    "cosine": ("cosine", {"final_ratio": 0.0}),
    "linear": ("linear", {"final_ratio": 0.0}),
    "onecycle": ("onecycle", get_family("onecycle").defaults()),
    "step": ("multistep", get_family("multistep").defaults()),
    "schedulefree": ("constant", {}),
}


def reference_value(value: Any) -> Any:
    """A fixed value as it is; a :class:`Range` at its middle (geometric on a log scale).

    Example:
        >>> reference_value(Range(low=0.01, high=1.0, log=True))
        0.1
        >>> reference_value(Range(low=0.0, high=0.2)), reference_value(0.9)
        (0.1, 0.9)
    """
    if not isinstance(value, Range):
        return value
    if value.log:
        return float(round(math.exp((math.log(value.low) + math.log(value.high)) / 2), 12))
    return (value.low + value.high) / 2


def preset_trial(name: str, space: SearchSpace) -> tuple[ScheduleSpec, dict[str, Any]]:
    """The spec and optimizer settings that preset ``name`` runs in a study of ``space``.

    Example:
        >>> from lrsearch.config import parse_study
        >>> space = SearchSpace.from_config(parse_study({"name": "d", "search_space": {
        ...     "peak_lr": {"low": 0.02, "high": 0.8, "log": True}}}))
        >>> spec, optimizer = preset_trial("step", space)
        >>> spec.family, spec.params["milestones"], round(spec.peak_lr, 4), optimizer["name"]
        ('multistep', (0.5, 0.75), 0.1265, 'sgd')
        >>> preset_trial("schedulefree", space)[1]["name"]
        'sgd_schedulefree'
    """
    first = next(iter(space.optimizers))
    settings = {key: reference_value(value) for key, value in space.optimizers[first].items()}
    peak_lr = settings.pop("peak_lr")
    family, params = _SCHEDULES[name]
    warmup_frac = 0.0
    if name == "schedulefree":
        first = "sgd_schedulefree" if first == "sgd" else "adamw_schedulefree"
        own = get_optimizer(first)  # the settings it takes, as the registry declares them
        settings = {key: value for key, value in settings.items() if own.param(key) is not None}
        warmup_frac = SCHEDULE_FREE_WARMUP_FRAC
    spec = ScheduleSpec(family, peak_lr=peak_lr, total_steps=PLACEHOLDER_TOTAL_STEPS,
                        warmup_frac=warmup_frac, params=params)
    head_lr_mult = reference_value(space.shared["head_lr_mult"])
    return spec, {"name": first, "head_lr_mult": head_lr_mult, **settings}
