"""A study as a Slurm job array, on a real single-node Slurm started by the test.

The fixture starts munged, slurmctld and slurmd (Debian's slurm-wlm and munge) with a slurm.conf
of its own in a temporary folder, on ports of its own; without them, or without root, the tests
that need it skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml
from click.testing import CliRunner
from optuna.trial import TrialState

from lrsearch.cli import main
from lrsearch.records import WORKER_ATTR
from tests.conftest import unavailable
from tests.own_code import starting_together
from tests.search.conftest import TINY_STUDY

pytestmark = pytest.mark.slow

_DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")


def _missing() -> str | None:
    absent = [d for d in _DAEMONS if shutil.which(d) is None and
              not os.path.exists(f"/usr/sbin/{d}")]
    if absent:
        return (f"Slurm is not installed ({', '.join(absent)} missing; Debian: apt-get install "
                f"slurm-wlm munge)")
    if os.geteuid() != 0:
        return "starting a private Slurm needs root (slurmd runs the jobs as their user)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A running single-node Slurm; yields the environment that points its tools at it."""
    reason = _missing()
    if reason:
        unavailable(reason)
    folder = tmp_path_factory.mktemp("slurm")
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=lrsearch-test", f"SlurmctldHost={host}", "SlurmUser=root",
        "SlurmdUser=root", "AuthType=auth/munge", f"StateSaveLocation={folder}/state",
        f"SlurmdSpoolDir={folder}/spool", f"SlurmctldPidFile={folder}/slurmctld.pid",
        f"SlurmdPidFile={folder}/slurmd.pid", f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}", "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
        "ReturnToService=2", "MpiDefault=none", f"SlurmctldLogFile={folder}/slurmctld.log",
        f"SlurmdLogFile={folder}/slurmd.log",
        f"NodeName={host} CPUs={os.cpu_count()} State=UNKNOWN",
        f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP "
        f"OverSubscribe=FORCE:4", ""]))
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    env = {**os.environ, "SLURM_CONF": str(conf)}
    os.makedirs("/run/munge", exist_ok=True)
    if subprocess.run(["munge", "-n"], capture_output=True).returncode != 0:
        subprocess.run(["munged", "--force"], check=True, capture_output=True)
    subprocess.run(["slurmctld", "-f", str(conf)], check=True, env=env)
    subprocess.run(["slurmd", "-f", str(conf)], check=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True,
                                           text=True, env=env).stdout:
            if time.monotonic() > deadline:
                pytest.fail(f"the test's Slurm did not come up: "
                            f"{(folder / 'slurmctld.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield env
    finally:
        for daemon in ("slurmd", "slurmctld"):
            pid_file = folder / f"{daemon}.pid"
            if pid_file.exists():
                subprocess.run(["kill", pid_file.read_text().strip()], check=False)


@pytest.mark.parametrize("server_url", ["postgresql"], indirect=True)
def test_a_job_array_runs_the_study_one_worker_per_task(slurm, server_url, tmp_path,
                                                        monkeypatch):
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    module = starting_together(tmp_path, 2)  # each array task takes a trial
    study = {**TINY_STUDY, "name": "slurm-tiny", "storage": server_url, "n_trials": 6,
             "model": f"{module}:tiny",
             "checkpoint_dir": str(tmp_path / "ckpt"), "baselines": [],
             "pruner": {"name": "none"}}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    _submit_and_wait([str(path), "--workers", "2", "--cpus-per-task", "1"])
    assert "password" not in (tmp_path / "lrsearch-slurm-tiny.sbatch").read_text()
    logs = sorted((tmp_path / "slurm-logs").glob("*.out"))
    assert len(logs) == 2, logs
    trials = optuna.load_study(study_name="slurm-tiny", storage=server_url).get_trials()
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    # Workers stop once finished + running trials reach n_trials; two deciding at the same
    # moment may add one (the documented contract: tests/search/test_study_servers.py).
    assert 6 <= len(finished) <= 7, [log.read_text()[-1500:] for log in logs]
    assert len(finished) == len(trials)  # nothing failed or left running
    workers = {t.user_attrs[WORKER_ATTR]["pid"] for t in finished}
    assert len(workers) == 2  # both array tasks ran trials: one worker each
    logged = [line for log in logs for line in _trial_lines(log)]
    assert sorted(logged) == sorted(t.number for t in finished)  # each in its task's log


def _submit_and_wait(args: list[str]) -> None:
    """``lrsearch slurm ARGS``, then wait until its job has left the queue."""
    result = CliRunner().invoke(main, ["slurm", *args])
    assert result.exit_code == 0, result.output
    job = result.output.split("submitted job ")[1].split(":")[0]
    deadline = time.monotonic() + 600
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True,
                         text=True).stdout.strip():
        assert time.monotonic() < deadline, "the job array did not finish in 10 minutes"
        time.sleep(1)


