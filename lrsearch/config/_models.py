"""Pydantic models of a study file; unknown keys are rejected everywhere.

The models check types and simple bounds. Checks that need the schedule family registry (the
parameters of each family and their valid ranges) live in :mod:`lrsearch.config._families`, so
this module knows nothing about schedules. Names of models, optimizers, datasets and precisions
are repeated here as ``Literal`` types to keep ``lrsearch validate`` free of torch; a test checks
they agree with :mod:`lrsearch.train`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lrsearch.schedules import WARMUP_FRAC, WARMUP_START, WARMUP_START_DEFAULT

__all__ = [
    "AUTO", "BaselineConfig", "DataConfig", "LrRangeTestConfig", "OptimizerSpace",
    "PrunerConfig", "Range", "SamplerConfig", "SearchSpaceConfig", "StorageOptions",
    "StudyConfig", "TrainingConfig",
    "MODELS", "OPTIMIZERS", "DATASETS", "PRECISIONS", "SAMPLERS", "PRUNERS", "METRICS",
    "BASELINE_PRESETS", "Baseline", "JUDGES", "RANGE_TEST_RULES",
]

MODELS = ("small_cnn", "resnet20", "resnet56", "resnet18")
OPTIMIZERS = ("sgd", "adam", "adamw", "amsgrad", "adamax", "radam", "ranger",
              "sgd_schedulefree", "adamw_schedulefree")
DATASETS = ("cifar10", "cifar100", "fake")
PRECISIONS = ("auto", "fp32", "bf16")
SAMPLERS = ("tpe", "random", "gp", "cmaes", "qmc", "grid")
PRUNERS = ("median", "percentile", "successive_halving", "hyperband", "wilcoxon", "patient",
           "none")
METRICS = ("val_acc", "val_loss")
# Ready-made baselines, by name (lrsearch.search._baselines says what each one runs).
BASELINE_PRESETS = ("cosine", "linear", "onecycle", "step", "schedulefree")
JUDGES = ("probe", "raw")
# Pruning points as fractions of training: a third and two thirds. With probes of 0.1 of the
# steps done they cost about 11% of a study's compute; a third point at half would take it to
# about 16% for no better pick (docs/pruning.md).
DEFAULT_PRUNING_PROGRESS = (1 / 3, 2 / 3)
RANGE_TEST_RULES = ("valley", "steepest", "min_over_10")
AUTO = "auto"
"""``peak_lr: auto``: the search range is set from an LR range test at the start of the study."""

DEFAULT_STORAGE = "sqlite:///lrsearch.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(_Strict):
    """A searched number: sampled from ``[low, high]``, on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False

    @field_validator("high")
    @classmethod
    def _high_not_below_low(cls, high: float, info: ValidationInfo) -> float:
        low = info.data.get("low")
        if low is not None and high < low:
            raise ValueError(f"must be >= low ({low:g})")
        return high

    @field_validator("log")
    @classmethod
    def _log_needs_positive_low(cls, log: bool, info: ValidationInfo) -> bool:
        low = info.data.get("low")
        if log and low is not None and low <= 0:
            raise ValueError(f"a log scale needs low > 0 (low is {low:g})")
        return log


def _shape(value: Any) -> str:
    """Tag of a union member by the input's shape, so errors name one member only."""
    return "mapping" if isinstance(value, (dict, BaseModel)) else "value"


