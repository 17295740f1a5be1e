"""The storage failing under a running trial (a real PostgreSQL whose connections are cut and
refused for a while, as in a database restart): the trial is failed with the storage's cause as
soon as the storage takes writes again, not left RUNNING for a "dead worker" recovery, and is
retried from its checkpoint while the run goes on, saying so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy import create_engine, text

from lrsearch.records import (
    FAIL_REASON_ATTR,
    apply_pending_failures,
    fail_after_storage_error,
)
from tests.search._processes import act_mid_trial
from tests.search.conftest import _server_database

pytestmark = pytest.mark.slow

ADMIN = os.environ.get("LRSEARCH_TEST_POSTGRES",
                       "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
LONG = {"baselines": [], "pruner": {"name": "none"}, "n_trials": 2,
        "training": {"epochs": 30, "batch_size": 32, "device": "cpu", "seed": 0}}


@pytest.fixture
def postgres_url():
    yield from _server_database(ADMIN, lambda db: ADMIN.rsplit("/", 1)[0] + f"/{db}",
                                "PostgreSQL", " WITH (FORCE)")


def _admin(statement: str) -> None:
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _cut(database: str) -> None:
    """Refuse new connections to ``database`` and end the open ones."""
    _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
           f"'{database}' AND pid <> pg_backend_pid()")


def _renew_sessions(database: str, within_s: float = 10.0) -> None:
    """End every session of ``database`` opened before now, each only while it is idle: the
    worker's pool then replaces it unnoticed (it pings on checkout), so the worker's next
    write meets a new session's setting, never a connection cut under a running query."""
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    old = (f"FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid() "
           f"AND backend_start < :since")
    deadline = time.monotonic() + within_s
    with engine.connect() as connection:
        since = connection.execute(text("SELECT now()")).scalar()
        while time.monotonic() < deadline:
            connection.execute(text(f"SELECT pg_terminate_backend(pid) {old} "
                                    f"AND state = 'idle'"), {"since": since})
            if not connection.execute(text(f"SELECT count(*) {old}"), {"since": since}).scalar():
                break
            time.sleep(0.01)
    engine.dispose()


def _break_mid_trial(path, url: str, break_it, mend_it) -> str:
    """Run the study at ``path`` on ``url``, ``break_it()`` the storage during trial 0's
    training and ``mend_it()`` 3 s later; the run's one line about it (it rides it out)."""
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path),
                             "--storage", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    back = threading.Timer(3.0, mend_it)
    try:
        def act(trial, pid):
            break_it()
            back.start()

        act_mid_trial(url, proc, act, when=lambda t: t.number == 0 and
                      t.state == TrialState.RUNNING and bool(t.intermediate_values))
        out, err = proc.communicate(timeout=120)
    finally:
        if back.is_alive() or back.finished.is_set():
            back.join()
        mend_it()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err and len(err) < 20_000, err[-3000:]
    assert not [line for line in err.splitlines() if line.startswith("error: ")], err[-3000:]
    notes = [line for line in err.splitlines() if line.startswith("trial #0: the study storage")]
    assert len(notes) == 1, err[-3000:]
    assert "exceeding max length" not in notes[0]  # Optuna's guess, not the cause
    assert notes[0].endswith("the trial is retried from its checkpoint, and the run goes on")
    trials = optuna.load_study(study_name="tiny", storage=url).trials
    retry = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2  # n_trials: nothing lost
    return notes[0]


