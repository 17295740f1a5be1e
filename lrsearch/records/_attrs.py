"""The names of what lrsearch stores in a study: trial attributes and study records, each once.

The objective writes a trial's attributes while the trial runs; the process that creates a
study writes its resolved config, search space, fingerprint and provenance, then its LR range
tests and set-up claim; ``lrsearch confirm`` adds the confirmation (all in ``lrsearch.search``).
The report, the export, the dashboard's note, the progress display and the recovery of dead
workers read them back, all by these names (where each lives: :mod:`lrsearch.records._store`).
Values are plain JSON (Optuna stores attributes with ``json.dumps``): python ints, floats,
strings, lists and dicts, never numpy or torch scalars.
"""

from __future__ import annotations

__all__ = [
    "STUDY_UID_ATTR", "BASELINE_ATTR", "CLAIM_ATTR", "CONFIG_ATTR", "CONFIRM_ATTR",
    "DEVICE_NAME_ATTR",
    "EPOCHS_ATTR", "FAIL_REASON_ATTR", "FAMILY_PARAM", "FINGERPRINT_ATTR", "FIXED_OPTIMIZER_ATTR",
    "FIXED_SCHEDULE_ATTR", "GIT_SHA_ATTR", "HOST_ATTR", "IMAGES_PER_SECOND_ATTR", "INTERRUPTED",
    "LOST_PREFIX", "LR_CURVE_ATTR", "LRSEARCH_VERSION_ATTR", "OPTIMIZER_ATTR", "OPTIMIZER_PARAM",
    "OPTUNA_VERSION_ATTR", "POLISH_ATTR",
    "PRIOR_ATTR", "PROVENANCE_ATTRS", "PRUNE_REASON_ATTR",
    "PYTHON_VERSION_ATTR", "RANGE_TEST_ATTR_PREFIX", "RESEEDS_ATTR", "HORIZON_SWEEP_ATTR",
    "RETRY_OF_ATTR", "RUNGS_ATTR",
    "RUN_ONLY_ATTRS", "SCHEDULE_ATTR", "SEARCH_SPACE_ATTR", "SETUP_DONE_ATTR", "DATA_ATTR",
    "MODEL_ATTR", "TRAINING_LOOP_ATTR", "SHOWN_PROVENANCE_ATTRS", "TEST_ACC_ATTR",
    "TORCH_VERSION_ATTR", "WALL_SECONDS_ATTR", "WORKER_ATTR",
]

# The Optuna parameters every lrsearch trial has.
FAMILY_PARAM = "family"  # the schedule family a trial samples
OPTIMIZER_PARAM = "optimizer"  # the name of the optimizer it samples

# A trial's user attributes.
SCHEDULE_ATTR = "schedule"  # the spec run, laid onto the real steps (ScheduleSpec.to_dict)
OPTIMIZER_ATTR = "optimizer"  # the optimizer run: name, head_lr_mult, its own settings
EPOCHS_ATTR = "epochs"
"""One row per epoch: ``epoch``, ``step``, the raw metrics and, at the probed pruning points,
``probe_val_loss``, ``probe_val_acc``, ``probe_steps`` and ``probe_seconds``."""
LR_CURVE_ATTR = "lr_curve"  # [[step, lr], ...] as run (a pruned trial's part only)
WALL_SECONDS_ATTR = "wall_seconds"  # seconds its training ran (to its end, prune or error)
DEVICE_NAME_ATTR = "device_name"  # the device it trained on (also a study attribute)
IMAGES_PER_SECOND_ATTR = "images_per_second"  # training throughput of a complete trial
WORKER_ATTR = "worker"  # the process running it: host, pid, start time, boot id, pid namespace
BASELINE_ATTR = "baseline"  # the baseline's name, on a baseline's trial only
PRIOR_ATTR = "prior"  # the prior's name, on a trial queued as a prior (an ordinary trial)
POLISH_ATTR = "polish"  # {"trial": N, "factor": f, "n_trials": budget}: N's peak LR times f
FIXED_SCHEDULE_ATTR = "fixed_schedule"  # a ready-made baseline's spec: nothing is sampled
FIXED_OPTIMIZER_ATTR = "fixed_optimizer"  # ... and its optimizer settings
PRUNE_REASON_ATTR = "prune_reason"  # why it was pruned (or diverged)
FAIL_REASON_ATTR = "fail_reason"  # why it failed (or diverged)
RUNGS_ATTR = "rungs"
"""Horizon rungs a trial finished below the full length: one row each, ``epochs`` (the
horizon), ``value`` (the metric where that whole schedule ended), ``steps``, ``seconds``."""
RETRY_OF_ATTR = "retry_of"  # the number of the trial it reruns (worker died, or Ctrl-C)
TEST_ACC_ATTR = "test_acc"  # read only: a test accuracy set by hand, one number or per seed