def _peak_shape(value: Any) -> str:
    """Like :func:`_shape`, with a third member for words (``auto``): a string that reads as a
    number (YAML reads ``1e-3`` as one) is still a number."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return AUTO
    return _shape(value)


# Union tags are dropped from error paths by the loader.
UNION_TAGS = ("mapping", "value", AUTO)

Number = Annotated[Annotated[float, Tag("value")] | Annotated[Range, Tag("mapping")],
                   Discriminator(_shape)]
"""A fixed number or a :class:`Range` to search."""

def _auto_word(value: str) -> str:
    if value.strip().lower() != AUTO:
        raise ValueError("must be a number, a range {low, high, log} or 'auto'")
    return AUTO


PeakLr = Annotated[Annotated[float, Tag("value")] | Annotated[Range, Tag("mapping")]
                   | Annotated[str, AfterValidator(_auto_word), Tag(AUTO)],
                   Discriminator(_peak_shape)]
"""A fixed peak LR, a :class:`Range` to search, or ``auto`` (set by the LR range test)."""


# Valid values of the searched numbers: (test, rule).
_NUMBER_RULES = {
    "peak_lr": (lambda v: v > 0, "must be > 0"),
    "weight_decay": (lambda v: v >= 0, "must be >= 0"),
    # The warm-up's rules are the spec's own (lrsearch.schedules), stated once there.
    "warmup_frac": (lambda v: not WARMUP_FRAC.check(v, "")[1], WARMUP_FRAC.rule()),
    "warmup_start": (lambda v: not WARMUP_START.check(v, "")[1], WARMUP_START.rule()),
    "head_lr_mult": (lambda v: v > 0, "must be > 0"),
    "momentum": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
    "beta1": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
    "beta2": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
    "eps": (lambda v: v > 0, "must be > 0"),
    "lookahead_alpha": (lambda v: 0 < v <= 1, "must be in (0, 1]"),
}


def _check_number(value: Any, info: ValidationInfo) -> Any:
    """Check a fixed or searched number against the rule of its field."""
    test, rule = _NUMBER_RULES[info.field_name]
    if isinstance(value, Range):
        bad = [key for key in ("low", "high") if not test(getattr(value, key))]
        if bad:
            raise ValueError(f"{' and '.join(bad)} {rule}")
    elif value is not None and value != AUTO and (value != value or not test(value)):
        raise ValueError(rule)
    return value


class SamplerConfig(_Strict):
    """Which Optuna sampler proposes trials.

    ``seed`` makes a single worker reproducible; worker ``i`` uses ``seed + i``.
    ``n_startup_trials`` (tpe, gp, cmaes) are trials before the model kicks in.
    ``points_per_param`` (grid only) is the number of values each searched number takes: evenly
    spaced from low to high, on a log scale for a log range (an int range keeps its distinct
    rounded values); choices keep all their values. The grid is the tree of the space, so it
    is the sum over families of the product of that family's values (times the shared and
    optimizer values), not the product over every family's parameters. ``grid_points``, its
    name before, is read as ``points_per_param`` (old study files, and the configs stored in
    studies made then, which ``lrsearch confirm`` reads back).
    """

    name: Literal[SAMPLERS] = "tpe"
    seed: int | None = 0
    n_startup_trials: int = Field(default=8, ge=0)
    points_per_param: int = Field(default=3, ge=2)
    qmc_type: Literal["sobol", "halton"] = "sobol"

    @model_validator(mode="before")
    @classmethod
    def _old_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "grid_points" in data:
            data = dict(data)
            old = data.pop("grid_points")
            if "points_per_param" in data:
                raise ValueError(f"grid_points (got {old!r}) is the old name of "
                                 f"points_per_param; give one of them")
            data["points_per_param"] = old
        return data


class PrunerConfig(_Strict):
    """Which Optuna pruner stops bad trials, when, and judged by which value.

    A trial is judged only at its pruning points, ``at_progress`` (fractions of training,
    mapped to the nearest epoch; see :func:`lrsearch.search.pruning_epochs`). ``judge`` says by
    what: ``probe``, the validation metric after a short cooldown (the LR decayed linearly to
    zero over ``probe_frac`` of the steps done so far, then the run restored), or ``raw``, the
    metric of the run as it is. Left out, it is ``probe`` when the search space holds more than
    one schedule family and ``raw`` otherwise (:func:`lrsearch.search.resolve_judge`; why, with
    measurements: docs/pruning.md). With ``name: none`` nothing is judged and no probe runs.
    ``min_progress`` (from study files written before pruning points) drops points below it.
    ``wilcoxon`` tests the trial's curve against the best trial's, epoch by epoch, so it hears
    the raw value of every epoch and is asked every epoch from the first pruning point on: its
    one-sided signed-rank test needs at least 4 paired epochs to reach p < 0.1 (the probe's two
    points could never get below p = 0.25), which is why it refuses ``judge: probe``.
    """

    name: Literal[PRUNERS] = "median"
    judge: Literal[JUDGES] | None = None
    at_progress: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: list(DEFAULT_PRUNING_PROGRESS))
    probe_frac: float = Field(default=0.1, gt=0.0, le=1.0)
    min_progress: float = Field(default=0.0, ge=0.0, le=1.0)
    n_startup_trials: int = Field(default=5, ge=0)
    percentile: float = Field(default=25.0, ge=0.0, le=100.0)
    reduction_factor: int = Field(default=3, ge=2)
    patience: int = Field(default=1, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    p_threshold: float = Field(default=0.1, gt=0.0, lt=1.0)


class StorageOptions(_Strict):
    """Heartbeat and retries on a server database (PostgreSQL, MySQL/MariaDB); unused on SQLite.

    A worker writes a heartbeat every ``heartbeat_interval_s`` seconds; a RUNNING trial without
    one for ``grace_period_s`` seconds (default: twice the interval) is failed and retried up to
    ``max_retry`` times, from its checkpoint when the retry runs on the same machine.
    """

    heartbeat_interval_s: int = Field(default=60, ge=1)
    grace_period_s: int | None = Field(default=None, ge=1)
    max_retry: int = Field(default=2, ge=0)


class DataConfig(_Strict):
    """The data set and the validation split the search optimises."""

    dataset: Literal[DATASETS] = "cifar10"
    data_dir: str | None = None
    download: bool = True
    val_size: int = Field(default=5000, ge=1)
    train_subset: int | None = Field(default=None, ge=1)
    split_seed: int = 0


class TrainingConfig(_Strict):
    """Length and hardware of every trial's training run."""

    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=256, ge=1)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    precision: Literal[PRECISIONS] = "auto"
    compile: bool = False
    seed: int = 0
    lr_record_every: int = Field(default=10, ge=1)


