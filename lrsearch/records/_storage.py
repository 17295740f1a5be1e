"""Open a study storage from a SQLAlchemy URL: to run a study, or to read one, clear errors.

To run (:func:`open_storage`), the tables are created if needed, and on a server database
(PostgreSQL, MySQL/MariaDB) every worker writes a heartbeat while its trial runs: a trial whose
worker was killed is failed once its heartbeat is older than the grace period, with a
``fail_reason``, and a copy of it is queued (:class:`~lrsearch.records.RetryTrial`), so the
study loses nothing. To read (:func:`load_report_study`: report, export, confirm, dashboard),
nothing is created: a SQLite file that is not there is an error (Optuna would create an empty
database), and an unknown study name lists the studies the storage holds.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
import warnings
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url

from lrsearch.config import StorageOptions
from lrsearch.errors import StudyError
from lrsearch.records._attrs import CONFIG_ATTR, FAIL_REASON_ATTR, LOST_PREFIX
from lrsearch.records._retry import RetryTrial
from lrsearch.records._storage_faults import STORAGE_ERRORS, storage_cause, storage_hint
from lrsearch.records._store import study_records
from lrsearch.records._stored_json import check_readable
from lrsearch.urls import is_sqlite, normalise_url, redact_url, unencoded_at_problem

__all__ = ["check_storage", "load_report_study", "open_report_storage", "open_storage",
           "storage_problems", "study_names"]

_CONNECT_TIMEOUT_S = 10


def _read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A read-only connection to the SQLite file at ``path`` (it can write nothing), closed
    after the ``with`` block."""
    return contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10))


def _sqlite_damage(path: Path) -> str | None:
    """SQLite's own first complaint about the file at ``path`` (read only), None if sound."""
    try:
        with _read_only(path) as connection:
            row = connection.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.OperationalError as exc:
        return None if "locked" in str(exc) else str(exc)[:200]  # locked: in use, not damaged
    except sqlite3.Error as exc:
        return str(exc)[:200]
    return None if row and row[0] == "ok" else f"SQLite's quick_check: {row[0]!s:.200}"


def check_storage(url: str, options: StorageOptions) -> None:
    """Fail fast on a storage that cannot be opened, creating nothing on SQLite.

    A server database is opened (and its tables created); for SQLite only the folder is
    checked, so a run that stops before its study exists (data not found) leaves no file.

    Raises:
        StudyError: As :func:`open_storage`.
    """
    if is_sqlite(normalise_url(url)):
        problems = storage_problems(url)
        if problems:
            raise StudyError(problems[0])
    else:
        open_storage(url, options).remove_session()


_SQLITE_HEADER = b"SQLite format 3\x00"


def storage_problems(url: str, to_write: bool = True) -> list[str]:
    """Why a run could not write the SQLite file of ``url`` (or, ``to_write`` False, a report
    read it), found without writing or creating anything (the file is only read, by SQLite's
    quick_check), for ``lrsearch validate`` and the run's start; [] for a server database,
    which only a connection can tell."""
    url = normalise_url(url)
    database = make_url(url).database if is_sqlite(url) else None
    if not database or database == ":memory:":
        return []
    path = Path(database).expanduser().resolve()
    named = f"storage: got {redact_url(url)!r}"
    try:
        path.exists()
    except OSError as exc:  # a name too long for the file system
        return [f"{named}; {exc.strerror}"]
    if not path.parent.is_dir():
        return [f"{named}; the folder {path.parent} does not exist"]
    if path.exists():
        if not path.is_file():
            return [f"{named}; {path} is not a file"]
        try:
            with path.open("rb") as file:
                header = file.read(len(_SQLITE_HEADER))
        except OSError as exc:
            return [f"{named}; {path} cannot be read ({exc.strerror})"]
        if header and header != _SQLITE_HEADER:
            return [f"{named}; {path} is not a SQLite database (its first bytes say so): name "
                    f"another file, lrsearch creates it"]
        damage = _sqlite_damage(path) if header else None
        if damage:
            return [f"{named}; {path} is damaged ({damage}): restore it from a backup, or name "
                    f"another file"]
        if not to_write:
            return []
        if not os.access(path, os.W_OK):
            return [f"{named}; the SQLite file {path} is read-only here, and lrsearch run "
                    f"writes every trial to it: make it writable or run on a copy (lrsearch "
                    f"report and export read it as it is)"]
    if to_write and not os.access(path.parent, os.W_OK | os.X_OK):
        return [f"{named}; its folder {path.parent} is not writable, and SQLite writes the "
                f"database and its journal there: name a writable folder"]
    return []


