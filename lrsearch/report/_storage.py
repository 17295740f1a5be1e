"""Open a finished or running study by storage URL and name, with clear errors.

Reading never creates anything: a SQLite file that is not there is an error (Optuna would
create an empty database), and an unknown study name lists the studies the storage holds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url

from lrsearch.errors import StudyError

__all__ = ["load_report_study", "open_report_storage", "study_names"]


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of every study in ``storage``, sorted."""
    return sorted(s.study_name for s in storage.get_all_studies())


def load_report_study(storage_url: str, study_name: str) -> optuna.Study:
    """The study ``study_name`` in the storage at ``storage_url``, for reading.

    Args:
        storage_url: SQLAlchemy URL (``sqlite:///lrsearch.db``, ``postgresql://...``).
        study_name: Name of the study.

    Raises:
        StudyError: The storage cannot be opened (naming the URL, password hidden), or it holds
            no study of that name (listing the names it holds).

    Example:
        >>> load_report_study("sqlite:///no/such/x.db", "demo")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lrsearch.errors.StudyError: storage: got 'sqlite:///no/such/x.db'; the SQLite file ...
    """
    from lrsearch.search import redact_url

    storage = open_report_storage(storage_url)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = study_names(storage)
        held = f"the studies there are {names}" if names else "it holds no study"
        raise StudyError(f"study: got {study_name!r}; no such study in "
                         f"{redact_url(storage_url)}; {held}") from None


def open_report_storage(storage_url: str) -> optuna.storages.RDBStorage:
    """The storage at ``storage_url``; a SQLite file must exist already.

    Raises:
        StudyError: The URL is not a URL, the storage cannot be opened, or the SQLite file is
            not there.
    """
    from lrsearch.config import StorageOptions
    from lrsearch.search import is_sqlite, normalise_url, open_storage, redact_url

    try:
        make_url(storage_url)
    except Exception:  # SQLAlchemy's ArgumentError: not a URL at all
        raise StudyError(f"storage: got {redact_url(storage_url)!r}; not a SQLAlchemy URL (e.g. "
                         f"sqlite:///lrsearch.db, postgresql://user@host/db)") from None
    if is_sqlite(normalise_url(storage_url)):
        _check_sqlite_file(storage_url)
    return open_storage(storage_url, StorageOptions())


def _check_sqlite_file(storage_url: str) -> None:
    database = make_url(storage_url).database
    if database and database != ":memory:" and not Path(database).expanduser().is_file():
        raise StudyError(f"storage: got {storage_url!r}; the SQLite file "
                         f"{Path(database).expanduser().resolve()} does not exist (run a "
                         f"study first, or check the path: sqlite:///relative.db, "
                         f"sqlite:////absolute.db)")
