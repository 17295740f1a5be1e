"""Processes above the study runner: ``--workers K`` on this machine, the worker entry point,
a Slurm job array, and how a run stops on SIGTERM.

:func:`run_workers` starts ``--workers K`` processes (``python -m lrsearch.launch._worker_main``,
the resolved config on stdin) and watches them; :func:`workers_per_gpu` counts those of
``--trials-per-gpu K``; :func:`check_workers` refuses several processes on SQLite. The Slurm
script (:class:`SlurmJob`, :func:`write_script`, :func:`submit`) runs one worker per array
task. Inside :func:`stop_on_sigterm`, SIGTERM stops a run as Ctrl-C does.

Example:
    >>> from lrsearch.launch import workers_per_gpu
    >>> workers_per_gpu(2, gpus=4)
    8
"""

from lrsearch.launch._slurm import SlurmJob, sbatch_script, submit, task_options, write_script
from lrsearch.launch._termination import TERMINATED_EXIT_CODE, Terminated, stop_on_sigterm
from lrsearch.launch._workers import (
    check_workers,
    gpu_count,
    run_workers,
    worker_config,
    workers_per_gpu,
)

__all__ = [
    "SlurmJob", "TERMINATED_EXIT_CODE", "Terminated", "check_workers", "gpu_count",
    "run_workers", "sbatch_script", "stop_on_sigterm", "submit", "task_options", "worker_config",
    "workers_per_gpu", "write_script",
]
