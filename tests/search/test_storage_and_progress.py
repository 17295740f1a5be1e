"""Storage URLs, friendly storage errors, retries of dead workers' trials, and the progress
display."""

from __future__ import annotations

import json
import platform
import sqlite3
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from lrsearch.config import StorageOptions, parse_study
from lrsearch.errors import StudyError
from lrsearch.search import (
    check_storage,
    fail_dead_workers,
    normalise_url,
    open_storage,
    redact_url,
    retry_trial,
    summarise,
    worker_id,
)
from lrsearch.search._progress import StudyProgress
from lrsearch.search.parallel import OtherWorkers, process_alive, worker_alive


def test_urls_pick_installed_drivers_and_hide_passwords():
    assert normalise_url("mysql://u:p@h/db") == "mysql+pymysql://u:p@h/db"
    assert normalise_url("mariadb://u@h/db") == "mysql+pymysql://u@h/db"
    assert normalise_url("postgresql://u@h/db").startswith("postgresql")
    assert redact_url("mysql+pymysql://u:secret@h/db") == "mysql+pymysql://u:***@h/db"


def test_a_url_too_broken_to_parse_keeps_its_password_hidden():
    from lrsearch.report import open_report_storage

    broken = "postgresql//me:secret@db/test"  # no "://"
    assert redact_url(broken) == "postgresql//me:***@db/test"
    with pytest.raises(StudyError) as caught:  # lrsearch report / dashboard
        open_report_storage(broken)
    assert "secret" not in str(caught.value) and "'postgresql//me:***@db/test'" in str(
        caught.value)


def test_sqlite_in_a_missing_folder(tmp_path):
    with pytest.raises(StudyError, match="does not exist"):
        open_storage(f"sqlite:///{tmp_path}/nope/x.db", StorageOptions())


