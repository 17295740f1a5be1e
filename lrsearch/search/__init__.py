"""Search: study files turned into Optuna studies, trials, pruning, storage and workers.

``run_study`` runs a study in this process (:mod:`lrsearch.search.parallel` holds what a
process needs to share a study with others; :mod:`lrsearch.launch`, a floor above, starts
several); ``run_range_test`` runs a study's LR range test (``lrsearch find-lr``,
``peak_lr: auto``). The search space (``SearchSpace``), sampler and pruner factories, the
objective and the storage opener (from :mod:`lrsearch.records`) are public for tests and for
users who build their own loop.

Example:
    >>> from lrsearch.config import parse_study
    >>> from lrsearch.search import SearchSpace, build_pruner
    >>> config = parse_study({"name": "demo", "training": {"epochs": 8}})
    >>> sorted(SearchSpace.from_config(config).as_dict()["families"])
    ['cosine', 'linear', 'multistep', 'onecycle', 'wsd']
    >>> type(build_pruner(config.pruner, epochs=8)).__name__
    'HorizonPruner'
"""

from lrsearch.records import (
    CONFIRM_ATTR,
    check_storage,
    is_sqlite,
    normalise_url,
    open_storage,
    redact_url,
    retry_trial,
    trial_family,
)
from lrsearch.search._checkpoints import checkpoint_path, checkpoint_problems, study_folder
from lrsearch.search._confirm import Candidate, confirm_study, pick_candidates
from lrsearch.search._lr_range_test import (
    auto_range,
    range_test_optimizer,
    range_test_record,
    resolve_auto_peak_lr,
    run_range_test,
)
from lrsearch.search._objective import Objective
from lrsearch.search._progress import RangeTestProgress, StudyProgress
from lrsearch.search._provenance import fingerprint, provenance, resolved_config, space_changes
from lrsearch.search._pruners import build_pruner
from lrsearch.search._queue import preset_trial, reference_value
from lrsearch.search._runner import RunSummary, TrialCallback, run_study, summarise
from lrsearch.search._samplers import build_sampler, grid_walked, sampler_problems
from lrsearch.search._space import MAX_GRID_SIZE, PLACEHOLDER_TOTAL_STEPS, SearchSpace, grid_size
from lrsearch.search._study import OpenedStudy, open_study
from lrsearch.search._user_objective import Trial, UserObjective
from lrsearch.search.parallel import fail_dead_workers, worker_id

__all__ = [
    "StudyProgress",
    "CONFIRM_ATTR", "Candidate", "MAX_GRID_SIZE", "PLACEHOLDER_TOTAL_STEPS", "Objective",
    "OpenedStudy", "RangeTestProgress", "RunSummary", "SearchSpace", "TrialCallback", "auto_range",
    "build_pruner", "build_sampler", "check_storage", "checkpoint_path",
    "checkpoint_problems", "study_folder", "confirm_study", "fail_dead_workers",
    "fingerprint", "Trial",
    "UserObjective", "grid_size", "grid_walked", "is_sqlite", "normalise_url", "open_storage",
    "open_study", "pick_candidates", "preset_trial", "provenance",
    "range_test_optimizer", "range_test_record", "redact_url", "reference_value",
    "resolve_auto_peak_lr", "resolved_config", "retry_trial", "run_range_test",
    "run_study", "sampler_problems", "space_changes", "summarise", "trial_family",
    "worker_id",
]
