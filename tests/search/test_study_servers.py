"""Several worker processes on one PostgreSQL or MariaDB study; workers killed mid-trial.

Each test gets its own database on localhost (dropped afterwards). Without a server the tests
skip with the reason, except under ``CI=true``, where they fail. Waits are on what the storage
says, never on fixed sleeps, so a loaded machine makes them slower, not flaky.
"""

from __future__ import annotations

import re
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from lrsearch.config import load_study
from lrsearch.launch import run_workers
from lrsearch.records import trial_epochs, with_curves
from tests.own_code import starting_together
from tests.search._processes import act_mid_trial, kill

if not hasattr(pytest.importorskip("lrsearch.train"), "train"):
    pytest.skip("lrsearch.train.train is not there yet", allow_module_level=True)
pytestmark = pytest.mark.slow

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
KILLABLE = {"baselines": [], "pruner": {"name": "none"},
            "training": {"epochs": 4, "batch_size": 32, "device": "cpu", "seed": 0,
                         "checkpoint_every_s": 0}}  # each reported epoch is on disk


def command(path, url, *extra):
    return [sys.executable, "-m", "lrsearch.cli", "run", str(path), "--storage", url,
            *map(str, extra)]


def trials_of(url, name="tiny"):
    study = optuna.load_study(study_name=name, storage=url)
    return with_curves(study, study.get_trials())


def test_workers_lose_and_duplicate_nothing(tiny_study, server_url, tmp_path):
    module = starting_together(tmp_path, 2)  # each worker takes a trial
    path = tiny_study(n_trials=6, training=KILLABLE["training"], model=f"{module}:tiny")
    seen = []
    summary, code = run_workers(load_study(path, {"storage": server_url}), 2, progress="off",
                                callbacks=[lambda study, trial: seen.append(trial.number)])
    assert code == 0
    trials = trials_of(server_url)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert {t.state for t in trials} <= set(FINISHED)
    # Workers stop once finished + running trials reach n_trials; a race may add one.
    assert 6 <= len(trials) <= 7 and summary.complete + summary.pruned == len(trials)
    assert sorted(seen) == [t.number for t in trials]  # the parent's hook saw each once
    baselines = [t.user_attrs["baseline"] for t in trials if "baseline" in t.user_attrs]
    assert sorted(baselines) == ["cosine", "step"]
    assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2