def test_a_cut_connection_fails_the_running_trial_with_its_cause(tiny_study, postgres_url):
    database = postgres_url.rsplit("/", 1)[1]
    _break_mid_trial(tiny_study(**LONG), postgres_url, lambda: _cut(database),
                     lambda: _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
    trial = optuna.load_study(study_name="tiny", storage=postgres_url).trials[0]
    assert trial.state == TrialState.FAIL
    reason = trial.user_attrs[FAIL_REASON_ATTR]
    assert reason.startswith("the study storage failed during this trial: "), reason
    assert "connection" in reason.lower() or "terminat" in reason.lower(), reason


def test_a_storage_that_reads_but_refuses_writes_fails_the_trial_with_its_cause(
        tiny_study, postgres_url):
    """What a full disk does to a database: reads still work, every write is refused. Optuna
    then ends its trial loop on "AssertionError: Should not reach" and leaves the trial
    RUNNING, to be blamed later on a dead worker."""
    database = postgres_url.rsplit("/", 1)[1]

    def read_only():
        _admin(f"ALTER DATABASE {database} SET default_transaction_read_only = on")
        _renew_sessions(database)  # sessions take the setting when they start

    def writable():
        _admin(f"ALTER DATABASE {database} RESET default_transaction_read_only")
        _renew_sessions(database)

    line = _break_mid_trial(tiny_study(**LONG), postgres_url, read_only, writable)
    assert "read-only" in line, line
    trial = optuna.load_study(study_name="tiny", storage=postgres_url).trials[0]
    assert trial.state == TrialState.FAIL
    reason = trial.user_attrs[FAIL_REASON_ATTR]
    assert reason.startswith("the study storage failed during this trial: cannot execute "), reason
    assert reason.endswith("in a read-only transaction"), reason


def test_the_heartbeat_outlives_a_storage_outage(postgres_url):
    """Optuna's heartbeat thread has no handler: one failed beat would print a traceback and
    stop the beats, so the trial would later be failed as a dead worker's."""
    from optuna.storages._heartbeat import HeartbeatThread

    from lrsearch.config import StorageOptions
    from lrsearch.records import open_storage

    database = postgres_url.rsplit("/", 1)[1]
    storage = open_storage(postgres_url, StorageOptions(heartbeat_interval_s=1))
    study_id = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], "beats")
    trial_id = storage.create_new_trial(study_id)
    errors = []
    old_hook, threading.excepthook = threading.excepthook, errors.append
    beats = HeartbeatThread(trial_id, storage)
    try:
        beats.start()
        _cut(database)
        time.sleep(2.5)  # two beats fail
        _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        time.sleep(2.5)
        assert beats._thread.is_alive() and not errors, errors
        engine = create_engine(postgres_url)
        with engine.connect() as connection:
            last = connection.execute(text(
                "SELECT heartbeat FROM trial_heartbeats WHERE trial_id = :t"), {"t": trial_id})
            beat_at = last.scalar_one()
            now = connection.execute(text("SELECT LOCALTIMESTAMP")).scalar_one()
        engine.dispose()
        assert (now - beat_at).total_seconds() < 2.5  # it beats again after the outage
    finally:
        _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        beats.join()
        threading.excepthook = old_hook
        storage.remove_session()


def test_a_storage_down_longer_keeps_the_cause_for_the_next_run(tmp_path, postgres_url):
    database = postgres_url.rsplit("/", 1)[1]
    study = optuna.create_study(storage=postgres_url, study_name="down")
    trial_id = study.ask()._trial_id
    _cut(database)
    try:
        try:
            study._storage.set_trial_user_attr(trial_id, "probe", 1)
        except Exception as exc:  # noqa: BLE001 - what the storage raises, as a run sees it
            cause = exc
        assert not fail_after_storage_error(study, trial_id, cause, tmp_path, retry_s=1.0)
    finally:
        _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert (tmp_path / "storage-failures.json").exists()
    study = optuna.load_study(study_name="down", storage=postgres_url)
    assert apply_pending_failures(study, tmp_path) == [0]
    trial = study.trials[0]
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[FAIL_REASON_ATTR].startswith(
        "the study storage failed during this trial: ")
    assert not (tmp_path / "storage-failures.json").exists()
    assert apply_pending_failures(study, tmp_path) == []


SECRET = "hunter2-secret"


