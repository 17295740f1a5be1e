"""Read a study YAML file into a checked :class:`StudyConfig`, reporting every problem at once.

YAML syntax errors, pydantic's type errors and the semantic checks all end up in ONE
:class:`~lrsearch.errors.ConfigError`, one line per problem: ``dotted.path: got VALUE; RULE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lrsearch.config._checks import check_study
from lrsearch.config._families import resolve_families
from lrsearch.config._messages import describe
from lrsearch.config._models import METRIC_DIRECTIONS, OWN_LOOP_PRUNER, StudyConfig
from lrsearch.config._yaml import StudyFileError, load_yaml, read_text
from lrsearch.errors import ConfigError

__all__ = ["EXTENSION_PREFIX", "load_study", "parse_study"]

EXTENSION_PREFIX = "x-"  # top-level keys lrsearch ignores: anchors for YAML merge keys


def load_study(path: str | Path, overrides: dict[str, Any] | None = None,
               own_loop: bool = False) -> StudyConfig:
    """Load, override and check a study file.

    ``study_dir`` is set to the file's folder (a given relative one starts there), so
    ``module:function`` models and data and relative data roots are found from any working
    directory.

    Args:
        path: The YAML study file.
        overrides: Dotted keys to set before checking, e.g. ``{"training.device": "cpu"}``
            (``None`` values are ignored), so command-line options are checked like the file.
        own_loop: The trials run the user's own loop (:func:`lrsearch.optimize`): a study
            that names no pruner gets ``OWN_LOOP_PRUNER`` instead of ``DEFAULT_PRUNER``.

    Raises:
        ConfigError: Listing every problem of the file.

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "s.yaml")
        ...     _ = open(path, "w").write("name: demo\\nmodel: small_cnn\\n")
        ...     load_study(path, {"n_trials": 3}).n_trials
        3
    """
    source = f"study file {path}"
    try:
        data = load_yaml(read_text(path))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file ({exc.strerror or exc})"],
                          source=source) from None
    except StudyFileError as exc:
        raise ConfigError([str(exc)], source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: not valid YAML ({problem})"], source=source) from None
    if isinstance(data, dict):
        # Extension keys, as in Docker Compose files: blocks to share with `<<: *name`.
        data = {key: value for key, value in data.items()
                if not (isinstance(key, str) and key.startswith(EXTENSION_PREFIX))}
        folder = Path(path).resolve().parent  # user factories and data roots start here
        given = data.get("study_dir")
        if given is None or isinstance(given, str):  # another type: its own problem is listed
            data = {**data, "study_dir": str(folder / given if given else folder)}
    return parse_study(data, overrides, source=source, own_loop=own_loop)


def parse_study(data: Any, overrides: dict[str, Any] | None = None,
                source: str = "study file", own_loop: bool = False) -> StudyConfig:
    """Check already-parsed study data (a dict); see :func:`load_study`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"(top level): got {type(data).__name__}; a study file must be a "
                           f"mapping of keys such as name, data, training, search_space"],
                          source=source)
    data = _apply_overrides(data, overrides or {})
    pruner = data.get("pruner", {})
    if own_loop and isinstance(pruner, dict) and "name" not in pruner:
        data = {**data, "pruner": {**pruner, "name": OWN_LOOP_PRUNER}}
    try:
        config, errors = StudyConfig.model_validate(data), []
    except ValidationError as exc:
        config, errors = None, exc.errors()
    problems = [describe(error, StudyConfig) for error in errors]
    # Sections with type problems; the cross-checks run on the others all the same, so one
    # pass lists every problem (a bad model must not hide a bad baseline or storage URL).
    bad = {str(error["loc"][0]) for error in errors if error["loc"]}
    checked = config if config is not None else _without(data, bad)
    if checked is None or "search_space" in bad:
        problems += _family_problems(data)
    if checked is not None:
        problems += check_study(checked, skip=bad)[1]
        if "storage" not in bad:
            problems += _storage_problems(checked.storage)
    if problems:
        raise ConfigError(problems, source=source)
    if config.direction is None:
        config.direction = METRIC_DIRECTIONS[config.metric]
    return config


def _without(data: dict[str, Any], bad: set[str]) -> StudyConfig | None:
    """``data`` checked with its ``bad`` sections left at their defaults (None if that fails)."""
    kept = {key: value for key, value in data.items() if key not in bad}
    if not isinstance(kept.get("name"), str) or "name" in bad:
        kept["name"] = "study"  # a stand-in: the name's own problem is already listed
    try:
        return StudyConfig.model_validate(kept)
    except ValidationError:
        return None


def _apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.get(key)
            node[key] = dict(child) if isinstance(child, dict) else {}
            node = node[key]
        node[leaf] = value
    return data


def _family_problems(data: dict[str, Any]) -> list[str]:
    """Family problems of raw data, so they are listed even when other keys are wrong."""
    space = data.get("search_space")
    families = space.get("families") if isinstance(space, dict) else None
    if not isinstance(families, (list, dict)) or not all(isinstance(f, str) for f in families):
        return []
    if isinstance(families, dict) and not all(v is None or isinstance(v, dict)
                                              for v in families.values()):
        return []
    return resolve_families(families, "search_space.families")[1]


# The databases Optuna's RDB storage is tested on (MariaDB through the mysql dialect too).
STORAGE_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")


def _storage_problems(url: str) -> list[str]:
    """What makes ``url`` no storage to keep a study in (the password never shown)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from lrsearch.urls import redact_url, unencoded_at_problem

    shown = redact_url(url)
    at_sign = unencoded_at_problem(url)
    if at_sign is not None:
        return [at_sign]
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 -- parsed lazily: a port that is no number raises here
    except (ArgumentError, ValueError):
        return [f"storage: got {shown!r}; must be a SQLAlchemy URL such as "
                f"sqlite:///lrsearch.db, postgresql://user:password@host:5432/db or "
                f"mysql+pymysql://user:password@host:3306/db (a port is a number)"]
    if parsed.get_backend_name() not in STORAGE_BACKENDS:
        return [f"storage: got {shown!r}; lrsearch keeps studies in {list(STORAGE_BACKENDS)} "
                f"databases (Optuna's RDB storage), not {parsed.get_backend_name()!r}"]
    try:
        parsed.get_dialect()
    except ArgumentError as exc:  # an unknown driver ("postgresql+nodriver")
        return [f"storage: got {shown!r}; {exc}; e.g. postgresql+psycopg2:// or "
                f"mysql+pymysql://"]
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return [f"storage: got {shown!r}; the port must be in 1..65535"]
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return [f"storage: got {shown!r}; an in-memory SQLite database is lost when the run "
                f"ends (report, export and resume would find nothing); name a file: "
                f"sqlite:///lrsearch.db"]
    return []
