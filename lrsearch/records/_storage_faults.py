"""When the storage fails under a running trial: the cause in words, and the trial failed with
it as soon as the storage takes writes again (not left RUNNING, later blamed on a dead worker).

The run retries for ``FAIL_RETRY_S`` seconds; if the storage is still down, the cause is kept
in a small file beside the checkpoints, and the next run on that machine fails the trial with
it before anything else. Optuna's trial loop, when the storage fails as it ends a trial, raises
errors of its own: :func:`optimize_one` runs one trial and decodes them.
"""

from __future__ import annotations

import errno
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import optuna
from optuna.exceptions import StorageInternalError
from sqlalchemy.exc import SQLAlchemyError

from lrsearch.records._optuna import fail_running_trial, stored_trial
from lrsearch.urls import redact_url

__all__ = ["DISK_ERRNOS", "STORAGE_ERRORS", "FAIL_RETRY_S", "LoopFault", "StorageLost",
           "optimize_one",
           "apply_pending_failures", "disk_error_in", "fail_after_storage_error",
           "raise_if_storage_lost", "storage_cause", "storage_error_in", "storage_failed_line",
           "storage_hint", "through_outage"]

T = TypeVar("T")

STORAGE_ERRORS = (SQLAlchemyError, StorageInternalError)
FAIL_RETRY_S = 30.0
_PENDING_FILE = "storage-failures.json"
# A full disk, a quota, a file-size limit, a read-only file system: no trial can get past them.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


class StorageLost(BaseException):
    """A storage error inside a trial, carried past Optuna's ``catch`` to the runner.

    Not an ``Exception``: Optuna would fail the trial itself, storing its own guess at the
    cause ("e.g. exceeding max length") or, the storage refusing writes, leave it RUNNING
    and raise an error of its own. The runner fails the trial with the real cause instead.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(storage_cause(cause))
        self.cause = cause


def _chain(exc: BaseException | None):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def storage_error_in(exc: BaseException) -> BaseException | None:
    """``exc`` or the first storage error it was raised from or during, else None."""
    if isinstance(exc, StorageLost):
        return exc.cause
    return next((seen for seen in _chain(exc) if isinstance(seen, STORAGE_ERRORS)), None)


def raise_if_storage_lost(exc: BaseException) -> None:
    """Raise :class:`StorageLost` from ``exc`` when a storage error is in its chain: the trial
    is not to blame, and the runner fails it with the storage's cause."""
    lost = storage_error_in(exc)
    if lost is not None:
        raise StorageLost(lost) from exc


def disk_error_in(exc: BaseException | None) -> OSError | None:
    """The disk-full or read-only-file-system ``OSError`` in ``exc``'s chain, else None."""
    return next((seen for seen in _chain(exc)
                 if isinstance(seen, OSError) and seen.errno in DISK_ERRNOS), None)


def storage_hint(cause: str) -> str:
    """What to do about a storage error, by the database's own words ``cause``."""
    lowered = cause.lower()
    if "malformed" in lowered or "not a database" in lowered:
        return ("the SQLite file is damaged or not a database: restore it from a backup, or "
                "name another file")
    if "readonly" in lowered or "read-only" in lowered:
        return ("the database or its file is read-only: make it writable (the file and its "
                "folder, for SQLite) or run on a copy; lrsearch report and export read it as "
                "it is")
    if any(words in lowered for words in ("disk i/o", "disk is full", "no space",
                                          "file too large", "quota")):
        return "the disk holding the database is full or failing: free space or move it"
    if re.search(r"database \S+ does not exist|unknown database", lowered):
        return "the database is not there: create it (lrsearch creates the tables) or fix the URL"
    if "no such table" in lowered or "no such column" in lowered or \
            re.search(r"(table|column) \S+ (does not exist|doesn't exist)", lowered):
        return ("the database's tables are not Optuna's as lrsearch expects (damaged, or made "
                "by another program or Optuna version): restore it, or name another database")
    # MariaDB/MySQL 1045 and PostgreSQL's failed authentication: a login, not rights.
    if re.search(r"\(1045,|access denied for user .*using password|password authentication "
                 r"failed|no password supplied", lowered):
        return ("the server refuses this login: check the user and password (a password with "
                "@, :, / or % percent-encoded in the URL; or PGPASSWORD / ~/.pgpass for "
                "PostgreSQL, or the URL in $LRSEARCH_STORAGE to keep it off the command line)")
    if "permission denied" in lowered or "access denied" in lowered or \
            "command denied" in lowered:
        return ("the database refuses this user: grant it the rights a study needs (create "
                "tables; select, insert, update and delete on them) or use another user")
    return "check the URL and that the database server runs and accepts you"