def open_storage(url: str, options: StorageOptions) -> optuna.storages.RDBStorage:
    """An Optuna ``RDBStorage`` for ``url``, its tables created if needed.

    Raises:
        StudyError: When the database cannot be reached or opened, naming the (redacted) URL.
    """
    given, url = url, normalise_url(url)
    if unencoded_at_problem(given) is not None:  # before the driver echoes the password's tail
        raise StudyError(unencoded_at_problem(given))
    new_file = None
    if is_sqlite(url):
        _check_sqlite_folder(url)
        new_file = _new_sqlite_file(url)
    engine_kwargs = {"pool_pre_ping": True, "connect_args": _connect_args(url)}
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return _ReasonedStorage(url, engine_kwargs=engine_kwargs,
                                        **_heartbeat_kwargs(url, options))
        except ImportError as exc:
            cause = exc.__cause__ or exc
            raise StudyError(f"storage: {redact_url(given)}: its database driver is not "
                             f"installed ({cause}); use postgresql+psycopg2:// or "
                             f"mysql+pymysql://") from None
        except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, Optuna's
            reason = storage_cause(exc)  # the driver's words, not Optuna's wrapper's
            if _RACED_CREATE.search(reason) and attempt + 1 < _CREATE_ATTEMPTS:
                # Another worker created the tables at the same moment: they exist now.
                time.sleep(0.2 * (attempt + 1))
                continue
            if new_file is not None and new_file.is_file() and new_file.stat().st_size == 0:
                new_file.unlink()  # SQLite made it, then could not write (a full disk)
            raise StudyError(f"storage: cannot open {redact_url(given)}: {reason}; "
                             f"{storage_hint(reason)}") from None
    raise AssertionError("unreachable")  # the loop returns or raises


def _new_sqlite_file(url: str) -> Path | None:
    """The SQLite file of ``url`` when it does not exist yet (opening will create it)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser().resolve()
    return None if path.exists() else path


# Two processes creating Optuna's tables on an empty server database at once: one of them
# loses the race on the catalogue (PostgreSQL's pg_type index, MySQL's "already exists").
_RACED_CREATE = re.compile(r"pg_type_typname_nsp_index|already exists|Duplicate|"
                           r"UniqueViolation", re.IGNORECASE)
_CREATE_ATTEMPTS = 5


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of every study in ``storage``, sorted."""
    return sorted(s.study_name for s in storage.get_all_studies())


