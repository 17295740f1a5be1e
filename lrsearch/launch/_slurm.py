"""A study as a Slurm job array: one array task is one worker, with its own worker index.

``lrsearch slurm`` writes an sbatch script and submits it. Every task runs
``lrsearch run STUDY --worker-index $SLURM_ARRAY_TASK_ID`` with this installation's Python, so
the tasks share one server database (SQLite allows one process: one task) and each draws its
own trials. A server URL named in the study file stays there, so the script holds no password;
one given with ``--storage`` is written into the script, which its owner alone can read. The
first task to start sets the study up; the others wait for it (:mod:`.._setup_claim`), so the
array needs no separate set-up job.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from lrsearch.config import StudyConfig
from lrsearch.errors import StudyError
from lrsearch.records import is_sqlite

__all__ = ["SlurmJob", "sbatch_script", "submit", "task_options", "write_script"]


@dataclass(frozen=True)
class SlurmJob:
    """What the job array asks Slurm for.

    Attributes:
        study_file: The study file (made absolute: tasks may start in another folder).
        study_name: The study's name (the job's name and its logs').
        workers: Array tasks, one worker each.
        log_dir: Folder of the tasks' logs, ``<job name>-<job id>_<task>.out``.
        work_dir: The folder each task runs in: where ``lrsearch slurm`` ran, so a path that
            starts at the working directory (``checkpoint_dir``) means what it meant there.
        time: ``--time`` per task (``HH:MM:SS``), or None for the partition's default.
        partition: ``--partition``, or None.
        cpus_per_task: ``--cpus-per-task``.
        gpus_per_task: ``--gpus-per-task`` (0: none asked for).
        mem: ``--mem`` per task (e.g. ``16G``), or None.
        run_options: More ``lrsearch run`` options for every task (:func:`task_options`).
    """

    study_file: Path
    study_name: str
    workers: int
    log_dir: Path
    work_dir: Path
    time: str | None = None
    partition: str | None = None
    cpus_per_task: int = 4
    gpus_per_task: int = 0
    mem: str | None = None
    run_options: tuple[str, ...] = ()


def task_options(config: StudyConfig, work_dir: Path, storage_given: bool,
                 device: str | None = None) -> tuple[str, ...]:
    """The ``lrsearch run`` options that make every task run ``config`` as it reads here.

    A SQLite file and ``data.data_dir`` start at the working directory, and the tasks may
    start elsewhere: both are made absolute from ``work_dir``, once. A server URL is passed
    only when given on the command line (``storage_given``); the study file's stays there.

    Example:
        >>> from lrsearch.config import parse_study
        >>> config = parse_study({"name": "demo", "storage": "sqlite:///demo.db",
        ...                       "data": {"data_dir": "data"}})
        >>> task_options(config, Path("/home/me"), storage_given=False)
        ('--storage', 'sqlite:////home/me/demo.db', '--data-dir', '/home/me/data')
    """
    options: list[str] = []
    if is_sqlite(config.storage):
        options += ["--storage", _absolute_sqlite(config.storage, work_dir)]
    elif storage_given:
        options += ["--storage", config.storage]
    if config.data.data_dir:
        # As the data loader reads it: ~ expanded, then from the working directory.
        options += ["--data-dir", str(work_dir / Path(config.data.data_dir).expanduser())]
    if device:
        options += ["--device", device]
    return tuple(options)


def _absolute_sqlite(url: str, work_dir: Path) -> str:
    """``url`` with a relative SQLite file made absolute from ``work_dir`` (SQLAlchemy opens
    it from the working directory, and expands no ``~``)."""
    parsed = make_url(url)
    return parsed.set(database=str(work_dir / parsed.database)).render_as_string(
        hide_password=False)


def sbatch_script(job: SlurmJob) -> str:
    """The sbatch script of ``job``.

    Each task logs one line per finished trial: its output is a file, not a terminal, so
    ``lrsearch run`` prints plain lines there instead of a progress bar.

    Example:
        >>> job = SlurmJob(Path("/s/study.yaml"), "demo", 4, Path("/s/logs"), Path("/home/me"))
        >>> [line for line in sbatch_script(job).splitlines() if "--array" in line]
        ['#SBATCH --array=0-3']
    """
    name = f"lrsearch-{job.study_name}"
    options = [f"--job-name={name}", f"--array=0-{job.workers - 1}",
               f"--output={job.log_dir / (name + '-%A_%a.out')}",
               f"--cpus-per-task={job.cpus_per_task}"]
    if job.time:
        options.append(f"--time={job.time}")
    if job.partition:
        options.append(f"--partition={job.partition}")
    if job.gpus_per_task:
        options.append(f"--gpus-per-task={job.gpus_per_task}")
    if job.mem:
        options.append(f"--mem={job.mem}")
    command = [sys.executable, "-m", "lrsearch.cli", "run", str(job.study_file),
               *job.run_options]
    return "\n".join([
        "#!/bin/bash",
        f"# lrsearch study {job.study_name!r}: {job.workers} workers, one per array task.",
        *(f"#SBATCH {option}" for option in options),
        "set -euo pipefail",
        f"cd {shlex.quote(str(job.work_dir))}",
        # Each task is one worker: its index gives it its own sampler seed and identity.
        f'exec {shlex.join(command)} --worker-index "$SLURM_ARRAY_TASK_ID"',
        ""])


def write_script(job: SlurmJob, path: Path) -> None:
    """Write the sbatch script of ``job`` to ``path``, readable by its owner alone (it may
    hold a ``--storage`` URL's password)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)  # a script already there keeps its mode otherwise
        file.write(sbatch_script(job))


_SUBMITTED = re.compile(r"Submitted batch job (\d+)")


def submit(script: Path) -> str:
    """Submit ``script`` with sbatch; return the job id.

    Raises:
        StudyError: sbatch is not here, or Slurm refused the job (its message).
    """
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise StudyError(f"sbatch not found: run this on a Slurm login node, or submit "
                         f"{script} there (lrsearch slurm --no-submit writes it only)")
    done = subprocess.run([sbatch, str(script)], capture_output=True, text=True, timeout=120)
    found = _SUBMITTED.search(done.stdout)
    if done.returncode != 0 or found is None:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise StudyError(f"sbatch refused {script}: {why[-1] if why else 'no message'}")
    return found.group(1)
