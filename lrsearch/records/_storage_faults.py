"""When the storage fails under a running trial: the cause in words, and the trial failed with
it as soon as the storage takes writes again (not left RUNNING, later blamed on a dead worker).

The run retries for ``FAIL_RETRY_S`` seconds; if the storage is still down, the cause is kept
in a small file beside the checkpoints, and the next run on that machine fails the trial with
it before anything else.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna
from optuna.exceptions import StorageInternalError
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from lrsearch.config._urls import redact_url
from lrsearch.records._attrs import FAIL_REASON_ATTR

__all__ = ["STORAGE_ERRORS", "FAIL_RETRY_S", "apply_pending_failures", "fail_after_storage_error",
           "storage_cause"]

STORAGE_ERRORS = (SQLAlchemyError, StorageInternalError)
FAIL_RETRY_S = 30.0
_PENDING_FILE = "storage-failures.json"


def storage_cause(exc: BaseException) -> str:
    """The database's own words for ``exc``: one line, at most 300 characters, no password."""
    inner, seen = exc, exc  # Optuna's wrapper says "e.g. exceeding max length" whatever
    while seen is not None:  # happened: the database driver's error it was raised from says
        if isinstance(seen, SQLAlchemyError):
            inner = seen
            break
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    text = str(getattr(inner, "orig", None) or inner).strip() or type(inner).__name__
    return redact_url(text.splitlines()[0])[:300]


def fail_after_storage_error(study: optuna.Study, trial_id: int | None, exc: BaseException,
                             pending_dir: Path, retry_s: float = FAIL_RETRY_S) -> bool:
    """Fail the running trial ``trial_id`` with the storage's cause, retrying while the storage
    refuses; True once done (or nothing to do), False when it is kept for the next run."""
    if trial_id is None:
        return True
    reason = f"the study storage failed during this trial: {storage_cause(exc)}"
    deadline, wait = time.monotonic() + retry_s, 0.5
    while True:
        try:
            return _fail(study, trial_id, reason)
        except STORAGE_ERRORS:
            if time.monotonic() + wait > deadline:
                break
            time.sleep(wait)
            wait = min(wait * 2, 8.0)
    path = Path(pending_dir) / _PENDING_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pending = json.loads(path.read_text()) if path.exists() else {}
        pending[str(trial_id)] = reason
        path.write_text(json.dumps(pending))
    except (OSError, ValueError):
        pass  # the message the run ends with still names the cause
    return False


def apply_pending_failures(study: optuna.Study, pending_dir: Path) -> list[int]:
    """Fail the trials an earlier run could not (its file in ``pending_dir``); their numbers."""
    path = Path(pending_dir) / _PENDING_FILE
    try:
        pending = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    failed = []
    for trial_id, reason in pending.items():
        try:
            trial = study._storage.get_trial(int(trial_id))
        except KeyError:  # another study's, or gone
            continue
        if trial.state == TrialState.RUNNING and _fail(study, int(trial_id), reason):
            failed.append(trial.number)
    path.unlink(missing_ok=True)
    return failed


def _fail(study: optuna.Study, trial_id: int, reason: str) -> bool:
    storage = study._storage
    if storage.get_trial(trial_id).state != TrialState.RUNNING:
        return True
    storage.set_trial_user_attr(trial_id, FAIL_REASON_ATTR, reason)
    storage.set_trial_state_values(trial_id, TrialState.FAIL)
    return True
