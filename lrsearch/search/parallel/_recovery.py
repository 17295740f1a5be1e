"""Trials of dead workers: failed with a reason and queued again, the copy without the reason.

A worker that starts, or waits for the last running trials, fails the RUNNING trials of
processes known to be dead (:func:`~lrsearch.search.parallel._identity.worker_alive`) at once,
with a ``fail_reason``, and queues a copy that continues from the trial's checkpoint: no grace
period to sit out. Trials of processes that cannot be checked from here are left to the
heartbeat of a server database. SQLite has no heartbeat but allows one process at a time, so a
run that starts on a SQLite file fails every RUNNING trial it finds
(:func:`fail_orphaned_trials`): none of them can belong to a live run. A copy never inherits
what belonged to the failed run (see :func:`lrsearch.records.retry_trial`).
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.records import FAIL_REASON_ATTR, LOST_PREFIX, retry_trial, trial_worker
from lrsearch.search.parallel._identity import worker_alive

__all__ = ["fail_dead_workers", "fail_orphaned_trials"]


def fail_dead_workers(study: optuna.Study, max_retry: int | None) -> list[int]:
    """Fail and retry RUNNING trials whose worker process is known to be gone
    (:func:`worker_alive` is False).

    Returns the numbers of the trials failed here (another worker may fail one first).
    """
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial_worker(trial)
        if worker_alive(worker) is False and _fail(
                study, trial, f"{LOST_PREFIX}: process {worker['pid']} on {worker['host']} is "
                              f"gone (killed?); retried", max_retry):
            failed.append(trial.number)
    return failed


def fail_orphaned_trials(study: optuna.Study, max_retry: int | None) -> list[int]:
    """Fail and retry every RUNNING trial of a SQLite study, for a run that starts on it.

    SQLite allows one process at a time, so a trial RUNNING when a run starts belongs to no
    live run: its worker was killed, or ran on another machine or container that had the file
    (where no pid can be checked). Returns the numbers of the trials failed.
    """
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial_worker(trial) or {}
        who = (f"process {worker['pid']} on {worker['host']}" if "pid" in worker else
               "a process that recorded no worker")
        if _fail(study, trial, f"{LOST_PREFIX}: {who} left it RUNNING, and a SQLite study has "
                               f"one process at a time, so no live run owns it (killed?); "
                               f"retried", max_retry):
            failed.append(trial.number)
    return failed


def _fail(study: optuna.Study, trial: FrozenTrial, reason: str, max_retry: int | None) -> bool:
    """Fail ``trial`` with ``reason`` and queue its retry; False if another process did."""
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial._trial_id, FAIL_REASON_ATTR, reason)
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # another worker failed it first, and retried it
    retry_trial(study, storage.get_trial(trial._trial_id), max_retry)
    return True
