"""Run a study in this process: load the data once, then trials until the study is done.

``n_trials`` counts the study's finished (complete or pruned) trials in all, across resumes and
workers: a worker starts a trial only while finished plus running trials are fewer. It stops
when finished trials reach ``n_trials`` (or a grid is walked, or the timeout passes); while
trials of other workers still run and could still fail, it waits for them (polling at the
heartbeat interval), so the retry of a trial whose worker died is run, not left behind. Trials
of dead workers on this host are failed and retried at once (:mod:`lrsearch.search._recovery`),
those of other hosts by the heartbeat; a run that starts on SQLite (one process at a time)
fails every trial it finds RUNNING. A trial failed under its worker (another process judged
the worker dead) ends; the worker says so in one line and goes on with the next trial.

An exception inside a trial fails that trial (its ``fail_reason`` stored) and the run goes on;
``raise_trial_errors`` (``lrsearch --debug run``) lets it end the run with its traceback
instead. Several failures in a row end the run with a clear error: then something other than
the trial is wrong. Ctrl-C marks the running trial failed with ``fail_reason: interrupted`` and
queues a copy of it, which continues from its checkpoint when the same command is run again.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
import sqlalchemy.exc
from optuna.trial import FrozenTrial, TrialState

from lrsearch.config import StudyConfig
from lrsearch.errors import StudyError
from lrsearch.records import (
    INTERRUPTED,
    LOST_PREFIX,
    check_storage,
    fail_reason,
    normalise_url,
    redact_url,
    retry_trial,
    trial_family,
    trial_worker,
)
from lrsearch.search._objective import INVALID_GRID_POINT, Objective
from lrsearch.search._progress import StudyProgress
from lrsearch.search._recovery import (
    fail_dead_workers,
    fail_orphaned_trials,
    worker_alive,
)
from lrsearch.search._samplers import grid_walked
from lrsearch.search._study import OpenedStudy, open_study

__all__ = ["RunSummary", "run_study", "summarise", "TrialCallback"]

TrialCallback = Callable[[optuna.Study, FrozenTrial], None]
"""Called with ``(study, frozen_trial)`` after each trial finishes (any final state)."""

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_MAX_FAILURES_IN_A_ROW = 3
_MAX_POLL_S = 10.0  # waiting for other workers' trials: at most this long between looks
_SQLITE_POLL_S = 2.0


@dataclass
class RunSummary:
    """Where a study stands after a run.

    Attributes:
        study_name: The study.
        storage: Its storage URL as lrsearch opens it (driver named, password hidden).
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


def run_study(config: StudyConfig, *, worker_index: int = 0, progress: str | None = None,
              callbacks: Sequence[TrialCallback] = (), raise_trial_errors: bool = False
              ) -> RunSummary:
    """Run (or resume) the study of ``config`` in this process.

    Args:
        config: The checked study config.
        worker_index: This worker's index (seeds differ per worker).
        progress: ``"bar"``, ``"lines"``, ``"off"`` or None (bar on a terminal); also for the
            LR range test that ``peak_lr: auto`` runs when the study has none stored yet.
        callbacks: Called with ``(study, frozen_trial)`` after each trial this process ran
            (e.g. a dashboard refresher).
        raise_trial_errors: Let an exception inside a trial end the run (for debugging)
            instead of failing that trial only.

    Raises:
        StudyError: Storage unreachable, search space changed, or trials keep failing.
        DataError: The data set cannot be found or read.
    """
    from lrsearch.train import DataSettings, load_data

    optuna.logging.set_verbosity(logging.ERROR)
    # Reach the storage first (fails fast), load the data before creating anything in it, so
    # a missing data set leaves no half-made study (and no empty SQLite file) behind.
    check_storage(config.storage, config.storage_options)
    data = load_data(DataSettings(**config.data.model_dump()), config.training.device)
    opened = open_study(config, worker_index, progress)
    done = _count(opened.study, _FINISHED)
    interrupted = False
    with StudyProgress(config.n_trials, done, config.training.epochs, config.metric,
                       progress) as bar:
        objective = Objective(config, opened.space, data, on_epoch=bar.epoch)
        try:
            _optimize(opened, objective, config, bar, [bar.finished, *callbacks],
                      () if raise_trial_errors else (Exception,))
        except KeyboardInterrupt:
            interrupted = True
            _requeue_interrupted(opened, objective, config)
    return summarise(opened.study, config, interrupted)


