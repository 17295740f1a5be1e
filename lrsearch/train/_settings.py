"""Settings of one training run and its results, as plain dataclasses.

Each default lives here and only here. The settings are frozen (hashable, so loaded data can be
cached per settings); the results are plain data with :meth:`TrainResult.to_dict` for Optuna's
user attributes, which go through ``json.dumps``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lrsearch.errors import DataError, TrainingError

__all__ = ["DataSettings", "OptimizerSettings", "TrainSettings", "EpochResult", "TrainResult",
           "DATASETS", "OPTIMIZERS", "PRECISIONS"]

DATASETS = ("cifar10", "cifar100", "fake")
OPTIMIZERS = ("sgd", "adam", "adamw", "amsgrad", "adamax", "radam", "ranger",
              "sgd_schedulefree", "adamw_schedulefree")
PRECISIONS = ("auto", "fp32", "bf16")


def _raise_if(problems: list[str], error: type[Exception], what: str) -> None:
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise error(f"invalid {what} ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class DataSettings:
    """Which data set to train on and how to split it.

    Attributes:
        dataset: ``"cifar10"``, ``"cifar100"`` or ``"fake"`` (random images, smoke tests only).
        data_dir: Folder holding (or to receive) the data; None: ``$LRSEARCH_DATA_DIR``, else
            ``~/.cache/lrsearch/data``.
        download: Download the official archive when the data is not found.
        val_size: Images split off the training set, seeded, for validation (what the search
            optimises).
        train_subset: Keep only this many training images (after the split), seeded; None: all.
        split_seed: Seed of the validation split and of the subset.
    """

    dataset: str = "cifar10"
    data_dir: str | None = None
    download: bool = True
    val_size: int = 5000
    train_subset: int | None = None
    split_seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.dataset not in DATASETS:
            problems.append(f"dataset: got {self.dataset!r}; must be one of {list(DATASETS)}")
        if not isinstance(self.val_size, int) or self.val_size < 1:
            problems.append(f"val_size: got {self.val_size!r}; must be an integer >= 1")
        if self.train_subset is not None and (not isinstance(self.train_subset, int)
                                              or self.train_subset < 1):
            problems.append(f"train_subset: got {self.train_subset!r}; must be None or an "
                            f"integer >= 1")
        _raise_if(problems, DataError, "data settings")


@dataclass(frozen=True)
class OptimizerSettings:
    """The optimizer and its hyperparameters (the peak LR comes from the schedule spec).

    Attributes:
        name: One of ``sgd``, ``adam``, ``adamw``, ``amsgrad``, ``adamax``, ``radam``,
            ``ranger`` (RAdam + Lookahead), ``sgd_schedulefree``, ``adamw_schedulefree``
            (Defazio et al.'s schedule-free optimizers: a constant LR after warm-up, weights
            averaged by the optimizer; the ``schedulefree`` package).
        weight_decay: L2 / decoupled decay; never applied to normalisation or bias parameters.
        momentum: SGD momentum.
        nesterov: SGD Nesterov momentum (needs ``momentum > 0``).
        beta1: First-moment decay of the Adam family.
        beta2: Second-moment decay of the Adam family.
        eps: Denominator term of the Adam family.
        head_lr_mult: Classifier-head LR as a multiple of the backbone LR.
        lookahead_steps: Ranger's k: inner steps between two Lookahead syncs.
        lookahead_alpha: Ranger's alpha: how far the slow weights move toward the fast ones.
    """

    name: str = "sgd"
    weight_decay: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    head_lr_mult: float = 1.0
    lookahead_steps: int = 6
    lookahead_alpha: float = 0.5

    def __post_init__(self) -> None:
        checks = [
            ("name", self.name in OPTIMIZERS, f"must be one of {list(OPTIMIZERS)}"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("beta1", 0 <= self.beta1 < 1, "must be in [0, 1)"),
            ("beta2", 0 <= self.beta2 < 1, "must be in [0, 1)"),
            ("eps", self.eps > 0, "must be > 0"),
            ("head_lr_mult", self.head_lr_mult > 0, "must be > 0"),
            ("lookahead_steps", self.lookahead_steps >= 1, "must be an integer >= 1"),
            ("lookahead_alpha", 0 < self.lookahead_alpha <= 1, "must be in (0, 1]"),
        ]
        problems = [f"{name}: got {getattr(self, name)!r}; {rule}" for name, ok, rule in checks
                    if not ok]
        if self.name == "sgd_schedulefree" and self.momentum <= 0:
            problems.append(f"momentum: got {self.momentum!r}; schedule-free SGD interpolates "
                            f"with momentum, which must be > 0")
        if self.name == "sgd" and self.nesterov and self.momentum <= 0:
            problems.append(f"nesterov: got True with momentum {self.momentum!r}; Nesterov "
                            f"momentum needs momentum > 0")
        _raise_if(problems, TrainingError, "optimizer settings")


@dataclass(frozen=True)
class TrainSettings:
    """Model, length and hardware of a training run.

    Attributes:
        model: ``small_cnn``, ``resnet20``, ``resnet56`` or ``resnet18``.
        epochs: Passes over the training split.
        batch_size: Images per optimizer step; the last partial batch of an epoch is dropped.
        device: ``auto`` (cuda if available), ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto`` (bf16 autocast on cuda, fp32 on cpu), ``fp32`` or ``bf16``.
        compile: Wrap the model in ``torch.compile``.
        seed: Seed of the weights, the batch order and the augmentation.
        lr_record_every: Record ``(step, lr)`` every this many optimizer steps (plus the first
            and the last step).
    """

    model: str = "small_cnn"
    epochs: int = 10
    batch_size: int = 256
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    seed: int = 0
    lr_record_every: int = 10

    def __post_init__(self) -> None:
        checks = [
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1,
             "must be an integer >= 1"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1,
             "must be an integer >= 1"),
            ("precision", self.precision in PRECISIONS, f"must be one of {list(PRECISIONS)}"),
            ("lr_record_every", isinstance(self.lr_record_every, int)
             and self.lr_record_every >= 1, "must be an integer >= 1"),
        ]
        problems = [f"{name}: got {getattr(self, name)!r}; {rule}" for name, ok, rule in checks
                    if not ok]
        _raise_if(problems, TrainingError, "training settings")


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
    resumed run reports the speed of the part it ran.
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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (python ints and floats), e.g. for Optuna user attributes."""
        data = asdict(self)
        data["lr_curve"] = [[int(step), float(lr)] for step, lr in self.lr_curve]
        return data
