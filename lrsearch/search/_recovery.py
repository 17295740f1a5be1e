"""Trials of dead workers: failed with a reason and queued again, the copy without the reason.

Each trial stores the worker that runs it (``worker``: host and pid). A worker that starts, or
waits for the last running trials, fails the RUNNING trials of dead processes on its own host at
once, with ``fail_reason``, and queues a copy that continues from the trial's checkpoint: no
grace period to sit out, and it works on SQLite too, which has no heartbeat. Trials of other
hosts are left to the heartbeat (server databases only).

A copy never inherits what belonged to the failed run (``fail_reason``, ``prune_reason``,
``worker``, ``wall_seconds``); it keeps the spec, the optimizer and the epochs done so far.
"""

from __future__ import annotations

import copy
import os
import platform
import warnings
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["RetryTrial", "retry_trial", "fail_dead_workers", "worker_id", "worker_alive",
           "WORKER_ATTR"]

WORKER_ATTR = "worker"
# User attributes of a failed run that its retry must not show as its own.
_NOT_INHERITED = ("fail_reason", "prune_reason", WORKER_ATTR, "wall_seconds")


def worker_id() -> dict[str, Any]:
    """This process as a trial's ``worker`` attribute: ``{"host": ..., "pid": ...}``."""
    return {"host": platform.node(), "pid": os.getpid()}


def worker_alive(worker: dict[str, Any] | None) -> bool | None:
    """Whether a trial's worker process lives: None when that cannot be told from here (no
    worker recorded, or another host).

    Example:
        >>> worker_alive(worker_id()), worker_alive({"host": "elsewhere", "pid": 1})
        (True, None)
    """
    if not worker or worker.get("host") != platform.node() or worker.get("pid") is None:
        return None
    pid = int(worker["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process holds the pid
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has exited but was not reaped yet (Linux; elsewhere: False)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def retry_trial(study: optuna.Study, trial: FrozenTrial, max_retry: int | None) -> None:
    """Queue a copy of the failed ``trial`` (Optuna's ``RetryHeartbeatStaleTrialCallback``:
    same parameters, ``failed_trial``/``retry_history`` system attributes), up to
    ``max_retry`` times, without the failed run's own attributes."""
    kept = copy.deepcopy(trial)
    kept.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in _NOT_INHERITED}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, kept)


class RetryTrial:
    """Optuna's heartbeat-stale-trial callback: :func:`retry_trial` with ``max_retry``.

    The failed trial's ``fail_reason`` was written just before Optuna failed it (see
    :mod:`lrsearch.search._storage`).
    """

    def __init__(self, max_retry: int | None) -> None:
        self.max_retry = max_retry

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        retry_trial(study, trial, self.max_retry)


def fail_dead_workers(study: optuna.Study, max_retry: int | None) -> list[int]:
    """Fail and retry RUNNING trials whose worker process on this host is gone.

    Returns the numbers of the trials failed here (another worker may fail one first).
    """
    storage = study._storage
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER_ATTR)
        if worker_alive(worker) is not False:
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason",
                                        f"worker lost: process {worker['pid']} on "
                                        f"{worker['host']} is gone (killed?); retried")
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker failed it first, and retried it
        retry_trial(study, storage.get_trial(trial._trial_id), max_retry)
        failed.append(trial.number)
    return failed
