"""Fixtures of the report tests: a synthetic study on SQLite and a real one run by the runner."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.report._studies import make_study


@pytest.fixture(scope="session")
def synthetic_url(tmp_path_factory):
    """SQLite URL of a 60-trial synthetic study named ``synthetic`` (baselines: trials 0, 1
    and the preset ``schedulefree``, trial 3)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('synthetic') / 'studies.db'}"
    make_study(url, n_trials=60)
    return url


@pytest.fixture(scope="session")
def real_url(tmp_path_factory):
    """SQLite URL of a real study ``tiny``: 6 trials on fake data run by ``lrsearch run``
    (the runner, with the dashboard refresher the command wires in), two baselines given in
    full and the ``schedulefree`` preset (a plain string in the config)."""
    from lrsearch.cli import main
    from tests.search.conftest import TINY_STUDY, write_study

    folder = tmp_path_factory.mktemp("real")
    path = write_study(folder, name="tiny", n_trials=6,
                       baselines=[*TINY_STUDY["baselines"], "schedulefree"])
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    return f"sqlite:///{folder / 'studies.db'}"
