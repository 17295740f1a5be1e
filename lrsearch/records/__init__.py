"""Records: what a study stores, defined once for the search that writes it and the report.

The names of every trial attribute and study record (``SCHEDULE_ATTR``, ``CONFIG_ATTR``, ...),
small readers of them (:func:`trial_family`, :func:`stored_metric`, ...), how a failed trial is
queued again (:func:`retry_trial`), storage URLs (:func:`normalise_url`, :func:`redact_url`)
and opening a storage, to run a study (:func:`open_storage`) or to read one
(:func:`load_report_study`), and the paired statistics of a confirmation. It needs Optuna and
SQLAlchemy, never torch or plotly.

Example:
    >>> import optuna
    >>> from lrsearch.records import SCHEDULE_ATTR, redact_url, trial_family
    >>> trial_family(optuna.trial.create_trial(value=0.9, user_attrs={
    ...     SCHEDULE_ATTR: {"family": "wsd"}}))
    'wsd'
    >>> redact_url("postgresql://me:secret@db/lrsearch")
    'postgresql://me:***@db/lrsearch'
"""

from lrsearch.records._attrs import (
    BASELINE_ATTR,
    CLAIM_ATTR,
    CONFIG_ATTR,
    CONFIRM_ATTR,
    DATA_ATTR,
    DEVICE_NAME_ATTR,
    EPOCHS_ATTR,
    FAIL_REASON_ATTR,
    FAMILY_PARAM,
    FINGERPRINT_ATTR,
    FIXED_OPTIMIZER_ATTR,
    FIXED_SCHEDULE_ATTR,
    GIT_SHA_ATTR,
    HORIZON_SWEEP_ATTR,
    HOST_ATTR,
    IMAGES_PER_SECOND_ATTR,
    INTERRUPTED,
    LOST_PREFIX,
    LR_CURVE_ATTR,
    LRSEARCH_VERSION_ATTR,
    MODEL_ATTR,
    OPTIMIZER_ATTR,
    OPTIMIZER_PARAM,
    OPTUNA_VERSION_ATTR,
    POLISH_ATTR,
    PRIOR_ATTR,
    PROVENANCE_ATTRS,
    PRUNE_REASON_ATTR,
    PYTHON_VERSION_ATTR,
    RANGE_TEST_ATTR_PREFIX,
    RESEEDS_ATTR,
    RETRY_OF_ATTR,
    RUN_ONLY_ATTRS,
    RUNGS_ATTR,
    SCHEDULE_ATTR,
    SEARCH_SPACE_ATTR,
    SETUP_DONE_ATTR,
    SHOWN_PROVENANCE_ATTRS,
    STUDY_UID_ATTR,
    TEST_ACC_ATTR,
    TORCH_VERSION_ATTR,
    TRAINING_LOOP_ATTR,
    WALL_SECONDS_ATTR,
    WORKER_ATTR,
)
from lrsearch.records._horizon import (
    MAX_TRANSFER_FACTOR,
    TRANSFER_RULE,
    BestPeakLr,
    HorizonFit,
    HorizonPoint,
    TransferError,
    best_peak_lr,
    fit_horizon,
    horizon_points,
    same_shape,
    supported_epochs,
)
from lrsearch.records._optuna import fail_running_trial, heartbeat_interval, stored_trial, trial_id
from lrsearch.records._paired import (
    MIN_INTERVAL_VALUES,
    Summary,
    paired_margin,
    summarise_values,
    t_quantile_975,
)
from lrsearch.records._readers import (
    DEFAULT_METRIC,
    fail_reason,
    is_baseline,
    is_polish,
    is_preset,
    is_prior,
    probe_key,
    stored_config,
    stored_epochs,
    stored_metric,
    stored_reported_kind,
    trial_baseline,
    trial_cost_epochs,
    trial_epochs,
    trial_family,
    trial_lr_curve,
    trial_optimizer,
    trial_reason,
    trial_schedule,
    trial_worker,
)
from lrsearch.records._retry import RetryTrial, retry_trial
from lrsearch.records._run_lock import sqlite_run_lock
from lrsearch.records._storage import (
    check_storage,
    load_report_study,
    open_report_storage,
    open_storage,
    storage_problems,
    study_names,
)
from lrsearch.records._storage_faults import (
    DISK_ERRNOS,
    FAIL_RETRY_S,
    STORAGE_ERRORS,
    LoopFault,
    StorageLost,
    apply_pending_failures,
    disk_error_in,
    fail_after_storage_error,
    optimize_one,
    raise_if_storage_lost,
    storage_cause,
    storage_error_in,
    storage_failed_line,
    storage_hint,
    through_outage,
)
from lrsearch.records._store import (
    CONFIG_DIGEST_ATTR,
    FACE_ATTRS,
    RECORD_PREFIX,
    config_digest,
    inherited_curve,
    set_curve,
    set_study_face,
    set_study_record,
    study_records,
    with_curves,
)
from lrsearch.records._stored_json import check_readable
from lrsearch.records._winner import (
    rank_complete,
    reseed_runs,
    score_text,
    trial_score,
    trial_seed_values,
)
from lrsearch.urls import SERVER_URL_EXAMPLES, is_sqlite, normalise_url, redact_url