def test_sqlite_has_no_heartbeat(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/x.db", StorageOptions())
    assert storage.get_heartbeat_interval() is None


def test_unknown_driver_is_a_study_error():
    with pytest.raises(StudyError, match="storage"):
        open_storage("oracle+nodriver://u@h/db", StorageOptions())


def test_progress_bar_and_lines(capsys):
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with StudyProgress(5, 0, 3, "val_acc", "bar") as bar:
        for trial in study.trials:
            bar.finished(study, trial)
        assert bar.done == 2 and bar._best.startswith("best: ")
    with StudyProgress(5, 0, 3, "val_acc", "lines") as lines:
        lines.finished(study, study.trials[0])
    assert "trial 0 complete" in capsys.readouterr().err


def test_check_storage_creates_no_sqlite_file(tmp_path):
    check_storage(f"sqlite:///{tmp_path}/x.db", StorageOptions())
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(StudyError, match="does not exist"):
        check_storage(f"sqlite:///{tmp_path}/nope/x.db", StorageOptions())


def test_summary_names_the_driver_and_hides_the_password():
    config = parse_study({"name": "s", "storage": "mysql://me:secret@db/test"})
    study = optuna.create_study(study_name="s")
    assert summarise(study, config.storage).storage == "mysql+pymysql://me:***@db/test"


def test_a_retry_keeps_the_run_but_not_its_failure(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/x.db", StorageOptions())
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    for key, value in {"fail_reason": "interrupted", "worker": worker_id(), "epochs": [{}],
                       "schedule": {"family": "cosine"}, "wall_seconds": 3.0}.items():
        trial.set_user_attr(key, value)
    study.tell(trial, state=TrialState.FAIL)
    retry_trial(study, study.trials[0], max_retry=1)
    retry_trial(study, study.trials[0], max_retry=0)  # no more retries than asked for
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    assert waiting.params == study.trials[0].params
    assert waiting.user_attrs == {"epochs": [{}], "schedule": {"family": "cosine"}}
    assert waiting.system_attrs["failed_trial"] == 0


_IDENTITY = ("import json, sys; from lrsearch.search import worker_id; "
             "print(json.dumps(worker_id()), flush=True)")


def _identity_of(proc: subprocess.Popen) -> dict:
    return json.loads(proc.stdout.readline())


def test_dead_workers_are_told_by_their_whole_identity(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/x.db", StorageOptions())
    study = optuna.create_study(storage=storage)
    gone = json.loads(subprocess.run([sys.executable, "-c", _IDENTITY], capture_output=True,
                                     text=True, check=True).stdout)
    # A live worker: prints its identity, then waits for its stdin to close.
    live = subprocess.Popen([sys.executable, "-c", _IDENTITY + "; sys.stdin.read()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        alive = _identity_of(live)
        owners = {
            "gone": gone,
            "reused pid": {**alive, "start": alive["start"] - 1},  # same pid, another process
            "this process": worker_id(),  # the runner asks between its trials: none runs
            "alive": alive,
            # Same hostname, another container (pid namespace) or boot: pids mean nothing.
            "other pid namespace": {**gone, "pidns": "pid:[1]"},
            "other boot": {**gone, "boot": "another-boot"},
            "other host": {**gone, "host": "another-machine"},
            "no start time": {key: gone[key] for key in ("host", "pid")},  # cannot be checked
            "none": None,
        }
        expected = [False, False, False, True, None, None, None, None, None]
        assert [worker_alive(owner) for owner in owners.values()] == expected
        assert process_alive(worker_id()) is True  # a set-up claim held by this process
        for owner in owners.values():
            trial = study.ask()
            if owner is not None:
                trial.set_user_attr("worker", owner)
        assert fail_dead_workers(study, max_retry=1) == [0, 1, 2]
    finally:
        live.stdin.close()
        live.wait()
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL] * 3 + [TrialState.RUNNING] * 6 + [
        TrialState.WAITING] * 3
    assert trials[0].user_attrs["fail_reason"] == (
        f"worker lost: process {gone['pid']} on {platform.node()} is gone (killed?); retried")
    assert "worker" not in trials[9].user_attrs and "fail_reason" not in trials[9].user_attrs


def test_progress_lines_give_reasons_for_failed_and_pruned_trials_only(capsys):
    study = optuna.create_study(direction="maximize")
    for state, attrs in ((TrialState.COMPLETE, {"fail_reason": "interrupted"}),
                         (TrialState.PRUNED, {"prune_reason": "pruned after epoch 2"}),
                         (TrialState.FAIL, {"fail_reason": "TrainingError: boom"})):
        study.add_trial(optuna.create_trial(state=state, user_attrs=attrs,
                                            value=0.5 if state == TrialState.COMPLETE else None,
                                            intermediate_values={1: 0.4}))
    with StudyProgress(5, 0, 3, "val_acc", "lines") as lines:
        for trial in study.trials:
            lines.finished(study, trial)
        lines.note("worker 1 (pid 7) stopped: killed by SIGKILL")
    err = capsys.readouterr().err.splitlines()
    assert "interrupted" not in err[0] and err[0].startswith("trial 0 complete")
    assert "(pruned after epoch 2)" in err[1] and "(TrainingError: boom)" in err[2]
    assert err[3] == "worker 1 (pid 7) stopped: killed by SIGKILL"


def test_progress_lines_stay_above_the_bar_with_time_eta_best_and_interrupted(capsys):
    study = optuna.create_study(direction="maximize")
    for state, attrs, value in (
            (TrialState.COMPLETE, {"wall_seconds": 30.0}, 0.6),
            (TrialState.FAIL, {"fail_reason": "interrupted", "wall_seconds": 12.0}, None)):
        study.add_trial(optuna.create_trial(state=state, user_attrs=attrs, value=value))
    with StudyProgress(5, 1, 3, "val_acc", "bar") as bar:
        bar.update(1, study)  # a resume: the best is known before any trial of this run ends
        assert bar._best == "best: 0.6000 (trial 0, None)"
        assert bar._eta(study) == "~2 min left"  # 4 trials to go at 30 s each
        bar.finished(study, study.trials[1])
    shown = capsys.readouterr()  # rich's console: stdout, where the bar is
    assert "trial 1 interrupted ? val_acc - 0.2 min; best: 0.6000" in shown.out + shown.err


def test_a_storage_error_while_recovering_is_a_study_error(tmp_path):
    from lrsearch.search import open_study

    path = tmp_path / "x.db"
    config = parse_study({"name": "s", "storage": f"sqlite:///{path}", "baselines": []})
    opened = open_study(config, progress="off")
    gone = json.loads(subprocess.run([sys.executable, "-c", _IDENTITY], capture_output=True,
                                     text=True, check=True).stdout)
    opened.study.ask().set_user_attr("worker", gone)  # a dead worker's trial, to be failed
    lock = sqlite3.connect(path)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the file: writes fail after 5 s
    try:
        with pytest.raises(StudyError) as caught:
            OtherWorkers(opened.study, opened.heartbeat, config.storage_options.max_retry,
                         config.storage).recover()
    finally:
        lock.rollback()
        lock.close()
    message = str(caught.value)
    assert message.startswith(f"study 's' in sqlite:///{path}: the storage failed while "
                              f"looking for trials of dead workers (")
    assert "database is locked" in message and "run the same command" in message
