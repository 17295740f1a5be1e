"""Settings of the data, the training runs and the LR range test, declared once.

A study file's ``data``, ``training`` and ``lr_range_test`` sections are these models, and the
training code takes them as they are (``lrsearch.train`` loads torch; this module does not),
so each default and each rule is written here and nowhere else. They are frozen, so loaded
data can be cached per settings. Made directly (not from a study file), bad values raise the
training code's own errors, one line per problem.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from lrsearch.config._messages import problems_of
from lrsearch.config._types import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, Strict
from lrsearch.errors import DataError, LrsearchError, TrainingError
from lrsearch.text import counted

__all__ = ["DATASETS", "DEFAULT_MODEL", "DEFAULT_RULE", "FACTORY_PATTERN", "IMAGEFOLDER",
           "MODELS", "PRECISIONS", "RANGE_TEST_RULES", "DataSettings", "DatasetName",
           "LrRangeTestConfig", "ModelName", "ProbeFrac", "ProbeSettings", "RangeTestSettings",
           "TrainSettings", "TrainingConfig", "is_factory"]

DATASETS = ("cifar10", "cifar100", "fake")
IMAGEFOLDER = "imagefolder"  # torchvision's ImageFolder layout: one subfolder per class
# The built-in models, by name; lrsearch.train's model registry builds them (a test checks
# that it knows each), kept here so checking a study file loads no torch.
MODELS = ("small_cnn", "resnet20", "resnet56", "resnet18")
DEFAULT_MODEL = "small_cnn"
# A user's factory, "module:function": a dotted module path and a function name. Only the
# form is checked here; lrsearch.user_code imports it.
FACTORY_PATTERN = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$"


def is_factory(name: str) -> bool:
    """Whether ``name`` has the form ``module:function``.

    Example:
        >>> is_factory("torchvision.models:resnet50"), is_factory("resnet18")
        (True, False)
    """
    return re.match(FACTORY_PATTERN, name) is not None


def _model_name(name: str) -> str:
    if name in MODELS or is_factory(name):
        return name
    raise ValueError(f"must be one of {list(MODELS)} or 'module:function' (a function that "
                     f"returns a torch.nn.Module, e.g. 'torchvision.models:resnet50')")


def _dataset_name(name: str) -> str:
    if name in DATASETS or name == IMAGEFOLDER or is_factory(name):
        return name
    raise ValueError(f"must be one of {[*DATASETS, IMAGEFOLDER]} or 'module:function' (a "
                     f"function that returns the training and test data)")


ModelName = Annotated[str, AfterValidator(_model_name)]
"""A built-in model's name or a user's factory, ``module:function``."""
DatasetName = Annotated[str, AfterValidator(_dataset_name)]
"""A built-in data set, ``imagefolder``, or a user's factory, ``module:function``."""
PRECISIONS = ("auto", "fp32", "bf16")
RANGE_TEST_RULES = ("valley", "steepest", "min_over_10")
DEFAULT_RULE = "valley"

ProbeFrac = Annotated[float, Field(gt=0.0, le=1.0)]
"""A cooldown probe's length: a fraction of the optimizer steps done so far, in (0, 1]."""


