"""Read what a trial or a study stores, the one way search and report both read it.

Trial readers take a finished trial (``FrozenTrial``) or a running one (``optuna.Trial``):
anything with ``params`` and ``user_attrs``; the curve readers a trial read through
:func:`~lrsearch.records.with_curves`. Study readers take the study's records
(:func:`~lrsearch.records.study_records`), read once by the caller: each read is a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optuna.trial import TrialState

from lrsearch.config import DEFAULT_METRIC, reported_kind
from lrsearch.records._attrs import (
    BASELINE_ATTR,
    CONFIG_ATTR,
    EPOCHS_ATTR,
    FAIL_REASON_ATTR,
    FAMILY_PARAM,
    FIXED_SCHEDULE_ATTR,
    LR_CURVE_ATTR,
    OPTIMIZER_ATTR,
    POLISH_ATTR,
    PRIOR_ATTR,
    PRUNE_REASON_ATTR,
    RUNGS_ATTR,
    SCHEDULE_ATTR,
    WORKER_ATTR,
)
from lrsearch.records._store import curve

__all__ = ["fail_reason", "is_baseline", "is_polish", "is_preset", "is_prior", "probe_key",
           "stored_config",
           "stored_epochs", "stored_metric", "stored_reported_kind", "trial_baseline",
           "trial_cost_epochs",
           "trial_epochs", "trial_family", "trial_lr_curve", "trial_optimizer", "trial_reason",
           "trial_schedule", "trial_worker", "DEFAULT_METRIC"]



def trial_family(trial: Any) -> str | None:
    """The schedule family a trial ran: its ``family`` parameter, or its stored spec's.

    Example:
        >>> import optuna
        >>> trial_family(optuna.trial.create_trial(value=1.0, user_attrs={
        ...     SCHEDULE_ATTR: {"family": "cosine"}}))
        'cosine'
    """
    family = trial.params.get(FAMILY_PARAM) or (trial_schedule(trial) or {}).get("family")
    return None if family is None else str(family)


def trial_schedule(trial: Any) -> dict[str, Any] | None:
    """The spec the trial ran (``ScheduleSpec.to_dict``), or None before it started."""
    return trial.user_attrs.get(SCHEDULE_ATTR)


def trial_optimizer(trial: Any) -> dict[str, Any] | None:
    """The optimizer settings the trial ran (name, head_lr_mult, ...), or None before."""
    return trial.user_attrs.get(OPTIMIZER_ATTR)


def trial_baseline(trial: Any) -> str | None:
    """The name of the baseline the trial runs, or None for a searched trial."""
    baseline = trial.user_attrs.get(BASELINE_ATTR)
    return None if baseline is None else str(baseline)


def is_baseline(trial: Any) -> bool:
    """Whether the trial runs a baseline (baselines are never pruned)."""
    return BASELINE_ATTR in trial.user_attrs


def is_preset(trial: Any) -> bool:
    """Whether the trial runs a ready-made baseline: a fixed spec and optimizer, no sampling."""
    return FIXED_SCHEDULE_ATTR in trial.user_attrs


def is_polish(trial: Any) -> bool:
    """Whether the trial polishes the incumbent's peak LR (:mod:`lrsearch.search._polish`)."""
    return POLISH_ATTR in trial.user_attrs


def is_prior(trial: Any) -> bool:
    """Whether the trial was queued as a prior (:mod:`lrsearch.search._queue`)."""
    return PRIOR_ATTR in trial.user_attrs


def trial_epochs(trial: Any) -> list[dict[str, Any]]:
    """The trial's rows per epoch so far (``epoch``, ``step``, metrics), oldest first
    (a trial read through ``with_curves``; others have none)."""
    return curve(trial, EPOCHS_ATTR) or []


