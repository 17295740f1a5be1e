"""``--workers K``: K worker processes on this machine, all running one study.

The parent creates the study first (so the baselines are queued once, and the LR range test of
a ``peak_lr: auto`` runs once), then starts K copies of ``lrsearch run STUDY --workers 1`` (one
GPU each when there are several: worker i gets the i-th GPU the parent sees, through
``CUDA_VISIBLE_DEVICES``, the i-th entry of the user's own list when it is set; each then sees
one GPU, so a study's ``cuda:N`` becomes ``cuda`` for it) and shows the study's progress
by polling the storage (and calls the run's trial callbacks for each trial that finishes, such
as the dashboard refresher: one per machine, the workers refresh nothing themselves).
Workers on other machines join by running the same command against the same server database.
A worker that dies is named with its exit code or signal; the others go on, its trial is
failed and retried at once, and the command exits non-zero.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

import optuna
from optuna.trial import TrialState

from lrsearch.config import StudyConfig
from lrsearch.errors import StudyError
from lrsearch.records import SERVER_URL_EXAMPLES, is_sqlite, normalise_url, trial_epochs
from lrsearch.search._progress import StudyProgress
from lrsearch.search._recovery import fail_dead_workers
from lrsearch.search._runner import RunSummary, TrialCallback, summarise
from lrsearch.search._study import open_study

__all__ = ["run_workers", "check_workers"]

_POLL_S = 2.0
_OPTION_OF = {"storage": "--storage", "n_trials": "--n-trials", "timeout_s": "--timeout",
              "training.device": "--device", "data.data_dir": "--data-dir"}


def check_workers(config: StudyConfig, workers: int) -> None:
    """Refuse several workers on SQLite, which allows one writing process.

    Raises:
        StudyError: Naming the server database URLs to use instead.
    """
    if workers > 1 and is_sqlite(normalise_url(config.storage)):
        raise StudyError(f"--workers {workers} needs a server database, and the storage is "
                         f"SQLite ({config.storage}), which allows one process; pass "
                         f"--storage {SERVER_URL_EXAMPLES[0]} (PostgreSQL) or "
                         f"{SERVER_URL_EXAMPLES[1]} (MySQL/MariaDB), or run one worker")


def run_workers(config: StudyConfig, study_file: str, overrides: dict, workers: int, *,
                debug: bool = False, progress: str | None = None,
                callbacks: Sequence[TrialCallback] = ()) -> tuple[RunSummary, int]:
    """Run ``workers`` processes on the study; return the summary and an exit code.

    The code is 0 when every worker ended well, 130 after Ctrl-C, else non-zero (a worker's own
    code, or 1 for one killed by a signal).

    Args:
        config: The checked study config.
        study_file: The study file, given to each worker.
        overrides: The command-line overrides (dotted keys), passed on to each worker.
        workers: How many processes.
        debug: Pass ``--debug`` on.
        progress: As for :func:`lrsearch.search.run_study`.
        callbacks: Called with ``(study, frozen_trial)`` for each trial that finishes while
            the workers run (polled every few seconds).
    """
    check_workers(config, workers)
    optuna.logging.set_verbosity(logging.ERROR)
    study = open_study(config, progress=progress).study
    gpus = _gpu_count()
    overrides = _worker_overrides(config, overrides, gpus)
    procs = [subprocess.Popen(_command(study_file, overrides, i, debug),
                              env=_env(i, workers, gpus, os.environ)) for i in range(workers)]
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    reported: set[int] = set()
    interrupted = False
    with StudyProgress(config.n_trials, 0, config.training.epochs, config.metric,
                       "bar" if progress is None and sys.stderr.isatty() else "off") as bar:
        try:
            while any(p.poll() is None for p in procs):
                _report_deaths(study, procs, reported, bar, config)
                _poll(study, bar, config.training.epochs, seen, callbacks)
                time.sleep(_POLL_S)
        except KeyboardInterrupt:
            # The workers got the same Ctrl-C; let each mark and requeue its trial.
            interrupted = True
            for proc in procs:
                _wait(proc)
        _report_deaths(study, procs, reported, bar, config)
        _poll(study, bar, config.training.epochs, seen, callbacks)
    codes = [p.wait() for p in procs]
    bad = next((code for code in codes if code != 0), 0)
    worst = 130 if interrupted else (bad if bad > 0 else 1 if bad else 0)
    return summarise(study, config, interrupted), worst


def _report_deaths(study: optuna.Study, procs: list[subprocess.Popen], reported: set[int],
                   bar: StudyProgress, config: StudyConfig) -> None:
    """Name each worker that ended badly, once; its trial is failed and retried now."""
    for index, proc in enumerate(procs):
        code = proc.poll()
        if code is None or code == 0 or code == 130 or index in reported:
            continue
        reported.add(index)
        how = (f"killed by {signal.Signals(-code).name}" if code < 0 and -code in
               signal.valid_signals() else f"exit code {code}")
        failed = fail_dead_workers(study, config.storage_options.max_retry)
        retried = f"; its trial {', '.join(f'#{n}' for n in failed)} is retried" if failed else ""
        alive = sum(p.poll() is None for p in procs)
        bar.note(f"worker {index} (pid {proc.pid}) stopped: {how}{retried}; {alive} worker(s) "
                 f"still running")

def _command(study_file: str, overrides: dict, index: int, debug: bool) -> list[str]:
    command = [sys.executable, "-m", "lrsearch.cli"] + (["--debug"] if debug else [])
    command += ["run", study_file, "--workers", "1", "--worker-index", str(index), "--quiet",
                "--no-dashboard-refresh"]
    for key, value in overrides.items():
        if value is not None:
            command += [_OPTION_OF[key], str(value)]
    return command


def _gpu_count() -> int:
    """The GPUs this process sees (after the user's ``CUDA_VISIBLE_DEVICES``), 0 without CUDA."""
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # no usable CUDA: CPU workers
        return 0


def _worker_overrides(config: StudyConfig, overrides: dict, gpus: int) -> dict:
    """The overrides for the workers: with one GPU each (``gpus`` > 1), a ``cuda:N`` device
    is ``cuda``, the one GPU the worker sees."""
    if gpus > 1 and config.training.device.startswith("cuda:"):
        return {**overrides, "training.device": "cuda"}
    return overrides


def _env(index: int, workers: int, gpus: int, environ: Mapping[str, str]) -> dict[str, str]:
    """Worker ``index``'s environment: ``environ`` with its own GPU when there are several,
    and a share of the cores for CPU workers."""
    env = dict(environ)
    if gpus > 1:
        # Entries may be indices or GPU/MIG UUIDs; CUDA counts the valid ones, from the first.
        listed = [e.strip() for e in environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
        listed = [e for e in listed if e]
        env["CUDA_VISIBLE_DEVICES"] = (listed[index % gpus] if len(listed) >= gpus
                                       else str(index % gpus))
    if gpus == 0 and "OMP_NUM_THREADS" not in env:
        # CPU workers share the cores instead of each starting one thread per core.
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    return env


def _wait(proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    while True:
        try:
            proc.wait(timeout=timeout_s)
            return
        except subprocess.TimeoutExpired:
            proc.terminate()
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
            proc.terminate()


def _poll(study: optuna.Study, bar: StudyProgress, epochs: int, seen: set[int],
          callbacks: Sequence[TrialCallback]) -> None:
    trials = study.get_trials(deepcopy=False)
    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    bar.update(done, study)
    for trial in trials:
        if trial.state.is_finished() and trial.number not in seen:
            seen.add(trial.number)
            for callback in callbacks:
                callback(study, trial)
    # The stored epochs, not the intermediate values: a probe judge reports at points only.
    running = [f"#{t.number} epoch {len(trial_epochs(t))}/{epochs}"
               for t in trials if t.state == TrialState.RUNNING]
    bar.running("running " + ", ".join(running) if running else "")
