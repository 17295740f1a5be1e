"""What a training run gives: per-epoch results and the whole run, as plain dataclasses.

:meth:`TrainResult.to_dict` gives plain JSON types, for Optuna's user attributes, which go
through ``json.dumps``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["EpochResult", "TrainResult"]


@dataclass
class EpochResult:
    """What one epoch gave. ``epoch`` is 1-based; ``step`` counts optimizer steps done so far.

    ``lr`` is group 0's LR of the epoch's last step; ``seconds`` is the epoch's wall time,
    evaluation included, probe excluded. The ``probe_*`` fields hold the cooldown probe's
    validation loss and accuracy, its optimizer steps and wall time after the epochs that were
    probed (see :func:`lrsearch.train.cooldown_probe`), else None.
    """

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float
    probe_val_loss: float | None = None
    probe_val_acc: float | None = None
    probe_steps: int | None = None
    probe_seconds: float | None = None


@dataclass
class TrainResult:
    """A whole run: every epoch, the LR curve actually used, timings and provenance.

    ``lr_curve`` holds ``(step, lr)``: group 0's LR used for the update at 0-based ``step``.
    ``seed`` is the run's (weights, batch order, augmentation); ``split_seed`` the data's
    (validation split and subset, :attr:`DataSettings.split_seed`).
    ``images_per_second`` counts training steps only (no evaluation) of this call, so a
    resumed run reports the speed of the part it ran. ``stopped`` is the reason the caller's
    ``on_epoch`` gave to stop early (then ``epochs`` and ``lr_curve`` are the part that ran),
    or None for a whole run.
    """

    epochs: list[EpochResult]
    lr_curve: list[tuple[int, float]]
    total_steps: int
    steps_per_epoch: int
    seconds: float
    images_per_second: float
    seed: int
    split_seed: int
    device_name: str
    test_loss: float | None = None
    test_acc: float | None = None
    stopped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (python ints and floats), e.g. for Optuna user attributes."""
        data = asdict(self)
        data["lr_curve"] = [[int(step), float(lr)] for step, lr in self.lr_curve]
        return data
