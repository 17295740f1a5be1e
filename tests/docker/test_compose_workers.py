"""The exact commands compose runs, executed for real against the local PostgreSQL.

Each worker service's ``command`` is taken from docker/compose.yaml and run as its image would
run it (entrypoint ``lrsearch``, working directory and ``LRSEARCH_DATA_DIR`` = the data volume),
with three substitutions only: the storage URL points at a fresh database on 127.0.0.1 (created
here, dropped afterwards), ``/studies`` is a folder holding a tiny study under the compose
study's file name (fake data, small CNN), and ``--device cuda`` becomes ``cpu``. Three workers
start at once, as ``docker compose up`` starts them; the study must account for every trial.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from tests.conftest import unavailable
from tests.docker.compose import ENV_EXAMPLE, interpolate, load_compose, read_env_file, workers
from tests.search.conftest import TINY_STUDY

pytestmark = pytest.mark.slow

ADMIN_URL = os.environ.get("LRSEARCH_TEST_POSTGRES",
                           "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
N_TRIALS = 6
ENTRYPOINT = [sys.executable, "-m", "lrsearch.cli"]  # the image's ENTRYPOINT ["lrsearch"]


@pytest.fixture
def storage_url():
    """A fresh PostgreSQL database on localhost, dropped (connections and all) afterwards."""
    from sqlalchemy import create_engine, text

    name = f"lrsearch_docker_{uuid.uuid4().hex[:10]}"
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # no server there
        engine.dispose()
        unavailable(f"PostgreSQL unreachable at {ADMIN_URL}: {str(exc).splitlines()[0]}")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()


@pytest.fixture
def volumes(tmp_path):
    """Host folders standing in for the /studies and /data mounts, the tiny study inside."""
    compose = load_compose()
    study_path = workers(compose)["worker-0"]["command"][1]  # /studies/<file>.yaml
    studies, data = tmp_path / "studies", tmp_path / "data"
    studies.mkdir()
    data.mkdir()
    tiny = {**TINY_STUDY, "name": "compose-tiny", "n_trials": N_TRIALS,
            "training": {**TINY_STUDY["training"], "epochs": 2}}
    (studies / os.path.basename(study_path)).write_text(yaml.safe_dump(tiny))
    return {"/studies": studies, "/data": data}


def container_command(command: list[str], env: dict[str, str], volumes: dict) -> list[str]:
    """A compose ``command`` as the container would run it, mapped onto this machine."""
    args = interpolate(command, env)
    for i, arg in enumerate(args):
        for target, source in volumes.items():
            if arg.startswith(target + "/"):
                args[i] = str(source / arg[len(target) + 1:])
        if i and args[i - 1] == "--device":
            args[i] = "cpu"  # no GPU here; everything else is the compose command verbatim
    return args


def container_env(url: str, volumes: dict) -> dict[str, str]:
    env = {**os.environ, **read_env_file(ENV_EXAMPLE), "LRSEARCH_STORAGE": url,
           "LRSEARCH_DATA_DIR": str(volumes["/data"]), "OMP_NUM_THREADS": "1"}
    return env


def test_compose_workers_share_one_study(storage_url, volumes):
    compose = load_compose()
    env = container_env(storage_url, volumes)
    prepare = compose["services"]["prepare"]
    prepared = subprocess.run(
        [sys.executable, *prepare["entrypoint"][1:],
         *container_command(prepare["command"], env, volumes)],
        cwd=volumes["/data"], env=env, capture_output=True, text=True, timeout=300)
    assert prepared.returncode == 0 and "ready" in prepared.stdout, prepared.stderr

    commands = [ENTRYPOINT + container_command(service["command"], env, volumes)
                for service in workers(compose).values()]
    # A third worker, as on another machine: the same command with the next --worker-index.
    extra = list(commands[-1])
    extra[extra.index("--worker-index") + 1] = str(len(commands))
    commands.append(extra)
    started = time.monotonic()
    procs = [subprocess.Popen(c, cwd=volumes["/data"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for c in commands]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    elapsed_s = time.monotonic() - started
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output

    study = optuna.load_study(study_name="compose-tiny", storage=storage_url)
    trials = study.get_trials()
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    # None lost, none left running or failed, numbers dense: every trial is accounted for.
    assert [t.number for t in trials] == list(range(len(trials)))
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}, \
        [(t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in trials]
    # A worker starts a trial while finished + running < n_trials; workers that count at the
    # same moment may each start one (lrsearch.search._runner), so a trial or two may be extra.
    assert N_TRIALS <= len(finished) <= N_TRIALS + len(procs) - 1, \
        f"{len(finished)} finished trials in {elapsed_s:.0f} s"
    # No duplicates: each baseline ran once, and no two trials drew the same parameters.
    baselines = sorted(t.user_attrs["baseline"] for t in trials if "baseline" in t.user_attrs)
    assert baselines == sorted(b["name"] for b in TINY_STUDY["baselines"])
    drawn = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(drawn)) == len(drawn), "two workers sampled the same trial"
    # Checkpoints go to the data volume (the image's working directory).
    assert any(volumes["/data"].iterdir())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dashboard_command_opens_the_storage(storage_url):
    """The dashboard service's command, verbatim but for the port, lists a study."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.create_study(study_name="dash-probe", storage=storage_url)
    service = load_compose()["services"]["dashboard"]
    command = interpolate(service["command"], {"LRSEARCH_STORAGE": storage_url})
    port = _free_port()
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"
    bin_dir = os.path.dirname(sys.executable)
    proc = subprocess.Popen([os.path.join(bin_dir, *service["entrypoint"]), *command],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + 120, None
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=10) as response:
                    body = json.load(response)
            except OSError:
                time.sleep(0.3)
        assert body is not None, proc.stdout.read() if proc.poll() is not None else "timeout"
        assert [s["study_name"] for s in body["study_summaries"]] == ["dash-probe"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