def _trial_lines(log: Path) -> list[int]:
    """The trial numbers of a task log's per-trial lines (``trial 3 complete cosine ...``)."""
    return [int(n) for n in re.findall(r"^trial (\d+) (?:complete|pruned) ", log.read_text(),
                                       flags=re.MULTILINE)]


def test_a_relative_sqlite_file_is_the_one_where_slurm_ran(slurm, tmp_path, monkeypatch):
    # The run's own meaning of sqlite:///tiny.db: a file in the working directory, not in the
    # study file's folder (where the tasks used to start).
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "studies").mkdir()
    (tmp_path / "here").mkdir()
    study = {**TINY_STUDY, "name": "slurm-sqlite", "storage": "sqlite:///tiny.db",
             "n_trials": 3, "checkpoint_dir": str(tmp_path / "ckpt")}
    (tmp_path / "studies" / "study.yaml").write_text(yaml.safe_dump(study))
    monkeypatch.chdir(tmp_path / "here")
    _submit_and_wait(["../studies/study.yaml", "--workers", "1", "--cpus-per-task", "1"])
    assert not (tmp_path / "studies" / "tiny.db").exists()
    trials = optuna.load_study(study_name="slurm-sqlite",
                               storage=f"sqlite:///{tmp_path / 'here' / 'tiny.db'}").get_trials()
    assert len(trials) == 3 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                                    for t in trials), trials
    (log,) = (tmp_path / "studies" / "slurm-logs").glob("*.out")
    assert _trial_lines(log) == [t.number for t in trials], log.read_text()[-1500:]
    assert "study 'slurm-sqlite' in sqlite:///" in log.read_text()  # the run's summary: it ended


def test_storage_given_on_the_command_line_reaches_every_task(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch: the script is written, not submitted
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**TINY_STUDY, "name": "given", "storage": "sqlite:///x.db"}))
    url = "postgresql://u:secret@db:5432/x"
    result = CliRunner().invoke(main, ["slurm", str(path), "--workers", "3", "--storage", url,
                                       "--no-submit"])
    assert result.exit_code == 0 and "secret" not in result.output, result.output
    script = tmp_path / "lrsearch-given.sbatch"
    assert f"--storage {url} " in script.read_text()
    assert script.stat().st_mode & 0o777 == 0o600  # it holds the password: its owner's alone


def test_relative_paths_are_made_absolute_where_slurm_ran(tmp_path, monkeypatch):
    (tmp_path / "studies").mkdir()
    (tmp_path / "here").mkdir()
    study = {**TINY_STUDY, "name": "paths", "storage": "sqlite:///runs/tiny.db",
             "data": {**TINY_STUDY["data"], "data_dir": "data"}}
    (tmp_path / "studies" / "study.yaml").write_text(yaml.safe_dump(study))
    monkeypatch.chdir(tmp_path / "here")
    here = tmp_path / "here"
    for given, storage in (([], here / "runs" / "tiny.db"),
                           (["--storage", "sqlite:///other.db", "--data-dir", "cifar"],
                            here / "other.db")):
        result = CliRunner().invoke(main, ["slurm", "../studies/study.yaml", "--workers", "1",
                                           "--no-submit", *given])
        assert result.exit_code == 0, result.output
        script = (tmp_path / "studies" / "lrsearch-paths.sbatch").read_text()
        data_dir = here / ("cifar" if given else "data")
        assert f"--storage sqlite:///{storage} --data-dir {data_dir} " in script, script
        assert f"\ncd {here}\n" in script  # checkpoint_dir, too, starts where it did


def test_without_sbatch_the_script_is_written_and_the_answer_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**TINY_STUDY, "name": "no-slurm",
                                    "storage": "postgresql://u:secret@db/x"}))
    result = CliRunner().invoke(main, ["slurm", str(path), "--workers", "3"])
    assert result.exit_code == 1 and "sbatch not found" in result.output
    script = (tmp_path / "lrsearch-no-slurm.sbatch").read_text()
    assert "#SBATCH --array=0-2" in script and "secret" not in script
    assert '--worker-index "$SLURM_ARRAY_TASK_ID"' in script