def _server_admin(url: str, statements: list[str]) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_a_user_without_rights_gets_one_line_saying_so(tiny_study, server_url):
    """Opening, running and reporting as a database user that lacks the rights: one line
    naming the refusal and the rights to grant; with SELECT only, the report works."""
    from click.testing import CliRunner

    from lrsearch.cli import main

    path = tiny_study(n_trials=1, baselines=[], pruner={"name": "none"},
                      training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    assert CliRunner().invoke(main, ["run", str(path), "--storage", server_url,
                                     "--quiet"]).exit_code == 0
    user, database = f"u{server_url[-10:]}", server_url.rsplit("/", 1)[1]
    admin, rest = server_url.split("://", 1)
    user_url = f"{admin}://{user}:{SECRET}@{rest.split('@', 1)[1]}"
    postgres = server_url.startswith("postgresql")
    if postgres:
        create = [f"CREATE ROLE {user} LOGIN PASSWORD '{SECRET}'"]
        grant = [f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}"]
        drop = [f"DROP OWNED BY {user}", f"DROP ROLE {user}"]
    else:
        create = [f"CREATE USER '{user}'@'%' IDENTIFIED BY '{SECRET}'"]
        grant = [f"GRANT SELECT ON {database}.* TO '{user}'@'%'"]
        drop = [f"DROP USER '{user}'@'%'"]
    _server_admin(server_url, create)
    before = [(t.number, t.state) for t in optuna.load_study(study_name="tiny",
                                                             storage=server_url).trials]
    out = str(path.parent / "report.html")
    try:
        def answer(*command: str):
            result = CliRunner().invoke(main, [*command])
            assert "Traceback" not in result.output and SECRET not in result.output
            return result

        for command in (["run", str(path), "--storage", user_url, "--n-trials", "2"],
                        ["report", "--storage", user_url, "--out", out]):
            result = answer(*command)
            assert result.exit_code == 1, result.output
            assert "denied" in result.output and "grant it the rights" in result.output, \
                result.output
        _server_admin(server_url, grant)
        result = answer("report", "--storage", user_url, "--out", out)
        assert result.exit_code == 0, result.output
        result = answer("run", str(path), "--storage", user_url, "--n-trials", "2")
        assert result.exit_code == 1 and "grant it the rights" in result.output, result.output
    finally:
        _server_admin(server_url, drop)
    after = [(t.number, t.state) for t in optuna.load_study(study_name="tiny",
                                                            storage=server_url).trials]
    assert after == before


def test_a_password_in_the_url_is_neither_printed_nor_stored(tiny_study, postgres_url,
                                                             tmp_path):
    """PostgreSQL here trusts local users, so any password gets in: the run, its summary, the
    study's attributes, the report and the export never hold it."""
    from click.testing import CliRunner

    from lrsearch.cli import main

    url = postgres_url.replace("postgres@", f"postgres:{SECRET}@", 1)
    path = tiny_study(n_trials=1, baselines=[], pruner={"name": "none"},
                      training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    outputs = [CliRunner().invoke(main, ["run", str(path), "--storage", url])]
    outputs.append(CliRunner().invoke(main, ["report", "--storage", url, "--out",
                                             str(tmp_path / "report.html")]))
    outputs.append(CliRunner().invoke(main, ["export", "--storage", url, "--out",
                                             str(tmp_path / "best")]))
    for result in outputs:
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output
    assert "postgres:***@" in outputs[0].output
    study = optuna.load_study(study_name="tiny", storage=postgres_url)
    stored = [study.user_attrs, study._storage.get_study_system_attrs(study._study_id)] + [
        (t.user_attrs, t.system_attrs) for t in study.trials]
    assert SECRET not in repr(stored)
    for written in [tmp_path / "report.html", *(tmp_path / "best").iterdir()]:
        assert SECRET not in written.read_text(), written


def test_workers_ride_out_a_database_restart(tiny_study, postgres_url):
    """A 10-s database restart (connections refused, the open ones ended) while two workers
    train: both go on, the trials it hit are retried, and the study ends complete, rc 0 (every
    worker used to end with rc 1, to be restarted by hand)."""
    database = postgres_url.rsplit("/", 1)[1]
    path = tiny_study(**{**LONG, "n_trials": 4,
                         "training": {**LONG["training"], "epochs": 20}})
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path),
                             "--storage", postgres_url, "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    back = threading.Timer(10.0, _admin, [f"ALTER DATABASE {database} ALLOW_CONNECTIONS true"])
    try:
        def act(trial, pid):
            _cut(database)
            back.start()

        act_mid_trial(postgres_url, proc, act,
                      pid_of=lambda trial: trial.user_attrs["worker"]["pid"],
                      when=lambda t: t.state == TrialState.RUNNING and
                      bool(t.intermediate_values))
        out, err = proc.communicate(timeout=300)
    finally:
        if back.is_alive() or back.finished.is_set():
            back.join()
        _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "error:" not in err, err[-3000:]
    assert "and was back within 30 s" in err, err[-3000:]
    trials = optuna.load_study(study_name="tiny", storage=postgres_url).trials
    assert sum(t.state == TrialState.COMPLETE for t in trials) >= 4
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