class OptimizerSpace(_Strict):
    """One optimizer the search may pick, with fixed or searched hyperparameters.

    ``peak_lr`` and ``weight_decay`` default to the search space's shared values; the others to
    the optimizer's own defaults (fixed, not searched). ``peak_lr: auto`` sets this
    optimizer's peak-LR range from an LR range test (see :class:`LrRangeTestConfig`).
    """

    peak_lr: PeakLr | None = None
    weight_decay: Number | None = None
    momentum: Number | None = None
    nesterov: bool | None = None
    beta1: Number | None = None
    beta2: Number | None = None
    eps: Number | None = None
    lookahead_steps: int | None = Field(default=None, ge=1)
    lookahead_alpha: Number | None = None

    _numbers = field_validator("peak_lr", "weight_decay", "momentum", "beta1", "beta2", "eps",
                               "lookahead_alpha")(_check_number)


class SearchSpaceConfig(_Strict):
    """What the search varies.

    ``families`` is a list of family names (each parameter searched over its default range) or
    a mapping ``family -> {param: override}``, where an override is a fixed value, a range
    ``{low, high, log}`` or ``{choices: [...]}``; ``multistep.milestones`` also takes
    ``min_count``/``max_count`` and ``piecewise.knots`` takes ``positions`` (interior knots).
    ``peak_lr: auto`` sets the peak-LR range of every optimizer without its own ``peak_lr``
    from an LR range test (see :class:`LrRangeTestConfig`).
    """

    families: Annotated[
        Annotated[list[str], Tag("value")]
        | Annotated[dict[str, dict[str, Any] | None], Tag("mapping")],
        Discriminator(_shape)] = Field(
        default_factory=lambda: ["cosine", "linear", "multistep", "onecycle", "wsd"])
    peak_lr: PeakLr = Field(default_factory=lambda: Range(low=1e-3, high=1.0, log=True))
    warmup_frac: Number = Field(default_factory=lambda: Range(
        low=WARMUP_FRAC.search.low, high=WARMUP_FRAC.search.high))
    warmup_start: Number = WARMUP_START_DEFAULT
    optimizers: Annotated[
        Annotated[list[Literal[OPTIMIZERS]], Tag("value")]
        | Annotated[dict[Literal[OPTIMIZERS], OptimizerSpace | None], Tag("mapping")],
        Discriminator(_shape)] = Field(default_factory=lambda: ["sgd"])
    weight_decay: Number = 5e-4
    head_lr_mult: Number = 1.0

    _numbers = field_validator("peak_lr", "warmup_frac", "warmup_start", "weight_decay",
                               "head_lr_mult")(_check_number)


