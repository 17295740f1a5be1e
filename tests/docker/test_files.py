"""docker/compose.yaml, docker/Dockerfile and docker/.env.example: they parse, they point at
real files and commands, and they hold no secrets. (No Docker engine is needed.)"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess

import pytest

from lrsearch.config import load_study
from tests.docker.compose import (
    COMPOSE,
    DOCKER,
    DOCKERFILE,
    ENV_EXAMPLE,
    REPO,
    bind_mounts,
    dockerfile_instructions,
    exec_form,
    interpolate,
    load_compose,
    read_env_file,
    to_host,
    variables,
    workers,
)


@pytest.fixture(scope="module")
def compose():
    return load_compose()


@pytest.fixture(scope="module")
def env():
    return read_env_file(ENV_EXAMPLE)


def test_services_volumes_and_healthcheck(compose):
    services = compose["services"]
    assert {"postgres", "dashboard", "worker-0"} <= set(services)
    postgres = services["postgres"]
    data_volume = postgres["volumes"][0].split(":")[0]
    assert data_volume in compose["volumes"], "PostgreSQL keeps its data in a named volume"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    for service in services.values():
        for condition in service.get("depends_on", {}).values():
            assert condition["condition"] in ("service_healthy",
                                              "service_completed_successfully")


def test_one_worker_per_gpu_all_running_the_same_command(compose):
    found = workers(compose)
    assert len(found) >= 2
    gpus = []
    for name, service in found.items():
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert [d["driver"] for d in devices] == ["nvidia"]
        assert devices[0]["capabilities"] == ["gpu"]
        gpus += devices[0]["device_ids"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        command = service["command"]
        index = command.index("--worker-index") + 1
        assert command[index] == name.split("-")[1], f"{name}: its own sampler seed offset"
        assert command[:index] == found["worker-0"]["command"][:index], name
    assert gpus == [str(i) for i in range(len(found))], "worker-i reserves GPU i"
    command = found["worker-0"]["command"]
    assert command[:2] == ["run", "/studies/cifar10_resnet18.yaml"]
    assert command[command.index("--device") + 1] == "cuda"


def test_credentials_come_from_the_env_file(compose, env):
    for name, service in compose["services"].items():
        assert service["env_file"] == ".env", name
        assert "environment" not in service, f"{name}: credentials belong in .env"
    text = COMPOSE.read_text()
    assert env["POSTGRES_PASSWORD"] not in text
    assert not re.search(r"://[^:/@\s]+:[^@${\s]+@", text), "a URL with a literal password"
    assert not re.search(r"(?i)password\s*[:=]\s*[^$\s]", text)
    # Every variable compose needs has a value in the example, and its URL matches the server.
    assert variables(text) <= set(env)
    storage = env["LRSEARCH_STORAGE"]
    assert storage.startswith("postgresql+psycopg2://"), "optuna-dashboard needs the driver named"
    assert (f"://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
            f"{env['POSTGRES_DB']}") in storage


def test_every_mounted_and_built_path_exists(compose):
    assert (REPO / "pyproject.toml").is_file()
    for name, service in compose["services"].items():
        if "build" in service:
            context = (COMPOSE.parent / service["build"]["context"]).resolve()
            assert context == REPO, name
            assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE
        mounts = bind_mounts(service)
        for source, _ in mounts:
            assert source.exists(), f"{name}: mounts {source}, which does not exist"
        for argument in [*service.get("command", [])]:
            if argument.startswith("/studies/"):
                study = to_host(argument, mounts)
                assert load_study(study).name, f"{name}: {argument} -> {study}"


def test_named_volumes_match_the_image(compose):
    volumes = dict(reversed(v.split(":")[:2]) for v in compose["services"]["worker-0"]["volumes"])
    assert volumes["/data"] in compose["volumes"], "the data directory survives restarts"
    assert volumes["/studies"] == "../studies"


def _instructions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for keyword, arguments in dockerfile_instructions():
        found.setdefault(keyword, []).append(arguments)
    return found


def test_dockerfile_base_user_entrypoint_and_volumes():
    found = _instructions()
    args = dict(a.split("=", 1) for a in found["ARG"] if "=" in a)
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], found["FROM"][0])
    image, _, tag = base.partition(":")
    assert image == "pytorch/pytorch"
    assert re.fullmatch(r"\d+\.\d+\.\d+-cuda[\d.]+-cudnn\d+-\w+", tag), f"{tag}: not pinned"
    users = found["USER"]
    assert users[-1] not in ("root", "0"), "the image runs as a non-root user"
    assert any("--uid 1000" in run and users[-1] in run for run in found["RUN"])
    assert exec_form(found["ENTRYPOINT"][-1]) == ["lrsearch"]
    # The console script the entrypoint names (tomllib is Python >= 3.11; lrsearch: >= 3.10).
    assert 'lrsearch = "lrsearch.cli:main"' in (REPO / "pyproject.toml").read_text()
    assert "LRSEARCH_DATA_DIR=/data" in " ".join(found["ENV"])
    assert set(exec_form(found["VOLUME"][0])) == {"/data", "/studies"}
    installs = [run for run in found["RUN"] if "pip install" in run and "[dev]" not in run]
    assert installs, "lrsearch is installed without the dev extra"
    # Constrained to the image's own torch/torchvision, so pip cannot replace the CUDA build.
    assert re.search(r"pip install --constraint (\S+) \.", installs[-1])
    assert "pip check" in installs[-1]


def test_dockerfile_copies_files_that_exist_and_are_not_ignored():
    ignore = [line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]

    def sent(path: str) -> bool:  # .dockerignore: the last matching pattern wins
        keep = True
        for pattern in ignore:
            negated, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.lstrip("*/")):
                keep = negated
        return keep

    copies = [exec_form(a)[:-1] for a in _instructions()["COPY"]]
    sources = [s for sources in copies for s in sources if not s.startswith("--")]
    assert "lrsearch" in sources and "pyproject.toml" in sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        assert sent(source), f"COPY {source}: excluded by Dockerfile.dockerignore"


def test_docker_compose_config_accepts_the_file(tmp_path):
    """Optional: only where a `docker compose` plugin is installed (it needs no daemon)."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"],
                                        capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` plugin here; the YAML checks above still ran")
    env_file = DOCKER / ".env"
    if env_file.exists():
        pytest.skip("docker/.env exists (a user's own); not overwriting it")
    shutil.copy(ENV_EXAMPLE, env_file)
    try:
        done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
                              capture_output=True, text=True, timeout=60)
    finally:
        env_file.unlink()
    assert done.returncode == 0, done.stderr


def test_interpolation_reads_defaults_and_required_values():
    assert interpolate("${A:-x}-${B:?need B}-$$", {"B": "b"}) == "x-b-$"
    with pytest.raises(KeyError, match="need B"):
        interpolate(["${B:?need B}"], {})
