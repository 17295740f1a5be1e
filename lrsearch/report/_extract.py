"""One pass over a study's trials into :class:`ReportData` (plain data, no plotly).

The trials are read once (``get_trials(deepcopy=False)``); specs are parsed only for the top K,
so a study of thousands of trials is extracted in about a second.
"""

from __future__ import annotations

import math
import statistics
import warnings
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.records import (
    CONFIRM_ATTR,
    SHOWN_PROVENANCE_ATTRS,
    TEST_ACC_ATTR,
    WALL_SECONDS_ATTR,
    fail_reason,
    rank_complete,
    reseed_runs,
    stored_config,
    stored_epochs,
    stored_metric,
    stored_reported_kind,
    study_records,
    trial_baseline,
    trial_epochs,
    trial_family,
    trial_lr_curve,
    trial_optimizer,
    trial_schedule,
    trial_seed_values,
    with_curves,
)
from lrsearch.report._confirmation import extract_confirmation
from lrsearch.report._fidelity import extract_fidelity
from lrsearch.report._horizon_data import extract_horizons
from lrsearch.report._rank_bias import extract_rank_bias
from lrsearch.report._report_data import (
    BaselineResult,
    Curve,
    FamilyStats,
    History,
    IntermediateCurve,
    ReportData,
    TopTrial,
    TrialSummary,
)

__all__ = ["extract_report", "summarise_trial", "trial_total_steps"]

_CURVE_POINTS = 200


def extract_report(study: optuna.Study, top_k: int = 10, *, importances: bool = True,
                   analyses: bool = True, storage: str = "") -> ReportData:
    """Extract what a report shows from ``study``.

    Args:
        study: An lrsearch study (trials carry ``schedule``, ``optimizer``, ``epochs`` ...).
        top_k: How many of the best complete trials to detail.
        importances: Compute Optuna's parameter importances (the slowest part).
        analyses: Compute the pruning fidelity, the pruning bias and the confirmation (seconds
            on thousands of trials; the dashboard's two figures need none of them).
        storage: The storage URL to show, password already hidden.

    Example:
        >>> import optuna
        >>> study = optuna.create_study(direction="maximize")
        >>> data = extract_report(study)
        >>> data.best is None, data.counts, data.importance_note
        (True, {}, 'needs at least 2 complete trials (has 0)')
    """
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    trials = with_curves(study, study.get_trials(deepcopy=False))
    attrs = study_records(study)
    config = stored_config(attrs)
    runs = reseed_runs(attrs)
    counts: dict[str, int] = {}
    families: dict[str, FamilyStats] = {}
    history = History()
    intermediate: list[IntermediateCurve] = []
    baselines: list[BaselineResult] = []
    complete: list[FrozenTrial] = []
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
        family = trial_family(trial)
        done = trial.state == TrialState.COMPLETE and _finite(trial.value)
        seeds = trial_seed_values(trial, runs) if done else []
        if family is not None:
            _count_family(families.setdefault(family, FamilyStats(family)), trial, seeds,
                          maximize)
        if trial.intermediate_values:
            epochs = sorted(trial.intermediate_values)
            intermediate.append(IntermediateCurve(
                trial.number, trial.state.name, epochs,
                [float(trial.intermediate_values[e]) for e in epochs]))
        baseline = trial_baseline(trial)
        value = statistics.fmean(seeds) if seeds else None
        if baseline is not None:
            baselines.append(BaselineResult(baseline, trial.number, trial.state.name, value,
                                            seeds))
        if done:
            complete.append(trial)
            _add_history(history, trial, family, value, maximize)
        elif trial.state == TrialState.PRUNED and trial.intermediate_values:
            history.pruned_numbers.append(trial.number)
            history.pruned_values.append(
                float(trial.intermediate_values[max(trial.intermediate_values)]))
    # Ranked as the winner is named: by the mean over its re-runs where the study re-ran it.
    complete = rank_complete(complete, attrs, maximize)
    metric = stored_metric(attrs)
    top = [_top_trial(rank, trial, metric, runs)
           for rank, trial in enumerate(complete[:top_k], start=1)]
    baseline_curves = [_top_trial(rank, trial, metric, runs) for rank, trial in
                       enumerate(complete, start=1) if rank > top_k and
                       trial_baseline(trial) is not None]
    best = top[0].trial if top else (summarise_trial(complete[0], runs) if complete else None)
    best_baseline = _best_baseline(baselines, maximize)
    margin = None
    if best is not None and best_baseline is not None:
        margin = (best.value - best_baseline.value) * (1 if maximize else -1)
    values, note = _importances(study, len(complete)) if importances else (None, "not computed")
    epochs = stored_epochs(attrs)
    return ReportData(
        study_name=study.study_name, storage=storage,
        direction="maximize" if maximize else "minimize",
        metric=metric, counts=counts, top=top,
        baseline_curves=baseline_curves,
        families=_order_families(families, maximize), history=history,
        intermediate=intermediate, baselines=baselines, best=best,
        best_baseline=best_baseline, margin=margin, importances=values, importance_note=note,
        provenance={key: attrs[key] for key in SHOWN_PROVENANCE_ATTRS if key in attrs},
        config=config,
        fidelity=extract_fidelity(complete, metric, epochs) if analyses else [],
        rank_bias=extract_rank_bias(complete, metric, trial_family, epochs) if analyses else [],
        confirmation=_confirmed(attrs, [*top, *baseline_curves]) if analyses else None,
        reported=stored_reported_kind(attrs),
        horizons=extract_horizons(complete[:top_k], trials, attrs, epochs, maximize)
        if analyses else [])


