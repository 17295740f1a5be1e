"""Who runs a trial, and whether that process still lives, told from this machine.

Each trial stores the worker that runs it (:data:`~lrsearch.records.WORKER_ATTR`, see
:func:`worker_id`): host, pid, the process's start time, the kernel's boot id and the pid
namespace; a set-up claim records its holder the same way. A process counts as dead only when
all of its identity can be checked from here (same host, boot and pid namespace) and its pid is
gone or now belongs to a process started at another time (a reused pid). Anything else
(another host, container, boot, or an identity recorded without these parts) is unknown: on a
server database the heartbeat tells.
"""

from __future__ import annotations

import functools
import os
import platform
from typing import Any

__all__ = ["process_alive", "worker_alive", "worker_id"]

# Parts of an identity that must equal this process's for its pid to mean anything here.
_SAME_PLACE = ("host", "boot", "pidns")


def worker_id() -> dict[str, Any]:
    """This process as a trial's ``worker`` attribute (also a set-up claim's holder).

    ``host`` and ``pid``; ``start``, the process's start time (clock ticks after boot, from
    ``/proc/<pid>/stat``), so a reused pid is told apart; ``boot``, the kernel's boot id, and
    ``pidns``, the pid namespace, so a pid is only read where it means the same process. The
    last three are None where ``/proc`` does not have them (not Linux).

    Example:
        >>> sorted(worker_id())
        ['boot', 'host', 'pid', 'pidns', 'start']
    """
    pid = os.getpid()
    return {"host": platform.node(), "pid": pid, "start": _start_time(pid), **_place()}


@functools.cache
def _place() -> dict[str, str | None]:
    """This kernel boot and pid namespace (fixed for the life of a process)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot: str | None = handle.read().strip() or None
    except OSError:
        boot = None
    try:
        pidns: str | None = os.readlink("/proc/self/ns/pid")
    except OSError:
        pidns = None
    return {"boot": boot, "pidns": pidns}


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 on); None if there
    is no such process or it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> int | None:
    """When the process started, in clock ticks after boot (field 22); None if unreadable."""
    fields = _stat(pid)
    try:
        return None if fields is None else int(fields[19])
    except (IndexError, ValueError):
        return None


def _checkable(worker: dict[str, Any] | None) -> bool:
    """Whether the pid of ``worker`` names a process of this host, boot and pid namespace."""
    if not worker or worker.get("pid") is None or worker.get("start") is None:
        return False
    here = worker_id()
    return all(worker.get(key) is not None and worker.get(key) == here[key]
               for key in _SAME_PLACE)


def process_alive(worker: dict[str, Any] | None) -> bool | None:
    """Whether the process ``worker`` (a :func:`worker_id`) still runs: None when that cannot
    be told from here (another host, container or boot, or an identity without start time,
    boot id or pid namespace).

    Example:
        >>> process_alive(worker_id()), process_alive({"host": "elsewhere", "pid": 1})
        (True, None)
    """
    if not _checkable(worker):
        return None
    pid = int(worker["pid"])
    fields = _stat(pid)
    if fields is None:  # no such process, or (it exists) /proc hides other users' processes
        return None if os.path.exists(f"/proc/{pid}") else False
    # Another start time: the pid was reused. "Z": exited, not reaped yet.
    return fields[19] == str(worker["start"]) and fields[0] != "Z"


def worker_alive(worker: dict[str, Any] | None) -> bool | None:
    """Whether a trial's worker process lives, asked between this process's own trials.

    As :func:`process_alive`, except that a trial recorded under this very process is dead:
    the runner asks between its trials, so this process runs none of them (it was left
    RUNNING by an earlier run in the same process).

    Example:
        >>> worker_alive(worker_id()), worker_alive({"host": "elsewhere", "pid": 1})
        (False, None)
    """
    if _checkable(worker) and int(worker["pid"]) == os.getpid():
        return False
    return process_alive(worker)
