"""Several worker processes on one PostgreSQL or MariaDB study; a worker killed mid-trial.

Each test gets its own database on localhost (dropped afterwards). Without a server the tests
skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

if not hasattr(pytest.importorskip("lrsearch.train"), "train"):
    pytest.skip("lrsearch.train.train is not there yet", allow_module_level=True)
pytestmark = pytest.mark.slow


def command(path, url, *extra):
    return [sys.executable, "-m", "lrsearch.cli", "run", str(path), "--storage", url,
            "--quiet", *map(str, extra)]


def trials_of(url, name="tiny"):
    return optuna.load_study(study_name=name, storage=url).get_trials()


def test_workers_lose_and_duplicate_nothing(tiny_study, server_url):
    path = tiny_study(n_trials=6)
    done = subprocess.run(command(path, server_url, "--workers", 2), capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    trials = trials_of(server_url)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    # Workers stop once finished + running trials reach n_trials; a race may add one.
    assert 6 <= len(trials) <= 7
    baselines = [t.user_attrs["baseline"] for t in trials if "baseline" in t.user_attrs]
    assert sorted(baselines) == ["cosine", "step"]


def _wait_for_running_trial(url, timeout_s=120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            running = [t for t in trials_of(url) if t.state == TrialState.RUNNING
                       and t.intermediate_values]
        except KeyError:  # the study is not created yet
            running = []
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("no trial started")


def test_killed_worker_trial_fails_by_heartbeat_and_is_retried(tiny_study, server_url):
    path = tiny_study(n_trials=6, baselines=[],
                      storage_options={"heartbeat_interval_s": 1, "grace_period_s": 3,
                                       "max_retry": 1},
                      training={"epochs": 4, "batch_size": 32, "device": "cpu", "seed": 0},
                      pruner={"name": "none"})
    doomed = subprocess.Popen(command(path, server_url), stderr=subprocess.PIPE, text=True)
    victim = _wait_for_running_trial(server_url)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    survivor = subprocess.run(command(path, server_url), capture_output=True, text=True,
                              timeout=240)
    assert survivor.returncode == 0, survivor.stderr
    trials = trials_of(server_url)
    assert trials[victim.number].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].user_attrs["retry_of"] == victim.number
    assert retries[0].params == victim.params
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 6
