"""Re-run the study's top trials with more training seeds before its winner is named.

The search ranks trials by one seed's validation value, so its best-looking trial is partly the
luckiest. When a run ends with the study done, the ``reseed.top_k`` best complete trials are
each trained ``reseed.seeds`` more times (same split, same schedule and optimizer, fresh
training seeds: weights, batch order, augmentation), and the winner is the best mean
among them (:mod:`lrsearch.records._winner`). Each run is stored as soon as it ends, so an
interrupted stage resumes where it stopped; a trial that enters the top later is re-run by the
next run that ends with the study done. Measured effect: docs/search_quality.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from lrsearch.config import StudyConfig
from lrsearch.errors import DivergedError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import (
    RESEEDS_ATTR,
    rank_complete,
    reseed_runs,
    set_study_record,
    study_records,
    trial_optimizer,
    trial_schedule,
)
from lrsearch.schedules import ScheduleSpec

__all__ = ["RESEED_SEED_BASE", "reseed_seeds", "reseed_todo", "reseed_top"]

RESEED_SEED_BASE = 5_000
"""Training seeds of re-runs: ``5000 + k``, apart from the search's and confirm's (10000+)."""


def reseed_seeds(config: StudyConfig) -> list[int]:
    """The training seeds each top trial is re-run with.

    Example:
        >>> from lrsearch.config import parse_study
        >>> reseed_seeds(parse_study({"name": "d", "reseed": {"seeds": 2}}))
        [5000, 5001]
    """
    return [RESEED_SEED_BASE + k for k in range(config.reseed.seeds)]


def reseed_todo(study: optuna.Study, config: StudyConfig) -> list[tuple[Any, int]]:
    """``(trial, seed)`` pairs of the top ``reseed.top_k`` trials by their search value that
    are not re-run yet (a study resumed later re-runs the new ones that entered the top)."""
    if config.reseed.top_k == 0:
        return []
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    done = reseed_runs(study_records(study))
    by_value = [t for t in rank_complete(study.get_trials(deepcopy=False), {}, maximize)
                if trial_schedule(t) is not None]
    return [(t, seed) for t in by_value[:config.reseed.top_k] for seed in reseed_seeds(config)
            if seed not in done.get(t.number, {})]


def reseed_top(study: optuna.Study, config: StudyConfig, data: Any,
               on_run: Callable[[str], None] | None = None,
               on_epoch: Callable[[int, Any], None] | None = None) -> int:
    """Re-run the top trials until the top ``reseed.top_k`` all have their seeds; return the
    runs trained. A diverged re-run counts as the worst value there is for the direction."""
    from lrsearch.train import train

    trained = 0
    while todo := reseed_todo(study, config):
        trial, seed = todo[0]
        if on_run is not None:
            on_run(f"re-running trial {trial.number} with training seed {seed} "
                   f"({len(todo)} to go) before naming the winner")
        spec = ScheduleSpec.from_dict(trial_schedule(trial))
        progress = None if on_epoch is None else (lambda r, n=trial.number: on_epoch(n, r))
        try:
            result = train(spec, OptimizerSettings(**(trial_optimizer(trial) or {})),
                           config.train_settings(seed=seed), data, on_epoch=progress)
            value = float(getattr(result.epochs[-1], config.metric))
        except DivergedError:
            value = float("-inf") if config.direction == "maximize" else float("inf")
        _store(study, trial.number, seed, value)
        trained += 1
    return trained


def _store(study: optuna.Study, number: int, seed: int, value: float) -> None:
    """Add one run to the study's re-runs (read again first: other processes may add too)."""
    stored = dict(study_records(study).get(RESEEDS_ATTR) or {})
    runs = {k: dict(v) for k, v in (stored.get("runs") or {}).items()}
    runs.setdefault(str(number), {})[str(seed)] = value
    set_study_record(study, RESEEDS_ATTR, {"runs": runs})
