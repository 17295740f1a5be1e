"""What a study stores about itself: the resolved config, versions, git SHA and fingerprint.

The search-space fingerprint is a stable hash of everything that makes two trials comparable
(search space, model, data split, epochs, batch size, seed, metric; with ``peak_lr: auto``,
also the LR range test's settings, which set the peak-LR range). Resuming a study whose
fingerprint differs is refused, because Optuna would mix incomparable trials (and refuse
changed distributions only partly: STYLE.md trap 4).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from lrsearch.config import StudyConfig
from lrsearch.search._space import SearchSpace
from lrsearch.search._storage import redact_url

__all__ = ["fingerprint", "provenance", "resolved_config"]


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
    data = config.data
    training = config.training
    identity = {
        "space": space.as_dict(),
        "model": config.model,
        "metric": config.metric,
        "data": {"dataset": data.dataset, "val_size": data.val_size,
                 "train_subset": data.train_subset, "split_seed": data.split_seed},
        "training": {"epochs": training.epochs, "batch_size": training.batch_size,
                     "seed": training.seed},
    }
    if space.auto_optimizers:  # only then: older studies keep their fingerprint
        identity["lr_range_test"] = config.lr_range_test.model_dump()
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolved_config(config: StudyConfig) -> dict[str, Any]:
    """The config as plain JSON data, defaults filled in and the storage password hidden."""
    data = config.model_dump(mode="json")
    data["storage"] = redact_url(config.storage)
    return data


def provenance() -> dict[str, Any]:
    """Versions of lrsearch, torch, optuna and Python, the git SHA of lrsearch and the host."""
    import optuna
    import torch

    from lrsearch import __version__

    return {
        "lrsearch_version": __version__,
        "torch_version": torch.__version__,
        "optuna_version": optuna.__version__,
        "python_version": platform.python_version(),
        "git_sha": _git_sha(),
        "host": platform.node(),
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
