"""Pydantic models of a study file; unknown keys are rejected everywhere.

The models check types and simple bounds. The ``data``, ``training`` and ``lr_range_test``
sections are the training code's own settings (:mod:`lrsearch.config._settings`); optimizer
names and hyperparameters come from the optimizer registry; checks that need the schedule
family registry live in :mod:`lrsearch.config._families`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, create_model, field_validator

from lrsearch.config._pruning import PRUNERS
from lrsearch.config._settings import (
    DEFAULT_MODEL,
    DataSettings,
    LrRangeTestConfig,
    ModelName,
    ProbeFrac,
    TrainingConfig,
    TrainSettings,
)
from lrsearch.config._types import (
    MAX_SEED,
    MAX_TRIALS,
    Number,
    PeakLr,
    Range,
    check_number,
    shape_tag,
)
from lrsearch.config._types import Strict as _Strict
from lrsearch.optimizers import HEAD_LR_MULT, list_optimizers, optimizer_names
from lrsearch.schedules import WARMUP_FRAC, WARMUP_START_DEFAULT

__all__ = [
    "BaselineConfig", "OptimizerSpace", "PrunerConfig", "ReseedConfig", "HorizonSweepConfig",
    "SamplerConfig",
    "SearchSpaceConfig",
    "StorageOptions", "StudyConfig",
    "OPTIMIZERS", "SAMPLERS", "METRICS", "BASELINE_PRESETS", "Baseline", "JUDGES",
    "DEFAULT_PRUNER", "OWN_LOOP_PRUNER", "DEFAULT_METRIC", "METRIC_DIRECTIONS",
    "WORKER_SEED_STRIDE", "MODEL_BASED_SAMPLERS",
]

OPTIMIZERS = optimizer_names()
SAMPLERS = ("tpe", "random", "gp", "cmaes", "qmc", "grid")
# The samplers that learn from the trials they are given: priors and polish trials are theirs.
MODEL_BASED_SAMPLERS = ("tpe", "gp", "cmaes")
# Each metric a study may search, and its direction.
METRIC_DIRECTIONS = {"val_acc": "maximize", "val_loss": "minimize"}
METRICS = tuple(METRIC_DIRECTIONS)
DEFAULT_METRIC = "val_acc"
# Ready-made baselines, by name (lrsearch.search._queue says what each one runs).
BASELINE_PRESETS = ("cosine", "linear", "onecycle", "step", "schedulefree")
JUDGES = ("probe", "raw")
# The pruner a study gets when it names none: horizon rungs measured best (docs/search_quality.md).
# A study whose trials run the user's own loop (lrsearch.optimize) cannot train rungs: it gets
# the per-epoch pruner instead.
DEFAULT_PRUNER = "horizon"
OWN_LOOP_PRUNER = "median"
# Pruning points as fractions of training: a third and two thirds (why: docs/pruning.md).
DEFAULT_PRUNING_PROGRESS = (1 / 3, 2 / 3)

DEFAULT_STORAGE = "sqlite:///lrsearch.db"
# A study's name is a folder of checkpoint_dir and a database value: short enough for both.
MAX_NAME_CHARS = 128

# The families a study searches when its file names none.
DEFAULT_FAMILIES = ("cosine", "linear", "multistep", "onecycle", "wsd")

WORKER_SEED_STRIDE = 1000  # sampler seeds of workers i and i+1 lie this far apart


class SamplerConfig(_Strict):
    """Which Optuna sampler proposes trials.

    ``seed`` makes a single worker reproducible; worker ``i`` draws from its own stream
    (:meth:`worker_seed`).
    ``n_startup_trials`` (tpe, gp, cmaes) are random trials before the model kicks in (for
    tpe, baselines and priors come on top). ``good_fraction`` (tpe) is the share of finished
    trials its model counts as good (at most 25 of them). ``startup`` (tpe) is how its
    start-up trials draw: ``random`` (the default), or ``spread``, each categorical (family,
    optimizer) at one of its least-tried choices and each number in the widest gap between the
    values tried so far, so a few draws cover the space the user gave instead of clumping.
    ``priors`` queues schedules known to work (linear decay to zero, WSD with a 20% cooldown, at
    each optimizer's typical peak LR) as the first searched trials; left out, on for tpe, gp
    and cmaes (see :mod:`lrsearch.search._queue`). ``prior_lr_factors`` are the multiples of
    that typical peak LR at which linear decay to zero is queued, for every optimizer (a
    typical LR that is wrong for the user's model is then bracketed, not trusted).
    ``split`` (tpe) is which trials rank a conditional group of parameters (one optimizer's
    peak LR, one family's shape) into good and bad: ``global``, all trials (Optuna's; a group
    whose branch has no trial among the best of the study is drawn as if nothing were known),
    or ``branch``, only the trials that have the group, so each optimizer's peak LR and each
    family's shape climb towards their own branch's best. ``min_trials_per_optimizer`` (tpe)
    draws the optimizer of searched trials (priors and baselines do not count) as the
    least-tried one until every optimizer of the space has that many; TPE chooses after.
    ``polish_trials`` are the last trials of ``n_trials``, each the best searched trial so far
    at another peak LR (x0.5, x2, then x0.71, x1.41), the rest of it kept; left out, one for
    tpe, gp and cmaes, none for random, qmc and grid (:mod:`lrsearch.search._polish`).
    ``points_per_param`` (grid only) is the number of values each searched number takes: evenly
    spaced from low to high, on a log scale for a log range (an int range keeps its distinct
    rounded values); choices keep all their values. The grid is the tree of the space, so it
    is the sum over families of the product of that family's values (times the shared and
    optimizer values), not the product over every family's parameters.
    """

    name: Literal[SAMPLERS] = "tpe"
    seed: int | None = Field(default=0, ge=0, le=MAX_SEED)
    n_startup_trials: int = Field(default=5, ge=0)
    good_fraction: float = Field(default=0.25, gt=0.0, le=0.5)
    startup: Literal["random", "spread"] = "random"
    points_per_param: int = Field(default=3, ge=2)
    qmc_type: Literal["sobol", "halton"] = "sobol"
    priors: bool | None = None
    prior_lr_factors: list[Annotated[float, Field(gt=0.0)]] = Field(
        default_factory=lambda: [1.0], min_length=1, max_length=5)
    split: Literal["global", "branch"] = "global"
    min_trials_per_optimizer: int = Field(default=0, ge=0)
    polish_trials: int | None = Field(default=None, ge=0)

    def worker_seed(self, worker_index: int, trials_before: int = 0) -> int | None:
        """The sampler seed of worker ``worker_index``: ``seed + 1000 * worker_index``, plus
        the trials the study held when this worker opened it after its creation (a resumed or
        joining worker draws a fresh stream, not the first run's again); None: unseeded.

        Example:
            >>> SamplerConfig(seed=7).worker_seed(2), SamplerConfig(seed=7).worker_seed(0, 30)
            (2007, 37)
        """
        if self.seed is None:
            return None
        return self.seed + WORKER_SEED_STRIDE * worker_index + trials_before


class PrunerConfig(_Strict):
    """Which Optuna pruner stops bad trials, when, and judged by which value.

    A trial is judged only at its pruning points, ``at_progress`` (fractions of training,
    mapped to the nearest epoch; see :func:`pruning_epochs`). ``judge`` says by
    what: ``probe``, the validation metric after a short cooldown (the LR decayed linearly to
    zero over ``probe_frac`` of the steps done so far, then the run restored), or ``raw``, the
    metric of the run as it is. Left out, it is ``probe`` when the search space holds more than
    one schedule family and ``raw`` otherwise (:func:`~lrsearch.config.resolve_judge`; why, with
    measurements: docs/pruning.md). With ``name: none`` nothing is judged and no probe runs.
    ``wilcoxon`` tests the trial's curve against the best trial's, epoch by epoch, so it hears
    the raw value of every epoch and is asked every epoch from the first pruning point on: its
    one-sided signed-rank test needs at least 4 paired epochs to reach p < 0.1 (the probe's two
    points could never get below p = 0.25), which is why it refuses ``judge: probe``.
    ``horizon`` is successive halving over horizon rungs: a trial trains the whole schedule at
    ``epochs / reduction_factor**2`` and ``epochs / reduction_factor`` first and goes on only
    while it ranks in the best ``1 / reduction_factor`` at each (:mod:`lrsearch.search._pruners`);
    it needs no judge. It is the default (``DEFAULT_PRUNER``), except for studies run by
    :func:`lrsearch.optimize`, whose own loops report per epoch (``OWN_LOOP_PRUNER``).
    """

    name: Literal[PRUNERS] = DEFAULT_PRUNER
    judge: Literal[JUDGES] | None = None
    at_progress: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: list(DEFAULT_PRUNING_PROGRESS))
    probe_frac: ProbeFrac = 0.1
    n_startup_trials: int = Field(default=5, ge=0)
    percentile: float = Field(default=25.0, ge=0.0, le=100.0)
    reduction_factor: int = Field(default=3, ge=2)
    patience: int = Field(default=1, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    p_threshold: float = Field(default=0.1, gt=0.0, lt=1.0)


class ReseedConfig(_Strict):
    """Re-run the top trials with more training seeds before naming the winner.

    When a run ends with the study done (``n_trials`` reached or the grid walked), its
    ``top_k`` complete trials by validation are each trained ``seeds`` more times, on the same
    split with fresh training seeds; report, export, confirm and the run's summary then rank
    trials by their mean over all their runs (:mod:`lrsearch.records._winner`). It costs
    ``top_k * seeds`` full trainings. ``top_k: 0`` turns it off.
    """

    top_k: int = Field(default=2, ge=0)
    seeds: int = Field(default=1, ge=1)


class HorizonSweepConfig(_Strict):
    """The evidence for laying the winner onto a longer training (``target_epochs``).

    With ``target_epochs`` set, a run that ends with the study done trains the winner's shape
    (all but its peak LR fixed) at ``lr_factors`` times its peak LR at two horizons: the
    study's shortest horizon rung (a third of the epochs without rungs) and its full length
    (there factor 1 is the winner itself). ``lrsearch export --epochs N`` lays the winner onto
    N epochs with its own peak LR unless the 95% interval of the best measured at the longest
    horizon excludes it (then that best), the trend shown (:mod:`lrsearch.records._horizon`).
    Where the best LR at a horizon is the smallest or the largest tried, the sweep goes on
    outward (half the smallest, twice the largest, up to three more). It stops before
    ``max_epochs`` epochs of training (default: eight full trainings).
    """

    lr_factors: list[Annotated[float, Field(gt=0.0)]] = Field(
        default_factory=lambda: [0.5, 0.71, 1.41, 2.0], min_length=2)
    max_epochs: float | None = Field(default=None, gt=0)


class StorageOptions(_Strict):
    """Heartbeat and retries on a server database (PostgreSQL, MySQL/MariaDB); unused on SQLite.

    A worker writes a heartbeat every ``heartbeat_interval_s`` seconds; a RUNNING trial without
    one for ``grace_period_s`` seconds (default: twice the interval) is failed and retried up to
    ``max_retry`` times, from its checkpoint when the retry runs on the same machine.
    """

    heartbeat_interval_s: int = Field(default=60, ge=1)
    grace_period_s: int | None = Field(default=None, ge=1)
    max_retry: int = Field(default=2, ge=0)


def _optimizer_space() -> type[_Strict]:
    """The model of one optimizer's entry: ``peak_lr`` plus every registered hyperparameter."""
    kinds = {"float": Number, "int": int, "bool": bool}
    params = {p.name: p for info in list_optimizers() for p in info.all_params
              if p.name != HEAD_LR_MULT.name}  # the head's LR multiple is shared by all
    fields: dict[str, Any] = {"peak_lr": (PeakLr | None, None)}
    fields.update({name: (kinds[p.kind] | None, None) for name, p in params.items()})
    numbers = [name for name, p in params.items() if p.kind == "float"]
    validators = {"numbers": field_validator("peak_lr", *numbers)(check_number)}
    return create_model("OptimizerSpace", __base__=_Strict, __validators__=validators,
                        __doc__=_OPTIMIZER_SPACE_DOC, **fields)


_OPTIMIZER_SPACE_DOC = """One optimizer the search may pick, with fixed or searched hyperparameters.

Its fields are ``peak_lr`` and the hyperparameters of the optimizer registry
(:mod:`lrsearch.optimizers`); an optimizer accepts only its own (checked with the study).
``peak_lr`` and ``weight_decay`` default to the search space's shared values when it gives
them, else to the optimizer's own (its peak-LR search range, its decay); the others to the
optimizer's own defaults (fixed, not searched). ``peak_lr: auto`` sets this optimizer's
peak-LR range from an LR range test (see :class:`LrRangeTestConfig`).
"""

OptimizerSpace = _optimizer_space()


class SearchSpaceConfig(_Strict):
    """What the search varies.

    ``families`` is a list of family names (each parameter searched over its default range) or
    a mapping ``family -> {param: override}``, where an override is a fixed value, a range
    ``{low, high, log}`` or ``{choices: [...]}``; ``multistep.milestones`` also takes
    ``min_count``/``max_count`` and ``piecewise.knots`` takes ``positions`` (interior knots).
    ``peak_lr`` and ``weight_decay`` apply to every optimizer without its own; left out, each
    optimizer takes its registry defaults (:mod:`lrsearch.optimizers`: Adam-type optimizers
    search other decades than SGD, AdamW's decay is decoupled). ``peak_lr: auto`` sets the
    peak-LR range of every optimizer without its own ``peak_lr`` from an LR range test (see
    :class:`LrRangeTestConfig`).
    """

    families: Annotated[
        Annotated[list[str], Tag("value")]
        | Annotated[dict[str, dict[str, Any] | None], Tag("mapping")],
        Discriminator(shape_tag)] = Field(
        default_factory=lambda: list(DEFAULT_FAMILIES))
    peak_lr: PeakLr | None = None
    warmup_frac: Number = Field(default_factory=lambda: Range(
        low=WARMUP_FRAC.search.low, high=WARMUP_FRAC.search.high))
    warmup_start: Number = WARMUP_START_DEFAULT
    optimizers: Annotated[
        Annotated[list[Literal[OPTIMIZERS]], Tag("value")]
        | Annotated[dict[Literal[OPTIMIZERS], OptimizerSpace | None], Tag("mapping")],
        Discriminator(shape_tag)] = Field(default_factory=lambda: ["sgd"])
    weight_decay: Number | None = None
    head_lr_mult: Number = HEAD_LR_MULT.default

    _numbers = field_validator("peak_lr", "warmup_frac", "warmup_start", "weight_decay",
                               "head_lr_mult")(check_number)

    @field_validator("optimizers")
    @classmethod
    def _some_optimizer(cls, optimizers: Any) -> Any:
        if not optimizers:
            raise ValueError(f"must name at least one optimizer, of {list(OPTIMIZERS)}")
        return optimizers


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

    _warmup = field_validator("warmup_frac")(check_number)


Baseline = Annotated[Annotated[Literal[BASELINE_PRESETS], Tag("value")]
                     | Annotated[BaselineConfig, Tag("mapping")], Discriminator(shape_tag)]
"""A ready-made baseline by name, or a :class:`BaselineConfig` (a point of the search space)."""


class StudyConfig(_Strict):
    """A whole study file.

    ``direction`` follows from ``metric`` when left out (the loader fills it in and checks
    that a given one fits). ``model`` is a built-in model's name or ``module:function``, called
    as ``function(num_classes=N, **model_kwargs)``. ``study_dir`` is the folder that such
    modules are imported from first and that relative data roots start from: the study file's
    own folder (:func:`~lrsearch.config.load_study` fills it in); None: the working directory.

    Example:
        >>> StudyConfig(name="demo").search_space.optimizers
        ['sgd']
    """

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS,
                      pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    storage: str = DEFAULT_STORAGE
    storage_options: StorageOptions = Field(default_factory=StorageOptions)
    metric: Literal[METRICS] = DEFAULT_METRIC
    direction: Literal["maximize", "minimize"] | None = None
    n_trials: int | None = Field(default=20, ge=1, le=MAX_TRIALS)
    timeout_s: float | None = Field(default=None, gt=0)
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    data: DataSettings = Field(default_factory=DataSettings)
    model: ModelName = DEFAULT_MODEL
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    search_space: SearchSpaceConfig = Field(default_factory=SearchSpaceConfig)
    baselines: list[Baseline] = Field(default_factory=list)
    reseed: ReseedConfig = Field(default_factory=ReseedConfig)
    target_epochs: int | None = Field(default=None, ge=1)
    horizon_sweep: HorizonSweepConfig = Field(default_factory=HorizonSweepConfig)
    lr_range_test: LrRangeTestConfig = Field(default_factory=LrRangeTestConfig)
    checkpoint_dir: str = "lrsearch-checkpoints"
    study_dir: str | None = None

    def train_settings(self, **changes: Any) -> TrainSettings:
        """The settings of one training run of this study: ``training`` and ``model``, with
        ``changes`` (e.g. ``seed``) applied."""
        return TrainSettings(**{**self.training.model_dump(), "model": self.model,
                                "model_kwargs": self.model_kwargs,
                                "study_dir": self.study_dir, **changes})
