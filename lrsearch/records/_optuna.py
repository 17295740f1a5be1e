"""The Optuna internals lrsearch needs, in one place: a trial by its id, a study's own
attributes, failing a running trial.

Optuna's public API cannot read one trial by id, write a study's system attributes or fail
another process's trial; lrsearch needs them to keep its records out of Optuna's tables, to
recover lost workers and to ride out a database restart. They reach into Optuna here (and in
:mod:`lrsearch.records._storage`, which overrides the stale-trial query, and
:mod:`lrsearch.records._storage_faults`, which decodes Optuna's trial loop when the storage
fails under it), so an Optuna upgrade is checked in these files. The samplers' view of a
study (``lrsearch.search._samplers``) wraps Optuna's sampler interface, which reads
``study._storage`` itself.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.records._attrs import FAIL_REASON_ATTR

__all__ = ["fail_running_trial", "heartbeat_interval", "set_study_system_attr",
           "study_system_attrs", "stored_trial", "trial_id"]


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of a trial, running or frozen (what :func:`stored_trial` takes)."""
    return trial._trial_id


def stored_trial(study: optuna.Study, trial_id: int) -> FrozenTrial:
    """Trial ``trial_id`` of ``study`` as stored now (one query; no copy of all trials)."""
    return study._storage.get_trial(trial_id)


def study_system_attrs(study: optuna.Study) -> dict[str, Any]:
    """All of the study's system attributes (one query)."""
    return study._storage.get_study_system_attrs(study._study_id)


def set_study_system_attr(study: optuna.Study, key: str, value: Any) -> None:
    """Store the study's system attribute ``key`` (plain JSON)."""
    study._storage.set_study_system_attr(study._study_id, key, value)


def heartbeat_interval(study: optuna.Study) -> int | None:
    """The study storage's heartbeat interval in seconds, or None when it has none."""
    return study._storage.get_heartbeat_interval()


def fail_running_trial(study: optuna.Study, trial_id: int, reason: str) -> bool:
    """Fail trial ``trial_id`` with ``reason`` as its ``fail_reason``; False when it was no
    longer running (it ended, or another process failed it first)."""
    storage = study._storage
    try:
        if storage.get_trial(trial_id).state != TrialState.RUNNING:
            return False
        storage.set_trial_user_attr(trial_id, FAIL_REASON_ATTR, reason)
        return bool(storage.set_trial_state_values(trial_id, state=TrialState.FAIL))
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
