"""The Optuna pruner a study file asks for, and horizon rungs, lrsearch's own pruner.

Mid-schedule values rank schedule families badly (a schedule that still holds a high LR looks
worse than one that already decayed, though it often ends better), so a per-epoch pruner judges
a trial only at a few pruning points (``at_progress``) and, when the search space mixes
families, by a cooldown probe there (``judge: probe``); ``wilcoxon`` hears every epoch's raw
value from the first point on (what each name implies: :mod:`lrsearch.config._pruning`).

Horizon rungs (the default) are successive halving where every rung trains the *whole*
schedule, shorter. A spec is horizon-free (its phases are fractions of the run), so a rung at a
third of the epochs is a complete, decayed schedule, judged where it ends: no mid-schedule bias,
no probe. A trial trains at each rung's horizon in turn, from scratch, and goes on to the next
only when its value is among the best ``1 / reduction_factor`` of the values reported at that
rung so far (asynchronous: a trial never waits for others; the first to reach a rung goes on).
The last rung is the full training length; its value is the trial's. Measurements:
docs/pruning.md, docs/search_quality.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.config import PrunerConfig, pruning_epochs

__all__ = ["build_pruner", "HorizonPruner", "horizon_epochs", "MAX_RUNGS"]


def build_pruner(config: PrunerConfig, epochs: int) -> optuna.pruners.BasePruner:
    """The pruner of ``config`` for trials of ``epochs`` epochs (one report per epoch).

    Raises:
        ValueError: A pruner name with no builder (the registry below must cover ``PRUNERS``).

    Example:
        >>> type(build_pruner(PrunerConfig(name="hyperband"), epochs=10)).__name__
        'HyperbandPruner'
    """
    builder = _BUILDERS.get(config.name)
    if builder is None:
        raise ValueError(f"pruner.name: got {config.name!r}; must be one of {list(_BUILDERS)}")
    # Our Optuna steps are 1-based epochs; Optuna never prunes at a step < n_warmup_steps.
    start = min(pruning_epochs(config, epochs), default=epochs)
    with warnings.catch_warnings():  # Wilcoxon and Patient are experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return builder(config, epochs, start)


_Builder = Callable[[PrunerConfig, int, int], optuna.pruners.BasePruner]


# (config, epochs, first judged epoch) -> pruner; one entry per name of PRUNERS.
_BUILDERS: dict[str, _Builder] = {
    "none": lambda c, epochs, start: optuna.pruners.NopPruner(),
    "median": lambda c, epochs, start: _median(c, start),
    "percentile": lambda c, epochs, start: optuna.pruners.PercentilePruner(
        c.percentile, n_startup_trials=c.n_startup_trials, n_warmup_steps=start),
    "horizon": lambda c, epochs, start: HorizonPruner(c.reduction_factor),
    "successive_halving": lambda c, epochs, start: optuna.pruners.SuccessiveHalvingPruner(
        min_resource=start, reduction_factor=c.reduction_factor),
    "hyperband": lambda c, epochs, start: optuna.pruners.HyperbandPruner(
        min_resource=start, max_resource=epochs, reduction_factor=c.reduction_factor),
    "wilcoxon": lambda c, epochs, start: optuna.pruners.WilcoxonPruner(
        p_threshold=c.p_threshold, n_startup_steps=start),
    "patient": lambda c, epochs, start: optuna.pruners.PatientPruner(
        _median(c, start), patience=c.patience, min_delta=c.min_delta),
}


def _median(config: PrunerConfig, warmup_steps: int) -> optuna.pruners.MedianPruner:
    return optuna.pruners.MedianPruner(n_startup_trials=config.n_startup_trials,
                                       n_warmup_steps=warmup_steps)


MAX_RUNGS = 3


"""Rungs at most, the full length included: T / eta^2, T / eta and T (T/9, T/3 and T at
eta = 3); more would spend most of the budget on horizons too short to rank schedules."""


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
