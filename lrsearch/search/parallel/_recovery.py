"""Trials of dead workers: failed with a reason and queued again, the copy without the reason.

A worker that starts, or waits for the last running trials, fails the RUNNING trials of
processes known to be dead (:func:`~lrsearch.search.parallel._identity.worker_alive`) at once,
with a ``fail_reason``, and queues a copy that continues from the trial's checkpoint: no grace
period to sit out. Trials of processes that cannot be checked from here are left to the
heartbeat of a server database. SQLite has no heartbeat but allows one process at a time, so a
run that starts on a SQLite file fails every RUNNING trial it finds
(:func:`fail_orphaned_trials`): none of them can belong to a live run. A copy never inherits
what belonged to the failed run (see :func:`lrsearch.records.retry_trial`).

The other workers on a study, as one worker's loop sees them between its own trials.

Several processes (on this machine or others, through a server database) may run one study.
Between its trials a worker fails and retries the trials of dead workers (on this host at
once, elsewhere by the heartbeat; on SQLite, when its run starts, every RUNNING trial); while
the last trials of the study run elsewhere it waits for them (polling at the heartbeat
interval), so the retry of a trial whose worker died is run, not left behind; and when another
process failed the trial this worker was running (it judged the worker dead), the worker is
told, so it can say so and go on.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.trial import FrozenTrial, TrialState

from lrsearch.errors import StudyError
from lrsearch.records import (
    LOST_PREFIX,
    fail_reason,
    fail_running_trial,
    heartbeat_interval,
    normalise_url,
    redact_url,
    retry_trial,
    stored_trial,
    through_outage,
    trial_id,
    trial_worker,
)
from lrsearch.search.parallel._identity import worker_alive

__all__ = ["fail_dead_workers", "fail_orphaned_trials", "OtherWorkers"]


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
    if not fail_running_trial(study, trial_id(trial), reason):
        return False  # another worker failed it first, and retried it
    retry_trial(study, stored_trial(study, trial_id(trial)), max_retry)
    return True


_MAX_POLL_S = 10.0  # waiting for other workers' trials: at most this long between looks


_SQLITE_POLL_S = 2.0


class OtherWorkers:
    """What one worker's loop does about the other processes on ``study``.

    Args:
        study: The study.
        heartbeat: Its storage fails and retries the trials of dead workers (a server).
        max_retry: How often a trial of a dead worker is queued again (None: no limit).
        storage_url: The study's storage URL, for messages (its password is hidden).
    """

    def __init__(self, study: optuna.Study, heartbeat: bool, max_retry: int | None,
                 storage_url: str) -> None:
        self.study, self.heartbeat, self.max_retry = study, heartbeat, max_retry
        self.storage_url = storage_url

    def recover(self, starting: bool = False) -> list[int]:
        """Fail and retry the trials of dead workers: on this host now, elsewhere by heartbeat;
        on SQLite, when this run is ``starting``, every RUNNING trial. Returns the numbers of
        the trials failed here by pid or on SQLite (those failed by heartbeat are Optuna's).

        Raises:
            StudyError: The storage failed while reading or failing the trials.
        """
        try:
            return through_outage(lambda: self._recover(starting))  # a database restart
        except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError) as exc:
            reason = str(exc.__cause__ or exc).strip().splitlines()[0]
            raise StudyError(f"study {self.study.study_name!r} in "
                             f"{redact_url(normalise_url(self.storage_url))}: the storage "
                             f"failed while looking for trials of dead workers ({reason}); "
                             f"check that the database runs and accepts writes, then run the "
                             f"same command to resume") from None

    def _recover(self, starting: bool) -> list[int]:
        failed = []
        if starting and not self.heartbeat:
            failed += fail_orphaned_trials(self.study, self.max_retry)
        failed += fail_dead_workers(self.study, self.max_retry)
        if self.heartbeat:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(self.study)
        return failed

    def wait_for(self, running: Sequence[FrozenTrial], bar: Any) -> bool:
        """Wait a poll interval for the ``running`` trials that will end (finish, or fail and
        be retried), saying so on ``bar``; False, at once, when none of them will."""
        pending = [t for t in running if self._may_end(t)]
        if not pending:
            return False
        bar.running("waiting for " + ", ".join(f"#{t.number}" for t in pending)
                    + " (they finish or are failed and retried)")
        time.sleep(self._poll_s())
        return True

    def lost_trial(self, trial_id: int | None, ran_before: int | None) -> FrozenTrial | None:
        """The trial ``trial_id`` this worker just ran, if another process failed it under
        this worker (it judged the worker dead: its ``fail_reason`` says so), else None."""
        if trial_id in (None, ran_before):
            return None  # the error came before the objective ran
        trial = stored_trial(self.study, trial_id)
        reason = str(fail_reason(trial) or "")
        return trial if trial.state == TrialState.FAIL and reason.startswith(LOST_PREFIX) else None

    def _may_end(self, trial: FrozenTrial) -> bool:
        """Whether a RUNNING trial will finish or be failed (then retried), so is worth a wait.

        A trial without a worker is not lrsearch's objective's and may have no heartbeat
        either: nothing is sure to end it.
        """
        worker = trial_worker(trial)
        return worker is not None and (self.heartbeat or bool(worker_alive(worker)))

    def _poll_s(self) -> float:
        interval = heartbeat_interval(self.study) if self.heartbeat else None
        return min(float(interval), _MAX_POLL_S) if interval else _SQLITE_POLL_S
