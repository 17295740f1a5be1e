"""One trial protocol: what every trial stores, and how it ends, whoever trains it.

lrsearch's own CIFAR training (:class:`~lrsearch.search.Objective`) and a user's loop
(:class:`~lrsearch.search.UserObjective`) both run a trial through :class:`TrialProtocol`,
as Optuna's ``_run_trial`` owns a trial from ask to tell: the worker running it, the schedule
and optimizer it runs (a ready-made baseline's fixed ones, else sampled), its wall time,
and its end: pruned (with the reason), interrupted (Ctrl-C or SIGTERM: retried next run),
failed (the reason, and the error kept in ``last_error`` so the runner can stop on a full
disk), or the storage lost under it (nothing can be stored: :class:`StorageLost` passes
Optuna's ``catch`` to the runner). A subclass only trains (:meth:`train_trial`).
"""

from __future__ import annotations

import time
from typing import Any

import optuna

from lrsearch.config import StudyConfig
from lrsearch.records import (
    FAIL_REASON_ATTR,
    FIXED_OPTIMIZER_ATTR,
    FIXED_SCHEDULE_ATTR,
    INTERRUPTED,
    OPTIMIZER_ATTR,
    PRUNE_REASON_ATTR,
    SCHEDULE_ATTR,
    WALL_SECONDS_ATTR,
    WORKER_ATTR,
    is_baseline,
    is_polish,
    raise_if_storage_lost,
    storage_error_in,
    trial_baseline,
    trial_id,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search._space import SearchSpace
from lrsearch.search.parallel import worker_id

__all__ = ["TrialProtocol", "never_pruned"]

_MAX_REASON_CHARS = 1000


def never_pruned(trial: Any) -> bool:
    """Whether the trial always runs to the end, whoever trains it: a baseline (the study's
    yardstick) or a polish trial (it differs from the incumbent in its peak LR alone, and a
    shorter horizon favours a higher one, so only the full length compares them)."""
    return is_baseline(trial) or is_polish(trial)


class TrialProtocol:
    """Callable objective for ``study.optimize``: one trial's stored state and outcome.

    Attributes:
        trial_id: Storage id of the latest trial this process ran (None before the first).
        last_error: What failed the latest trial, or None.
    """

    def __init__(self, config: StudyConfig, space: SearchSpace) -> None:
        self.config, self.space = config, space
        self.baselines = {b.name: b for b in config.baselines if not isinstance(b, str)}
        self.trial_id: int | None = None
        self.last_error: Exception | None = None

    def train_trial(self, trial: optuna.Trial, spec: ScheduleSpec,
                    optimizer: dict[str, Any]) -> float:
        """Train the trial's schedule; its final value (raise ``TrialPruned`` to stop it)."""
        raise NotImplementedError

    def lay_out(self, spec: ScheduleSpec) -> ScheduleSpec:
        """The spec as stored and trained (e.g. laid onto the real number of steps)."""
        return spec

    def suggest(self, trial: optuna.Trial) -> tuple[ScheduleSpec, dict[str, Any]]:
        """A searched trial's schedule and optimizer (a grid's baselines run their own)."""
        grid = self.space.grid_points is not None
        return self.space.suggest(trial, self.baselines.get(trial_baseline(trial))
                                  if grid else None)

    def __call__(self, trial: optuna.Trial) -> float:
        self.trial_id, self.last_error = trial_id(trial), None
        started, storage_lost = time.perf_counter(), False
        try:
            trial.set_user_attr(WORKER_ATTR, worker_id())
            fixed = trial.user_attrs.get(FIXED_SCHEDULE_ATTR)
            if fixed is None:
                spec, optimizer = self.suggest(trial)
            else:  # a ready-made baseline: exactly its spec and optimizer, nothing sampled
                spec = ScheduleSpec.from_dict(fixed)
                self.space.label_family(trial, spec.family)
                optimizer = dict(trial.user_attrs[FIXED_OPTIMIZER_ATTR])
            spec = self.lay_out(spec)
            trial.set_user_attr(SCHEDULE_ATTR, spec.to_dict())
            trial.set_user_attr(OPTIMIZER_ATTR, optimizer)
            return self.train_trial(trial, spec, optimizer)
        except optuna.TrialPruned as exc:
            if PRUNE_REASON_ATTR not in trial.user_attrs:
                trial.set_user_attr(PRUNE_REASON_ATTR, str(exc))
            raise
        except optuna.exceptions.UpdateFinishedTrialError:
            # Another process failed this trial (it judged this worker dead) and queued its
            # retry, which continues from the checkpoint: nothing more to store.
            storage_lost = True
            raise
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the runner queues its retry
            trial.set_user_attr(FAIL_REASON_ATTR, INTERRUPTED)
            raise
        except Exception as exc:
            storage_lost = storage_error_in(exc) is not None
            raise_if_storage_lost(exc)  # nothing can be stored: the runner says why
            self.last_error = exc
            if FAIL_REASON_ATTR not in trial.user_attrs:
                trial.set_user_attr(FAIL_REASON_ATTR,
                                    f"{type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS])
            raise
        finally:
            if not storage_lost:
                trial.set_user_attr(WALL_SECONDS_ATTR, float(time.perf_counter() - started))
