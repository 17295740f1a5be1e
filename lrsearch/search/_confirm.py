"""Confirm a search: re-train the top schedules and the baselines with fresh seeds, on the test set.

The search picked its winners on the validation split, so their validation values are biased
upwards (the winner's curse) and carry one seed's noise. ``confirm_study`` re-trains the top-K
complete trials and every baseline with the same S fresh seeds on the full training set
(the training split plus the validation images, which the search no longer needs), and
evaluates each once on the test set. Results go into the study's ``confirmation`` user
attribute after every run, so an interrupted confirmation resumes where it stopped.

Stored runs are never deleted. A later call trains only the (candidate, seed) pairs not
stored yet; one with fewer seeds or a smaller top-K trains nothing and keeps every run. The
confirmation (the attribute, what ``lrsearch confirm`` prints, the report) covers every
stored run: each schedule over the seeds it has, paired margins over the seeds both have.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from lrsearch.config import parse_study
from lrsearch.errors import LrsearchError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import (
    CONFIRM_ATTR,
    TRAINING_LOOP_ATTR,
    rank_complete,
    reseed_runs,
    set_study_record,
    stored_config,
    study_records,
    trial_baseline,
    trial_family,
    trial_optimizer,
    trial_schedule,
    trial_score,
)
from lrsearch.schedules import ScheduleSpec

__all__ = ["Candidate", "CONFIRM_SEED_BASE", "pick_candidates", "confirm_study"]

# Seeds of confirmation runs: far from the search's training seeds, so they are fresh.
CONFIRM_SEED_BASE = 10_000


@dataclass(frozen=True)
class Candidate:
    """A schedule to confirm: a top trial or a baseline.

    Attributes:
        trial: Its trial number in the study.
        label: ``trial 12 (wsd)`` or the baseline's name.
        baseline: The baseline's name, or None.
        spec: Its schedule.
        optimizer: Its optimizer settings.
        search_value: Its value in the search (validation; the mean over its re-runs where
            the study re-ran it, :mod:`lrsearch.records._winner`).
    """

    trial: int
    label: str
    baseline: str | None
    spec: ScheduleSpec
    optimizer: dict[str, Any]
    search_value: float


def pick_candidates(study: optuna.Study, top_k: int) -> list[Candidate]:
    """The ``top_k`` best complete non-baseline trials, then each baseline's complete trial.

    Raises:
        LrsearchError: The study has no complete trial with a stored schedule.
    """
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    # Ranked as the winner is named: by the mean over a trial's re-runs where it has some.
    runs = reseed_runs(study_records(study))
    complete = [t for t in rank_complete(study.get_trials(deepcopy=False), study_records(study),
                                         maximize) if trial_schedule(t) is not None]
    if not complete:
        raise LrsearchError(f"study {study.study_name!r}: no complete trial to confirm; run the "
                            f"study further first")
    top = [t for t in complete if trial_baseline(t) is None][:top_k]
    baselines: dict[str, FrozenTrial] = {}
    for trial in sorted(complete, key=lambda t: t.number):  # each baseline's first run
        if trial_baseline(trial) is not None:
            baselines.setdefault(trial_baseline(trial), trial)
    return [_candidate(t, runs) for t in [*top, *baselines.values()]]


def _candidate(trial: FrozenTrial, runs: dict[int, dict[int, float]]) -> Candidate:
    baseline = trial_baseline(trial)
    label = baseline if baseline is not None else f"trial {trial.number} ({trial_family(trial)})"
    return Candidate(trial.number, label, baseline, ScheduleSpec.from_dict(trial_schedule(trial)),
                     dict(trial_optimizer(trial) or {}), trial_score(trial, runs)[0])


def confirm_study(study: optuna.Study, top_k: int = 3, seeds: int = 3, *,
                  overrides: dict[str, Any] | None = None,
                  on_run: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Re-train the candidates with ``seeds`` fresh seeds; store and return the confirmation.

    Args:
        study: A study run by lrsearch (its resolved config is stored in it).
        top_k: How many of the best non-baseline trials to confirm.
        seeds: Fresh seeds per candidate (the same for every candidate: paired).
        overrides: Dotted study-file keys to change, e.g. ``{"data.data_dir": ...}``
            (the data directory and device may differ from the search's machine).
        on_run: Called with each run's row as it finishes (progress).

    Returns:
        The ``confirmation`` attribute: ``seeds`` (every seed with a stored run), ``metric``,
        ``top_k`` (the largest asked for) and ``runs``, every run stored, from this call and
        earlier ones (one row per candidate and seed: trial, label, baseline, seed, test_acc,
        test_loss, seconds).
    """
    from lrsearch.train import load_data, train

    if TRAINING_LOOP_ATTR in study_records(study):
        raise LrsearchError(f"study {study.study_name!r} trained with your own training loop, "
                            f"{study_records(study)[TRAINING_LOOP_ATTR]}; lrsearch cannot re-train "
                            f"it: re-train its exported schedules with your loop and seeds")
    candidates = pick_candidates(study, top_k)
    config = _study_config(study, overrides or {})
    seed_list = [CONFIRM_SEED_BASE + i for i in range(seeds)]
    stored = dict(study_records(study).get(CONFIRM_ATTR) or {})
    runs = list(stored.get("runs", []))  # all of them: a smaller call deletes nothing
    done = {(r["trial"], r["seed"]) for r in runs}
    todo = [(c, seed) for c in candidates for seed in seed_list if (c.trial, seed) not in done]
    top_k = max(top_k, int(stored.get("top_k") or 0))
    if not todo:
        return _confirmation(stored, runs, seed_list, config.metric, top_k,
                             stored.get("train_images"))
    data = _full_training_set(load_data(config.data, config.training.device, config.study_dir))
    for candidate, seed in todo:
        start = time.perf_counter()
        settings = config.train_settings(seed=seed)
        result = train(candidate.spec, OptimizerSettings(**candidate.optimizer), settings,
                       data, evaluate_test=True)
        row = {"trial": candidate.trial, "label": candidate.label,
               "baseline": candidate.baseline, "seed": seed,
               "search_value": candidate.search_value,
               "test_acc": float(result.test_acc), "test_loss": float(result.test_loss),
               "seconds": float(time.perf_counter() - start)}
        runs.append(row)
        confirmation = _confirmation(stored, runs, seed_list, config.metric, top_k,
                                     len(data.train_y))
        set_study_record(study, CONFIRM_ATTR, confirmation)
        if on_run is not None:
            on_run(row)
    return dict(study_records(study).get(CONFIRM_ATTR))


def _confirmation(stored: dict[str, Any], runs: list[dict[str, Any]], seed_list: list[int],
                  metric: str, top_k: int, train_images: int | None) -> dict[str, Any]:
    """The attribute: ``stored`` with every run, and the seeds of all runs and of this call."""
    seeds = sorted({*seed_list, *(int(r["seed"]) for r in runs)})
    return {**stored, "seeds": seeds, "metric": metric, "top_k": top_k,
            "train_images": train_images, "runs": runs}


def _study_config(study: optuna.Study, overrides: dict[str, Any]):
    stored = stored_config(study_records(study))
    if not stored:
        raise LrsearchError(f"study {study.study_name!r} was not created by lrsearch (no stored "
                            f"config); nothing to confirm")
    # The stored storage URL has its password hidden; confirmation writes through `study`.
    data = {key: value for key, value in stored.items() if key != "storage"}
    return parse_study(data, overrides, source=f"stored config of study {study.study_name!r}")


def _full_training_set(data):
    """The training split plus the validation images (kept as the per-epoch monitor only)."""
    import torch

    return replace(data, train_x=torch.cat([data.train_x, data.val_x]),
                   train_y=torch.cat([data.train_y, data.val_y]))
