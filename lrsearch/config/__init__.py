"""Study files: pydantic models (unknown keys rejected), the YAML loader, and the settings of
the data, training and LR range test that the training code takes as they are.

Example:
    >>> from lrsearch.config import parse_study
    >>> config = parse_study({"name": "demo", "search_space": {"families": ["cosine"]}})
    >>> config.direction, config.training.epochs
    ('maximize', 10)
"""

from lrsearch.config._checks import baseline_params, optimizer_space
from lrsearch.config._families import (
    FINAL_KNOT_HIGH,
    KNOT_POSITIONS,
    FamilySearch,
    ParamSearch,
    resolve_families,
)
from lrsearch.config._loader import load_study, parse_study
from lrsearch.config._models import (
    DEFAULT_FAMILIES,
    DEFAULT_METRIC,
    DEFAULT_PRUNER,
    DEFAULT_STORAGE,
    MODEL_BASED_SAMPLERS,
    OWN_LOOP_PRUNER,
    BaselineConfig,
    HorizonSweepConfig,
    OptimizerSpace,
    PrunerConfig,
    ReseedConfig,
    SamplerConfig,
    SearchSpaceConfig,
    StorageOptions,
    StudyConfig,
)
from lrsearch.config._pruning import (
    PRUNERS,
    PruningPolicy,
    pruning_epochs,
    pruning_policy,
    reported_kind,
    resolve_judge,
)
from lrsearch.config._settings import (
    DATASETS,
    DEFAULT_RULE,
    DEVICE_PATTERN,
    IMAGEFOLDER,
    RANGE_TEST_RULES,
    DataSettings,
    LrRangeTestConfig,
    ProbeSettings,
    RangeTestSettings,
    TrainingConfig,
    TrainSettings,
    is_factory,
    threads_per_process,
    usable_cores,
)
from lrsearch.config._types import AUTO, Range

__all__ = [
    "MODEL_BASED_SAMPLERS",
    "DATASETS", "DEVICE_PATTERN", "IMAGEFOLDER", "is_factory", "threads_per_process",
    "usable_cores",
    "DEFAULT_METRIC",
    "AUTO", "DEFAULT_FAMILIES", "DEFAULT_PRUNER", "DEFAULT_RULE", "DEFAULT_STORAGE",
    "FINAL_KNOT_HIGH",
    "KNOT_POSITIONS", "OWN_LOOP_PRUNER",
    "RANGE_TEST_RULES", "BaselineConfig", "DataSettings", "FamilySearch", "LrRangeTestConfig",
    "OptimizerSpace", "ParamSearch", "ProbeSettings", "PrunerConfig", "Range", "RangeTestSettings",
    "ReseedConfig", "HorizonSweepConfig", "pruning_epochs", "PRUNERS", "PruningPolicy",
    "pruning_policy", "reported_kind",
    "resolve_judge",
    "SamplerConfig", "SearchSpaceConfig", "StorageOptions", "StudyConfig", "TrainSettings",
    "TrainingConfig", "baseline_params", "load_study", "optimizer_space", "parse_study",
    "resolve_families",
]
