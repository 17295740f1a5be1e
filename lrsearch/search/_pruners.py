"""Build the Optuna pruner a study file asks for (the policy around it: config._pruning).

Mid-schedule values rank schedule families badly (a schedule that still holds a high LR looks
worse than one that already decayed, though it often ends better), so a trial is judged only
at a few pruning points (``at_progress``) and, when the search space mixes families, by a
cooldown probe there (``judge: probe``). ``wilcoxon`` hears every epoch's raw value from the
first point on: its signed-rank test needs several paired epochs. ``horizon`` judges whole
schedules at shorter horizons instead (:mod:`lrsearch.search._horizon`): no pruning points, no
probe. Policy and measurements: docs/pruning.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna

from lrsearch.config import PrunerConfig, pruning_epochs
from lrsearch.search._horizon import HorizonPruner

__all__ = ["build_pruner"]


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
