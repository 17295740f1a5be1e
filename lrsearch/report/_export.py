"""Take the winner home: the best trial's spec as ``best_schedule.json`` and plain PyTorch code.

The spec is laid onto the steps the trial really trained (``source.total_steps``); being made
of fractions and ratios, it is laid onto any other length with ``total_steps=...``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.errors import LrsearchError
from lrsearch.records import (
    HORIZON_SWEEP_ATTR,
    TEST_ACC_ATTR,
    TransferError,
    fit_horizon,
    horizon_points,
    rank_complete,
    reseed_runs,
    stored_epochs,
    stored_metric,
    study_records,
    supported_epochs,
    trial_baseline,
    trial_optimizer,
    trial_schedule,
    trial_seed_values,
    with_curves,
)
from lrsearch.report._extract import trial_total_steps
from lrsearch.report._optimizer_code import optimizer_code, resolve_optimizer
from lrsearch.schedules import ScheduleSpec
from lrsearch.text import counted

__all__ = ["Export", "pick_trial", "trial_spec", "transfer_spec", "export_best", "write_export",
           "load_best", "horizon_line"]


@dataclass
class Export:
    """What :func:`export_best` found and wrote.

    Attributes:
        spec: The schedule, laid onto the trial's real training length.
        document: The content of ``best_schedule.json``.
        code: The content of ``best_schedule.py``.
        paths: Files written (empty until :func:`write_export`).
    """

    spec: ScheduleSpec
    document: dict[str, Any]
    code: str
    paths: list[Path]


def pick_trial(study: optuna.Study, number: int | None = None) -> FrozenTrial:
    """The best COMPLETE trial by the study direction (by its mean over its re-runs, where the
    study re-ran it), or trial ``number``.

    Raises:
        LrsearchError: No complete trial; no trial ``number``; or the trial has no schedule
            (a study not run by lrsearch).
    """
    trials = study.get_trials(deepcopy=False)
    if number is None:
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        # A study that re-ran its top trials names the best mean (records._winner).
        complete = rank_complete(trials, study_records(study), maximize)
        if not complete:
            states = sorted({t.state.name.lower() for t in trials})
            raise LrsearchError(f"study {study.study_name!r}: no complete trial to export "
                                f"({counted(len(trials), 'trial')}: {states or 'none'}); run the "
                                f"study further, or pick one with --trial N")
        best = complete[0]
        if trial_schedule(best) is None:
            raise LrsearchError(f"study {study.study_name!r}: its best trial ({best.number}) "
                                f"stored no schedule: not a study run by lrsearch (export "
                                f"needs trials of `lrsearch run`)")
        return best
    found = [t for t in trials if t.number == number]
    if not found:
        raise LrsearchError(f"trial: got {number}; study {study.study_name!r} has trials 0.."
                            f"{len(trials) - 1}" if trials else
                            f"trial: got {number}; study {study.study_name!r} has no trials")
    if trial_schedule(found[0]) is None:
        raise LrsearchError(f"trial: got {number}; it stored no schedule (state "
                            f"{found[0].state.name.lower()}); pick another trial")
    return found[0]


def trial_spec(study: optuna.Study, trial: FrozenTrial) -> ScheduleSpec:
    """The trial's spec, laid onto the steps of the study's training when they are known."""
    spec = ScheduleSpec.from_dict(trial_schedule(trial))
    (trial,) = with_curves(study, [trial])
    total_steps = trial_total_steps(trial, stored_epochs(study_records(study)))
    return spec if total_steps is None else spec.with_total_steps(total_steps)


def export_best(study: optuna.Study, trial: int | None = None, storage: str = "",
                epochs: int | None = None, force: bool = False) -> Export:
    """The JSON document and PyTorch code of the best complete trial (or trial ``trial``).

    Args:
        study: The study.
        trial: A trial number instead of the best complete trial.
        storage: The storage URL to record as the source, password already hidden.
        epochs: Lay the schedule onto a training of this many epochs, with the peak LR the
            study's horizon evidence gives for that length (:func:`transfer_spec`).
        force: Transfer past what the evidence supports.

    Raises:
        TransferError: ``epochs`` given, and the evidence does not support it.
    """
    from lrsearch.version import __version__

    frozen = pick_trial(study, trial)
    spec = trial_spec(study, frozen)
    horizon = None
    if epochs is not None:
        spec, horizon = transfer_spec(study, frozen, spec, epochs, force)
    optimizer = resolve_optimizer(dict(trial_optimizer(frozen) or {}))
    attrs = study_records(study)
    seed_values = (trial_seed_values(frozen, reseed_runs(attrs))
                   if frozen.state == TrialState.COMPLETE and frozen.value is not None else [])
    source = {"storage": storage, "study": study.study_name, "trial": frozen.number,
              "state": frozen.state.name.lower(),
              # The mean over the trial's seeds, as the winner is ranked; each seed's value.
              "value": statistics.fmean(seed_values) if seed_values else frozen.value,
              "seed_values": seed_values,
              "metric": stored_metric(attrs), "test_acc": frozen.user_attrs.get(TEST_ACC_ATTR),
              "baseline": trial_baseline(frozen), "epochs": stored_epochs(attrs),
              "total_steps": spec.total_steps, "lrsearch_version": __version__}
    document = {"schedule": spec.to_dict(), "optimizer": optimizer, "source": source}
    code = spec.to_torch_code().rstrip("\n") + "\n\n\n" + optimizer_code(optimizer)
    if horizon is not None:
        document["horizon"] = horizon
        code = _horizon_comment(horizon) + code
    return Export(spec, document, _state_dependencies(code, optimizer["name"]), [])


def transfer_spec(study: optuna.Study, trial: FrozenTrial, spec: ScheduleSpec, epochs: int,
                  force: bool = False) -> tuple[ScheduleSpec, dict[str, Any]]:
    """``trial``'s spec laid onto ``epochs`` epochs with the transferred peak LR, and the
    evidence (``best_schedule.json``'s ``horizon``): the best peak LR the study measured at each
    horizon of the trial's shape, their power-law trend, the rule that chose the transferred LR
    and its 95% interval (:mod:`lrsearch.records._horizon`). Warm-up and cooldown stay
    fractions.

    Raises:
        TransferError: No evidence at two horizons (how to get it), a best peak LR not
            bracketed, or ``epochs`` past what the evidence supports (unless ``force``).
    """
    attrs = study_records(study)
    searched = int(stored_epochs(attrs) or 0)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    sweep = attrs.get(HORIZON_SWEEP_ATTR)
    points = horizon_points(study.get_trials(deepcopy=False), trial, searched, sweep,
                            reseed_runs(attrs))
    try:
        fit = fit_horizon(points, maximize, found_lr=spec.peak_lr)
    except TransferError as exc:
        swept = bool(sweep) and sweep.get("trial") == trial.number
        how = ("then run `lrsearch run` on the study file again (it trains the missing "
               "points only)" if swept else
               f"the horizon sweep measures it: set `target_epochs: {epochs}` in the study file "
               f"and run `lrsearch run` on it again (a done study trains the sweep only; "
               f"horizon_sweep in docs/study-file.md)")
        raise TransferError(f"epochs: got {epochs}; {exc}; {how}") from None
    supported = supported_epochs(b.epochs for b in fit.best)
    horizons = ", ".join(str(b.epochs) for b in fit.best)
    if epochs > supported and not force:
        raise TransferError(
            f"epochs: got {epochs}; the study measured the best peak LR at {horizons} epochs, "
            f"which supports a transfer up to {supported} epochs ({supported / searched:g}x its "
            f"{searched}); past that the fit is extrapolated further than the evidence spans: "
            f"pass --force to export anyway, or measure longer horizons")
    peak_lr = fit.peak_lr(epochs)
    steps_per_epoch = max(1, spec.total_steps // max(1, searched))
    laid = dataclasses.replace(spec, peak_lr=peak_lr).with_total_steps(steps_per_epoch * epochs)
    interval = fit.interval(epochs, maximize)
    return laid, {
        "searched_epochs": searched, "target_epochs": epochs, "peak_lr_found": spec.peak_lr,
        "peak_lr_transferred": peak_lr,
        "interval_95": list(interval) if interval is not None else None,
        "supported_up_to_epochs": supported, "forced": epochs > supported,
        **fit.as_dict()}


def horizon_line(horizon: dict[str, Any]) -> str:
    """One line on the transfer of an export (its ``horizon``), for the terminal.

    Example:
        >>> line = horizon_line({"target_epochs": 12, "searched_epochs": 3, "exponent": 0.3,
        ...     "peak_lr_transferred": 0.066, "peak_lr_found": 0.1, "interval_95": [0.05, 0.08],
        ...     "forced": False, "supported_up_to_epochs": 27, "kept_found": False,
        ...     "best_peak_lr": [{"epochs": 1, "peak_lr": 0.09}, {"epochs": 3, "peak_lr": 0.066}]})
        >>> line.startswith("laid onto 12 epochs (searched at 3): peak LR 0.066, the best")
        True
        >>> line.endswith("at 3 epochs (found with 0.1, outside its 95% interval 0.05 to 0.08; "
        ...               "trend across horizons epochs ** -0.30, not extrapolated)")
        True
    """
    interval = horizon["interval_95"]
    longest = horizon["best_peak_lr"][-1]["epochs"]
    spread = "" if interval is None else f"95% interval {interval[0]:.3g} to {interval[1]:.3g}"
    trend = f"trend across horizons epochs ** {-horizon['exponent']:.2f}, not extrapolated"
    if horizon.get("kept_found"):
        basis = (f"the one found, kept: the best measured at {longest} epochs is "
                 f"{horizon['best_peak_lr'][-1]['peak_lr']:.4g} ({spread}, which holds it; "
                 f"{trend})")
    else:
        basis = (f"the best measured at {longest} epochs (found with "
                 f"{horizon['peak_lr_found']:.4g}" + (f", outside its {spread}" if spread else "")
                 + f"; {trend})")
    return (f"laid onto {horizon['target_epochs']} epochs (searched at "
            f"{horizon['searched_epochs']}): peak LR {horizon['peak_lr_transferred']:.4g}, "
            f"{basis}"
            + (f"; FORCED past the supported {horizon['supported_up_to_epochs']} epochs"
               if horizon["forced"] else ""))


def _horizon_comment(horizon: dict[str, Any]) -> str:
    """Comment lines above ``best_schedule.py`` saying where its peak LR comes from."""
    interval, longest = horizon["interval_95"], horizon["best_peak_lr"][-1]
    spread = ("" if interval is None else
              f"; the best at {longest['epochs']} epochs {longest['peak_lr']:.3g}, 95% interval "
              f"{interval[0]:.3g} to {interval[1]:.3g}")
    best = ", ".join(f"{b['peak_lr']:.3g} at {b['epochs']}" for b in horizon["best_peak_lr"])
    forced = " FORCED past the supported length." if horizon["forced"] else ""
    return (f"# Laid onto {horizon['target_epochs']} epochs (searched at "
            f"{horizon['searched_epochs']}): peak LR {horizon['peak_lr_transferred']:.4g} "
            f"(found with {horizon['peak_lr_found']:.4g}{spread}).{forced}\n"
            f"# Best peak LR measured by epochs: {best}; transferred: {horizon['rule']}\n"
            f"# (trend: best peak LR ~ epochs ** {-horizon['exponent']:.2f}; "
            f"best_schedule.json: horizon).\n")


_TORCH_ONLY = re.compile(r"It depends on nothing but torch and\s+the standard library\.")
_SCHEDULE_FREE_DEPENDS = (
    "Its schedule needs only torch and the standard\nlibrary; its schedule-free optimizer also "
    "needs the schedulefree package (pip install\nschedulefree; call optimizer.train() before "
    "training steps, optimizer.eval() before\nevaluating).")


def _state_dependencies(code: str, optimizer_name: str) -> str:
    """The file's docstring names what it imports: torch only, or schedulefree as well."""
    if not optimizer_name.endswith("_schedulefree"):
        return code
    if _TORCH_ONLY.search(code):
        return _TORCH_ONLY.sub(_SCHEDULE_FREE_DEPENDS, code, count=1)
    first_line_end = code.index("\n")  # the docstring's summary line
    return f"{code[:first_line_end]}\n\n{_SCHEDULE_FREE_DEPENDS}{code[first_line_end:]}"


def write_export(export: Export, out_dir: str | Path) -> Export:
    """Write ``best_schedule.json`` and ``best_schedule.py`` into ``out_dir`` (created).

    Raises:
        LrsearchError: The folder or a file cannot be written (naming the path and why).
    """
    folder = Path(out_dir)
    json_path, code_path = folder / "best_schedule.json", folder / "best_schedule.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(export.document, indent=2) + "\n")
        code_path.write_text(export.code)
    except OSError as exc:
        raise LrsearchError(f"out: cannot write the export into {folder}: "
                            f"{exc.strerror or exc} ({exc.filename or folder})") from None
    export.paths = [json_path, code_path]
    return export


def load_best(storage: str, study: str, trial: int | None = None, epochs: int | None = None,
              force: bool = False) -> ScheduleSpec:
    """The schedule spec of the best complete trial of a study (or of trial ``trial``).

    Args:
        storage: SQLAlchemy URL of the storage (``sqlite:///lrsearch.db``).
        study: Name of the study.
        trial: A trial number instead of the best complete trial.
        epochs: Laid onto a training of this many epochs with the transferred peak LR
            (:func:`transfer_spec`; ``force`` past the supported length).

    Raises:
        StudyError: Storage unreachable or no such study.
        LrsearchError: No complete trial (or no such trial); ``TransferError`` when the
            evidence does not support ``epochs``.

    Example:
        >>> import lrsearch
        >>> lrsearch.load_best("sqlite:///no-such.db", "demo")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lrsearch.errors.StudyError: storage: got 'sqlite:///no-such.db'; the SQLite file ...
    """
    from lrsearch.records import load_report_study

    loaded = load_report_study(storage, study)
    chosen = pick_trial(loaded, trial)
    spec = trial_spec(loaded, chosen)
    return spec if epochs is None else transfer_spec(loaded, chosen, spec, epochs, force)[0]