def _optimize(opened: OpenedStudy, objective: Objective, config: StudyConfig,
              bar: StudyProgress, callbacks: list[TrialCallback],
              catch: tuple[type[Exception], ...]) -> None:
    study = opened.study
    deadline = None if config.timeout_s is None else time.monotonic() + config.timeout_s
    failures = 0
    starting = True
    while deadline is None or time.monotonic() < deadline:
        _recover(opened, config, starting)
        starting = False
        trials = study.get_trials(deepcopy=False)
        finished = sum(t.state in _FINISHED for t in trials)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        waiting = any(t.state == TrialState.WAITING for t in trials)
        if config.n_trials is not None and finished >= config.n_trials:
            return
        if grid_walked(study, opened.space) and not waiting:
            return
        if config.n_trials is not None and finished + len(running) >= config.n_trials or (
                not waiting and grid_walked(study, opened.space, running=True)):
            pending = [t for t in running if _may_end(t, opened.heartbeat)]
            if not pending:
                return  # trials nobody can end (no heartbeat, worker unknown): as before
            bar.running("waiting for " + ", ".join(f"#{t.number}" for t in pending)
                        + " (they finish or are failed and retried)")
            time.sleep(_poll_s(study, opened.heartbeat))
            continue
        ran_before = objective.trial_id
        try:
            study.optimize(objective, n_trials=1, callbacks=callbacks, catch=catch)
        except ValueError:  # Optuna's "Cannot tell a FAIL trial": was it failed under us?
            lost = _lost_trial(study, objective, ran_before)
            if lost is None:
                raise
            bar.note(f"trial #{lost.number} was failed by another process while this worker "
                     f"ran it ({fail_reason(lost)}); going on")
            continue
        failures = _failures_in_a_row(study, objective, failures)


def _recover(opened: OpenedStudy, config: StudyConfig, starting: bool = False) -> None:
    """Fail and retry the trials of dead workers: on this host now, elsewhere by heartbeat;
    on SQLite, when this run starts, every RUNNING trial.

    Raises:
        StudyError: The storage failed while reading or failing the trials.
    """
    study, max_retry = opened.study, config.storage_options.max_retry
    try:
        if starting and not opened.heartbeat:
            fail_orphaned_trials(study, max_retry)
        fail_dead_workers(study, max_retry)
        if opened.heartbeat:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
    except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError) as exc:
        reason = str(exc.__cause__ or exc).strip().splitlines()[0]
        raise StudyError(f"study {study.study_name!r} in "
                         f"{redact_url(normalise_url(config.storage))}: the storage failed "
                         f"while looking for trials of dead workers ({reason}); check that the "
                         f"database runs and accepts writes, then run the same command to "
                         f"resume") from None


def _lost_trial(study: optuna.Study, objective: Objective,
                ran_before: int | None) -> FrozenTrial | None:
    """The trial this worker just ran, if another process failed it under this worker (it
    judged the worker dead: its ``fail_reason`` says so), else None."""
    if objective.trial_id in (None, ran_before):
        return None  # the error came before the objective ran
    trial = study._storage.get_trial(objective.trial_id)
    reason = str(fail_reason(trial) or "")
    return trial if trial.state == TrialState.FAIL and reason.startswith(LOST_PREFIX) else None


def _may_end(trial: FrozenTrial, heartbeat: bool) -> bool:
    """Whether a RUNNING trial will finish or be failed (then retried), so is worth a wait.

    A trial without a ``worker`` is not lrsearch's objective's (or from before workers were
    recorded) and may have no heartbeat either: nothing is sure to end it.
    """
    worker = trial_worker(trial)
    return worker is not None and (heartbeat or bool(worker_alive(worker)))


def _poll_s(study: optuna.Study, heartbeat: bool) -> float:
    interval = study._storage.get_heartbeat_interval() if heartbeat else None
    return min(float(interval), _MAX_POLL_S) if interval else _SQLITE_POLL_S


def _failures_in_a_row(study: optuna.Study, objective: Objective, failures: int) -> int:
    """Count this worker's failed trials in a row; too many end the run with the reason."""
    if objective.trial_id is None:
        return failures
    trial = study._storage.get_trial(objective.trial_id)
    reason = fail_reason(trial) or "no reason stored"
    if trial.state != TrialState.FAIL or reason.startswith(INVALID_GRID_POINT):
        return 0  # a grid's invalid points are expected, and few
    failures += 1
    if failures >= _MAX_FAILURES_IN_A_ROW:
        raise StudyError(f"study {study.study_name!r}: {failures} trials in a row failed, the "
                         f"last (trial {trial.number}) with: {reason}; this is not one bad "
                         f"trial; fix the cause (lrsearch --debug run shows the traceback) "
                         f"and run the same command to resume")
    return failures


def _requeue_interrupted(opened: OpenedStudy, objective: Objective,
                         config: StudyConfig) -> None:
    """Queue a copy of the trial Ctrl-C stopped, so the next run continues it."""
    if objective.trial_id is None:
        return
    trial = opened.study._storage.get_trial(objective.trial_id)
    if trial.state != TrialState.FAIL or fail_reason(trial) != INTERRUPTED:
        return
    retry_trial(opened.study, trial, config.storage_options.max_retry)


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
        study_name=study.study_name, storage=redact_url(normalise_url(config.storage)),
        complete=counts[TrialState.COMPLETE], pruned=counts[TrialState.PRUNED],
        failed=counts[TrialState.FAIL],
        best_value=None if best is None else best.value,
        best_trial=None if best is None else best.number,
        best_family=None if best is None else trial_family(best),
        interrupted=interrupted)
