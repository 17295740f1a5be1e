"""A failed trial queued again: same parameters, without what belonged to its failed run.

A trial stopped by Ctrl-C or by the death of its worker is failed with a ``fail_reason`` and
queued again (Optuna's ``RetryHeartbeatStaleTrialCallback``: ``failed_trial`` and
``retry_history`` system attributes). The copy keeps the spec, the optimizer and the epochs
done so far, so it continues from the trial's checkpoint; it never inherits
:data:`~lrsearch.records.RUN_ONLY_ATTRS`.
"""

from __future__ import annotations

import copy
import warnings

import optuna
from optuna.trial import FrozenTrial

from lrsearch.records._attrs import RUN_ONLY_ATTRS

__all__ = ["RetryTrial", "retry_trial"]


def retry_trial(study: optuna.Study, trial: FrozenTrial, max_retry: int | None) -> None:
    """Queue a copy of the failed ``trial``, up to ``max_retry`` times, without the failed
    run's own attributes."""
    kept = copy.deepcopy(trial)
    kept.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in RUN_ONLY_ATTRS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, kept)


class RetryTrial:
    """Optuna's heartbeat-stale-trial callback: :func:`retry_trial` with ``max_retry``.

    The failed trial's ``fail_reason`` was written just before Optuna failed it (see
    :func:`lrsearch.records.open_storage`).
    """

    def __init__(self, max_retry: int | None) -> None:
        self.max_retry = max_retry

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        retry_trial(study, trial, self.max_retry)
