"""Create a study or open an existing one: store what it is, check it, set it up.

The process that creates a study stores its resolved config, provenance and search-space
fingerprint, runs the LR range tests of ``peak_lr: auto`` (stored in the study, see
:mod:`lrsearch.search._lr_range_test`) and then queues the baselines at the resolved peak LR. A
study found (a resume) is checked against the config first: a changed search space, direction
or pruning judge is refused. When other processes open the same study, which of them does
which step is decided by :func:`_set_up_study` (claims: :mod:`lrsearch.search.parallel`).

Before a study is opened: load its data and build its model once, and say what they are.

A data set that cannot be read or a user's model that does not import, raises or returns the
wrong shape fails here, with its own message, before anything is stored. The two lines that
describe the model and the data are printed as a run's first lines and stored in the study
(by the first process that gets here), where the report's provenance shows them.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from lrsearch.config import (
    BaselineConfig,
    StudyConfig,
    pruning_policy,
    reported_kind,
    resolve_judge,
)
from lrsearch.errors import StudyError
from lrsearch.records import (
    BASELINE_ATTR,
    CLAIM_ATTR,
    CONFIG_ATTR,
    DATA_ATTR,
    FINGERPRINT_ATTR,
    FIXED_OPTIMIZER_ATTR,
    FIXED_SCHEDULE_ATTR,
    MODEL_ATTR,
    SEARCH_SPACE_ATTR,
    STUDY_UID_ATTR,
    check_readable,
    is_sqlite,
    normalise_url,
    open_storage,
    redact_url,
    set_study_face,
    set_study_record,
    stored_reported_kind,
    study_records,
    trial_baseline,
)
from lrsearch.search._checkpoints import new_study_uid
from lrsearch.search._lr_range_test import resolve_auto_peak_lr
from lrsearch.search._provenance import (
    fingerprint,
    provenance,
    resolved_config,
    space_changes,
)
from lrsearch.search._pruners import build_pruner
from lrsearch.search._queue import enqueue_priors, preset_trial, uses_priors
from lrsearch.search._samplers import build_sampler
from lrsearch.search._space import SearchSpace
from lrsearch.search.parallel import SetupClaim, await_setup

__all__ = ["OpenedStudy", "open_study", "load_checked", "store_description"]


@dataclass
class OpenedStudy:
    """A study ready to optimize.

    Attributes:
        study: The Optuna study, with this worker's sampler and the configured pruner.
        space: The search space its trials sample (``auto`` peak LRs set).
        created: This call created the study.
        heartbeat: The storage fails and retries trials of dead workers.
        range_tests_run: Optimizers whose LR range test ran in this call (``peak_lr: auto``
            with no result stored in the study yet, and this process set the study up).
    """

    study: optuna.Study
    space: SearchSpace
    created: bool
    heartbeat: bool
    range_tests_run: tuple[str, ...] = ()


def open_study(config: StudyConfig, worker_index: int = 0,
               progress: str | None = None) -> OpenedStudy:
    """Create the study of ``config`` or load it (same name and storage = resume).

    Args:
        config: The checked study config.
        worker_index: This worker's index (seeds differ per worker).
        progress: Progress of an LR range test, as for ``run_study``; unless ``"off"``,
            waiting for another process's set-up is said on stderr.

    Raises:
        StudyError: Storage unreachable, or the study exists with another search space or
            direction.
        DataError: A range test is due and the data cannot be read.
    """
    space = SearchSpace.from_config(config)
    storage = open_storage(config.storage, config.storage_options)
    pruner = build_pruner(config.pruner, config.training.epochs)
    sampler = build_sampler(config.sampler, space, worker_index)
    try:
        study = optuna.create_study(storage=storage, sampler=sampler, pruner=pruner,
                                    study_name=config.name, direction=config.direction)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=config.name, storage=storage, sampler=sampler,
                                  pruner=pruner)
        created = False
        check_readable(study, f"study {config.name!r} in {redact_url(config.storage)}")
    auto = bool(space.auto_optimizers)
    steps = _Steps(study, config, space, fingerprint(config, space), storage, progress)
    space, ran = _set_up_study(study, steps, created, say=progress != "off")
    if not created or auto:
        # A resumed or joining worker draws a fresh random stream, not the first run's again;
        # a resolved auto peak LR is a new range for the sampler (and for a grid's values).
        study.sampler = build_sampler(config.sampler, space, worker_index,
                                      0 if created else len(study.trials))
    heartbeat = not is_sqlite(normalise_url(config.storage))
    return OpenedStudy(study, space, created, heartbeat, tuple(ran))


def _initialise(study: optuna.Study, config: StudyConfig, space: SearchSpace,
                new_fingerprint: str) -> None:
    set_study_record(study, FINGERPRINT_ATTR, new_fingerprint)
    set_study_record(study, STUDY_UID_ATTR, new_study_uid())
    with warnings.catch_warnings():  # experimental in Optuna; names the dashboard's axes
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([config.metric])
    stored = resolved_config(config)
    stored["pruner"]["judge"] = resolve_judge(config.pruner, len(space.families))
    set_study_record(study, CONFIG_ATTR, stored)
    set_study_face(study, stored)
    set_study_record(study, SEARCH_SPACE_ATTR, space.as_dict())
    for key, value in provenance().items():
        set_study_record(study, key, value)


@dataclass
class _Steps:
    """The steps of opening ``study`` with ``config``: ``initialise`` stores the fingerprint,
    resolved config and provenance; ``check`` refuses a study made with another search space,
    direction or pruning judge; ``set_up`` runs the range tests not stored yet and queues the
    baselines not queued yet; ``resolve`` reads the space resolved with the stored range tests
    (both return the space and the optimizers whose range test ran here)."""

    study: optuna.Study
    config: StudyConfig
    space: SearchSpace
    new_fingerprint: str
    storage: optuna.storages.BaseStorage
    progress: str | None

    def initialise(self) -> None:
        """Store the fingerprint, the resolved config, the search space and provenance."""
        _initialise(self.study, self.config, self.space, self.new_fingerprint)

    def check(self) -> None:
        """Refuse a study that lrsearch did not create, or made with another space or judge."""
        _check_compatible(self.study, self.config, self.new_fingerprint, self.storage)
        _check_same_judge(self.study, self.config, len(self.space.families), self.storage)

    def set_up(self) -> tuple[SearchSpace, list[str]]:
        """The range tests not stored yet, then the baselines not queued yet (presets use the
        resolved peak-LR range)."""
        space, ran = self.resolve()
        _enqueue_baselines(self.study, self.config.baselines, space)
        if uses_priors(self.config):
            enqueue_priors(self.study, space, self.config.sampler.prior_lr_factors)
        return space, ran

    def resolve(self) -> tuple[SearchSpace, list[str]]:
        """The space with the stored range tests (a test not stored yet is run and stored)."""
        return resolve_auto_peak_lr(self.study, self.config, self.space, self.progress)


def _enqueue_baselines(study: optuna.Study, baselines: Sequence[str | BaselineConfig],
                       space: SearchSpace) -> None:
    """Queue the baselines no trial carries yet, first: presets as fixed trials, others as
    points of space (a set-up taken over after its holder stopped may find some queued)."""
    queued = {trial_baseline(t) for t in study.get_trials(deepcopy=False)}
    for baseline in baselines:
        if (baseline if isinstance(baseline, str) else baseline.name) in queued:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if isinstance(baseline, str):  # a preset: a fixed trial, outside the space
                spec, optimizer = preset_trial(baseline, space)
                study.enqueue_trial(space.fixed_params(spec.family), user_attrs={
                    BASELINE_ATTR: baseline, FIXED_SCHEDULE_ATTR: spec.to_dict(),
                    FIXED_OPTIMIZER_ATTR: optimizer})
                continue
            study.enqueue_trial(space.baseline_params(baseline),
                                user_attrs={BASELINE_ATTR: baseline.name}, skip_if_exists=True)


def _check_compatible(study: optuna.Study, config: StudyConfig, new_fingerprint: str,
                      storage: optuna.storages.BaseStorage) -> None:
    where = f"study {config.name!r} in {redact_url(config.storage)}"
    old = study_records(study).get(FINGERPRINT_ATTR)
    if old is None:
        raise StudyError(f"{where} was not created by lrsearch (it has no "
                         f"{FINGERPRINT_ATTR}); use a new study name, e.g. "
                         f"{_free_name(config.name, storage)}")
    if old != new_fingerprint:
        changed = "; ".join(space_changes(study_records(study), config)) or \
            f"fingerprint {old} -> {new_fingerprint}"
        raise StudyError(f"{where}: its search space, model, data or training length changed "
                         f"since it was created ({changed}), so old and new trials would not "
                         f"be comparable; use a new study name, e.g. "
                         f"{_free_name(config.name, storage)}")
    if study.direction.name.lower() != config.direction:
        raise StudyError(f"{where} is {study.direction.name.lower()}d, the study file says "
                         f"{config.direction}; use a new study name, e.g. "
                         f"{_free_name(config.name, storage)}")


def _check_same_judge(study: optuna.Study, config: StudyConfig, family_count: int,
                      storage: optuna.storages.BaseStorage) -> None:
    """Refuse to let the pruner compare probe values with raw ones at the same epoch."""
    policy = pruning_policy(config.pruner.name)
    if not (policy.judged or policy.rungs):
        return  # nothing is compared
    old = stored_reported_kind(study_records(study))
    new = reported_kind(config.pruner.name, resolve_judge(config.pruner, family_count))
    if old != new:
        raise StudyError(f"pruner.judge: got {new!r}; study {config.name!r} in "
                         f"{redact_url(config.storage)} reported {old} values to its pruner, "
                         f"which must not compare them with {new} ones; set pruner.judge: "
                         f"{old} to resume it, or use a new study name, e.g. "
                         f"{_free_name(config.name, storage)}")


def _free_name(name: str, storage: optuna.storages.BaseStorage) -> str:
    """``name-2``, ``name-3``, ...: the first name no study in ``storage`` has."""
    taken = {s.study_name for s in storage.get_all_studies()}
    k = 2
    while f"{name}-{k}" in taken:
        k += 1
    return f"{name}-{k}"


def load_checked(config: StudyConfig, say: bool = True) -> tuple[Any, dict[str, str]]:
    """The study's data (loaded once per process) and ``{model, data}`` descriptions.

    Raises:
        DataError: The data cannot be found or read.
        TrainingError: The model cannot be built, or does not fit the data.
    """
    from lrsearch.train import describe_model, load_data

    data = load_data(config.data, config.training.device, config.study_dir)
    model = describe_model(config.model, config.model_kwargs, config.study_dir,
                           tuple(data.train_x.shape[1:]), data.num_classes)
    described = {MODEL_ATTR: model, DATA_ATTR: data.describe()}
    if say:
        for key, line in described.items():
            print(f"{key}: {line}", file=sys.stderr, flush=True)
    return data, described


def store_description(study: optuna.Study, described: dict[str, str]) -> None:
    """Store the descriptions in ``study`` unless they are there already."""
    for key, line in described.items():
        if key not in study_records(study):
            set_study_record(study, key, line)


INIT_WAIT_S = 10.0  # a study just created by another process claims its set-up in this time


def _set_up_study(study: optuna.Study, steps: _Steps, created: bool,
                   say: bool = True) -> tuple[SearchSpace, list[str]]:
    """Run the steps of opening ``study`` this process should run; the resolved space and the
    range tests run here.

    A single process creates the study, stores what it is and sets it up. With several (a
    resume, another worker, a machine joining through a server database), the creator claims
    the set-up before it writes anything, and every other process checks the fingerprint,
    refusing a changed space, then waits until the set-up is done, or finishes it when its
    holder stopped (raised, was interrupted or killed; :mod:`lrsearch.search.parallel`): so a
    first run stopped during its range test loses neither the test nor the baselines, and the
    baselines are queued once. A creator stopped before it stored the fingerprint and config
    leaves a claimed study without them: whoever takes the set-up over stores them first.

    Args:
        study: The study, just created or loaded.
        steps: Its steps.
        created: This process created the study.
        say: Print on stderr what it waits for, and why it takes over.
    """
    if created:
        # Claimed before anything else is written: a joiner sees someone is at work.
        with SetupClaim.write(study):
            steps.initialise()
            return steps.set_up()
    _await_claimed(study)
    attrs = study_records(study)
    # Claimed, no fingerprint yet: its creator is storing it, or stopped before (then the
    # set-up is taken over here, and checked once the fingerprint is there).
    checked = FINGERPRINT_ATTR in attrs or CLAIM_ATTR not in attrs
    if checked:
        steps.check()
    return _join(study, steps, checked, say)


def _join(study: optuna.Study, steps: _Steps, checked: bool,
          say: bool) -> tuple[SearchSpace, list[str]]:
    """Wait for the set-up of the study's holder, or finish it here when the holder stopped
    (storing the fingerprint and config first if its creator stopped before that); then
    check the study unless that was ``checked`` already."""
    claim = await_setup(study, say=say)
    if claim is None:
        if not checked:
            steps.check()
        return steps.resolve()
    with claim:
        if FINGERPRINT_ATTR not in study_records(study):
            steps.initialise()
        if not checked:
            steps.check()
        return steps.set_up()


def _await_claimed(study: optuna.Study) -> None:
    """Give a study that another process has just created the moment it needs to claim its
    set-up (its first write); a study with attributes or trials is past that."""
    deadline = time.monotonic() + INIT_WAIT_S
    while not study_records(study) and not study.get_trials(deepcopy=False) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
