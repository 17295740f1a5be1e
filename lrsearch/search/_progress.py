"""Progress of a study on the terminal: a rich bar, a line per trial in logs, or nothing.

The bar shows finished trials out of the total, the best value so far and the running trial's
epoch. Without a terminal (logs, CI) each finished trial prints one line instead. An LR range
test gets a bar of its own, over its steps.
"""

from __future__ import annotations

import sys
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.records import trial_baseline, trial_family, trial_reason

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

    def __enter__(self) -> StudyProgress:
        if self.mode == "bar":
            self._progress = _bar("[bold]trials", "{task.fields[best]}",
                                  "{task.fields[trial]}")
            self._task = self._progress.add_task("trials", total=self.total,
                                                 completed=self.done, best=self._best,
                                                 trial="")
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
            self._progress.update(self._task, completed=self.done, best=self._best)
        elif self.mode == "lines":
            value = "-" if trial.value is None else f"{trial.value:.4f}"
            family = trial_family(trial) or "?"
            if trial_baseline(trial) is not None:
                family += f" [baseline {trial_baseline(trial)}]"
            reason = trial_reason(trial)
            print(f"trial {trial.number} {trial.state.name.lower()} {family} "
                  f"{self.metric} {value}{f' ({reason})' if reason else ''}; {self._best}",
                  file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        """A message that must be seen even when quiet (a worker died): above the bar, or on
        stderr."""
        if self._progress is not None:
            self._progress.console.print(text, style="yellow", markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def update(self, done: int, study: optuna.Study) -> None:
        """Set the count of finished trials (the parent of several workers polls it)."""
        self.done = done
        self.set_best(study)
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=self._best)

    def set_best(self, study: optuna.Study) -> None:
        """Refresh the best value shown."""
        try:
            best = study.best_trial
        except ValueError:  # no completed trial yet
            return
        self._best = f"best: {best.value:.4f} (trial {best.number}, {trial_family(best)})"


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