def _confirmed(attrs: dict[str, Any], shown: list[TopTrial]) -> Any:
    """The study's confirmation; its test accuracy (mean, std) copied into the shown trials."""
    confirmation = extract_confirmation(attrs.get(CONFIRM_ATTR))
    if confirmation is None or confirmation.metric != "test_acc":
        return confirmation
    by_trial = {row.trial: row.summary for row in confirmation.rows}
    for top in shown:
        summary = by_trial.get(top.trial.number)
        if summary is not None:
            top.trial.test_acc, top.trial.test_acc_std = summary.mean, summary.std
    return confirmation


def summarise_trial(trial: FrozenTrial, runs: dict[int, dict[int, float]] | None = None
                    ) -> TrialSummary:
    """A trial as the report shows it (see :class:`TrialSummary`); ``runs``: the study's
    re-runs (:func:`lrsearch.records.reseed_runs`), whose values join the trial's mean."""
    attrs = trial.user_attrs
    seeds = (trial_seed_values(trial, runs or {})
             if trial.state == TrialState.COMPLETE and _finite(trial.value) else [])
    test_acc, test_std = _test_accuracy(attrs.get(TEST_ACC_ATTR))
    wall = attrs.get(WALL_SECONDS_ATTR)
    return TrialSummary(
        number=trial.number, state=trial.state.name, family=trial_family(trial),
        value=statistics.fmean(seeds) if seeds else None, seed_values=seeds,
        test_acc=test_acc, test_acc_std=test_std, baseline=trial_baseline(trial),
        schedule=trial_schedule(trial), optimizer=trial_optimizer(trial),
        wall_seconds=None if wall is None else float(wall), fail_reason=fail_reason(trial))


def trial_total_steps(trial: FrozenTrial, study_epochs: int | None = None) -> int | None:
    """Optimizer steps of the trial's whole training, from its stored ``epochs``.

    A complete trial's last epoch row holds the total; otherwise steps per epoch times
    ``study_epochs`` (the study's training length), when given. None when unknown.
    """
    rows = trial_epochs(trial)
    if not rows:
        return None
    if trial.state == TrialState.COMPLETE:
        return int(rows[-1]["step"])
    first = rows[0]
    if study_epochs is None or int(first["epoch"]) < 1:
        return None
    return int(first["step"]) // int(first["epoch"]) * int(study_epochs)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def _count_family(stats: FamilyStats, trial: FrozenTrial, seeds: list[float],
                  maximize: bool) -> None:
    if seeds:
        value = statistics.fmean(seeds)
        stats.complete += 1
        stats.values.append(value)
        stats.numbers.append(trial.number)
        if stats.best_value is None or _better(value, stats.best_value, maximize):
            stats.best_value, stats.best_trial = value, trial.number
    elif trial.state == TrialState.PRUNED:
        stats.pruned += 1
    elif trial.state == TrialState.FAIL:
        stats.failed += 1


