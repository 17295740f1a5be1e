"""What a study stores about itself: the resolved config, versions, git SHA and fingerprint.

The search-space fingerprint is a stable hash of everything that makes two trials comparable
(search space, model, data split, epochs, batch size, seed, metric; with ``peak_lr: auto``,
also the LR range test's settings, which set the peak-LR range; a user's model with its
``model_kwargs``, and a user's data with its roots, test share and image size, as written in
the study file: the same relative root on another machine is the same data). Resuming a study whose
fingerprint differs is refused, because Optuna would mix incomparable trials (and refuse
changed distributions only partly).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from lrsearch.config import AUTO, DATASETS, StudyConfig
from lrsearch.records import (
    CONFIG_ATTR,
    GIT_SHA_ATTR,
    HOST_ATTR,
    LRSEARCH_VERSION_ATTR,
    OPTUNA_VERSION_ATTR,
    PYTHON_VERSION_ATTR,
    SEARCH_SPACE_ATTR,
    TORCH_VERSION_ATTR,
    redact_url,
)
from lrsearch.search._space import SearchSpace

__all__ = ["fingerprint", "provenance", "resolved_config", "space_changes"]


def fingerprint(config: StudyConfig, space: SearchSpace) -> str:
    """A short stable hash of what makes the study's trials comparable.

    Example:
        >>> from lrsearch.config import parse_study
        >>> config = parse_study({"name": "demo"})
        >>> a = fingerprint(config, SearchSpace.from_config(config))
        >>> b = fingerprint(config.model_copy(update={"n_trials": 99}),
        ...                 SearchSpace.from_config(config))
        >>> a == b, len(a)
        (True, 16)
    """
    text = json.dumps(_identity(config, space.as_dict()), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def space_changes(stored: dict[str, Any], config: StudyConfig) -> list[str]:
    """What changed, as dotted keys, between a study's stored attributes and ``config``.

    ``stored`` is the study's user attributes (its resolved ``config`` and ``search_space``,
    stored when it was created); the keys are those of the fingerprint, named as in a study
    file where they come from one (``search_space.families.cosine.final_ratio.high``).

    Example:
        >>> from lrsearch.config import parse_study
        >>> old = parse_study({"name": "d", "search_space": {"families": ["cosine"]}})
        >>> stored = {CONFIG_ATTR: resolved_config(old),
        ...           SEARCH_SPACE_ATTR: SearchSpace.from_config(old).as_dict()}
        >>> new = parse_study({"name": "d", "training": {"epochs": 3},
        ...                    "search_space": {"families": ["cosine", "wsd"]}})
        >>> space_changes(stored, new)
        ['search_space.families.wsd (added)', 'training.epochs (10 -> 3)']
    """
    if CONFIG_ATTR not in stored or SEARCH_SPACE_ATTR not in stored:
        return []
    old_config = StudyConfig.model_construct(**stored[CONFIG_ATTR])
    old = _identity(old_config, stored[SEARCH_SPACE_ATTR], plain=True)
    new = _identity(config, SearchSpace.from_config(config).as_dict())
    old["search_space"], new["search_space"] = old.pop("space"), new.pop("space")
    return _diff(json.loads(json.dumps(old, default=str)),
                 json.loads(json.dumps(new, default=str)), "")


def _identity(config: Any, space: dict[str, Any], plain: bool = False) -> dict[str, Any]:
    """The fingerprinted part of a study: ``plain`` when ``config`` holds stored JSON data."""
    def get(section: str, key: str) -> Any:
        value = getattr(config, section)
        return value.get(key) if plain else getattr(value, key)

    data_keys = ["dataset", "val_size", "train_subset", "split_seed"]
    if get("data", "dataset") not in DATASETS:  # a folder or user data set: where it is matters
        data_keys += ["root", "test_root", "test_frac", "image_size"]
    identity = {
        "space": space,
        "model": config.model,
        "metric": config.metric,
        "data": {key: get("data", key) for key in data_keys},
        "training": {key: get("training", key) for key in ("epochs", "batch_size", "seed")},
    }
    kwargs = getattr(config, "model_kwargs", None)
    if kwargs:
        identity["model_kwargs"] = kwargs
    # The yardsticks of every margin: a baseline changed or added on resume is refused, by name.
    identity["baselines"] = {
        _baseline_name(b): b if isinstance(b, str) else b if plain else b.model_dump(mode="json")
        for b in config.baselines or ()}
    auto = any(s.get("peak_lr") == AUTO for s in space["optimizers"].values())
    if auto:  # the range test's settings decide the searched range only under auto
        test = config.lr_range_test
        identity["lr_range_test"] = test if plain else test.model_dump()
    return identity


def _baseline_name(baseline: Any) -> str:
    """A preset's name, or a baseline mapping's ``name`` (stored JSON or a model)."""
    if isinstance(baseline, str):
        return baseline
    return str(baseline["name"] if isinstance(baseline, dict) else baseline.name)


def _diff(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new)):
            where = f"{path}.{key}" if path else str(key)
            if key not in old:
                changes.append(f"{where} (added)")
            elif key not in new:
                changes.append(f"{where} (removed)")
            else:
                changes += _diff(old[key], new[key], where)
        return changes
    return [] if old == new else [f"{path} ({_short(old)} -> {_short(new)})"]


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def resolved_config(config: StudyConfig) -> dict[str, Any]:
    """The config as plain JSON data, defaults filled in and the storage password hidden."""
    data = config.model_dump(mode="json")
    data["storage"] = redact_url(config.storage)
    return data


def provenance() -> dict[str, Any]:
    """Versions of lrsearch, torch, optuna and Python, the git SHA of lrsearch and the host."""
    import optuna
    import torch

    from lrsearch.version import __version__

    return {
        LRSEARCH_VERSION_ATTR: __version__,
        TORCH_VERSION_ATTR: torch.__version__,
        OPTUNA_VERSION_ATTR: optuna.__version__,
        PYTHON_VERSION_ATTR: platform.python_version(),
        GIT_SHA_ATTR: _git_sha(),
        HOST_ATTR: platform.node(),
    }


def _git_sha() -> str | None:
    """The commit of the lrsearch sources (``+dirty`` with local changes), or None."""
    folder = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--",
                                "."], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sha.strip() + ("+dirty" if dirty.strip() else "")
