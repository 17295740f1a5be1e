"""Progress of a study on the terminal: a rich bar, a line per trial in logs, or nothing.

Each finished trial prints one line that stays (number, state, family, value, why it did not
complete, its minutes, the best so far): above the bar on a terminal, alone in logs. The bar
shows finished trials out of the total, the best so far (from the start, after a resume too),
an estimate of the time left from the trials' own durations, and the running trial's epoch.
A trial stopped by Ctrl-C is shown as interrupted, not failed. An LR range test gets a bar of
its own, over its steps.
"""

from __future__ import annotations

import sys
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.records import (
    INTERRUPTED,
    WALL_SECONDS_ATTR,
    fail_reason,
    rank_complete,
    reseed_runs,
    study_records,
    trial_baseline,
    trial_family,
    trial_reason,
    trial_score,
)

__all__ = ["RangeTestProgress", "StudyProgress"]


class StudyProgress:
    """Shows a study's progress; use as a context manager.

    Args:
        total: Trials the study runs in all (None: until the timeout).
        done: Trials already finished when this run starts.
        epochs: Epochs per trial.
        metric: Name of the value (``val_acc``).
        mode: ``"bar"``, ``"lines"`` or ``"off"``; None picks bar on a terminal, else lines.
    """

    def __init__(self, total: int | None, done: int, epochs: int, metric: str,
                 mode: str | None = None) -> None:
        self.total, self.done, self.epochs, self.metric = total, done, epochs, metric
        self.mode = mode or ("bar" if sys.stderr.isatty() else "lines")
        self._progress: Any = None
        self._task: Any = None
        self._best = "best: -"
        self._best_trial: int | None = None  # the winner as named, and its seed count
        self._best_value: float | None = None
        self._best_seeds = 0
        self._maximize = True

    def __enter__(self) -> StudyProgress:
        if self.mode == "bar":
            self._progress = _bar("[bold]trials", "{task.fields[best]}", "{task.fields[eta]}",
                                  "{task.fields[trial]}")
            self._task = self._progress.add_task("trials", total=self.total,
                                                 completed=self.done, best=self._best,
                                                 trial="", eta="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def epoch(self, trial_number: int, result: Any) -> None:
        """After each epoch of the running trial."""
        if self._progress is not None:
            self._progress.update(self._task, trial=f"trial {trial_number}: epoch "
                                  f"{result.epoch}/{self.epochs} {self.metric} "
                                  f"{getattr(result, self.metric):.4f}")

    def running(self, text: str) -> None:
        """Describe the running trials (the parent of several workers polls them)."""
        if self._progress is not None:
            self._progress.update(self._task, trial=text)

    def finished(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Study callback: after each trial."""
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.done += 1
        self.set_best(study)
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, best=self._best,
                                  eta=self._eta(study), trial="")  # until the next epoch
        self.show(trial)

    def show(self, trial: FrozenTrial) -> None:
        """Print the trial's line (above the bar, or alone in logs; nothing when off)."""
        if self.mode == "off":
            return
        line = self.trial_line(trial)
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def trial_line(self, trial: FrozenTrial) -> str:
        """``trial 7 pruned wsd val_acc - (pruned after epoch 2) 0.4 min; best: ...``."""
        interrupted = trial.state == TrialState.FAIL and fail_reason(trial) == INTERRUPTED
        state = "interrupted" if interrupted else trial.state.name.lower()
        value = "-" if trial.value is None else f"{trial.value:.4f}"
        family = trial_family(trial) or "?"
        if trial_baseline(trial) is not None:
            family += f" [baseline {trial_baseline(trial)}]"
        reason = None if interrupted else trial_reason(trial)
        seconds = trial.user_attrs.get(WALL_SECONDS_ATTR)
        took = f" {seconds / 60:.1f} min" if seconds is not None else ""
        return (f"trial {trial.number} {state} {family} {self.metric} {value}"
                f"{f' ({reason})' if reason else ''}{took}; {self._best}{self._why_not(trial)}")

    def _why_not(self, trial: FrozenTrial) -> str:
        """Why a complete trial above the best value is not the best: one seed against the
        winner's mean over re-runs (re-run trials rank first, records._winner)."""
        if (trial.state != TrialState.COMPLETE or trial.value is None or self._best_seeds < 2
                or trial.number == self._best_trial or self._best_value is None):
            return ""
        above = trial.value > self._best_value if self._maximize else \
            trial.value < self._best_value
        return (f" (trial {trial.number} has one seed; the best is the mean over re-runs, "
                f"and re-run trials rank first)" if above else "")

    def _eta(self, study: optuna.Study) -> str:
        """Time left: the trials still to run times the mean duration of those finished."""
        if self.total is None or self.done >= self.total:
            return ""
        seconds = [t.user_attrs[WALL_SECONDS_ATTR] for t in study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
            if WALL_SECONDS_ATTR in t.user_attrs]
        if not seconds:
            return ""
        left = (self.total - self.done) * sum(seconds) / len(seconds)
        return f"~{left / 60:.0f} min left" if left >= 60 else f"~{left:.0f} s left"

    def note(self, text: str) -> None:
        """A message that must be seen even when quiet (a worker died): above the bar, or on
        stderr."""
        if self._progress is not None:
            self._progress.console.print(text, style="yellow", markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def update(self, done: int, study: optuna.Study) -> None:
        """Set the count of finished trials and the best so far (at the start of a run, so a
        resume shows its best at once; the parent of several workers polls it)."""
        self.done = done
        self.set_best(study)
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=self._best,
                                  eta=self._eta(study))

    def set_best(self, study: optuna.Study) -> None:
        """Refresh the best value shown: the winner as the summary names it (records)."""
        attrs = study_records(study)
        ranked = rank_complete(study.get_trials(deepcopy=False), attrs,
                               study.direction == optuna.study.StudyDirection.MAXIMIZE)
        if not ranked:
            return
        best = ranked[0]
        self._best_value, self._best_seeds = trial_score(best, reseed_runs(attrs))
        self._best_trial = best.number
        self._maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        seeds = f", mean of {self._best_seeds} seeds" if self._best_seeds > 1 else ""
        self._best = (f"best: {self._best_value:.4f} (trial {best.number}, "
                      f"{trial_family(best)}{seeds})")


class RangeTestProgress:
    """A bar over the steps of an LR range test, with the LR and smoothed loss; use as a
    context manager. Shown in ``"bar"`` mode only (None: on a terminal).

    Args:
        total: Steps of the ramp.
        label: What runs, e.g. ``"lr range test (sgd)"``.
        mode: ``"bar"``, ``"lines"`` or ``"off"``; None picks bar on a terminal.
    """

    def __init__(self, total: int, label: str, mode: str | None = None) -> None:
        self.total, self.label = total, label
        self.mode = mode or ("bar" if sys.stderr.isatty() else "lines")
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> RangeTestProgress:
        if self.mode == "bar":
            self._progress = _bar(f"[bold]{self.label}", "{task.fields[status]}")
            self._task = self._progress.add_task(self.label, total=self.total, status="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def step(self, step: int, lr: float, smoothed_loss: float) -> None:
        """After each step of the ramp (0-based ``step``)."""
        if self._progress is not None:
            self._progress.update(self._task, completed=step + 1,
                                  status=f"lr {lr:.2e} loss {smoothed_loss:.4f}")


def _bar(title: str, *fields: str) -> Any:
    """A started rich progress bar: title, bar, done/total, ``fields``, elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(title), BarColumn(), MofNCompleteColumn(),
                        *(TextColumn(field) for field in fields), TimeElapsedColumn(),
                        transient=False)
    progress.start()
    return progress
