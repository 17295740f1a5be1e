"""The objective of a study whose training loop is the user's own (``lrsearch.optimize``).

lrsearch samples the trial's schedule and optimizer, hands them to the user's ``train_fn`` as
a :class:`Trial`, and stores what a report needs under the same attribute names as its own
objective: the spec (laid onto the steps the user's scheduler runs), the optimizer, a row per
reported epoch, the LR curve the spec gives, the wall time, why it was pruned or failed.
Pruning judges the raw values reported, or, when the user gives an ``evaluate`` callback and
the study's judge is ``probe``, a cooldown probe at each pruning point: ``trial.report`` then
takes the model, the optimizer and a ``train_step`` to cool it down with
(:mod:`lrsearch.train._user_probe`). Baselines run like any other trial and are never pruned.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import optuna

from lrsearch.config import StudyConfig, pruning_epochs, resolve_judge
from lrsearch.errors import LrsearchError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import (
    EPOCHS_ATTR,
    LR_CURVE_ATTR,
    SCHEDULE_ATTR,
    TRAINING_LOOP_ATTR,
    probe_key,
    set_curve,
    set_study_record,
    study_records,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search._space import SearchSpace
from lrsearch.search._trial import TrialProtocol, never_pruned

__all__ = ["Trial", "UserObjective"]


class Trial:
    """One trial, as the user's ``train_fn`` sees it.

    Attributes:
        number: The trial's number in the study.
        spec: Its schedule (:class:`~lrsearch.ScheduleSpec`; :meth:`build_scheduler` lays it
            onto the steps your loop runs).
        optimizer_settings: Its optimizer and hyperparameters.
        epochs: How many epochs to train (the study's ``training.epochs``).
        seed: The study's ``training.seed``.
        metric: What :meth:`report` must be given (the study's ``metric``).
    """

    def __init__(self, trial: optuna.Trial, spec: ScheduleSpec, optimizer: OptimizerSettings,
                 config: StudyConfig, on_epoch: Callable[[int, Any], None] | None,
                 evaluate: Callable[[Any], Any] | None = None) -> None:
        self._trial, self._config, self._on_epoch = trial, config, on_epoch
        self._evaluate = evaluate  # not None: the study's judge is the cooldown probe
        self.number = trial.number
        self.spec, self.optimizer_settings = spec, optimizer
        self.epochs, self.seed, self.metric = (config.training.epochs, config.training.seed,
                                               config.metric)
        self._prune_epochs = pruning_epochs(config.pruner, config.training.epochs)
        self.rows: list[dict[str, Any]] = []

    def build_optimizer(self, model: Any) -> Any:
        """The trial's torch optimizer over ``model``: group 0 its backbone at the peak LR,
        the head (its last ``nn.Linear``) at ``head_lr_mult`` times that; weight decay off
        biases and normalisation parameters."""
        from lrsearch.train import build_optimizer

        return build_optimizer(model, self.optimizer_settings, self.spec.peak_lr)

    def build_scheduler(self, optimizer: Any, total_steps: int) -> Any:
        """The trial's schedule on ``optimizer`` over ``total_steps`` optimizer steps; call its
        ``step()`` after every ``optimizer.step()``."""
        self.spec = self.spec.with_total_steps(int(total_steps))
        self._trial.set_user_attr(SCHEDULE_ATTR, self.spec.to_dict())
        every = self._config.training.lr_record_every
        steps = sorted({*range(0, self.spec.total_steps, every), self.spec.total_steps - 1})
        set_curve(self._trial, LR_CURVE_ATTR, [[s, float(self.spec.lr(s))] for s in steps])
        return self.spec.to_torch(optimizer, total_steps=self.spec.total_steps)

    def report(self, epoch: int, step: int | None = None, *, model: Any = None,
               optimizer: Any = None, train_step: Callable[[], Any] | None = None,
               **metrics: float) -> None:
        """Store epoch ``epoch``'s (1-based) metrics; the study's metric must be among them.

        ``step``, the optimizer steps done, defaults to the epoch's share of the scheduler's
        ``total_steps``. When the study is judged by a cooldown probe (an ``evaluate`` given to
        ``lrsearch.optimize``), a pruning epoch also needs ``model``, ``optimizer`` and
        ``train_step`` (one optimizer step on the next batch, no scheduler step): the probe
        cools a copy of the run down and ``evaluate(model)`` scores it; the run is restored.

        Raises:
            optuna.TrialPruned: The pruner stops the trial here (or the value is not finite):
                let it propagate; lrsearch records why.
            LrsearchError: The study's metric is missing, or what the probe needs.
        """
        if self.metric not in metrics:
            raise LrsearchError(f"report: got {sorted(metrics)}; must include {self.metric!r}, "
                                f"the study's metric")
        if step is None:
            step = round(self.spec.total_steps * int(epoch) / self.epochs)
        row = {"epoch": int(epoch), "step": int(step),
               **{key: float(value) for key, value in metrics.items()}}
        self.rows[:] = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        if not math.isfinite(row[self.metric]):
            raise optuna.TrialPruned(f"diverged: {self.metric} {row[self.metric]} after epoch "
                                     f"{epoch}")
        probing = self._evaluate is not None and row["epoch"] in self._prune_epochs
        if probing:
            row.update(self._probe(row, model, optimizer, train_step))
        set_curve(self._trial, EPOCHS_ATTR, self.rows)
        # A probe judge hears probe values only: raw ones between would mix two kinds.
        value = row[probe_key(self.metric)] if probing else (
            None if self._evaluate is not None else row[self.metric])
        if value is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self._trial.report(value, row["epoch"])
        if self._on_epoch is not None:
            self._on_epoch(self.number, SimpleNamespace(**row))
        if value is not None and row["epoch"] in self._prune_epochs and \
                not never_pruned(self._trial) and self._trial.should_prune():
            what = f"probe {self.metric}" if probing else self.metric
            raise optuna.TrialPruned(f"pruned after epoch {epoch} ({what} {value:.4f})")

    def _probe(self, row: dict[str, Any], model: Any, optimizer: Any,
               train_step: Callable[[], Any] | None) -> dict[str, Any]:
        """The probe's values for ``row``: ``probe_<metric>``, its steps and seconds."""
        from lrsearch.train import user_cooldown_probe

        missing = [name for name, value in (("model", model), ("optimizer", optimizer),
                                            ("train_step", train_step)) if value is None]
        if missing:
            raise LrsearchError(f"report: epoch {row['epoch']} is a pruning point judged by a "
                                f"cooldown probe; pass {', '.join(missing)} to trial.report "
                                f"(or leave evaluate out of lrsearch.optimize to judge raw "
                                f"values)")
        value, steps, seconds = user_cooldown_probe(
            model, optimizer, train_step, self._evaluate, self._config.pruner.probe_frac,
            row["step"])
        values = value if isinstance(value, dict) else {self.metric: value}
        if self.metric not in values:
            raise LrsearchError(f"evaluate: returned {sorted(values)}; must include "
                                f"{self.metric!r}, the study's metric (or be its value)")
        probed = {probe_key(key): float(v) for key, v in values.items()}
        return {**probed, "probe_steps": int(steps), "probe_seconds": float(seconds)}


class UserObjective(TrialProtocol):
    """A trial trained by the user's ``train_fn``, on the one trial protocol
    (:class:`~lrsearch.search._trial.TrialProtocol`): the same stored attributes, fail reasons
    and storage-fault handling as lrsearch's own training.

    Args:
        config: The checked study config (its ``model`` and ``data`` are not used).
        space: Its search space.
        train_fn: Called with a :class:`Trial`; trains, calling ``trial.report`` each epoch.
        on_epoch: Called with ``(trial_number, row)`` after each reported epoch (progress).
        evaluate: ``evaluate(model)``, the metric (or a dict of metrics) of a cooled-down model:
            given, the pruning points are judged by a cooldown probe when the study's judge is
            ``probe``.
    """

    def __init__(self, config: StudyConfig, space: SearchSpace,
                 train_fn: Callable[[Trial], Any],
                 on_epoch: Callable[[int, Any], None] | None = None,
                 evaluate: Callable[[Any], Any] | None = None) -> None:
        super().__init__(config, space)
        self.train_fn, self.on_epoch = train_fn, on_epoch
        judge = resolve_judge(config.pruner, len(space.families))
        self.evaluate = evaluate if judge == "probe" and config.pruner.name != "none" else None

    def train_trial(self, trial: optuna.Trial, spec: ScheduleSpec,
                    optimizer: dict[str, Any]) -> float:
        if TRAINING_LOOP_ATTR not in study_records(trial.study):
            function = self.train_fn
            name = getattr(function, "__qualname__", type(function).__name__)
            set_study_record(trial.study, TRAINING_LOOP_ATTR,
                                      f"{function.__module__}.{name} (lrsearch.optimize)")
        handle = Trial(trial, spec, OptimizerSettings(**optimizer), self.config, self.on_epoch,
                       self.evaluate)
        self.train_fn(handle)
        if not handle.rows:
            raise LrsearchError(f"trial {trial.number}: train_fn reported no epoch; call "
                                f"trial.report(epoch, {self.config.metric}=...) after each")
        return float(handle.rows[-1][self.config.metric])
