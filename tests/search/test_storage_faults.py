"""The storage failing under a running trial (a real PostgreSQL whose connections are cut and
refused for a while): one clear line, and the trial failed with the storage's cause as soon as
the storage takes writes again, not left RUNNING for a "dead worker" recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy import create_engine, text

from lrsearch.records import FAIL_REASON_ATTR, apply_pending_failures, fail_after_storage_error
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


def test_a_cut_connection_fails_the_running_trial_with_its_cause(tiny_study, postgres_url):
    database = postgres_url.rsplit("/", 1)[1]
    path = tiny_study(**LONG)
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path),
                             "--storage", postgres_url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    back = threading.Timer(3.0, _admin, [f"ALTER DATABASE {database} ALLOW_CONNECTIONS true"])
    try:
        def cut(trial, pid):
            _cut(database)
            back.start()  # the storage takes connections again 3 s later

        act_mid_trial(postgres_url, proc, cut, when=lambda t: t.number == 0 and
                      t.state == TrialState.RUNNING and bool(t.intermediate_values))
        out, err = proc.communicate(timeout=120)
    finally:
        back.join()
        _admin(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err[-3000:]
    assert "Traceback" not in err and len(err) < 20_000, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: the study storage failed: ")
    assert "exceeding max length" not in errors[0]  # Optuna's guess, not the cause
    trial = optuna.load_study(study_name="tiny", storage=postgres_url).trials[0]
    assert trial.state == TrialState.FAIL
    reason = trial.user_attrs[FAIL_REASON_ATTR]
    assert reason.startswith("the study storage failed during this trial: "), reason
    assert "connection" in reason.lower() or "terminat" in reason.lower(), reason


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
