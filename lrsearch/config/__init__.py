"""Study files: pydantic models (unknown keys rejected) and the YAML loader.

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
                                       AUTO,
                                       DEFAULT_STORAGE,
                                       RANGE_TEST_RULES,
                                       BaselineConfig,
                                       DataConfig,
                                       LrRangeTestConfig,
                                       OptimizerSpace,
                                       PrunerConfig,
                                       Range,
                                       SamplerConfig,
                                       SearchSpaceConfig,
                                       StorageOptions,
                                       StudyConfig,
                                       TrainingConfig,
)

__all__ = [
    "AUTO", "DEFAULT_STORAGE", "FINAL_KNOT_HIGH", "KNOT_POSITIONS", "RANGE_TEST_RULES",
    "BaselineConfig", "DataConfig", "FamilySearch", "LrRangeTestConfig", "OptimizerSpace",
    "ParamSearch", "PrunerConfig", "Range", "SamplerConfig", "SearchSpaceConfig",
    "StorageOptions", "StudyConfig", "TrainingConfig", "baseline_params", "load_study",
    "optimizer_space", "parse_study", "resolve_families",
]
