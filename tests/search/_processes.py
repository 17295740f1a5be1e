"""Acting on a running ``lrsearch run`` process at a chosen moment of its study, race-free.

A tiny trial runs an epoch in a tenth of a second: a trial seen RUNNING by one read of the
storage may be finished by the time a signal lands. So the process is first stopped (SIGSTOP),
the storage is read again while it cannot change, and only then is it acted upon.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import optuna
import sqlalchemy.exc
from optuna.trial import TrialState

LOCKED = (optuna.exceptions.StorageInternalError, sqlalchemy.exc.OperationalError)


def hears_ctrl_c() -> None:
    """``preexec_fn`` of a child that must see Ctrl-C: a shell running the tests in the
    background (``pytest &``) ignores SIGINT, and a child inherits that, so Python in it would
    never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def trials_or_none(storage: str, name: str = "tiny"):
    """The study's trials, or None while it does not exist or its SQLite file is locked."""
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials()
    except (KeyError, *LOCKED):
        return None


def running_with_an_epoch(trial) -> bool:
    return trial.state == TrialState.RUNNING and bool(trial.intermediate_values)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


@contextlib.contextmanager
def paused(pid: int, timeout_s: float = 10.0):
    """Process ``pid`` stopped for the block, continued after it (unless it was killed)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + timeout_s
        while _state(pid) not in "tT":
            assert time.monotonic() < deadline, f"process {pid} did not stop"
            time.sleep(0.01)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def act_mid_trial(storage, proc, act, pid_of=None, when=running_with_an_epoch,
                  timeout_s: float = 300.0):
    """Call ``act(trial, pid)`` once a trial satisfies ``when``, its worker stopped meanwhile.

    ``pid_of(trial)`` names the worker (``proc`` itself by default). ``act`` runs only if the
    trial still satisfies ``when`` after the worker stopped, and again later if the worker
    stopped holding the SQLite file's lock; returns that trial. ``proc`` exiting first, or no
    such trial in ``timeout_s``, fails the test.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        seen = [t for t in trials_or_none(storage) or () if when(t)]
        if seen:
            pid = pid_of(seen[0]) if pid_of else proc.pid
            with paused(pid):
                now = trials_or_none(storage)
                if now is not None and when(now[seen[0].number]):
                    try:
                        act(now[seen[0].number], pid)
                        return now[seen[0].number]
                    except LOCKED:
                        pass  # stopped inside a SQLite write: nothing written, try again
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"no trial to act on in {timeout_s} s: {proc.communicate()}")


def kill(trial, pid: int) -> None:
    """An ``act`` for :func:`act_mid_trial`: SIGKILL the worker."""
    os.kill(pid, signal.SIGKILL)