def test_trials_per_gpu_starts_k_workers_without_a_gpu(tiny_study, server_url, tmp_path):
    module = starting_together(tmp_path, 2)  # each worker takes a trial
    path = tiny_study(n_trials=4, training=KILLABLE["training"], model=f"{module}:tiny")
    proc = subprocess.run(command(path, server_url, "--trials-per-gpu", 2, "--device", "cpu",
                                  "--quiet"), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    trials = trials_of(server_url)
    assert {t.state for t in trials} <= set(FINISHED) and len(trials) >= 4
    assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2


def _check_retried(url, victim, reason_start):
    """The victim failed with the reason; one retry continued it from its checkpoint."""
    trials = trials_of(url)
    failed = trials[victim.number]
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs["fail_reason"].startswith(reason_start), failed.user_attrs
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1, [t.system_attrs for t in trials]
    (retry,) = retries
    assert retry.state == TrialState.COMPLETE and retry.user_attrs["retry_of"] == victim.number
    assert retry.params == victim.params and "fail_reason" not in retry.user_attrs
    # Continued from the checkpoint: its first epoch is the killed run's, timing and all.
    assert trial_epochs(retry)[0] == trial_epochs(failed)[0]
    return trials


def test_a_killed_worker_among_several_is_named_and_its_trial_retried(tiny_study, server_url):
    path = tiny_study(n_trials=4, **KILLABLE)
    # A URL without its driver: lrsearch picks the installed one and says which.
    bare = server_url.replace("+psycopg2", "").replace("+pymysql", "")
    parent = subprocess.Popen(command(path, bare, "--workers", 2), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    victim = act_mid_trial(server_url, parent, kill,
                           pid_of=lambda trial: trial.user_attrs["worker"]["pid"])
    pid = victim.user_attrs["worker"]["pid"]
    out, err = parent.communicate(timeout=400)
    assert parent.returncode == 1, err
    assert f"(pid {pid}) stopped: killed by SIGKILL" in err and "Traceback" not in err
    assert "A new study created" not in err  # Optuna's own log lines stay quiet
    trials = _check_retried(server_url, victim, f"worker lost: process {pid} on ")
    assert sum(t.state in FINISHED for t in trials) in (4, 5)  # a race may add one
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # the URL Optuna's own tools read: PostgreSQL's as written (psycopg 3, SQLAlchemy's default
    # driver, is installed), MySQL's with PyMySQL named
    driver = "postgresql://" if "postgresql" in server_url else "mysql+pymysql://"
    assert f"in {driver}" in out


def _killed_mid_trial(tiny_study, server_url, grace_period_s: float):
    """A 2-trial study whose lone worker was SIGKILLed mid-trial: ``(path, process, trial)``."""
    path = tiny_study(n_trials=2, storage_options={"heartbeat_interval_s": 1,
                                                   "grace_period_s": grace_period_s,
                                                   "max_retry": 1}, **KILLABLE)
    doomed = subprocess.Popen(command(path, server_url, "--quiet"), stderr=subprocess.PIPE)
    victim = act_mid_trial(server_url, doomed, kill)
    doomed.wait()
    return path, doomed, victim


def test_rerun_right_after_a_kill_finishes_the_study(tiny_study, server_url):
    # A grace period far longer than the test: the dead worker's trial is recognised by its
    # pid on this host, not by the heartbeat, and the re-run does not exit a trial short.
    path, doomed, victim = _killed_mid_trial(tiny_study, server_url, grace_period_s=3600)
    rerun = subprocess.run(command(path, server_url, "--quiet"), capture_output=True, text=True,
                           timeout=400)
    assert rerun.returncode == 0, rerun.stderr
    trials = _check_retried(server_url, victim, f"worker lost: process {doomed.pid} on ")
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2


def test_a_trial_of_another_host_is_failed_by_heartbeat_and_waited_for(tiny_study, server_url):
    path, doomed, victim = _killed_mid_trial(tiny_study, server_url, grace_period_s=3)
    # As if it had run on another machine: only its heartbeat can tell that it is dead.
    study = optuna.load_study(study_name="tiny", storage=server_url)
    study._storage.set_trial_user_attr(victim._trial_id, "worker",
                                       {"host": "another-machine", "pid": doomed.pid})
    # The re-run runs trial 1, then waits for trial 0 (it must not exit a trial short) until
    # the heartbeat fails it, and runs its retry.
    rerun = subprocess.run(command(path, server_url, "--quiet"), capture_output=True, text=True,
                           timeout=400)
    assert rerun.returncode == 0, rerun.stderr
    trials = _check_retried(server_url, victim, "worker lost: no heartbeat for 3 s")
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2


def test_workers_opening_an_empty_server_database_at_once_all_succeed(server_url):
    """The first start of several workers creates Optuna's tables concurrently: one loses the
    race on the catalogue (PostgreSQL: pg_type_typname_nsp_index) and must retry, not fail."""
    import threading

    from lrsearch.config import StorageOptions
    from lrsearch.records import open_storage

    workers = 6
    barrier, errors, opened = threading.Barrier(workers), [], []

    def start() -> None:
        barrier.wait()
        try:
            opened.append(open_storage(server_url, StorageOptions()))
        except Exception as exc:  # noqa: BLE001 -- collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(opened) == workers
    assert opened[0].get_all_studies() == []
    for storage in opened:
        storage.engine.dispose()


def test_workers_writing_to_a_file_print_a_line_per_trial(tiny_study, server_url, tmp_path):
    """The parent of --workers K prints each finished trial's line, as one process does, when
    its output goes to a file (a log, Slurm's output): it printed none."""
    path = tiny_study(n_trials=4)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        done = subprocess.run(command(path, server_url, "--workers", 2), stdout=out,
                              stderr=subprocess.STDOUT, timeout=400)
    text = log.read_text()
    assert done.returncode == 0, text
    finished = [t for t in trials_of(server_url) if t.state in FINISHED]
    for trial in finished:
        assert len(re.findall(rf"^trial {trial.number} (complete|pruned) ", text, re.M)) == 1, text