def _add_history(history: History, trial: FrozenTrial, family: str | None, value: float,
                 maximize: bool) -> None:
    best = history.best_so_far[-1] if history.best_so_far else value
    history.numbers.append(trial.number)
    history.values.append(value)
    history.best_so_far.append(value if _better(value, best, maximize) else best)
    history.families.append(family)
    history.baselines.append(trial_baseline(trial))


def _order_families(families: dict[str, FamilyStats], maximize: bool) -> list[FamilyStats]:
    sign = -1 if maximize else 1
    return sorted(families.values(), key=lambda s: (s.best_value is None,
                                                    sign * (s.best_value or 0.0), s.family))


def _best_baseline(baselines: list[BaselineResult], maximize: bool) -> BaselineResult | None:
    done = [b for b in baselines if _finite(b.value)]
    if not done:
        return None
    return (max if maximize else min)(done, key=lambda b: b.value)


def _test_accuracy(raw: Any) -> tuple[float | None, float | None]:
    """``test_acc`` as stored: one number, or one per seed (mean and standard deviation)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw), None
    if isinstance(raw, list) and raw and all(isinstance(v, (int, float)) for v in raw):
        std = statistics.stdev(raw) if len(raw) > 1 else None
        return float(statistics.fmean(raw)), std
    return None, None


def _top_trial(rank: int, trial: FrozenTrial, metric: str,
               runs: dict[int, dict[int, float]]) -> TopTrial:
    lr, source = _lr_curve(trial)
    return TopTrial(rank, summarise_trial(trial, runs), lr, source, _metric_curve(trial, metric))


def _metric_curve(trial: FrozenTrial, metric: str) -> Curve:
    """The raw metric per epoch as stored in ``epochs`` (intermediate values may be probe
    values at a few points); the intermediate values for trials without it."""
    rows = [r for r in trial_epochs(trial) if r.get(metric) is not None]
    if rows:
        return Curve([float(r["epoch"]) for r in rows], [float(r[metric]) for r in rows])
    epochs = sorted(trial.intermediate_values)
    return Curve([float(e) for e in epochs], [float(trial.intermediate_values[e])
                                              for e in epochs])


def _lr_curve(trial: FrozenTrial) -> tuple[Curve, str]:
    """The spec laid onto the trial's real steps, or the recorded curve (metric-driven)."""
    from lrsearch.errors import SpecError
    from lrsearch.schedules import ScheduleSpec

    total_steps = trial_total_steps(trial)
    try:
        spec = ScheduleSpec.from_dict(trial_schedule(trial))
    except SpecError:
        spec = None
    if spec is not None and not spec.info.metric_driven:
        if total_steps is not None:
            spec = spec.with_total_steps(total_steps)
        progress, lr = spec.curve(_CURVE_POINTS)
        return Curve(progress, lr), "spec"
    recorded = trial_lr_curve(trial)
    if not recorded:
        return Curve(), "recorded"
    total = total_steps or int(recorded[-1][0]) + 1
    return Curve([step / total for step, _ in recorded], [float(lr) for _, lr in recorded]), \
        "recorded"


def _importances(study: optuna.Study, complete: int) -> tuple[dict[str, float] | None, str]:
    if complete < 2:
        return None, f"needs at least 2 complete trials (has {complete})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study)
    except Exception as exc:  # Optuna refuses some studies (e.g. one distinct value per param)
        return None, f"Optuna could not compute them: {type(exc).__name__}: {exc}"
    if not values:
        return None, "no parameter was sampled in every complete trial"
    return {name: float(v) for name, v in values.items()}, ""