class LrRangeTestConfig(_Strict):
    """The LR range test of ``lrsearch find-lr`` and of ``peak_lr: auto``.

    The LR grows exponentially from ``start_lr`` to ``end_lr`` over ``num_steps`` optimizer
    steps of the study's model, data, batch size and optimizer (searched optimizer settings
    held at the middle of their range); the ramp stops when the smoothed loss (exponential
    moving average, weight ``smooth_beta`` on the past) exceeds ``diverge_factor`` times its
    lowest value. ``rule`` picks the suggestion (``valley``, ``steepest`` or ``min_over_10``;
    see ``lrsearch.train`` for why valley and why 300 steps). ``num_steps`` is at most 1000:
    the curve is stored in the study, in a text column that MySQL caps at 64 KiB.

    With ``peak_lr: auto`` the peak LR is searched in ``[suggestion / width, suggestion *
    width]`` on a log scale. ``width`` 10 (two decades) because the best peak LR of a decaying
    schedule lies above the valley suggestion, which is a point in the middle of the loss's
    descent: about 3.3-5.1x above it where we measured it (small_cnn on CIFAR-10, SGD and Adam),
    inside the range's upper decade with room to spare either way.
    """

    start_lr: float = Field(default=1e-6, gt=0)
    end_lr: float = Field(default=10.0, gt=0)
    num_steps: int = Field(default=300, ge=10, le=1000)
    smooth_beta: float = Field(default=0.98, ge=0, lt=1)
    diverge_factor: float = Field(default=4.0, gt=1)
    rule: Literal[RANGE_TEST_RULES] = "valley"
    width: float = Field(default=10.0, gt=1)

    @field_validator("end_lr")
    @classmethod
    def _end_above_start(cls, end_lr: float, info: ValidationInfo) -> float:
        start_lr = info.data.get("start_lr")
        if start_lr is not None and end_lr <= start_lr:
            raise ValueError(f"must be > start_lr ({start_lr:g})")
        return end_lr


class BaselineConfig(_Strict):
    """A fixed schedule run as one of the first trials: the study's own yardstick.

    Omitted family ``params`` take the family's defaults; an omitted ``peak_lr`` or
    ``warmup_frac`` is sampled like any other trial's; ``optimizer`` defaults to the first one
    in the search space.
    """

    name: str = Field(min_length=1)
    family: str
    params: dict[str, Any] = Field(default_factory=dict)
    peak_lr: float | None = Field(default=None, gt=0)
    warmup_frac: float | None = None
    optimizer: Literal[OPTIMIZERS] | None = None

    _warmup = field_validator("warmup_frac")(_check_number)


Baseline = Annotated[Annotated[Literal[BASELINE_PRESETS], Tag("value")]
                     | Annotated[BaselineConfig, Tag("mapping")], Discriminator(_shape)]
"""A ready-made baseline by name, or a :class:`BaselineConfig` (a point of the search space)."""


class StudyConfig(_Strict):
    """A whole study file.

    ``direction`` follows from ``metric`` when left out (the loader fills it in and checks
    that a given one fits).

    Example:
        >>> StudyConfig(name="demo").search_space.optimizers
        ['sgd']
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    storage: str = DEFAULT_STORAGE
    storage_options: StorageOptions = Field(default_factory=StorageOptions)
    metric: Literal[METRICS] = "val_acc"
    direction: Literal["maximize", "minimize"] | None = None
    n_trials: int | None = Field(default=20, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    model: Literal[MODELS] = "small_cnn"
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    search_space: SearchSpaceConfig = Field(default_factory=SearchSpaceConfig)
    baselines: list[Baseline] = Field(default_factory=list)
    lr_range_test: LrRangeTestConfig = Field(default_factory=LrRangeTestConfig)
    checkpoint_dir: str = "lrsearch-checkpoints"
