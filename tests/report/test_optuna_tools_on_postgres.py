"""Optuna's own tools on a PostgreSQL study, with the URL as a user writes it.

``postgresql://user@host/db`` names no driver: SQLAlchemy 2.1 then picks psycopg 3, which
lrsearch installs, so ``optuna studies``, ``optuna trials``, ``optuna-dashboard`` and
``optuna.load_study`` read the study ``lrsearch run`` wrote through that same URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.report.test_dashboard import _free_port
from tests.search.conftest import _server_database, write_study

pytestmark = pytest.mark.slow

ADMIN = os.environ.get("LRSEARCH_TEST_POSTGRES",
                       "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent


@pytest.fixture
def plain_postgres_url():
    """A fresh database's URL without a driver: ``postgresql://postgres@127.0.0.1:5432/NAME``."""
    plain = "postgresql://" + ADMIN.split("://", 1)[1]
    yield from _server_database(ADMIN, lambda db: plain.rsplit("/", 1)[0] + f"/{db}",
                                "PostgreSQL", " WITH (FORCE)")


def test_optunas_cli_and_dashboard_read_a_study_by_the_url_as_written(tmp_path,
                                                                       plain_postgres_url):
    path = write_study(tmp_path, n_trials=2, baselines=[], pruner={"name": "none"},
                       training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    run = subprocess.run([str(BIN / "lrsearch"), "run", str(path), "--storage",
                          plain_postgres_url], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]

    studies = subprocess.run([str(BIN / "optuna"), "studies", "--storage", plain_postgres_url,
                              "-f", "json"], capture_output=True, text=True, timeout=120)
    assert studies.returncode == 0, studies.stderr[-3000:]
    (listed,) = json.loads(studies.stdout)
    assert listed["name"] == "tiny" and listed["n_trials"] == 2
    trials = subprocess.run([str(BIN / "optuna"), "trials", "--study-name", "tiny", "--storage",
                             plain_postgres_url, "-f", "json"], capture_output=True, text=True,
                            timeout=120)
    assert trials.returncode == 0, trials.stderr[-3000:]
    assert [t["state"] for t in json.loads(trials.stdout)] == ["COMPLETE", "COMPLETE"]

    port = _free_port()
    server = subprocess.Popen([str(BIN / "optuna-dashboard"), plain_postgres_url, "--port",
                               str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=10) as response:
                    summaries = json.loads(response.read())["study_summaries"]
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, \
                    server.communicate(timeout=10)[0][-3000:]
                time.sleep(0.5)
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert [s["study_name"] for s in summaries] == ["tiny"]