__all__ = [
    "CONFIG_DIGEST_ATTR", "FACE_ATTRS", "RECORD_PREFIX", "config_digest", "inherited_curve",
    "set_curve", "set_study_face", "set_study_record", "study_records", "with_curves",
    "HORIZON_SWEEP_ATTR", "MAX_TRANSFER_FACTOR", "BestPeakLr", "HorizonFit", "HorizonPoint",
    "TransferError", "best_peak_lr", "fit_horizon", "horizon_points", "same_shape",
    "supported_epochs", "TRANSFER_RULE",
    "fail_running_trial", "heartbeat_interval", "stored_trial", "trial_id", "LoopFault",
    "optimize_one",
    "DISK_ERRNOS", "FAIL_RETRY_S", "STORAGE_ERRORS", "StorageLost", "apply_pending_failures",
    "disk_error_in",
    "fail_after_storage_error", "raise_if_storage_lost", "storage_cause", "storage_error_in",
    "storage_failed_line", "storage_hint", "through_outage",
    "BASELINE_ATTR", "CLAIM_ATTR", "CONFIG_ATTR", "CONFIRM_ATTR", "DATA_ATTR", "DEFAULT_METRIC",
    "DEVICE_NAME_ATTR", "EPOCHS_ATTR", "FAIL_REASON_ATTR", "FAMILY_PARAM", "FINGERPRINT_ATTR",
    "FIXED_OPTIMIZER_ATTR", "FIXED_SCHEDULE_ATTR", "GIT_SHA_ATTR", "HOST_ATTR",
    "IMAGES_PER_SECOND_ATTR", "INTERRUPTED", "LOST_PREFIX", "LRSEARCH_VERSION_ATTR",
    "LR_CURVE_ATTR", "OPTIMIZER_ATTR", "OPTIMIZER_PARAM", "OPTUNA_VERSION_ATTR",
    "POLISH_ATTR", "PRIOR_ATTR",
    "PROVENANCE_ATTRS", "PRUNE_REASON_ATTR", "PYTHON_VERSION_ATTR", "RANGE_TEST_ATTR_PREFIX",
    "RESEEDS_ATTR", "STUDY_UID_ATTR", "check_readable", "sqlite_run_lock", "rank_complete",
    "reseed_runs",
    "score_text", "trial_score",
    "trial_seed_values", "RETRY_OF_ATTR", "RUNGS_ATTR",
    "RUN_ONLY_ATTRS", "RetryTrial", "SCHEDULE_ATTR", "SEARCH_SPACE_ATTR", "SERVER_URL_EXAMPLES",
    "SETUP_DONE_ATTR", "SHOWN_PROVENANCE_ATTRS", "Summary", "TEST_ACC_ATTR", "TORCH_VERSION_ATTR",
    "WALL_SECONDS_ATTR", "WORKER_ATTR", "check_storage", "fail_reason", "is_baseline",
    "is_polish", "is_preset",
    "is_prior", "is_sqlite", "load_report_study", "normalise_url", "open_report_storage",
    "open_storage", "storage_problems", "paired_margin", "probe_key", "redact_url",
    "retry_trial", "stored_config",
    "stored_epochs", "stored_metric", "stored_reported_kind", "study_names", "summarise_values",
    "t_quantile_975",
    "MIN_INTERVAL_VALUES", "trial_baseline", "trial_cost_epochs", "trial_epochs", "trial_family",
    "MODEL_ATTR", "TRAINING_LOOP_ATTR", "trial_lr_curve", "trial_optimizer", "trial_reason",
    "trial_schedule", "trial_worker",
]
