"""Horizon rungs: successive halving where every rung trains the *whole* schedule, shorter.

A schedule spec is horizon-free (its phases are fractions of the run), so a rung at a third of
the epochs is a complete, decayed schedule, judged where it ends: no mid-schedule bias, no
probe. A trial trains at each rung's horizon in turn, from scratch, and goes on to the next
only when its value is among the best ``1 / reduction_factor`` of the values reported at that
rung so far (asynchronous successive halving: a trial never waits for others; the first to
reach a rung goes on). The last rung is the full training length; its value is the trial's.
Measured against cooldown probes: docs/search_quality.md.
"""

from __future__ import annotations

import math

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["HorizonPruner", "horizon_epochs", "MAX_RUNGS"]

MAX_RUNGS = 3
"""Rungs at most, the full length included: T / eta^2, T / eta and T (the issue's T/9, T/3, T
at eta = 3); more would spend most of the budget on horizons too short to rank schedules."""


def horizon_epochs(epochs: int, reduction_factor: int, max_rungs: int = MAX_RUNGS
                   ) -> tuple[int, ...]:
    """The rungs' training lengths in epochs, shortest first, ending at ``epochs``.

    Rung ``k`` below the top is ``epochs / reduction_factor ** k`` rounded half up, at least
    one epoch; equal lengths are merged.

    Example:
        >>> horizon_epochs(3, 3), horizon_epochs(30, 3), horizon_epochs(200, 4)
        ((1, 3), (3, 10, 30), (13, 50, 200))
        >>> horizon_epochs(1, 3)
        (1,)
    """
    lengths = {max(1, int(epochs / reduction_factor ** k + 0.5)) for k in range(max_rungs)}
    return tuple(sorted(lengths))


class HorizonPruner(optuna.pruners.BasePruner):
    """Asynchronous successive halving over horizon rungs.

    A trial reports its value at a rung as the intermediate value at step = that rung's epochs
    (the objective does: :mod:`lrsearch.search._objective`). It goes on when it ranks within
    the best ``floor(n / reduction_factor)`` (at least 1) of the ``n`` values reported at that
    step by any trial, itself included.
    """

    def __init__(self, reduction_factor: int) -> None:
        self.reduction_factor = reduction_factor

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        value = trial.intermediate_values[step]
        if math.isnan(value):
            return True
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        values = [t.intermediate_values[step]
                  for t in study.get_trials(deepcopy=False, states=states)
                  if step in t.intermediate_values and t.number != trial.number]
        values = [v for v in values if not math.isnan(v)]
        keep = max(1, (len(values) + 1) // self.reduction_factor)
        maximise = study.direction == optuna.study.StudyDirection.MAXIMIZE
        better = sum(1 for v in values if (v > value if maximise else v < value))
        return better >= keep
