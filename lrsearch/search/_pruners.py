"""Build the Optuna pruner a study file asks for, and the pruning policy around it.

Why no trial is pruned before ``pruning.min_progress`` of training (default 0.5): pruners
compare trials at the same epoch, and at an early epoch a schedule that still holds a high LR
(step decay, WSD, one-cycle's peak, constant) looks worse than one that has already decayed
(exponential, a short cosine), although it often ends better: the short-horizon bias of
STYLE.md trap 6. Pruning only in the second half judges schedules once most of them have
started their decay, and still saves up to half the cost of the hopeless ones. The objective
does not even ask the pruner before that epoch (:func:`first_prune_epoch`), and the pruners
with their own warm-up are given the same epoch, so the rule holds for every pruner.
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import optuna

from lrsearch.config import PrunerConfig
from lrsearch.errors import StudyError

__all__ = ["build_pruner", "first_prune_epoch"]


def first_prune_epoch(config: PrunerConfig, epochs: int) -> int:
    """The first (1-based) epoch after which a trial may be pruned.

    Example:
        >>> first_prune_epoch(PrunerConfig(min_progress=0.5), epochs=5)
        3
        >>> first_prune_epoch(PrunerConfig(min_progress=0.0), epochs=5)
        1
    """
    return max(1, math.ceil(config.min_progress * epochs))


def build_pruner(config: PrunerConfig, epochs: int) -> optuna.pruners.BasePruner:
    """The pruner of ``config`` for trials of ``epochs`` epochs (one report per epoch).

    Raises:
        StudyError: When the pruner needs a package that is not installed (wilcoxon: scipy).

    Example:
        >>> type(build_pruner(PrunerConfig(name="hyperband"), epochs=10)).__name__
        'HyperbandPruner'
    """
    if config.name == "wilcoxon" and importlib.util.find_spec("scipy") is None:
        raise StudyError("pruner.name: got 'wilcoxon'; it needs scipy: pip install scipy "
                         "(or use median)")
    start = first_prune_epoch(config, epochs)
    # Our Optuna steps are 1-based epochs; Optuna never prunes at a step < n_warmup_steps.
    warmup_steps = start
    name = config.name
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return _median(config, warmup_steps)
    if name == "percentile":
        return optuna.pruners.PercentilePruner(config.percentile,
                                               n_startup_trials=config.n_startup_trials,
                                               n_warmup_steps=warmup_steps)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=start, reduction_factor=config.reduction_factor)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=start, max_resource=epochs,
                                              reduction_factor=config.reduction_factor)
    if name == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=config.p_threshold,
                                             n_startup_steps=start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.PatientPruner(_median(config, warmup_steps),
                                            patience=config.patience, min_delta=config.min_delta)


def _median(config: PrunerConfig, warmup_steps: int) -> optuna.pruners.MedianPruner:
    return optuna.pruners.MedianPruner(n_startup_trials=config.n_startup_trials,
                                       n_warmup_steps=warmup_steps)