def storage_failed_line(url: str | None, exc: BaseException) -> str:
    """The one line a command ends with when the storage at ``url`` fails under it."""
    cause = storage_cause(exc)
    where = f" {redact_url(url)}" if url else ""
    return (f"the study storage{where} failed: {cause}; {storage_hint(cause)}; then run the "
            f"same command again: trials finished so far are kept")


def storage_cause(exc: BaseException) -> str:
    """The database's own words for ``exc``: one line, at most 300 characters, no password."""
    if isinstance(exc, StorageLost):
        exc = exc.cause
    # Optuna's wrapper says "e.g. exceeding max length" whatever happened: the database
    # driver's error it was raised from says what.
    inner = next((seen for seen in _chain(exc) if isinstance(seen, SQLAlchemyError)), exc)
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
            fail_running_trial(study, trial_id, reason)  # or it ended meanwhile: done too
            return True
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


def through_outage(read: Callable[[], T], retry_s: float = FAIL_RETRY_S) -> T:
    """``read()``, tried again while the storage fails (a database restart), for up to
    ``retry_s`` seconds; then its error is raised.

    Example:
        >>> through_outage(lambda: 42)
        42
    """
    deadline, wait = time.monotonic() + retry_s, 0.5
    while True:
        try:
            return read()
        except STORAGE_ERRORS:
            if time.monotonic() + wait > deadline:
                raise
            time.sleep(wait)
            wait = min(wait * 2, 8.0)


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
            trial = stored_trial(study, int(trial_id))
        except KeyError:  # another study's, or gone
            continue
        if fail_running_trial(study, int(trial_id), reason):
            failed.append(trial.number)
    path.unlink(missing_ok=True)
    return failed


@dataclass(frozen=True)
class LoopFault:
    """Why Optuna's loop around one trial stopped, decoded.

    Attributes:
        storage: The storage's error under the trial, or None.
        error: Otherwise Optuna's refusal to tell a trial that another process failed
            meanwhile (``ValueError: Cannot tell a FAIL trial``), to re-raise when no other
            process did.
    """

    storage: BaseException | None = None
    error: ValueError | None = None


def optimize_one(study: optuna.Study, objective: Callable[[optuna.Trial], float],
                 callbacks: Sequence[Any] = (), catch: tuple[type[Exception], ...] = ()
                 ) -> LoopFault | None:
    """Run one trial through Optuna's loop (``study.optimize(n_trials=1)``): None when it ended
    as trials end (complete, pruned, failed and caught), else the :class:`LoopFault`.

    When the storage fails while Optuna ends a trial, its loop raises an error of its own from
    the storage's (an ``AssertionError`` "Should not reach", an ``UnboundLocalError``); the
    storage's error is found in the chain. Any other error is raised as it came.
    """
    try:
        study.optimize(objective, n_trials=1, callbacks=list(callbacks), catch=catch)
    except (StorageLost, *STORAGE_ERRORS, UnboundLocalError, AssertionError) as exc:
        cause = storage_error_in(exc)
        if cause is None:
            raise
        return LoopFault(storage=cause)
    except ValueError as exc:
        return LoopFault(error=exc)
    return None
