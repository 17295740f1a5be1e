"""Open the study storage from a SQLAlchemy URL, with clear errors and worker heartbeats.

SQLite is for one process. On a server database (PostgreSQL, MySQL/MariaDB) every worker writes
a heartbeat while its trial runs; a trial whose worker was killed is failed once its heartbeat is
older than the grace period, with a ``fail_reason``, and a copy of it is queued (Optuna's
``RetryHeartbeatStaleTrialCallback``), so the study loses nothing. Recovery of dead workers'
trials (also on SQLite, which has no heartbeat) is in :mod:`lrsearch.search._recovery`.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url

from lrsearch.config import StorageOptions
from lrsearch.errors import StudyError
from lrsearch.search._recovery import LOST_PREFIX, RetryTrial

__all__ = ["open_storage", "check_storage", "normalise_url", "is_sqlite", "redact_url",
           "SERVER_URL_EXAMPLES"]

SERVER_URL_EXAMPLES = ("postgresql://user:password@host:5432/db",
                       "mysql+pymysql://user:password@host:3306/db")

_CONNECT_TIMEOUT_S = 10


def normalise_url(url: str) -> str:
    """Pick the installed drivers: ``mysql://`` and ``mariadb://`` become ``mysql+pymysql://``;
    ``postgresql://`` becomes ``postgresql+psycopg2://`` unless psycopg 3 is installed
    (SQLAlchemy 2.1 made psycopg 3 the default PostgreSQL driver; lrsearch ships psycopg2).

    Example:
        >>> normalise_url("mysql://root@127.0.0.1/test")
        'mysql+pymysql://root@127.0.0.1/test'
        >>> normalise_url("sqlite:///lrsearch.db")
        'sqlite:///lrsearch.db'
    """
    postgres = "postgresql://"
    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
        postgres = "postgresql+psycopg2://"
    for prefix, replacement in (("mysql://", "mysql+pymysql://"),
                                ("mariadb://", "mysql+pymysql://"),
                                ("postgres://", postgres), ("postgresql://", postgres)):
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite database."""
    return url.startswith("sqlite")


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and provenance; in a string too broken
    to parse as a URL, whatever sits between ``:`` and ``@`` is hidden.

    Example:
        >>> redact_url("postgresql://me:secret@db/test")
        'postgresql://me:***@db/test'
        >>> redact_url("postgresql//me:secret@db/test")  # not a URL: no ://
        'postgresql//me:***@db/test'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: hide what looks like a password all the same
        return re.sub(r":[^:@/]*@", ":***@", url)


def check_storage(url: str, options: StorageOptions) -> None:
    """Fail fast on a storage that cannot be opened, creating nothing on SQLite.

    A server database is opened (and its tables created); for SQLite only the folder is
    checked, so a run that stops before its study exists (data not found) leaves no file.

    Raises:
        StudyError: As :func:`open_storage`.
    """
    if is_sqlite(normalise_url(url)):
        _check_sqlite_folder(normalise_url(url))
    else:
        open_storage(url, options).remove_session()


def open_storage(url: str, options: StorageOptions) -> optuna.storages.RDBStorage:
    """An Optuna ``RDBStorage`` for ``url``, its tables created if needed.

    Raises:
        StudyError: When the database cannot be reached or opened, naming the (redacted) URL.
    """
    given, url = url, normalise_url(url)
    if is_sqlite(url):
        _check_sqlite_folder(url)
    engine_kwargs = {"pool_pre_ping": True, "connect_args": _connect_args(url)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _ReasonedStorage(url, engine_kwargs=engine_kwargs,
                                    **_heartbeat_kwargs(url, options))
    except ImportError as exc:
        cause = exc.__cause__ or exc
        raise StudyError(f"storage: {redact_url(given)}: its database driver is not installed "
                         f"({cause}); use postgresql+psycopg2:// or mysql+pymysql://") from None
    except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, Optuna's schema
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StudyError(f"storage: cannot open {redact_url(given)}: {reason}; check the URL "
                         f"and that the database server runs and accepts you") from None


def _heartbeat_kwargs(url: str, options: StorageOptions) -> dict:
    if is_sqlite(url):
        return {}
    # Stated here, so Optuna's own default (the same rule) is never relied upon.
    grace_s = options.grace_period_s or 2 * options.heartbeat_interval_s
    return {"heartbeat_interval": options.heartbeat_interval_s, "grace_period": grace_s,
            "heartbeat_stale_trial_callback": RetryTrial(options.max_retry)}


class _ReasonedStorage(optuna.storages.RDBStorage):
    """Optuna's RDBStorage, which gives a heartbeat-stale trial its ``fail_reason``.

    Optuna fails a stale trial and only then calls the stale-trial callback, when the trial is
    finished and its attributes can no longer be written; so the reason is written here, while
    the trial is still RUNNING, just before Optuna fails it. Its grace period is the one
    :func:`_heartbeat_kwargs` gave it.
    """

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = super()._get_stale_trial_ids(study_id)
        for trial_id in stale:
            try:
                self.set_trial_user_attr(trial_id, "fail_reason",
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