def load_report_study(storage_url: str, study_name: str | None) -> optuna.Study:
    """The study ``study_name`` in the storage at ``storage_url``, for reading.

    Args:
        storage_url: SQLAlchemy URL (``sqlite:///lrsearch.db``, ``postgresql://...``).
        study_name: Name of the study; None for the storage's only study.

    Raises:
        StudyError: The storage cannot be opened (naming the URL, password hidden), or it holds
            no study of that name (listing the names it holds).

    Example:
        >>> load_report_study("sqlite:///no/such/x.db", "demo")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lrsearch.errors.StudyError: storage: got 'sqlite:///no/such/x.db'; the SQLite file ...
    """
    storage = open_report_storage(storage_url)
    if study_name is None:
        names = study_names(storage)
        if len(names) != 1:
            held = f"{len(names)} studies: {names}" if names else "no study"
            raise StudyError(f"study: not given, and {redact_url(storage_url)} holds {held}; "
                             f"name one with --study NAME")
        study_name = names[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = study_names(storage)
        held = f"the studies there are {names}" if names else "it holds no study"
        raise StudyError(f"study: got {study_name!r}; no such study in "
                         f"{redact_url(storage_url)}; {held}") from None
    where = f"study {study_name!r} in {redact_url(storage_url)}"
    check_readable(study, where)
    if len(study.directions) > 1:
        raise StudyError(f"{where} has {len(study.directions)} objectives; lrsearch reads the "
                         f"single-objective studies of `lrsearch run` (optuna-dashboard shows "
                         f"any Optuna study)")
    if CONFIG_ATTR not in study_records(study):
        raise StudyError(f"{where} was not made by `lrsearch run` (it has no {CONFIG_ATTR!r} "
                         f"attribute, so no schedules to read); optuna-dashboard shows any "
                         f"Optuna study")
    return study


def open_report_storage(storage_url: str) -> optuna.storages.RDBStorage:
    """The storage at ``storage_url``, for reading; a SQLite file must exist already.

    Raises:
        StudyError: The URL is not a URL, the storage cannot be opened, or the SQLite file is
            not there.
    """
    try:
        make_url(storage_url)
    except Exception:  # SQLAlchemy's ArgumentError: not a URL at all
        raise StudyError(f"storage: got {redact_url(storage_url)!r}; not a SQLAlchemy URL (e.g. "
                         f"sqlite:///lrsearch.db, postgresql://user@host/db)") from None
    if is_sqlite(normalise_url(storage_url)):
        _check_sqlite_file(storage_url)
    return open_storage(storage_url, StorageOptions())


def _heartbeat_kwargs(url: str, options: StorageOptions) -> dict:
    if is_sqlite(url):
        return {}
    # Stated here, so Optuna's own default (the same rule) is never relied upon.
    grace_s = options.grace_period_s or 2 * options.heartbeat_interval_s
    return {"heartbeat_interval": options.heartbeat_interval_s, "grace_period": grace_s,
            "heartbeat_stale_trial_callback": RetryTrial(options.max_retry)}


class _ReasonedStorage(optuna.storages.RDBStorage):
    """Optuna's RDBStorage, which gives a heartbeat-stale trial its ``fail_reason``, and whose
    heartbeat survives a storage that fails for a while.

    Optuna fails a stale trial and only then calls the stale-trial callback, when the trial is
    finished and its attributes can no longer be written; so the reason is written here, while
    the trial is still RUNNING, just before Optuna fails it. Its grace period is the one
    :func:`_heartbeat_kwargs` gave it.
    """

    def record_heartbeat(self, trial_id: int) -> None:
        # Optuna's heartbeat thread has no handler: one failed write would print a traceback
        # and end the beats for good. A beat missed is harmless within the grace period; the
        # trial's own next write reports the outage.
        try:
            super().record_heartbeat(trial_id)
        except STORAGE_ERRORS:
            pass

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = super()._get_stale_trial_ids(study_id)
        for trial_id in stale:
            try:
                self.set_trial_user_attr(trial_id, FAIL_REASON_ATTR,
                                         f"{LOST_PREFIX}: no heartbeat for {self.grace_period} s "
                                         f"(killed, stopped or cut off); retried")
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another worker failed it first
        return stale


def _connect_args(url: str) -> dict:
    driver = make_url(url).drivername
    if driver.startswith(("postgresql", "mysql")):
        # Fail in seconds, not minutes, when the host does not answer.
        return {"connect_timeout": _CONNECT_TIMEOUT_S}
    return {}


def _check_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        folder = Path(database).expanduser().resolve().parent
        if not folder.is_dir():
            raise StudyError(f"storage: got {url!r}; the folder {folder} does not exist")


def _check_sqlite_file(storage_url: str) -> None:
    """A SQLite file to read must be there, and a database of Optuna's: opening anything else
    would write Optuna's tables into it."""
    database = make_url(storage_url).database
    if not database or database == ":memory:":
        raise StudyError(f"storage: got {redact_url(storage_url)!r}; an in-memory SQLite "
                         f"database starts empty: name the file a study ran on")
    path = Path(database).expanduser().resolve()
    named = f"storage: got {redact_url(storage_url)!r}; the SQLite file {path}"
    try:
        is_file = path.is_file()
    except OSError as exc:  # a name too long for the file system
        raise StudyError(f"{named}: {exc.strerror}") from None
    if not is_file:
        raise StudyError(f"{named} does not exist (run a study first, or check the path: "
                         f"sqlite:///relative.db, sqlite:////absolute.db)")
    problem = storage_problems(storage_url, to_write=False)
    if problem:
        raise StudyError(problem[0])
    try:
        with _read_only(path) as connection:
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise StudyError(f"{named} cannot be read: {exc}; {storage_hint(str(exc))}") from None
    if "studies" not in tables:
        what = "is empty" if not tables else f"holds tables {sorted(tables)[:5]} but no study"
        raise StudyError(f"{named} {what}: it is not an Optuna study storage (run a study "
                         f"first, or check the path)")
