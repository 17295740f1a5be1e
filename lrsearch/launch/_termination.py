"""SIGTERM stops a run as Ctrl-C does, and a worker never outlives its parent.

``kill``, ``timeout``, Slurm at the end of ``--time``, Kubernetes and ``docker stop`` send
SIGTERM, then SIGKILL after a grace period (Slurm's KillWait: 30 s by default). Python's own
SIGTERM action ends the process at once: no trial marked, no retry queued. Inside
:func:`stop_on_sigterm` a SIGTERM raises :class:`Terminated`, a ``KeyboardInterrupt``, so every
path that handles Ctrl-C (the trial marked interrupted, its retry queued from its checkpoint)
handles it too, within seconds. A worker asks Linux to send it SIGTERM when its parent dies,
even by SIGKILL (:func:`die_with_parent`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator

__all__ = ["TERMINATED_EXIT_CODE", "Terminated", "die_with_parent", "stop_on_sigterm"]

TERMINATED_EXIT_CODE = 128 + signal.SIGTERM  # what a shell reports for a SIGTERM death: 143
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM: it stops as after Ctrl-C."""


class _Guard:
    """Whether SIGTERM came (the exit code then is :data:`TERMINATED_EXIT_CODE`)."""

    fired = False


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[_Guard]:
    """Turn the first SIGTERM into :class:`Terminated` in the main thread; later ones are
    ignored while the run stops (a parent forwarding the signal, Slurm sending it to every
    process of the job)."""
    guard = _Guard()

    def handler(signum: int, frame: object) -> None:
        if guard.fired:
            return
        guard.fired = True
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGTERM, previous)


def die_with_parent(parent_pid: int) -> None:
    """Have Linux send this process SIGTERM when ``parent_pid`` (its parent) dies; if it is
    already gone, SIGTERM now. Elsewhere nothing (the parent still stops its workers when it
    can run its own handler)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent_pid:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
