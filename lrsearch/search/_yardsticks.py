"""Baselines and priors that failed: run again by the next run, and named until they have a
result.

Baselines are the yardstick of every margin lrsearch prints, and priors are the search's first
guesses; each is queued once, when the study is set up. A lost worker's or an interrupted
trial is retried at once; one that failed for another cause (the storage failed under it, a
full disk, a foreign checkpoint) was never run again, and the study ended without its
baseline. A run now starts by queueing a copy of each such trial (its cause may be gone), and
ends by naming every baseline that still has no result.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.records import PRIOR_ATTR, fail_reason, is_prior, retry_trial, trial_baseline

__all__ = ["missing_baselines", "requeue_failed_yardsticks"]

_SETTLED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def _yardstick(trial: FrozenTrial) -> str | None:
    """``baseline NAME`` or ``prior NAME`` for a queued yardstick, else None."""
    if trial_baseline(trial) is not None:
        return f"baseline {trial_baseline(trial)!r}"
    if is_prior(trial):
        return f"prior {trial.user_attrs[PRIOR_ATTR]!r}"
    return None


def _unsettled(study: optuna.Study) -> dict[str, FrozenTrial]:
    """Each yardstick whose trials all failed: its latest failed trial."""
    settled: set[str] = set()
    failed: dict[str, FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False):
        name = _yardstick(trial)
        if name is None:
            continue
        if trial.state in _SETTLED:
            settled.add(name)
        elif trial.state == TrialState.FAIL:
            failed[name] = trial  # trials come in order: the latest stays
    return {name: trial for name, trial in failed.items() if name not in settled}


def requeue_failed_yardsticks(study: optuna.Study, max_retry: int | None) -> list[str]:
    """Queue a copy of each baseline or prior whose trials all failed; a line for each."""
    lines = []
    for name, trial in _unsettled(study).items():
        waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
        retry_trial(study, trial, max_retry)
        again = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,))) > waiting
        lines.append(f"{name}: trial {trial.number} failed ({fail_reason(trial) or 'no reason'}"
                     f"); " + ("queued again" if again else
                               f"not queued again: it failed {max_retry} retries already"))
    return lines


def missing_baselines(study: optuna.Study) -> list[str]:
    """A line for each baseline with no result yet and why (its latest trial's reason)."""
    return [f"{name} has no result: trial {trial.number} failed "
            f"({fail_reason(trial) or 'no reason'}); the next run runs it again"
            for name, trial in _unsettled(study).items() if name.startswith("baseline")]
