"""SIGTERM (kill, timeout, Slurm's end of --time, docker stop) stops a run as Ctrl-C does, and
no worker outlives its parent: real signals to a real process tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from tests.search._processes import act_mid_trial, running_with_an_epoch, trials_or_none

pytestmark = pytest.mark.slow

# 40 short epochs with a checkpoint after each: a trial runs for seconds, with an epoch stored.
LONG = {"baselines": [], "pruner": {"name": "none"},
        "training": {"epochs": 40, "batch_size": 32, "device": "cpu", "seed": 0,
                     "checkpoint_every_s": 0}}


def _run(path, *extra):
    return subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path), "--quiet",
                             *map(str, extra)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _trials(url):
    return optuna.load_study(study_name="tiny", storage=url).get_trials()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone_within(pids, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and [p for p in pids if _alive(p)]:
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def test_sigterm_marks_the_trial_interrupted_and_the_next_run_continues_it(tiny_study):
    path = tiny_study(n_trials=2, **LONG)
    url = f"sqlite:///{path.parent / 'studies.db'}"
    proc = _run(path)
    act_mid_trial(url, proc, lambda trial, pid: os.kill(pid, signal.SIGTERM),
                  when=lambda trial: trial.number == 0 and running_with_an_epoch(trial))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM): run the same command to resume" in err
    assert "Traceback" not in err
    trials = _trials(url)
    assert trials[0].state == TrialState.FAIL
    assert trials[0].user_attrs["fail_reason"] == "interrupted"
    assert trials[1].state == TrialState.WAITING and trials[1].params == trials[0].params
    rerun = _run(path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert _trials(url)[1].user_attrs["retry_of"] == 0


def _workers_of(url):
    """The pids of the workers running trials, once two trials run with an epoch stored."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        running = [t for t in trials_or_none(url) or () if running_with_an_epoch(t)]
        if len(running) == 2:
            return [t.user_attrs["worker"]["pid"] for t in running]
        time.sleep(0.2)
    raise AssertionError("two workers never ran trials at once")


def test_sigterm_to_the_parent_of_workers_stops_them_all(tiny_study, server_url):
    path = tiny_study(n_trials=20, **LONG)  # minutes of training: it must be stopped
    parent = _run(path, "--workers", 2, "--storage", server_url)
    workers = _workers_of(server_url)
    parent.send_signal(signal.SIGTERM)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 143, err
    assert _gone_within(workers, 5) == []
    trials = _trials(server_url)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [t for t in trials if t.user_attrs.get("fail_reason") == "interrupted"]
    assert len(stopped) == 2  # each worker marked its trial, and queued its retry
    # The parent signals the workers one after the other: a worker between trials may yet
    # start the retry the first one queued, and then stop that one. Either way every stopped
    # trial has one retry, which waits or was itself stopped (and has one).
    for trial in stopped:
        # Optuna's retry records the whole chain; its last entry is the trial it copies.
        (retry,) = [t for t in trials if
                    (t.system_attrs.get("retry_history") or [None])[-1] == trial.number]
        assert retry.state == TrialState.WAITING or retry in stopped


def test_workers_stop_when_their_parent_is_killed(tiny_study, server_url):
    path = tiny_study(n_trials=20, **LONG)  # minutes of training: it must be stopped
    parent = _run(path, "--workers", 2, "--storage", server_url)
    workers = _workers_of(server_url)
    parent.kill()  # SIGKILL: the parent runs no handler at all
    parent.communicate(timeout=30)
    assert _gone_within(workers, 30) == [], "workers outlived their SIGKILLed parent"
    trials = _trials(server_url)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert len([t for t in trials if t.user_attrs.get("fail_reason") == "interrupted"]) == 2


def test_a_second_run_on_the_same_sqlite_file_is_refused_and_fails_nothing(tiny_study):
    path = tiny_study(n_trials=20, **LONG)
    url = f"sqlite:///{path.parent / 'studies.db'}"
    first = _run(path)
    act_mid_trial(url, first, lambda trial, pid: None,
                  when=lambda trial: trial.number == 0 and running_with_an_epoch(trial))
    second = subprocess.run([sys.executable, "-m", "lrsearch.cli", "run", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stderr
    assert f"is in use by another lrsearch run (pid {first.pid} on " in second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert first.poll() is None  # the first goes on, its trial untouched
    assert _trials(url)[0].state == TrialState.RUNNING
    first.kill()  # SIGKILL: the kernel drops its lock, so the next run is not blocked
    first.communicate(timeout=30)
    rerun = subprocess.run([sys.executable, "-m", "lrsearch.cli", "run", str(path),
                            "--n-trials", "2"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "in use" not in rerun.stderr
    assert "trial #0 failed: its worker was lost (killed?) while it ran; a retry" in rerun.stderr
    assert not (path.parent / "studies.db.lock").exists()


def test_checkpoints_belong_to_their_study_not_to_its_name(tiny_study):
    """A stopped trial's checkpoint stays for its retry, said at the end; a new study of the
    same name in the same folder never reads it (it continued the other study's weights)."""
    path = tiny_study(n_trials=2, **LONG)
    url = f"sqlite:///{path.parent / 'studies.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    act_mid_trial(url, proc, lambda trial, pid: os.kill(pid, signal.SIGTERM),
                  when=lambda trial: trial.number == 0 and len(trial.intermediate_values) >= 3)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    kept = list((path.parent / "ckpt").glob("tiny-*/trial-0.pt"))
    assert len(kept) == 1
    assert "kept for trials that resume: 1 checkpoint file (" in out
    assert str(kept[0].parent) in out
    (path.parent / "studies.db").unlink()  # the user starts over under the same name
    rerun = subprocess.run([sys.executable, "-m", "lrsearch.cli", "run", str(path), "--quiet",
                            "--n-trials", "1"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    (trial,) = _trials(url)
    assert trial.state == TrialState.COMPLETE and "retry_of" not in trial.user_attrs
    assert min(trial.intermediate_values) == 1  # trained from its first epoch, not resumed
    assert kept[0].exists()  # the old study's file is not this study's to touch
    assert len(list((path.parent / "ckpt").glob("tiny-*"))) == 2
