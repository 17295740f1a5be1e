"""Run a study in this process: load the data once, then ask, train and tell until it is done.

``n_trials`` counts the study's finished (complete or pruned) trials in all, across resumes and
workers: a worker starts a trial only while finished plus running trials are fewer. It stops
when finished trials reach ``n_trials`` (or a grid is walked, or the timeout passes). Between
its trials it deals with the other processes on the study (:mod:`lrsearch.search.parallel`):
it fails and retries the trials of dead workers, waits for the last trials running elsewhere,
and goes on when another process failed the trial it ran.

An exception inside a trial fails that trial (its ``fail_reason`` stored) and the run goes on;
``raise_trial_errors`` (``lrsearch --debug run``) lets it end the run with its traceback
instead. Several failures in a row end the run with a clear error: then something other than
the trial is wrong. Ctrl-C marks the running trial failed with ``fail_reason: interrupted`` and
queues a copy of it, which continues from its checkpoint when the same command is run again.
When the study is done, worker 0 re-runs its top trials with more seeds before the summary
names the winner (:mod:`lrsearch.search._reseed`).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.config import StudyConfig
from lrsearch.errors import StudyError
from lrsearch.records import (
    FAIL_RETRY_S,
    INTERRUPTED,
    STORAGE_ERRORS,
    apply_pending_failures,
    check_storage,
    disk_error_in,
    fail_after_storage_error,
    fail_reason,
    normalise_url,
    optimize_one,
    rank_complete,
    redact_url,
    reseed_runs,
    retry_trial,
    sqlite_run_lock,
    storage_cause,
    storage_failed_line,
    stored_trial,
    study_records,
    through_outage,
    trial_family,
    trial_seed_values,
)
from lrsearch.search._checkpoints import checkpoint_problems, leftover_checkpoints, study_folder
from lrsearch.search._horizon_sweep import sweep_horizons
from lrsearch.search._objective import INVALID_GRID_POINT, Objective
from lrsearch.search._polish import enqueue_polish, polish_trials
from lrsearch.search._progress import StudyProgress
from lrsearch.search._queue import missing_baselines, requeue_failed_yardsticks
from lrsearch.search._reseed import reseed_top
from lrsearch.search._samplers import grid_walked
from lrsearch.search._study import OpenedStudy, load_checked, open_study, store_description
from lrsearch.search.parallel import OtherWorkers

__all__ = ["RunSummary", "run_study", "summarise", "TrialCallback"]

TrialCallback = Callable[[optuna.Study, FrozenTrial], None]
"""Called with ``(study, frozen_trial)`` after each trial finishes (any final state)."""

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_MAX_FAILURES_IN_A_ROW = 3
# Storage outages ridden out in a row (each back within FAIL_RETRY_S) before the run ends.
_MAX_OUTAGES_IN_A_ROW = 3
_STOPPING_RETRY_S = 8.0  # how long a stopping run waits for the storage to queue its retry


@dataclass
class RunSummary:
    """Where a study stands after a run.

    Attributes:
        study_name: The study.
        storage: Its storage URL as lrsearch opens it (driver named, password hidden).
        complete: Completed trials.
        pruned: Pruned trials (diverged ones included).
        failed: Failed trials (crashed, diverged into an error; not the interrupted ones).
        best_value: Best value so far (the winner's mean over its runs), or None.
        best_trial: Number of the best trial, or None.
        best_seed_values: The winner's value of each training seed (its search run, then its
            re-runs); ``best_value`` is their mean. Empty when there is no winner.
        best_family: Family of the best trial, or None.
        interrupted: The run was stopped by Ctrl-C.
        interrupted_trials: Trials this run's Ctrl-C stopped (0 or 1); each has a queued copy
            that the next run continues. Interrupted trials never count as failed.
        checkpoints_left: ``(folder, files, bytes)`` of the checkpoints kept on disk for
            trials that will resume, or None when none is.
        missing_baselines: A line for each baseline with no result, naming why.
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
    best_seed_values: tuple[float, ...] = ()
    interrupted_trials: int = 0
    checkpoints_left: tuple[str, int, int] | None = None
    missing_baselines: tuple[str, ...] = ()


