"""``ScheduleSpec.to_torch_code``: the schedule as standalone code depending only on torch.

The exported module holds copies of the very functions lrsearch evaluates (read with
``inspect.getsource``), so its LRs are the spec's LRs to the last bit.
"""

from __future__ import annotations

import inspect
import pprint
import textwrap
from typing import TYPE_CHECKING

from lrsearch.schedules import _compose

if TYPE_CHECKING:  # the spec loads this module lazily: no import back at run time
    from lrsearch.schedules._spec import ScheduleSpec

__all__ = ["torch_code"]

_HEADER = '''\
"""{summary}

Exported by lrsearch {version} from the schedule spec below. It depends on nothing but torch and
the standard library. Use it in a training loop like this:

    scheduler = build_scheduler(optimizer, total_steps=epochs * steps_per_epoch)
    for epoch in range(epochs):
        for batch in loader:
            ...
            optimizer.step()
            scheduler.step()        # after every optimizer step
{plateau_note}
The first param group gets PEAK_LR; other groups keep their LR ratio to the first.
"""

import math

from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

SPEC = {spec}

PEAK_LR = SPEC["peak_lr"]
WARMUP_FRAC = SPEC["warmup_frac"]
WARMUP_START = SPEC["warmup_start"]
PARAMS = SPEC["params"]
'''

_PLATEAU_NOTE = '''\
        scheduler.step(val_metric)  # after every evaluation ({metric})
'''

_STEP_DRIVEN = '''

FAMILY = {family}


class ScheduleMultiplier:
    """Multiplier of PEAK_LR by step: a callable object, so LambdaLR.state_dict() saves it."""

    def __init__(self, total_steps):
        self.total_steps = total_steps

    def __call__(self, step):
        return schedule_multiplier(step, self.total_steps, WARMUP_FRAC, WARMUP_START, FAMILY,
                                   PARAMS)


def build_scheduler(optimizer, total_steps):
    """A LambdaLR giving this schedule over ``total_steps`` optimizer steps."""
    if round(WARMUP_FRAC * total_steps) >= total_steps:
        raise ValueError(f"total_steps: got {{total_steps!r}}; too short for the warm-up")
    set_peak_lrs(optimizer.param_groups, PEAK_LR)
    return LambdaLR(optimizer, ScheduleMultiplier(total_steps))
'''

_METRIC_DRIVEN = '''

def build_scheduler(optimizer, total_steps):
    """ReduceLROnPlateau after the warm-up (``total_steps`` sets the warm-up length)."""
    set_peak_lrs(optimizer.param_groups, PEAK_LR)
    return WarmupReduceLROnPlateau(optimizer, round(WARMUP_FRAC * total_steps), WARMUP_START,
                                   **PARAMS)
'''


def _source(obj) -> str:
    return textwrap.dedent(inspect.getsource(obj)).strip() + "\n"


def torch_code(spec: ScheduleSpec) -> str:
    """Standalone Python source for ``spec`` (see :meth:`ScheduleSpec.to_torch_code`)."""
    from lrsearch.version import __version__

    info = spec.info
    metric = ""
    if info.metric_driven:
        metric = "validation loss" if spec.params["mode"] == "min" else "validation accuracy"
    header = _HEADER.format(
        summary=f"{spec.family} learning-rate schedule: {info.summary}.",
        version=__version__,
        plateau_note=_PLATEAU_NOTE.format(metric=metric) if info.metric_driven else "",
        spec=pprint.pformat(spec.to_dict(), sort_dicts=False, width=96),
    )
    parts = [header, _source(_compose.set_peak_lrs), _source(_compose.warmup_multiplier)]
    if info.metric_driven:
        from lrsearch.schedules._torch_adapter import WarmupReduceLROnPlateau

        parts += [_source(WarmupReduceLROnPlateau), _METRIC_DRIVEN]
    else:
        parts += [_source(_compose.schedule_multiplier), _source(info.function),
                  _STEP_DRIVEN.format(family=info.function.__name__)]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"
