"""Checkpoints that do not stall training: a host copy each epoch, written in the background.

After each epoch the run's state is copied to host memory (pinned on CUDA, where the copy is
queued on the training stream and overlaps the next epoch; a plain clone on a CPU), which takes
milliseconds. A background thread writes the copy with :func:`save_checkpoint` (atomic: temp
file, fsync, rename) when ``every_s`` seconds have passed since the last write began, after the
last epoch, and on Ctrl-C. A SIGKILL therefore loses at most ``every_s`` seconds plus one epoch,
and the file on disk is always one whole checkpoint. ``every_s`` 0 writes after every epoch and
waits for the write (an epoch reported is on disk), as checkpoints were before they moved to
the background.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lrsearch.train._checkpoint import remove_stale_temp_files, save_checkpoint

__all__ = ["Checkpointer", "host_copy"]


def host_copy(state: Any, device: torch.device) -> Any:
    """A copy of ``state`` whose tensors live in host memory and no longer change with the run.

    On CUDA each tensor goes into pinned memory with a non-blocking copy queued on the current
    stream (wait for the stream before reading them); elsewhere tensors are cloned. Other
    values are deep-copied.

    Example:
        >>> weights = torch.ones(2)
        >>> saved = host_copy({"w": weights, "steps": [1]}, torch.device("cpu"))
        >>> _ = weights.add_(1)
        >>> saved["w"].tolist(), saved["steps"]
        ([1.0, 1.0], [1])
    """
    if isinstance(state, torch.Tensor):
        tensor = state.detach()
        if tensor.device.type != "cuda":
            return tensor.clone()
        out = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
        return out.copy_(tensor, non_blocking=True)
    if isinstance(state, dict):
        return {key: host_copy(value, device) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(host_copy(value, device) for value in state)
    return copy.deepcopy(state)


class Checkpointer:
    """Keeps the latest epoch's state and writes it to ``path`` without stalling the run.

    Args:
        path: The checkpoint file.
        every_s: Least seconds between the starts of two writes; 0: after every epoch,
            waited for.
        device: The training device (CUDA: pinned host copies, waited for by the writer).
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(self, path: str | os.PathLike, every_s: float, device: torch.device,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path, self.every_s, self.device, self.clock = Path(path), every_s, device, clock
        self.last_write_s = clock()  # the run's start counts as a write: none is due at once
        self.latest: tuple[int, Any, Any] | None = None  # (epoch, host state, CUDA event)
        self.written_epoch = 0
        self.writes = 0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        remove_stale_temp_files(self.path)  # left by a process killed while writing

    def epoch_done(self, epoch: int, state: dict[str, Any], last: bool = False) -> None:
        """Keep a host copy of the state after ``epoch``; write it when due or ``last``."""
        event = None
        snapshot = host_copy(state, self.device)
        if self.device.type == "cuda":
            event = torch.cuda.Event()
            event.record()
        self.latest = (epoch, snapshot, event)
        if last or self.clock() - self.last_write_s >= self.every_s:
            self._start_write()
            if self.every_s == 0:
                self.wait()  # every epoch, on disk before the run reports it

    def flush(self) -> None:
        """Write the latest state if it is not on disk yet, and wait until it is (Ctrl-C, end).

        Raises:
            Exception: What the background write raised, if it failed.
        """
        self._start_write()
        self.wait()

    def wait(self) -> None:
        """Wait for the write in flight, if any; re-raise what it raised."""
        self.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def join(self) -> None:
        """Wait for the write in flight, if any, raising nothing (a run ending on an error)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _start_write(self) -> None:
        """Write the latest state in the background, after the write in flight (if newer)."""
        self.wait()
        if self.latest is None or self.latest[0] <= self.written_epoch:
            return
        epoch, snapshot, event = self.latest
        self.last_write_s, self.written_epoch = self.clock(), epoch
        self.writes += 1
        self._thread = threading.Thread(target=self._write, args=(snapshot, event),
                                        name=f"checkpoint {self.path.name}", daemon=True)
        self._thread.start()

    def _write(self, snapshot: dict[str, Any], event) -> None:
        try:
            if event is not None:
                event.synchronize()  # the pinned copies have landed
            save_checkpoint(self.path, snapshot)
        except BaseException as exc:  # handed to the training thread at its next wait
            self._error = exc
