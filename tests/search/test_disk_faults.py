"""A full disk and a read-only SQLite file: one clear line, nothing left RUNNING, and what can
still be read (report, export) still works.

A full disk is a real file-size limit (``RLIMIT_FSIZE``) on the ``lrsearch run`` process: every
write past it fails as on a full disk (EFBIG where a full disk gives ENOSPC). A read-only file
is a read-only bind mount of its folder (root, in a mount namespace of its own), or file modes
(any other user, for whom they hold).
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from lrsearch.records import FAIL_REASON_ATTR
from tests.search._processes import act_mid_trial, running_with_an_epoch

pytestmark = pytest.mark.slow

ONE_EPOCH = {"baselines": [], "pruner": {"name": "none"},
             "training": {"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0}}


def _run(path: Path, limit_bytes: int | None = None, prefix: tuple[str, ...] = (),
         command: str = "run", *args: str) -> subprocess.CompletedProcess:
    """``lrsearch <command>`` in a child process, its files limited to ``limit_bytes``."""
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a dead process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    lrsearch = [sys.executable, "-m", "lrsearch.cli"]
    target = [str(path)] if command in ("run", "validate") else []
    return subprocess.run([*prefix, *lrsearch, command, *target, *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          preexec_fn=limited if limit_bytes else None)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and len(result.stderr) < 20_000, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


def _trials(folder: Path):
    return optuna.load_study(study_name="tiny",
                             storage=f"sqlite:///{folder / 'studies.db'}").trials


def test_a_disk_full_mid_trial_is_ridden_out_and_the_trial_retried(tiny_study, tmp_path):
    """The disk fills during trial 0 (no file may grow) and has room again 3 s later: within
    the 30 s a storage outage is waited out, so trial 0 fails with its cause, is retried from
    its checkpoint, and the run ends complete (rc 0), saying what happened in one line."""
    path = tiny_study(n_trials=2, baselines=[], pruner={"name": "none"},
                      training={"epochs": 30, "batch_size": 32, "device": "cpu", "seed": 0})
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    room = threading.Timer(3.0, resource.prlimit, [proc.pid, resource.RLIMIT_FSIZE, unlimited])
    try:
        def fill(trial, pid):
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
            room.start()

        act_mid_trial(url, proc, fill, when=lambda t: t.number == 0 and running_with_an_epoch(t))
        out, err = proc.communicate(timeout=120)
    finally:
        if room.is_alive() or room.finished.is_set():
            room.join()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "error:" not in err, err[-3000:]
    assert ("trial #0: the study storage failed under it (disk I/O error) and was back within "
            "30 s; the trial is retried from its checkpoint") in err, err[-3000:]
    trials = _trials(tmp_path)
    assert trials[0].state == TrialState.FAIL
    assert trials[0].user_attrs[FAIL_REASON_ATTR] == (
        "the study storage failed during this trial: disk I/O error")
    retry = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2  # n_trials: nothing lost


def test_a_full_disk_under_the_checkpoints_stops_at_the_first_trial(tiny_study, tmp_path):
    # resnet20's checkpoint (weights and momentum, ~2 MB) does not fit under the limit; the
    # database (well under it) still takes the trial's failure.
    path = tiny_study(n_trials=3, model="resnet20", **ONE_EPOCH)
    line = _one_error_line(_run(path, 1_000_000))
    assert "the disk is full or read-only (File too large: " in line, line
    assert str(tmp_path / "ckpt" / "tiny-") in line, line  # the study's own folder
    (trial,) = _trials(tmp_path)  # one trial tried, not three failed in a row
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[FAIL_REASON_ATTR].startswith("OSError: [Errno 27] File too large: ")
    assert not list((tmp_path / "ckpt").glob("tiny-*/*.tmp"))  # no half-written file kept


def _read_only(folder: Path) -> tuple[str, ...]:
    """The prefix that runs a command with ``folder`` read-only (or a skip)."""
    if os.geteuid() != 0:
        for item in [*folder.iterdir(), folder]:
            item.chmod(item.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        return ()
    prefix = ("unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"',
              str(folder))
    if shutil.which("unshare") is None or subprocess.run(
            [*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("root without a mount namespace (unshare --mount): no read-only mount "
                    "can be made, and root ignores file modes")
    return prefix


def test_an_existing_sqlite_file_on_a_read_only_mount(tiny_study, tmp_path):
    path = tiny_study(n_trials=1, **ONE_EPOCH)
    assert _run(path).returncode == 0
    db = tmp_path / "studies.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    prefix = _read_only(tmp_path)
    try:
        for command in ("validate", "run"):
            result = _run(path, None, prefix, command)
            _one_error_line(result)
            assert f"the SQLite file {db} is read-only here" in result.stderr, result.stderr
        storage = ("--storage", f"sqlite:///{db}")
        out = tmp_path.parent / f"{tmp_path.name}-out"
        for command in ("report", "export"):  # reading needs no writes
            result = _run(path, None, prefix, command, *storage, "--out", str(out / command))
            assert result.returncode == 0, result.stderr[-3000:]
    finally:
        for item in [tmp_path, *tmp_path.iterdir()]:
            item.chmod(item.stat().st_mode | stat.S_IWUSR)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_full_disk_at_the_studys_creation_leaves_no_empty_database(tiny_study):
    path = tiny_study(n_trials=1, **ONE_EPOCH)
    done = _run(path, 1)  # no page may be written: SQLite makes the file, then fails
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the disk holding the database is full or failing" in done.stderr
    assert "Traceback" not in done.stderr
    left = sorted(p.name for p in path.parent.iterdir() if p.name.startswith("studies.db"))
    assert left == [], left  # no 0-byte database, no lock file


USER_LOOP = '''
import resource, signal, sys
import lrsearch
from lrsearch.errors import LrsearchError

folder = sys.argv[1]
study = {"name": "own", "storage": f"sqlite:///{folder}/own.db", "n_trials": 3,
         "baselines": [], "pruner": {"name": "none"}, "training": {"epochs": 1, "seed": 0}}


def train_fn(trial):
    with open(f"{folder}/user-checkpoint.pt", "wb") as handle:  # the user's own checkpoint
        handle.write(b"x" * 2_000_000)
    trial.report(1, val_acc=0.5)
    return 0.5


signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a dead process
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
try:
    lrsearch.optimize(study, train_fn)
except LrsearchError as exc:
    print(exc)
    sys.exit(1)
'''


def test_a_full_disk_stops_a_users_own_loop_at_the_first_trial(tmp_path):
    """``lrsearch.optimize`` goes through the same trial protocol as ``lrsearch run``: the
    user's write that fails on a full disk fails its trial with the cause and stops the run
    there, instead of failing two more trials first."""
    done = subprocess.run([sys.executable, "-c", USER_LOOP, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stdout.startswith("study 'own': trial 0 failed with: OSError: [Errno 27] File "
                                  "too large; the disk is full or read-only (File too large "
                                  "writing a file): free space there"), done.stdout
    trials = optuna.load_study(study_name="own", storage=f"sqlite:///{tmp_path / 'own.db'}"
                               ).trials
    (trial,) = [t for t in trials if t.state != TrialState.WAITING]  # queued priors wait
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[FAIL_REASON_ATTR].startswith("OSError: [Errno 27] File too large")
