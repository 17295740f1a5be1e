"""The plain data a report is drawn from: dataclasses of lists, numbers and strings only.

Extraction (``_extract.py``) fills them in one pass over the study's trials; figures and the
HTML page (``_figures.py``, ``_html.py``) read nothing else, so each part is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrialSummary", "Curve", "TopTrial", "FamilyStats", "IntermediateCurve",
           "History", "BaselineResult", "FidelityPoint", "ReportData"]


@dataclass
class TrialSummary:
    """One trial as the report shows it.

    Attributes:
        number: Optuna's trial number.
        state: ``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING`` or ``WAITING``.
        family: Schedule family, or None when the trial never sampled one.
        value: Final validation metric (complete trials): the mean over ``seed_values``,
            as the winner is ranked; else None.
        seed_values: The value of each training seed: the search's run, then its re-runs
            (one entry where the trial was not re-run); empty unless complete.
        test_acc: Test accuracy where it was measured (mean over seeds for several), else None.
        test_acc_std: Standard deviation of ``test_acc`` over seeds, when there are several.
        baseline: Name of the baseline this trial runs, or None.
        schedule: The spec dict as stored (``ScheduleSpec.to_dict``), or None.
        optimizer: The optimizer settings as stored, or None.
        wall_seconds: Wall time of the trial in seconds, or None.
        fail_reason: Why it did not complete, when stored.
    """

    number: int
    state: str
    family: str | None = None
    value: float | None = None
    seed_values: list[float] = field(default_factory=list)
    test_acc: float | None = None
    test_acc_std: float | None = None
    baseline: str | None = None
    schedule: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    wall_seconds: float | None = None
    fail_reason: str | None = None


@dataclass
class Curve:
    """Points of one line: ``x[i], y[i]``."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)


@dataclass
class TopTrial:
    """A trial among the best K, with what the curves panel draws.

    Attributes:
        rank: 1 for the best.
        trial: Its summary.
        lr: LR against fraction of training (0..1).
        lr_source: ``"spec"`` (the spec laid onto the trial's steps) or ``"recorded"`` (the
            ``lr_curve`` the trial actually used: metric-driven families such as plateau).
        metric: Validation metric against epoch.
    """

    rank: int
    trial: TrialSummary
    lr: Curve
    lr_source: str
    metric: Curve


@dataclass
class FamilyStats:
    """How one family did: counts, best and every final value.

    Attributes:
        family: Family name.
        complete: Completed trials.
        pruned: Pruned trials (diverged ones included).
        failed: Failed trials.
        values: Final metric of each complete trial (its mean over seeds where re-run).
        numbers: Trial number of each entry of ``values``.
        best_value: Best of ``values`` by the study direction, or None.
        best_trial: Number of the trial with ``best_value``, or None.
    """

    family: str
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    values: list[float] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    best_value: float | None = None
    best_trial: int | None = None


@dataclass
class IntermediateCurve:
    """The metric a trial reported per epoch (``epochs[i], values[i]``)."""

    number: int
    state: str
    epochs: list[int]
    values: list[float]


@dataclass
class History:
    """Complete trials in order: value (mean over seeds where re-run) and best-so-far per trial
    number; pruned trials apart, with the value they were pruned at (a rung's or an epoch's)."""

    numbers: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    best_so_far: list[float] = field(default_factory=list)
    families: list[str | None] = field(default_factory=list)
    baselines: list[str | None] = field(default_factory=list)
    pruned_numbers: list[int] = field(default_factory=list)
    pruned_values: list[float] = field(default_factory=list)


@dataclass
class BaselineResult:
    """A baseline trial: its name, number, state and final value (None unless complete; the
    mean over ``seed_values`` where it was re-run)."""

    name: str
    number: int
    state: str
    value: float | None
    seed_values: list[float] = field(default_factory=list)


@dataclass
class FidelityPoint:
    """Complete trials at one probed pruning point: value there (raw, probe) and final value.

    Attributes:
        epoch: The 1-based epoch of the point.
        progress: ``epoch`` as a fraction of training.
        numbers: Trial numbers; ``raw[i]``, ``probe[i]``, ``final[i]`` are trial
            ``numbers[i]``'s.
        raw: The validation metric of the run at the point.
        probe: The cooldown probe's validation metric at the point.
        final: The trial's final value.
        tau_raw: Kendall's tau-b of ``raw`` against ``final`` (None when undefined).
        tau_probe: Kendall's tau-b of ``probe`` against ``final`` (None when undefined).
    """

    epoch: int
    progress: float
    numbers: list[int] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    probe: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)
    tau_raw: float | None = None
    tau_probe: float | None = None


@dataclass
class ReportData:
    """Everything a report shows, as plain data.

    Attributes:
        study_name: The study.
        storage: Its storage URL, password hidden.
        direction: ``maximize`` or ``minimize``.
        metric: Name of the optimised metric (``val_acc``).
        counts: Trials per state name.
        top: The best K complete trials, best first.
        baseline_curves: Complete baselines outside the top K (drawn beside it), best first.
        families: Per family, in order of their best value (families without a complete
            trial last).
        history: The optimisation history.
        intermediate: Per-epoch metric of every trial that reported one.
        baselines: Every baseline trial.
        best: The best complete trial, or None.
        best_baseline: The best complete baseline, or None.
        margin: How much better the best trial is than the best baseline (in the metric's
            units, positive = better whatever the direction), or None.
        importances: Optuna's parameter importances, or None (see ``importance_note``).
        importance_note: Why importances are missing, when they are.
        provenance: Versions, git SHA, device and fingerprint stored with the study.
        config: The resolved study config, when stored.
        fidelity: Per probed pruning point, raw and probe values of the complete trials
            against their final values (empty unless the study was judged by probes).
        confirmation: The test-set confirmation (``lrsearch confirm``), or None.
        rank_bias: Kendall tau of the value after each epoch against the final value, for all
            complete trials and per family (``RankCurve``), when enough trials completed.
        reported: What the intermediate values are (:func:`lrsearch.records.
            stored_reported_kind`): ``horizon`` rungs, ``probe`` values or ``raw`` ones.
        horizons: The best peak LR against the training length, per top schedule shape
            measured at two horizons (:mod:`lrsearch.report._horizon_data`).
    """

    study_name: str
    storage: str
    direction: str
    metric: str
    counts: dict[str, int]
    top: list[TopTrial]
    baseline_curves: list[TopTrial]
    families: list[FamilyStats]
    history: History
    intermediate: list[IntermediateCurve]
    baselines: list[BaselineResult]
    best: TrialSummary | None
    best_baseline: BaselineResult | None
    margin: float | None
    importances: dict[str, float] | None
    importance_note: str
    provenance: dict[str, Any]
    config: dict[str, Any] | None
    fidelity: list[FidelityPoint] = field(default_factory=list)
    confirmation: Any = None  # a ConfirmationData (lrsearch.report._confirmation)
    rank_bias: list[Any] = field(default_factory=list)  # RankCurve (report._rank_bias)
    reported: str = "raw"
    horizons: list[Any] = field(default_factory=list)  # HorizonLine (report._horizon_data)
