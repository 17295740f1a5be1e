"""A study as a Slurm job array: one array task is one worker, with its own worker index.

``lrsearch slurm`` writes an sbatch script and submits it. Every task runs
``lrsearch run STUDY --worker-index $SLURM_ARRAY_TASK_ID`` with this installation's Python, so
the tasks share the study file's server database (SQLite allows one process) and each draws its
own trials. The storage URL stays in the study file: the script holds no password. The first
task to start sets the study up; the others wait for it (:mod:`.._setup_claim`), so the array
needs no separate set-up job.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lrsearch.errors import StudyError

__all__ = ["SlurmJob", "sbatch_script", "submit"]


@dataclass(frozen=True)
class SlurmJob:
    """What the job array asks Slurm for.

    Attributes:
        study_file: The study file (made absolute: tasks may start in another folder).
        study_name: The study's name (the job's name and its logs').
        workers: Array tasks, one worker each.
        log_dir: Folder of the tasks' logs, ``<job name>-<job id>_<task>.out``.
        time: ``--time`` per task (``HH:MM:SS``), or None for the partition's default.
        partition: ``--partition``, or None.
        cpus_per_task: ``--cpus-per-task``.
        gpus_per_task: ``--gpus-per-task`` (0: none asked for).
        mem: ``--mem`` per task (e.g. ``16G``), or None.
        run_options: More ``lrsearch run`` options for every task (e.g. ``--device cuda``).
    """

    study_file: Path
    study_name: str
    workers: int
    log_dir: Path
    time: str | None = None
    partition: str | None = None
    cpus_per_task: int = 4
    gpus_per_task: int = 0
    mem: str | None = None
    run_options: tuple[str, ...] = ()


def sbatch_script(job: SlurmJob) -> str:
    """The sbatch script of ``job``.

    Example:
        >>> script = sbatch_script(SlurmJob(Path("/s/study.yaml"), "demo", 4, Path("/s/logs")))
        >>> [line for line in script.splitlines() if "--array" in line]
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
               "--quiet", *job.run_options]
    return "\n".join([
        "#!/bin/bash",
        f"# lrsearch study {job.study_name!r}: {job.workers} workers, one per array task.",
        *(f"#SBATCH {option}" for option in options),
        "set -euo pipefail",
        f"cd {shlex.quote(str(job.study_file.parent))}",
        # Each task is one worker: its index gives it its own sampler seed and identity.
        f'exec {shlex.join(command)} --worker-index "$SLURM_ARRAY_TASK_ID"',
        ""])


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
