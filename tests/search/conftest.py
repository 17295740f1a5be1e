"""Fixtures of the study tests: tiny study files and throwaway server databases.

The machine's cores are shared with other test runs: one thread per training process keeps a
tiny trial under a second instead of ten (two threads fighting over loaded cores), in this
process and in the worker processes the tests start.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("OMP_NUM_THREADS", "1")

TINY_STUDY = {
    "n_trials": 6,
    "data": {"dataset": "fake", "val_size": 128, "train_subset": 256},
    "model": "small_cnn",
    "training": {"epochs": 3, "batch_size": 64, "device": "cpu", "seed": 0},
    # No priors and no polish trials: the tests of the machinery choose their trials
    # (tests/search/test_priors.py and test_polish.py test those).
    "sampler": {"name": "tpe", "seed": 0, "n_startup_trials": 2, "priors": False,
                "polish_trials": 0},
    # Prune from the first epoch, keeping only the top 5% (below the 95th percentile of the
    # others, as Optuna mirrors the percentile when maximizing): pruning is near certain.
    "pruner": {"name": "percentile", "percentile": 5.0,
               "n_startup_trials": 2},
    "search_space": {"families": ["cosine", "linear", "multistep", "wsd"],
                     "peak_lr": {"low": 0.01, "high": 0.3, "log": True}},
    # No re-runs of the top trials at the end: the tests of the machinery count their trainings
    # (tests/search/test_reseed.py tests the re-runs).
    "reseed": {"top_k": 0},
    "baselines": [
        {"name": "cosine", "family": "cosine", "peak_lr": 0.1, "warmup_frac": 0.0},
        {"name": "step", "family": "multistep", "params": {"milestones": [0.5, 0.75]},
         "peak_lr": 0.1, "warmup_frac": 0.0},
    ],
}


def write_study(folder: Path, name: str = "tiny", **changes) -> Path:
    """A tiny study file in ``folder``: fake data, small CNN, seconds per trial."""
    data = {"name": name, "storage": f"sqlite:///{folder / 'studies.db'}",
            "checkpoint_dir": str(folder / "ckpt"), **TINY_STUDY}
    for key, value in changes.items():
        data[key] = value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def tiny_study(tmp_path):
    """``write_study`` bound to a fresh folder."""
    return lambda **changes: write_study(tmp_path, **changes)


@pytest.fixture
def tiny_config(tmp_path):
    """A checked tiny study config in a fresh folder, for runs in this process."""
    from lrsearch.config import load_study

    return lambda **changes: load_study(write_study(tmp_path, **changes))


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _server_database(admin_url: str, url_of: callable, what: str, drop_suffix: str = ""):
    """Create a uniquely named database, yield its URL, drop it afterwards."""
    from sqlalchemy import create_engine, text

    name = f"lrsearch_test_{uuid.uuid4().hex[:10]}"
    try:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT",
                               connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # the server is not there
        reason = f"{what} unreachable at {admin_url}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: server tests must run)")
        pytest.skip(reason)
    try:
        yield url_of(name)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}{drop_suffix}"))
        engine.dispose()


@pytest.fixture(params=["postgresql", "mariadb"])
def server_url(request):
    """A fresh PostgreSQL or MariaDB database on localhost, dropped after the test."""
    if request.param == "postgresql":
        admin = os.environ.get("LRSEARCH_TEST_POSTGRES",
                               "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
        # FORCE: the test's own connections may still be pooled.
        yield from _server_database(admin, lambda db: admin.rsplit("/", 1)[0] + f"/{db}",
                                    "PostgreSQL", " WITH (FORCE)")
    else:
        admin = os.environ.get("LRSEARCH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
        yield from _server_database(admin, lambda db: admin.rsplit("/", 1)[0] + f"/{db}",
                                    "MariaDB")
