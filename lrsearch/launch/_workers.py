"""``--workers K``: K worker processes on this machine, all running one study.

The parent creates the study first (so the baselines are queued once, and the LR range test of
a ``peak_lr: auto`` runs once), then starts K workers (``_worker_main``), each given the
resolved config on its stdin. With several GPUs each worker gets one: worker i the i-th GPU the
parent sees, through ``CUDA_VISIBLE_DEVICES`` (the i-th entry of the user's own list when it
is set); each then sees one GPU, so a study's ``cuda:N`` becomes ``cuda`` for it. The parent
shows the study's progress by polling the storage, and calls the run's trial callbacks for
each trial that finishes, such as the dashboard refresher: one per machine, the workers
refresh nothing themselves. Workers on other machines join by running ``lrsearch run`` against
the same server database. A worker that dies is named with its exit code or signal; the others
go on, its trial is failed and retried at once, and the command exits non-zero.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from lrsearch.config import StudyConfig, threads_per_process
from lrsearch.errors import StudyError
from lrsearch.launch._termination import TERMINATED_EXIT_CODE, Terminated
from lrsearch.records import (
    SERVER_URL_EXAMPLES,
    STORAGE_ERRORS,
    is_sqlite,
    normalise_url,
    trial_epochs,
    with_curves,
)
from lrsearch.search import StudyProgress, fail_dead_workers, open_study, summarise
from lrsearch.text import counted

if TYPE_CHECKING:
    from lrsearch.search import RunSummary, TrialCallback

__all__ = ["check_workers", "gpu_count", "run_workers", "worker_config", "workers_per_gpu"]

_POLL_S = 2.0
_STOP_WAIT_S = 12.0  # per step for a stopping worker: SIGTERM, then SIGKILL (in Slurm's 30 s)
_WORKER_MAIN = "lrsearch.launch._worker_main"


def check_workers(storage_url: str, workers: int, option: str | None = None) -> None:
    """Refuse several workers on SQLite, which allows one writing process.

    ``option`` is how the user asked for them (default ``--workers N``).

    Raises:
        StudyError: Naming the server database URLs to use instead.
    """
    if workers > 1 and is_sqlite(normalise_url(storage_url)):
        asked = option or f"--workers {workers}"
        raise StudyError(f"{asked} needs a server database, and the storage is "
                         f"SQLite ({storage_url}), which allows one process; pass "
                         f"--storage {SERVER_URL_EXAMPLES[0]} (PostgreSQL) or "
                         f"{SERVER_URL_EXAMPLES[1]} (MySQL/MariaDB), or run one worker")


def workers_per_gpu(trials_per_gpu: int, gpus: int) -> int:
    """The workers of ``--trials-per-gpu K``: K on each of ``gpus`` GPUs, or K without one.

    Worker i trains on GPU ``i % gpus``, so each GPU is shared by K trials at a time: what a
    small model needs to fill a big GPU.

    Example:
        >>> workers_per_gpu(3, gpus=2), workers_per_gpu(3, gpus=0)
        (6, 3)
    """
    return trials_per_gpu * max(1, gpus)


def run_workers(config: StudyConfig, workers: int, *, debug: bool = False,
                progress: str | None = None,
                callbacks: Sequence[TrialCallback] = ()) -> tuple[RunSummary, int]:
    """Run ``workers`` processes on the study; return the summary and an exit code.

    The code is 0 when every worker ended well, 130 after Ctrl-C, else non-zero (a worker's own
    code, or 1 for one killed by a signal).

    Args:
        config: The checked study config; each worker runs it as it is.
        workers: How many processes.
        debug: Let an exception inside a trial end its worker, with the traceback.
        progress: As for :func:`lrsearch.search.run_study`.
        callbacks: Called with ``(study, frozen_trial)`` for each trial that finishes while
            the workers run (polled every few seconds).
    """
    check_workers(config.storage, workers)
    optuna.logging.set_verbosity(logging.ERROR)
    study = open_study(config, progress=progress).study
    gpus = gpu_count()
    data = worker_config(config, gpus, workers)
    threads = data["training"]["threads"]
    procs = [_start(i, data, debug, _env(i, gpus, threads, os.environ)) for i in range(workers)]
    watch = _Watch(study, procs, config.storage_options.max_retry, config.training.epochs,
                   callbacks)
    interrupted = False
    # As run_study shows it: a bar on a terminal, a line per trial in logs, nothing if quiet.
    with StudyProgress(config.n_trials, 0, config.training.epochs, config.metric,
                       progress) as bar:
        try:
            while any(p.poll() is None for p in procs):
                try:
                    watch.look(bar)
                except STORAGE_ERRORS:  # a database restart: the workers ride it out or end
                    pass
                time.sleep(_POLL_S)
        except KeyboardInterrupt as exc:
            # Ctrl-C reached the workers too (the terminal signals the whole process group);
            # SIGTERM came to this process alone: pass it on. Each marks and requeues its trial.
            interrupted = True
            if isinstance(exc, Terminated):
                for proc in procs:
                    with contextlib.suppress(ProcessLookupError):
                        proc.terminate()
            for proc in procs:
                _wait(proc)
        watch.look(bar)
    codes = [p.wait() for p in procs]
    bad = next((code for code in codes if code != 0), 0)
    worst = 130 if interrupted else (bad if bad > 0 else 1 if bad else 0)
    return summarise(study, config.storage, interrupted), worst


def worker_config(config: StudyConfig, gpus: int, workers: int = 1) -> dict[str, Any]:
    """The resolved config a worker runs, as JSON data: with one GPU each (``gpus`` > 1), a
    ``cuda:N`` device is ``cuda``, the one GPU the worker sees; on CPUs (``gpus`` 0) the
    ``workers`` share the usable cores (:func:`~lrsearch.config.threads_per_process`).

    Example:
        >>> from lrsearch.config import parse_study
        >>> config = parse_study({"name": "s", "training": {"device": "cuda:1", "threads": 4}})
        >>> worker_config(config, gpus=2)["training"]["device"], config.training.device
        ('cuda', 'cuda:1')
        >>> worker_config(config, gpus=0, workers=2)["training"]["threads"] <= 2
        True
    """
    data = config.model_dump(mode="json")
    if gpus > 1 and config.training.device.startswith("cuda:"):
        data["training"]["device"] = "cuda"
    if gpus == 0:
        data["training"]["threads"] = threads_per_process(config.training.threads, workers)
    return data


def _command(index: int, debug: bool) -> list[str]:
    """Worker ``index``'s command line: its config comes on stdin, never on the command line,
    where ``ps`` would show the storage password to every user of the machine."""
    return [sys.executable, "-m", _WORKER_MAIN, "-", "--worker-index", str(index),
            "--parent-pid", str(os.getpid()), *(["--debug"] if debug else [])]


def _start(index: int, data: dict[str, Any], debug: bool,
           env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(_command(index, debug), env=env, stdin=subprocess.PIPE, text=True)
    with contextlib.suppress(BrokenPipeError):  # it died first: the watch names it
        with proc.stdin:
            proc.stdin.write(json.dumps(data))
    return proc


def gpu_count() -> int:
    """The GPUs this process sees (after the user's ``CUDA_VISIBLE_DEVICES``), 0 without CUDA."""
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # no usable CUDA: CPU workers
        return 0


def _env(index: int, gpus: int, threads: int | None, environ: Mapping[str, str]
         ) -> dict[str, str]:
    """Worker ``index``'s environment: ``environ`` with its own GPU when there are several,
    and its share of the cores, ``threads``, for the OpenMP of CPU workers."""
    env = dict(environ)
    if gpus > 1:
        # Entries may be indices or GPU/MIG UUIDs; CUDA counts the valid ones, from the first.
        listed = [e.strip() for e in environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
        listed = [e for e in listed if e]
        env["CUDA_VISIBLE_DEVICES"] = (listed[index % gpus] if len(listed) >= gpus
                                       else str(index % gpus))
    if threads is not None and "OMP_NUM_THREADS" not in env:
        # CPU workers share the cores instead of each starting one thread per core.
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _wait(proc: subprocess.Popen, timeout_s: float = _STOP_WAIT_S) -> None:
    """Wait for a worker that was asked to stop; SIGTERM it after ``timeout_s``, then SIGKILL
    (a worker must not outlive the run, and Slurm's SIGKILL comes 30 s after its SIGTERM)."""
    for stop in (proc.terminate, proc.kill):
        try:
            proc.wait(timeout=timeout_s)
            return
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # or a second Ctrl-C
            with contextlib.suppress(ProcessLookupError):
                stop()
    proc.wait()


@dataclass
class _Watch:
    """What the parent sees of its workers and their study between two looks."""

    study: optuna.Study
    procs: list[subprocess.Popen]
    max_retry: int | None
    epochs: int
    callbacks: Sequence[TrialCallback]
    seen: set[int] = field(default_factory=set)  # finished trials already called back
    reported: set[int] = field(default_factory=set)  # workers already named as stopped

    def __post_init__(self) -> None:
        self.seen = {t.number for t in self.study.get_trials(deepcopy=False)
                     if t.state.is_finished()}

    def look(self, bar: StudyProgress) -> None:
        """Name the workers that stopped badly, then show and call back the trials."""
        self._report_deaths(bar)
        self._poll(bar)

    def _report_deaths(self, bar: StudyProgress) -> None:
        """Name each worker that ended badly, once; its trial is failed and retried now."""
        for index, proc in enumerate(self.procs):
            code = proc.poll()
            if code in (None, 0, 130, TERMINATED_EXIT_CODE) or index in self.reported:
                continue
            self.reported.add(index)
            how = (f"killed by {signal.Signals(-code).name}" if code < 0 and -code in
                   signal.valid_signals() else f"exit code {code}")
            failed = fail_dead_workers(self.study, self.max_retry)
            retried = (f"; its trial {', '.join(f'#{n}' for n in failed)} is retried"
                       if failed else "")
            alive = sum(p.poll() is None for p in self.procs)
            bar.note(f"worker {index} (pid {proc.pid}) stopped: {how}{retried}; "
                     f"{counted(alive, 'worker')} still running")

    def _poll(self, bar: StudyProgress) -> None:
        trials = self.study.get_trials(deepcopy=False)
        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        bar.update(done, self.study)
        for trial in trials:
            if trial.state.is_finished() and trial.number not in self.seen:
                self.seen.add(trial.number)
                bar.show(trial)
                for callback in self.callbacks:
                    callback(self.study, trial)
        # The stored epochs, not the intermediate values: a probe judge reports at points only.
        running = [f"#{t.number} epoch {len(trial_epochs(t))}/{self.epochs}" for t in
                   with_curves(self.study, [t for t in trials if t.state == TrialState.RUNNING])]
        bar.running("running " + ", ".join(running) if running else "")
