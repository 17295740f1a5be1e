"""Read docker/compose.yaml, docker/.env.example and docker/Dockerfile the way Docker would.

No Docker engine runs on the development machines, so the tests read the files themselves:
compose's ``${VAR}`` interpolation, the ``.env`` format, bind mounts, and the Dockerfile's
instructions (line continuations, exec form, ``ARG`` defaults in ``FROM``).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; $$ is a literal $.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


def load_compose() -> dict:
    """compose.yaml as data (YAML anchors and ``<<`` merges resolved)."""
    return yaml.safe_load(COMPOSE.read_text())


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; blank lines and ``#`` comments skipped, quotes stripped."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip().strip("'\"")
    return env


def variables(text: str) -> set[str]:
    """Names of the variables ``text`` interpolates, with no default given."""
    return {m["name"] or m["bare"] for m in _VARIABLE.finditer(text)
            if m.group(0) != "$$" and not (m["op"] or "").endswith("-")}


def interpolate(value, env: dict[str, str]):
    """``value`` (a string, or lists/dicts of them) with compose's interpolation applied.

    Raises:
        KeyError: A required variable (``${VAR}`` or ``${VAR:?msg}``) is not in ``env``.
    """
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"] or match["bare"], match["op"] or "", match["arg"]
        given = env.get(name)
        if op.endswith("-"):
            return given if given or (op == "-" and given is not None) else arg
        if given is None or (op == ":?" and not given):
            raise KeyError(f"{name} is not set ({arg or 'required'})")
        return given

    return _VARIABLE.sub(replace, value)


def workers(compose: dict) -> dict[str, dict]:
    """The worker services (``worker-0``, ``worker-1``, ...), in order."""
    return {name: service for name, service in sorted(compose["services"].items())
            if name.startswith("worker-")}


def bind_mounts(service: dict) -> list[tuple[Path, str]]:
    """(host path, container path) of the service's bind mounts (named volumes left out)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((COMPOSE.parent / source).resolve(), target))
    return mounts


def to_host(argument: str, mounts: list[tuple[Path, str]]) -> str:
    """A container path in a command mapped to the host path its bind mount shows there."""
    for source, target in mounts:
        if argument == target or argument.startswith(target.rstrip("/") + "/"):
            return str(source / argument[len(target):].lstrip("/"))
    return argument


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; comments dropped, backslash continuations joined."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comment lines inside a continuation are skipped, as Docker does
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            keyword, _, arguments = full.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def exec_form(arguments: str) -> list[str]:
    """The argument list of an exec-form (JSON) or shell-form instruction."""
    if arguments.startswith("["):
        return json.loads(arguments)
    return shlex.split(arguments)