class _Settings(Strict):
    """Frozen; made directly, a bad value raises ``_error`` listing every problem."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _error: ClassVar[type[LrsearchError]] = TrainingError
    _what: ClassVar[str] = "settings"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = problems_of(exc, type(self))
            lines = "\n".join(f"  - {p}" for p in problems)
            raise self._error(f"invalid {self._what} ({counted(len(problems), 'problem')}):\n"
                              f"{lines}") from None

    # Tell pydantic this is its own __init__: a study file's sections are validated by the
    # schema (their errors keep the section's path), not through this constructor.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class DataSettings(_Settings):
    """The data set and the validation split the search optimises (a study's ``data``).

    Attributes:
        dataset: ``cifar10``, ``cifar100``, ``fake`` (random images, smoke tests only),
            ``imagefolder`` (``root`` in torchvision's ImageFolder layout) or
            ``module:function``, a function returning ``(train, test)`` data.
        data_dir: Folder holding (or to receive) CIFAR; None: ``$LRSEARCH_DATA_DIR``, else
            ``~/.cache/lrsearch/data``.
        download: Download the official archive when the data is not found.
        val_size: Images split off the training set, seeded, for validation (what the search
            optimises).
        train_subset: Keep only this many training images (after the split), seeded; None: all.
        split_seed: Seed of the validation split, the subset and a test share of ``root``.
        root: ``imagefolder``: the folder of class subfolders, relative to the study file's
            folder; ``module:function``: passed to the function as ``root=`` when given.
        test_root: ``imagefolder``: a folder of the same classes held out as the test set;
            None: ``test_frac`` of ``root`` is split off (seeded) instead.
        test_frac: ``imagefolder`` without ``test_root``: the share of ``root`` held out as
            the test set (never seen by the search; ``lrsearch confirm`` measures on it).
        image_size: ``imagefolder``: images are resized to this many pixels square.
        placement: ``auto`` (on the training device when the data takes at most half of a
            GPU's free memory, else streamed), ``device`` or ``stream`` (kept in host memory,
            each batch gathered by a DataLoader and copied to the device).
        loader_workers: Worker processes of that DataLoader.
    """

    _error: ClassVar[type[LrsearchError]] = DataError
    _what: ClassVar[str] = "data settings"

    dataset: DatasetName = "cifar10"
    data_dir: str | None = None
    download: bool = True
    val_size: int = Field(default=5000, ge=1)
    train_subset: int | None = Field(default=None, ge=1)
    split_seed: int = Field(default=0, ge=0, le=MAX_SEED)
    root: str | None = Field(default=None, min_length=1)
    test_root: str | None = Field(default=None, min_length=1)
    test_frac: float = Field(default=0.1, gt=0.0, lt=1.0)
    image_size: int = Field(default=32, ge=8, le=1024)
    placement: Literal["auto", "device", "stream"] = "auto"
    loader_workers: int = Field(default=4, ge=0)

    def problems(self) -> list[str]:
        """What the fields cannot say alone: which keys each kind of data set takes.

        Example:
            >>> DataSettings(dataset="imagefolder", test_root="t").problems()[0][:40]
            "root: got None; dataset 'imagefolder' ne"
        """
        problems = []
        folder = self.dataset == IMAGEFOLDER
        if folder and self.root is None:
            problems.append(f"root: got None; dataset {IMAGEFOLDER!r} needs the folder of its "
                            f"class subfolders (relative to the study file's folder)")
        if self.root is not None and not (folder or is_factory(self.dataset)):
            problems.append(f"root: got {self.root!r}; only dataset {IMAGEFOLDER!r} or "
                            f"'module:function' takes a root (CIFAR's folder is data_dir)")
        if self.test_root is not None and not folder:
            problems.append(f"test_root: got {self.test_root!r}; only dataset "
                            f"{IMAGEFOLDER!r} takes a test_root")
        return problems


DEVICE_PATTERN = r"^(auto|cpu(:\d+)?|cuda(:\d+)?)$"  # training.device and --device


class TrainingConfig(_Settings):
    """Length and hardware of every trial's training run (a study's ``training``).

    Attributes:
        epochs: Passes over the training split.
        batch_size: Images per optimizer step; the last partial batch of an epoch is dropped.
        device: ``auto`` (cuda if available), ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto`` (bf16 autocast on cuda, fp32 on cpu), ``fp32`` or ``bf16``.
        compile: Wrap the model in ``torch.compile``.
        seed: Seed of the weights, the batch order and the augmentation.
        lr_record_every: Record ``(step, lr)`` every this many optimizer steps (plus the first
            and the last step).
        checkpoint_every_s: Least seconds between two checkpoint writes of a trial (written in
            the background; always after the last epoch, on Ctrl-C and on an error); 0: after
            every epoch, waited for (which stalls the GPU while a large model is written). A
            killed worker's retry loses at most this much plus one epoch.
        deterministic: Deterministic kernels on a GPU (``torch.use_deterministic_algorithms``,
            cuDNN autotuning off), so two runs agree bit for bit there too, at a cost in speed
            (docs/training.md). A CPU run is deterministic either way, and this leaves it
            alone.
        threads: CPU threads of the run (:func:`threads_per_process`): None lets torch pick,
            never more than the cores this process may use; workers share them.
    """

    _what: ClassVar[str] = "training settings"

    epochs: int = Field(default=10, ge=1, le=MAX_EPOCHS)
    batch_size: int = Field(default=256, ge=1, le=MAX_BATCH_SIZE)
    device: str = Field(default="auto", pattern=DEVICE_PATTERN)
    precision: Literal[PRECISIONS] = "auto"
    compile: bool = False
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    lr_record_every: int = Field(default=10, ge=1)
    checkpoint_every_s: float = Field(default=60.0, ge=0, allow_inf_nan=False)
    deterministic: bool = False
    threads: int | None = Field(default=None, ge=1)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container, ``taskset`` or a
    Slurm allocation may allow fewer than the machine has), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_process(threads: int | None, processes: int = 1,
                        cores: int | None = None) -> int | None:
    """The CPU threads each of ``processes`` training processes of one run uses.

    Asked for (``training.threads`` or ``--threads``), or left out with several processes:
    the usable ``cores`` at most, shared evenly, at least one each. Left out with one process:
    None, torch's own choice (capped at the usable cores where the run starts). One thread per
    core in all: more would make the processes preempt each other.

    Example:
        >>> threads_per_process(None, 1, cores=8), threads_per_process(None, 3, cores=8)
        (None, 2)
        >>> threads_per_process(16, 1, cores=8), threads_per_process(4, 2, cores=8)
        (8, 2)
    """
    cores = usable_cores() if cores is None else cores
    if threads is None and processes == 1:
        return None
    return max(1, min(threads or cores, cores) // processes)


class TrainSettings(TrainingConfig):
    """A study's ``training`` section with the model it trains: what one run needs.

    Example:
        >>> TrainSettings(epochs=2).model, TrainSettings(epochs=2).batch_size
        ('small_cnn', 256)

    ``model_kwargs`` go to a ``module:function`` model's function; ``study_dir`` is the
    folder searched first for its module (None: the working directory).
    """

    model: ModelName = DEFAULT_MODEL
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    study_dir: str | None = None


class ProbeSettings(_Settings):
    """When and how long the cooldown probe runs during a training run.

    Attributes:
        epochs: 1-based epochs after which to probe.
        frac: Probe length as a fraction of the optimizer steps done so far.
    """

    _what: ClassVar[str] = "probe settings"

    epochs: tuple[Annotated[int, Field(ge=1, strict=True)], ...]
    frac: ProbeFrac


class RangeTestSettings(_Settings):
    """How the LR range test ramps the LR, smooths the loss, stops and suggests.

    Attributes:
        start_lr: Group 0's LR at the first step (the other param groups keep their ratio).
        end_lr: Group 0's LR at the last step; the LR grows by the same factor every step.
        num_steps: Optimizer steps of the whole ramp (one batch each). At most 1000: the curve
            is stored in the study, in a text column that MySQL caps at 64 KiB.
        smooth_beta: Weight of the past in the exponential moving average of the loss
            (bias-corrected; 0.98 averages over about 50 steps).
        diverge_factor: Stop when the smoothed loss exceeds this many times its lowest value.
        rule: The suggestion rule whose LR is *the* suggestion: ``valley``, ``steepest`` or
            ``min_over_10`` (why these defaults: docs/lr-range-test.md).
    """

    _what: ClassVar[str] = "range test settings"

    start_lr: float = Field(default=1e-6, gt=0)
    end_lr: float = Field(default=10.0, gt=0)
    num_steps: int = Field(default=300, ge=10, le=1000)
    smooth_beta: float = Field(default=0.98, ge=0, lt=1)
    diverge_factor: float = Field(default=4.0, gt=1)
    rule: Literal[RANGE_TEST_RULES] = DEFAULT_RULE

    @field_validator("end_lr")
    @classmethod
    def _end_above_start(cls, end_lr: float, info: ValidationInfo) -> float:
        start_lr = info.data.get("start_lr")
        if start_lr is not None and end_lr <= start_lr:
            raise ValueError(f"must be > start_lr ({start_lr:g})")
        return end_lr

    def lr_at(self, step: int) -> float:
        """Group 0's LR at 0-based ``step``: exponential from ``start_lr`` to ``end_lr``.

        Example:
            >>> settings = RangeTestSettings(start_lr=1e-4, end_lr=1.0, num_steps=11)
            >>> [round(settings.lr_at(k), 6) for k in (0, 5, 10)]
            [0.0001, 0.01, 1.0]
        """
        return self.start_lr * (self.end_lr / self.start_lr) ** (step / (self.num_steps - 1))


class LrRangeTestConfig(RangeTestSettings):
    """A study's ``lr_range_test``: the range test of ``lrsearch find-lr`` and ``peak_lr: auto``.

    The test runs on the study's model, data, batch size and optimizer (searched optimizer
    settings held at the middle of their range). With ``peak_lr: auto`` the peak LR is
    searched in ``[suggestion / width, suggestion * width]`` on a log scale: the best peak LR
    of a decaying schedule lies above the valley suggestion (why 10: docs/lr-range-test.md).
    """

    width: float = Field(default=10.0, gt=1)

    def settings(self) -> RangeTestSettings:
        """The ramp's settings, without the search range's ``width``."""
        return RangeTestSettings(**self.model_dump(exclude={"width"}))