def run_study(config: StudyConfig, *, worker_index: int = 0, progress: str | None = None,
              callbacks: Sequence[TrialCallback] = (), raise_trial_errors: bool = False,
              make_objective: Callable[..., Any] | None = None) -> RunSummary:
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
        make_objective: ``(config, space, on_epoch) -> objective`` for a training loop of the
            user's own (``lrsearch.optimize``); then the study's data and model are not loaded.

    Raises:
        StudyError: Storage unreachable, search space changed, or trials keep failing.
        DataError: The data set cannot be found or read.
        TrainingError: The model cannot be built, or does not fit the data.
    """
    optuna.logging.set_verbosity(logging.ERROR)
    # Reach the storage first (fails fast), load the data and build the model once before
    # creating anything in it, so missing data or a broken model leaves no half-made study
    # (and no empty SQLite file) behind.
    check_storage(config.storage, config.storage_options)
    with sqlite_run_lock(config.storage):  # a second run on the same SQLite file: refused
        return _run_locked(config, worker_index, progress, callbacks, raise_trial_errors,
                           make_objective)


def _run_locked(config: StudyConfig, worker_index: int, progress: str | None,
                callbacks: Sequence[TrialCallback], raise_trial_errors: bool,
                make_objective: Callable[..., Any] | None) -> RunSummary:
    """:func:`run_study` once the storage is reachable and this run holds it."""
    problems = checkpoint_problems(config)
    if problems:
        raise StudyError(problems[0])
    if make_objective is None:
        data, described = load_checked(config, say=progress != "off")
    opened = open_study(config, worker_index, progress)
    if make_objective is None:
        store_description(opened.study, described)
    done = _count(opened.study, _FINISHED)
    interrupted, stopped_here = False, 0
    with StudyProgress(config.n_trials, done, config.training.epochs, config.metric,
                       progress) as bar:
        bar.update(done, opened.study)  # a resumed study shows its best at once
        objective = (Objective(config, opened.space, data, on_epoch=bar.epoch)
                     if make_objective is None else
                     make_objective(config, opened.space, on_epoch=bar.epoch))
        try:
            _optimize(opened, objective, config, bar, [bar.finished, *callbacks],
                      () if raise_trial_errors else (Exception,), requeue=worker_index == 0)
        except KeyboardInterrupt:
            interrupted = True
            stopped = _requeue_interrupted(opened.study, objective.trial_id,
                                           config.storage_options.max_retry)
            if stopped is not None:  # Optuna calls no callback for it: its line, here
                bar.finished(opened.study, stopped)
                stopped_here = 1
        # One process re-runs the top trials (worker 0: the others end with the study too),
        # with lrsearch's own training (a user's own loop is not ours to re-run).
        if (not interrupted and worker_index == 0 and make_objective is None
                and _done(opened, config)):
            try:
                reseed_top(opened.study, config, data, on_run=bar.note, on_epoch=bar.epoch)
                if config.target_epochs is not None:  # the evidence export --epochs needs
                    sweep_horizons(opened.study, config, data, on_run=bar.note)
            except KeyboardInterrupt:
                interrupted = True  # what is stored so far stays; the next run goes on
    folder = study_folder(config.checkpoint_dir, opened.study)
    files, size = leftover_checkpoints(folder)
    return replace(summarise(opened.study, config.storage, interrupted),
                   interrupted_trials=stopped_here,
                   checkpoints_left=(str(folder), files, size) if files else None,
                   missing_baselines=tuple(missing_baselines(opened.study)))


def _done(opened: OpenedStudy, config: StudyConfig) -> bool:
    """Whether the study has all its trials: ``n_trials`` finished, or its grid walked."""
    finished = _count(opened.study, _FINISHED)
    return (config.n_trials is not None and finished >= config.n_trials) or grid_walked(
        opened.study, opened.space)


def _optimize(opened: OpenedStudy, objective: Objective, config: StudyConfig,
              bar: StudyProgress, callbacks: list[TrialCallback],
              catch: tuple[type[Exception], ...], requeue: bool) -> None:
    study = opened.study
    others = OtherWorkers(study, opened.heartbeat, config.storage_options.max_retry,
                          config.storage)
    deadline = None if config.timeout_s is None else time.monotonic() + config.timeout_s
    failures = outages = 0
    starting = True
    pending_dir = study_folder(config.checkpoint_dir, study)
    for number in apply_pending_failures(study, pending_dir):
        retry_trial(study, study.trials[number], config.storage_options.max_retry)
        bar.note(f"trial #{number} failed: the study storage failed while an earlier run ran "
                 f"it (its cause is stored on it); it is retried from its checkpoint")

    while deadline is None or time.monotonic() < deadline:
        for number in others.recover(starting):
            bar.note(f"trial #{number} failed: its worker was lost (killed?) while it ran; "
                     f"a retry queued now continues it from its checkpoint")
        if starting and requeue:  # one process (worker 0), once, after the lost are retried
            for line in requeue_failed_yardsticks(study, config.storage_options.max_retry):
                bar.note(line)
        starting = False
        trials = through_outage(lambda: study.get_trials(deepcopy=False))
        finished = sum(t.state in _FINISHED for t in trials)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        waiting = any(t.state == TrialState.WAITING for t in trials)
        if config.n_trials is not None and finished >= config.n_trials:
            return
        if grid_walked(study, opened.space) and not waiting:
            return
        if config.n_trials is not None and finished + len(running) >= config.n_trials or (
                not waiting and grid_walked(study, opened.space, running=True)):
            if others.wait_for(running, bar):
                continue  # the last trials run elsewhere and may yet be failed and retried
            return  # trials nobody can end (no heartbeat, worker unknown): not waited for
        polish = polish_trials(config.sampler)
        if polish and not waiting and config.n_trials is not None and (
                finished + len(running) >= config.n_trials - polish):
            enqueue_polish(study, opened.space, polish, config.n_trials)  # its last trials
        ran_before = objective.trial_id
        fault = optimize_one(study, objective, callbacks, catch)
        if fault is None:
            failures, outages = _failures_in_a_row(study, objective, failures), 0
        elif fault.storage is not None:
            outages += 1
            _ride_out(fault.storage, outages, study, objective.trial_id != ran_before,
                      objective, config, bar, pending_dir)
        else:  # Optuna could not tell the trial: was it failed under us?
            lost = others.lost_trial(objective.trial_id, ran_before)
            if lost is None:
                raise fault.error
            bar.note(f"trial #{lost.number} was failed by another process while this worker "
                     f"ran it ({fail_reason(lost)}); going on")


def _ride_out(cause: BaseException, outages: int, study: optuna.Study, in_trial: bool,
              objective: Objective, config: StudyConfig, bar: StudyProgress,
              pending_dir: Path) -> None:
    """The storage failed (``in_trial``: under a trial this worker ran): go on when it was
    back in time and this is no long run of outages, else end the run with the cause.

    Raises:
        StudyError: The storage stayed down, or failed too many times in a row.
    """
    line = storage_failed_line(config.storage, cause)
    if in_trial:  # the trial says why, once the storage can say it
        if fail_after_storage_error(study, objective.trial_id, cause, pending_dir):
            if outages <= _MAX_OUTAGES_IN_A_ROW:  # back in time: ride it out
                _retry_after_outage(study, objective.trial_id, cause, config, bar)
                return
            line += "; the trial that was running is failed with this cause"
        else:
            line += ("; the trial that was running is failed with this cause by the "
                     "next run on this machine")
    elif outages <= _MAX_OUTAGES_IN_A_ROW and _back(study):  # between two trials
        bar.note(f"the study storage failed between trials ({storage_cause(cause)}) "
                 f"and was back within {FAIL_RETRY_S:.0f} s; the run goes on")
        return
    raise StudyError(line) from None


def _back(study: optuna.Study) -> bool:
    """Whether the storage answers again within the retry window."""
    try:
        through_outage(lambda: study.get_trials(deepcopy=False))
    except STORAGE_ERRORS:
        return False
    return True


def _retry_after_outage(study: optuna.Study, trial_id: int, cause: BaseException,
                        config: StudyConfig, bar: StudyProgress) -> None:
    """The storage failed under a trial and came back within the retry window: the trial,
    failed with the cause, is retried from its checkpoint (as a lost worker's), and the run
    goes on (a routine database restart must not end every worker)."""
    failed = stored_trial(study, trial_id)
    retry_trial(study, failed, config.storage_options.max_retry)
    bar.note(f"trial #{failed.number}: the study storage failed under it "
             f"({storage_cause(cause)}) and was back within {FAIL_RETRY_S:.0f} s; the trial "
             f"is retried from its checkpoint, and the run goes on")


def _failures_in_a_row(study: optuna.Study, objective: Objective, failures: int) -> int:
    """Count this worker's failed trials in a row; too many end the run with the reason."""
    if objective.trial_id is None:
        return failures
    trial = stored_trial(study, objective.trial_id)
    reason = fail_reason(trial) or "no reason stored"
    if trial.state != TrialState.FAIL or reason.startswith(INVALID_GRID_POINT):
        return 0  # a grid's invalid points are expected, and few
    failures += 1
    disk = disk_error_in(getattr(objective, "last_error", None))
    if disk is not None:  # a full or read-only disk fails every trial after this one too
        where = f": {disk.filename}" if disk.filename else " writing a file"
        raise StudyError(f"study {study.study_name!r}: trial {trial.number} failed with: "
                         f"{reason}; the disk is full or read-only ({disk.strerror}{where}): "
                         f"free space there (checkpoints are under checkpoint_dir), then run "
                         f"the same command to resume")
    if failures >= _MAX_FAILURES_IN_A_ROW:
        raise StudyError(f"study {study.study_name!r}: {failures} trials in a row failed, the "
                         f"last (trial {trial.number}) with: {reason}; this is not one bad "
                         f"trial; fix the cause (lrsearch --debug run shows the traceback) "
                         f"and run the same command to resume")
    return failures


def _requeue_interrupted(study: optuna.Study, trial_id: int | None,
                         max_retry: int | None) -> FrozenTrial | None:
    """Queue a copy of the trial Ctrl-C stopped, so the next run continues it; that trial,
    or None when none was stopped."""
    if trial_id is None:
        return None
    try:  # briefly: a stopping run has seconds (Slurm's SIGKILL follows its SIGTERM in 30 s)
        trial = through_outage(lambda: stored_trial(study, trial_id), _STOPPING_RETRY_S)
        if trial.state != TrialState.FAIL or fail_reason(trial) != INTERRUPTED:
            return None
        through_outage(lambda: retry_trial(study, trial, max_retry), _STOPPING_RETRY_S)
    except STORAGE_ERRORS:  # the storage is down: the next run retries it as a lost worker's
        return None
    return trial


def _count(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def summarise(study: optuna.Study, storage_url: str, interrupted: bool = False
              ) -> RunSummary:
    """Counts and best trial of ``study``, stored at ``storage_url`` (shown redacted)."""
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state == state for t in trials) for state in TrialState}
    stopped = sum(t.state == TrialState.FAIL and fail_reason(t) == INTERRUPTED for t in trials)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    stored = study_records(study)
    ranked = rank_complete(trials, stored, maximize)
    best = ranked[0] if ranked else None
    seeds = () if best is None else tuple(trial_seed_values(best, reseed_runs(stored)))
    return RunSummary(
        study_name=study.study_name, storage=redact_url(normalise_url(storage_url)),
        complete=counts[TrialState.COMPLETE], pruned=counts[TrialState.PRUNED],
        failed=counts[TrialState.FAIL] - stopped,
        best_value=statistics.fmean(seeds) if seeds else None, best_seed_values=seeds,
        best_trial=None if best is None else best.number,
        best_family=None if best is None else trial_family(best),
        interrupted=interrupted)
