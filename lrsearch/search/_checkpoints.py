"""Where a study keeps its trials' checkpoints, and what is left of them.

Each study has one folder under ``checkpoint_dir``, named by the study's name and the random
id stored in it at creation (``quickstart-3f9c2a1b``): a later study of the same name in the
same folder never reads another study's weights. A trial keeps ``trial-N.pt`` (and, while a
horizon rung trains, ``trial-N.rung-E.pt``) only while the trial may still resume: the files go
when it completes, is pruned or fails for good, and stay for a retry (interrupted, its worker
lost, the storage failed under it).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import optuna

from lrsearch.config import StudyConfig
from lrsearch.records import STUDY_UID_ATTR, study_records

__all__ = ["checkpoint_path", "checkpoint_problems", "leftover_checkpoints", "new_study_uid",
           "remove_checkpoints", "study_folder"]


def new_study_uid() -> str:
    """A fresh study id: 8 hex digits."""
    return uuid.uuid4().hex[:8]


def study_folder(checkpoint_dir: str | Path, study: optuna.Study) -> Path:
    """The folder of ``study``'s checkpoints (and of failures it could not store yet)."""
    uid = study_records(study).get(STUDY_UID_ATTR)
    return Path(checkpoint_dir) / (f"{study.study_name}-{uid}" if uid else study.study_name)


def checkpoint_path(folder: str | Path, trial_number: int) -> Path:
    """Where trial ``trial_number`` keeps its checkpoint in its study's ``folder``.

    Example:
        >>> checkpoint_path("ckpt/demo-3f9c2a1b", 3).as_posix()
        'ckpt/demo-3f9c2a1b/trial-3.pt'
    """
    return Path(folder) / f"trial-{trial_number}.pt"


def remove_checkpoints(path: Path) -> None:
    """Delete a trial's checkpoint and its rungs' (``trial-N.pt``, ``trial-N.rung-E.pt``)."""
    path.unlink(missing_ok=True)
    for rung in path.parent.glob(f"{path.stem}.rung-*{path.suffix}"):
        rung.unlink(missing_ok=True)


def leftover_checkpoints(folder: Path) -> tuple[int, int]:
    """How many checkpoint files are in ``folder``, and their bytes."""
    files = [p for p in folder.glob("*.pt") if p.is_file()] if folder.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


def checkpoint_problems(config: StudyConfig) -> list[str]:
    """Why the study's checkpoints could not be written under ``checkpoint_dir`` (its nearest
    existing folder must be a writable folder), for ``lrsearch validate`` and the run's start.
    """
    existing = Path(config.checkpoint_dir)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return []
    why = "is a file, not a folder" if existing.exists() and not existing.is_dir() else \
        "is not writable"
    return [f"checkpoint_dir: got {config.checkpoint_dir!r}; {existing} {why}, so no trial "
            f"could keep its checkpoint there; name a folder lrsearch may create and write"]