RUN_ONLY_ATTRS = (FAIL_REASON_ATTR, PRUNE_REASON_ATTR, WORKER_ATTR, WALL_SECONDS_ATTR)
"""What belongs to one run of a trial: a retry does not inherit them (it keeps the spec, the
optimizer and the epochs done so far)."""

INTERRUPTED = "interrupted"
"""The ``fail_reason`` of a trial stopped by Ctrl-C (a copy of it is queued to continue)."""

LOST_PREFIX = "worker lost"
"""How every ``fail_reason`` of a trial failed because its worker was judged dead begins."""

# A study's records (lrsearch.records.study_records).
CONFIG_ATTR = "config"  # the resolved config, plain JSON, the storage password hidden
SEARCH_SPACE_ATTR = "search_space"  # SearchSpace.as_dict() of the space it was created with
FINGERPRINT_ATTR = "search_space_fingerprint"  # a hash of what makes its trials comparable
RANGE_TEST_ATTR_PREFIX = "lr_range_test."  # + optimizer: that optimizer's LR range test
CLAIM_ATTR = "setup_claim"  # who sets the study up (range tests, baselines), and how far
SETUP_DONE_ATTR = "setup_done"  # True once the set-up is complete
CONFIRM_ATTR = "confirmation"  # lrsearch confirm's runs: seeds, metric, top_k, runs
RESEEDS_ATTR = "reseeds"  # the top trials re-run before naming a winner: seeds, runs
HORIZON_SWEEP_ATTR = "horizon_sweep"
"""The winner's shape trained at a few peak LRs at two horizons (``target_epochs``):
``trial``, ``points`` (``epochs``, ``peak_lr``, ``value``; ``diverged`` ones apart),
``epochs_trained``, ``target_epochs`` (the study file's when it last ran)."""
STUDY_UID_ATTR = "uid"  # a random id, so checkpoints belong to this study, not to its name

LRSEARCH_VERSION_ATTR = "lrsearch_version"
TORCH_VERSION_ATTR = "torch_version"
OPTUNA_VERSION_ATTR = "optuna_version"
PYTHON_VERSION_ATTR = "python_version"
GIT_SHA_ATTR = "git_sha"  # the commit of the lrsearch sources, "+dirty" with local changes
HOST_ATTR = "host"  # the machine that created the study
MODEL_ATTR = "model"  # the model trained: its name or factory call, and its parameter count
DATA_ATTR = "data"  # the data: where from, the splits, image shape, classes
TRAINING_LOOP_ATTR = "training_loop"  # the user's train_fn (lrsearch.optimize), if not ours

PROVENANCE_ATTRS = (LRSEARCH_VERSION_ATTR, TORCH_VERSION_ATTR, OPTUNA_VERSION_ATTR,
                    PYTHON_VERSION_ATTR, GIT_SHA_ATTR, HOST_ATTR)
"""Where and with what the study was created: stored once, when it is created."""

SHOWN_PROVENANCE_ATTRS = (*PROVENANCE_ATTRS, MODEL_ATTR, DATA_ATTR, TRAINING_LOOP_ATTR,
                          DEVICE_NAME_ATTR, FINGERPRINT_ATTR)
"""What a report shows of where the study ran (the device: by its first complete trial; the
model and data: by the first run that trained)."""
