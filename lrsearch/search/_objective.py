"""The Optuna objective: sample a schedule, train, report validation metrics per epoch.

A trial's value is the raw validation metric after its last epoch: a schedule is judged by
where it ends, not by its best epoch. At its pruning points a trial is judged by the raw
metric or by a cooldown probe's (see :mod:`lrsearch.search._pruners`). Everything a report
needs is stored as the trial's user attributes, in plain JSON types, under the names of
:mod:`lrsearch.records`: the spec and optimizer run, a row per epoch, the LR curve, timings,
the device, the worker running it, why it was pruned or failed and which trial it reruns.
With horizon rungs (``pruner: {name: horizon}``) a trial first trains the whole schedule at
each shorter rung's horizon and reports that value at step = the rung's epochs
(:mod:`lrsearch.search._pruners`); the full run then reports nothing until its end.
Baselines are never pruned; ready-made ones carry their fixed spec and optimizer and sample
nothing; in a grid space the others run their own values too (they need not be grid values).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import optuna

from lrsearch.config import StudyConfig, pruning_epochs, pruning_policy, resolve_judge
from lrsearch.errors import DivergedError, SpecError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import (
    DEVICE_NAME_ATTR,
    EPOCHS_ATTR,
    FAIL_REASON_ATTR,
    IMAGES_PER_SECOND_ATTR,
    LR_CURVE_ATTR,
    PRUNE_REASON_ATTR,
    RETRY_OF_ATTR,
    RUNGS_ATTR,
    inherited_curve,
    probe_key,
    set_curve,
    set_study_record,
    storage_error_in,
    stored_trial,
    study_records,
    trial_id,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search._checkpoints import checkpoint_path, remove_checkpoints, study_folder
from lrsearch.search._pruners import horizon_epochs
from lrsearch.search._space import SearchSpace
from lrsearch.search._trial import TrialProtocol, never_pruned

__all__ = ["Objective", "INVALID_GRID_POINT"]

INVALID_GRID_POINT = "not a valid schedule at this grid point"


class Objective(TrialProtocol):
    """lrsearch's own training of a trial (CIFAR or the study's data and model), on the one
    trial protocol (:class:`~lrsearch.search._trial.TrialProtocol`).

    Args:
        config: The checked study config.
        space: Its search space.
        data: What ``lrsearch.train.load_data`` returned (loaded once per worker).
        on_epoch: Called with ``(trial_number, EpochResult)`` after each epoch (progress).
    """

    def __init__(self, config: StudyConfig, space: SearchSpace, data: Any,
                 on_epoch: Callable[[int, Any], None] | None = None) -> None:
        from lrsearch.train import ProbeSettings

        super().__init__(config, space)
        self.data = data
        self.on_epoch = on_epoch
        self.prune_epochs = pruning_epochs(config.pruner, config.training.epochs)
        self.judge = resolve_judge(config.pruner, len(space.families))
        probing = self.judge == "probe" and bool(self.prune_epochs)
        self.probe = (ProbeSettings(epochs=self.prune_epochs, frac=config.pruner.probe_frac)
                      if probing else None)
        # The shorter horizons a searched trial trains at first (none without horizon rungs).
        self.rungs = (horizon_epochs(config.training.epochs, config.pruner.reduction_factor)[:-1]
                      if pruning_policy(config.pruner.name).rungs else ())
        self.train_settings = config.train_settings()
        # The spec is stored laid onto the real length (the last partial batch is dropped).
        train_images = len(getattr(data, "train_y", ()))
        self.total_steps = (config.training.epochs
                            * max(1, train_images // config.training.batch_size)
                            if train_images else None)

    def lay_out(self, spec: ScheduleSpec) -> ScheduleSpec:
        return spec if self.total_steps is None else spec.with_total_steps(self.total_steps)

    def train_trial(self, trial: optuna.Trial, spec: ScheduleSpec,
                    optimizer: dict[str, Any]) -> float:
        from lrsearch.train import train

        original = _retried_trial_number(trial)
        if original is not None:
            trial.set_user_attr(RETRY_OF_ATTR, original)
        ckpt = checkpoint_path(study_folder(self.config.checkpoint_dir, trial.study),
                               trial.number if original is None else original)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        epochs = list(inherited_curve(trial, EPOCHS_ATTR) or [])
        if self.rungs and not never_pruned(trial):
            self._climb(trial, spec, optimizer, ckpt)

        def on_epoch(result: Any) -> str | None:
            return self._report(trial, result, epochs)

        try:
            result = train(spec, OptimizerSettings(**optimizer), self.train_settings, self.data,
                           on_epoch=on_epoch, checkpoint_path=str(ckpt), probe=self.probe)
        except DivergedError as exc:
            _finish(trial, ckpt, pruned=f"diverged: {exc}", failed=f"diverged: {exc}",
                    lr_curve=exc.lr_curve)
            raise optuna.TrialPruned(f"diverged: {exc}") from None
        except Exception as exc:  # interrupted or lost: the checkpoint stays for the retry
            if storage_error_in(exc) is None and not isinstance(
                    exc, optuna.exceptions.UpdateFinishedTrialError):
                remove_checkpoints(ckpt)  # failed for good: nothing will resume it
            raise
        if result.stopped is not None:  # pruned: the curve is of the part that ran
            _finish(trial, ckpt, pruned=result.stopped, lr_curve=result.lr_curve)
            raise optuna.TrialPruned(result.stopped)
        data = result.to_dict()
        set_curve(trial, LR_CURVE_ATTR, data["lr_curve"])
        trial.set_user_attr(DEVICE_NAME_ATTR, str(data["device_name"]))
        trial.set_user_attr(IMAGES_PER_SECOND_ATTR, float(data["images_per_second"]))
        if DEVICE_NAME_ATTR not in study_records(trial.study):
            set_study_record(trial.study, DEVICE_NAME_ATTR, str(data["device_name"]))
        _finish(trial, ckpt)
        return float(getattr(result.epochs[-1], self.config.metric))

    def suggest(self, trial: optuna.Trial) -> tuple[ScheduleSpec, dict[str, Any]]:
        try:
            return super().suggest(trial)
        except SpecError as exc:
            if self.space.grid_points is None:
                raise
            # A grid takes each range's ends; a few combinations are no schedule (one-cycle's
            # pct_start 0.5 with three_phase): that point fails, saying so, and the grid goes on.
            reason = f"{INVALID_GRID_POINT}: {'; '.join(exc.problems)}"
            trial.set_user_attr(FAIL_REASON_ATTR, reason)
            raise SpecError(exc.problems) from None

    def _climb(self, trial: optuna.Trial, spec: ScheduleSpec, optimizer: dict[str, Any],
               ckpt: Path) -> None:
        """Train the whole schedule at each shorter rung's horizon; raise ``TrialPruned`` at
        the first rung where the trial does not rank among the best (a retry re-reports the
        rungs its first run finished instead of training them again)."""
        from lrsearch.train import train

        done = {int(r["epochs"]): r for r in trial.user_attrs.get(RUNGS_ATTR) or []}
        for epochs in self.rungs:
            if epochs not in done:
                rung_ckpt = ckpt.with_name(f"{ckpt.stem}.rung-{epochs}{ckpt.suffix}")
                try:
                    result = train(spec, OptimizerSettings(**optimizer),
                                   self.config.train_settings(epochs=epochs), self.data,
                                   checkpoint_path=str(rung_ckpt), on_epoch=self._progress(trial))
                except DivergedError as exc:
                    rung_ckpt.unlink(missing_ok=True)
                    _finish(trial, ckpt, pruned=f"diverged at the {epochs}-epoch "
                            f"horizon: {exc}", failed=f"diverged: {exc}", lr_curve=exc.lr_curve)
                    raise optuna.TrialPruned(f"diverged: {exc}") from None
                rung_ckpt.unlink(missing_ok=True)
                value = float(getattr(result.epochs[-1], self.config.metric))
                done[epochs] = {"epochs": epochs, "value": value,
                                "seconds": float(result.seconds),
                                "steps": int(result.epochs[-1].step)}
                trial.set_user_attr(RUNGS_ATTR, [done[e] for e in sorted(done)])
                # The LR curve of the latest horizon run: what a trial pruned here ran last.
                set_curve(trial, LR_CURVE_ATTR, [[int(step), float(lr)]
                                                    for step, lr in result.lr_curve])
            value = done[epochs]["value"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # a retry re-reporting a rung
                trial.report(value, epochs)
            if trial.should_prune():
                reason = (f"pruned at the {epochs}-epoch horizon ({self.config.metric} "
                          f"{value:.4f})")
                _finish(trial, ckpt, pruned=reason)
                raise optuna.TrialPruned(reason)

    def _progress(self, trial: optuna.Trial) -> Callable[[Any], None] | None:
        if self.on_epoch is None:
            return None
        return lambda result: self.on_epoch(trial.number, result)

    def _report(self, trial: optuna.Trial, result: Any, epochs: list[dict[str, Any]]
                ) -> str | None:
        """Store and report an epoch; return why the trial is pruned there, or None."""
        row = {key: _plain(v) for key, v in asdict(result).items()}
        # A retry that restarts without a checkpoint replaces the epochs it inherited.
        epochs[:] = [e for e in epochs if e["epoch"] < row["epoch"]] + [row]
        set_curve(trial, EPOCHS_ATTR, epochs)
        epoch = row["epoch"]
        # Horizon rungs report each rung's end only: the full run's epochs would share steps.
        judged = None if self.rungs else self._judged_value(row)
        if judged is not None:
            with warnings.catch_warnings():
                # A retry re-reporting an epoch its first run reported is harmless.
                warnings.simplefilter("ignore", UserWarning)
                trial.report(judged, epoch)
        if self.on_epoch is not None:
            self.on_epoch(trial.number, result)
        if judged is not None and epoch in self.prune_epochs and \
                not never_pruned(trial) and trial.should_prune():
            what = f"probe {self.config.metric}" if self.probe else self.config.metric
            return f"pruned after epoch {epoch} ({what} {judged:.4f})"
        return None

    def _judged_value(self, row: dict[str, Any]) -> float | None:
        """What Optuna hears at this epoch: the probe value at probed points, else raw."""
        if self.probe is None:
            return row[self.config.metric]
        # Raw values between the points would mix two kinds of value in one curve.
        return row.get(probe_key(self.config.metric))


def _plain(value: Any) -> Any:
    """JSON types for user attributes (they go through ``json.dumps``): ints, floats or None."""
    if value is None or isinstance(value, int):
        return value
    return float(value)


def _finish(trial: optuna.Trial, ckpt: Path, pruned: str | None = None,
            failed: str | None = None, lr_curve: list | None = None) -> None:
    """The trial is done with its checkpoint; when pruned, store why and the LR curve it
    ran (and, when it diverged, the failure it counts as)."""
    if pruned is not None:
        trial.set_user_attr(PRUNE_REASON_ATTR, pruned)
        if lr_curve:
            set_curve(trial, LR_CURVE_ATTR, [[int(step), float(lr)] for step, lr in lr_curve])
    if failed is not None:
        trial.set_user_attr(FAIL_REASON_ATTR, failed)
    remove_checkpoints(ckpt)


def _retried_trial_number(trial: optuna.Trial) -> int | None:
    """The number of the trial this one reruns (after its worker died), or None."""
    frozen = stored_trial(trial.study, trial_id(trial))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)
