"""Fixtures of the report tests: a synthetic study on SQLite and a real one run by the runner."""

from __future__ import annotations

import pytest

from tests.report._studies import make_study


@pytest.fixture(scope="session")
def synthetic_url(tmp_path_factory):
    """SQLite URL of a 60-trial synthetic study named ``synthetic`` (baselines: trials 0, 1)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('synthetic') / 'studies.db'}"
    make_study(url, n_trials=60)
    return url


@pytest.fixture(scope="session")
def real_url(tmp_path_factory):
    """SQLite URL of a real study ``tiny``: 5 trials run by ``run_study`` on fake data."""
    from lrsearch.config import load_study
    from lrsearch.search import run_study
    from tests.search.conftest import write_study

    folder = tmp_path_factory.mktemp("real")
    path = write_study(folder, name="tiny", n_trials=5)
    run_study(load_study(path), progress="off")
    return f"sqlite:///{folder / 'studies.db'}"
