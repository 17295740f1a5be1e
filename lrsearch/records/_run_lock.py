"""One ``lrsearch run`` at a time on a SQLite file.

SQLite serves one writing process well, and lrsearch's recovery would take a second run's view
of the first run's live trial for a dead worker's ("worker lost ... killed?") and fail it. A
run therefore holds an exclusive lock on a file beside the database, ``NAME.db.lock``, for its
whole life; a second run is refused in one line naming the first (its pid and host, written
into the lock file). The lock is ``flock``, which the kernel drops when the holder dies, even
by SIGKILL, so a killed run never blocks the next one. Not on the database file itself:
closing any descriptor of it would drop SQLite's own POSIX locks in this process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from lrsearch.errors import StudyError
from lrsearch.urls import is_sqlite, normalise_url, redact_url

__all__ = ["LOCK_SUFFIX", "sqlite_run_lock"]

LOCK_SUFFIX = ".lock"


def _lock_path(url: str) -> Path | None:
    url = normalise_url(url)
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + LOCK_SUFFIX)


@contextlib.contextmanager
def sqlite_run_lock(url: str) -> Iterator[None]:
    """Hold the run lock of the SQLite file of ``url`` for the block (nothing for a server
    database, which serves many workers).

    Raises:
        StudyError: Another process holds it.
    """
    path = _lock_path(url)
    if path is None or not path.parent.is_dir():  # a missing folder: its own error, later
        yield
        return
    try:
        handle = _acquire(path, url)
    except OSError:  # a folder this user may not write: the run's own checks say so
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the unlock: a waiter then sees a new file (see _acquire)
        handle.close()


def _acquire(path: Path, url: str):
    while True:
        handle = open(path, "a+")  # noqa: SIM115 -- held open for the run's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StudyError(
                f"storage: {redact_url(url)} is in use by another lrsearch run ({holder}); "
                f"SQLite serves one process: wait for that run to end or stop it (Ctrl-C), "
                f"or run several workers on a PostgreSQL or MySQL/MariaDB database "
                f"(docs/scaling.md)") from None
        try:  # the file may have been unlinked by the holder between our open and our lock
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            try:
                handle.truncate(0)
                handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
                handle.flush()
            except OSError:  # a full disk: no lock file left behind; the run says why
                with contextlib.suppress(OSError):
                    path.unlink()
                handle.close()
                raise
            return handle
        handle.close()
