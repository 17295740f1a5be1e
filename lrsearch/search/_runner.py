"""Run a study in this process: load the data once, then trials until the study is done.

``n_trials`` counts the study's finished (complete or pruned) trials in all, across resumes and
workers: each worker starts a trial only while finished plus running trials are fewer, so a
resumed study continues the count and several workers stop together. Ctrl-C marks the running
trial failed with ``fail_reason: interrupted`` and queues a copy of it, which continues from
its checkpoint when the same command is run again.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from lrsearch.config import StudyConfig
from lrsearch.search._objective import Objective, trial_family
from lrsearch.search._progress import StudyProgress
from lrsearch.search._storage import open_storage, redact_url
from lrsearch.search._study import OpenedStudy, open_study

__all__ = ["RunSummary", "run_study", "summarise"]

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass
class RunSummary:
    """Where a study stands after a run.

    Attributes:
        study_name: The study.
        storage: Its storage URL, password hidden.
        complete: Completed trials.
        pruned: Pruned trials (diverged ones included).
        failed: Failed trials (interrupted or crashed).
        best_value: Best value so far, or None.
        best_trial: Number of the best trial, or None.
        best_family: Family of the best trial, or None.
        interrupted: The run was stopped by Ctrl-C.
    """

    study_name: str
    storage: str
    complete: int
    pruned: int
    failed: int
    best_value: float | None
    best_trial: int | None
    best_family: str | None
    interrupted: bool = False


def run_study(config: StudyConfig, *, worker_index: int = 0, progress: str | None = None
              ) -> RunSummary:
    """Run (or resume) the study of ``config`` in this process.

    Args:
        config: The checked study config.
        worker_index: This worker's index (seeds differ per worker).
        progress: ``"bar"``, ``"lines"``, ``"off"`` or None (bar on a terminal); also for the
            LR range test that ``peak_lr: auto`` runs when the study has none stored yet.

    Raises:
        StudyError: Storage unreachable or search space changed.
        DataError: The data set cannot be found or read.
    """
    from lrsearch.train import DataSettings, load_data

    optuna.logging.set_verbosity(logging.ERROR)
    # Reach the storage first (fails fast), load the data before creating anything in it, so
    # a missing data set leaves no half-made study behind.
    open_storage(config.storage, config.storage_options).remove_session()
    data = load_data(DataSettings(**config.data.model_dump()), config.training.device)
    opened = open_study(config, worker_index, progress)
    done = _count(opened.study, _FINISHED)
    interrupted = False
    with StudyProgress(config.n_trials, done, config.training.epochs, config.metric,
                       progress) as bar:
        objective = Objective(config, opened.space, data, on_epoch=bar.epoch)
        try:
            _optimize(opened, objective, config, bar)
        except KeyboardInterrupt:
            interrupted = True
            _requeue_interrupted(opened, objective, config)
    return summarise(opened.study, config, interrupted)


def _optimize(opened: OpenedStudy, objective: Objective, config: StudyConfig,
              bar: StudyProgress) -> None:
    study = opened.study
    deadline = None if config.timeout_s is None else time.monotonic() + config.timeout_s
    while deadline is None or time.monotonic() < deadline:
        if opened.heartbeat:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
        started = _count(study, (*_FINISHED, TrialState.RUNNING))
        if config.n_trials is not None and started >= config.n_trials:
            return
        study.optimize(objective, n_trials=1, callbacks=[bar.finished])


def _requeue_interrupted(opened: OpenedStudy, objective: Objective,
                         config: StudyConfig) -> None:
    """Queue a copy of the trial Ctrl-C stopped, so the next run continues it."""
    if objective.trial_id is None:
        return
    study = opened.study
    trial = study._storage.get_trial(objective.trial_id)
    if trial.state != TrialState.FAIL or trial.user_attrs.get("fail_reason") != "interrupted":
        return
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(
        max_retry=config.storage_options.max_retry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry(study, trial)


def _count(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def summarise(study: optuna.Study, config: StudyConfig, interrupted: bool = False
              ) -> RunSummary:
    """Counts and best trial of ``study``."""
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state == state for t in trials) for state in TrialState}
    try:
        best = study.best_trial
    except ValueError:
        best = None
    return RunSummary(
        study_name=study.study_name, storage=redact_url(config.storage),
        complete=counts[TrialState.COMPLETE], pruned=counts[TrialState.PRUNED],
        failed=counts[TrialState.FAIL],
        best_value=None if best is None else best.value,
        best_trial=None if best is None else best.number,
        best_family=None if best is None else trial_family(best),
        interrupted=interrupted)