def trial_cost_epochs(trial: Any) -> float:
    """The training a trial has cost so far, in epochs of the full run's length: its epochs,
    its cooldown probes' optimizer steps and the horizon rungs it trained first.

    Example:
        >>> from types import SimpleNamespace
        >>> trial_cost_epochs(SimpleNamespace(user_attrs={
        ...     EPOCHS_ATTR: [{"epoch": 1, "step": 10, "probe_steps": 5}, {"epoch": 2, "step": 20}],
        ...     RUNGS_ATTR: [{"epochs": 1, "value": 0.3}]}))
        3.5
    """
    rows = trial_epochs(trial)
    rungs = sum(int(r["epochs"]) for r in trial.user_attrs.get(RUNGS_ATTR) or [])
    if not rows:
        return float(rungs)
    steps_per_epoch = max(1, int(rows[0]["step"]) // max(1, int(rows[0]["epoch"])))
    probes = sum(int(row.get("probe_steps") or 0) for row in rows)
    return rungs + len(rows) + probes / steps_per_epoch


def probe_key(metric: str) -> str:
    """The key of ``metric``'s cooldown-probe value in a row of :func:`trial_epochs`.

    Example:
        >>> probe_key("val_acc")
        'probe_val_acc'
    """
    return f"probe_{metric}"


def trial_lr_curve(trial: Any) -> list[list[float]]:
    """The ``[step, lr]`` pairs the trial recorded (all of a pruned trial's, if any; a trial
    read through ``with_curves``)."""
    return curve(trial, LR_CURVE_ATTR) or []


def trial_worker(trial: Any) -> dict[str, Any] | None:
    """The process that ran (or runs) the trial: host, pid, ...; None if none was recorded."""
    return trial.user_attrs.get(WORKER_ATTR)


def fail_reason(trial: Any) -> str | None:
    """Why the trial failed (or diverged), as stored; None if it stored no reason."""
    return trial.user_attrs.get(FAIL_REASON_ATTR)


def trial_reason(trial: Any) -> str | None:
    """Why a finished trial did not complete (a completed retry of a failed trial has none).

    Example:
        >>> import optuna
        >>> trial_reason(optuna.trial.create_trial(state=TrialState.PRUNED, user_attrs={
        ...     PRUNE_REASON_ATTR: "pruned after epoch 2"}))
        'pruned after epoch 2'
    """
    if trial.state == TrialState.FAIL:
        return fail_reason(trial)
    if trial.state == TrialState.PRUNED:
        return trial.user_attrs.get(PRUNE_REASON_ATTR) or fail_reason(trial)
    return None


def stored_config(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The resolved config stored at the study's creation; None when lrsearch did not make it.

    Args:
        attrs: The study's records (``study_records``).
    """
    return attrs.get(CONFIG_ATTR)


def stored_epochs(attrs: Mapping[str, Any]) -> int | None:
    """Epochs per trial, from the stored config; None when it is not known."""
    return ((stored_config(attrs) or {}).get("training") or {}).get("epochs")


def stored_metric(attrs: Mapping[str, Any]) -> str:
    """The metric the study searched (``val_acc`` when no config is stored).

    Example:
        >>> stored_metric({CONFIG_ATTR: {"metric": "val_loss"}}), stored_metric({})
        ('val_loss', 'val_acc')
    """
    return str((stored_config(attrs) or {}).get("metric", DEFAULT_METRIC))


def stored_reported_kind(attrs: Mapping[str, Any]) -> str:
    """What the study's intermediate values are: ``horizon`` (whole schedules at a rung's
    horizon, the step being the rung's epochs), ``probe`` (cooldown probes at pruning points)
    or ``raw`` (the metric per epoch).

    Example:
        >>> stored_reported_kind({CONFIG_ATTR: {"pruner": {"name": "horizon"}}})
        'horizon'
        >>> stored_reported_kind({CONFIG_ATTR: {"pruner": {"name": "median", "judge": "probe"}}})
        'probe'
    """
    pruner = (stored_config(attrs) or {}).get("pruner") or {}
    return reported_kind(pruner.get("name"), pruner.get("judge"))
