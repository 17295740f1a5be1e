"""Which trial is the study's winner: the best mean over its seeds, not its one lucky value.

A search picks by one training seed's validation value, so the best-looking trial is partly the
luckiest (the winner's curse). Before a study names its winner, its top trials by that value are
re-run with more training seeds (:mod:`lrsearch.search._reseed` stores the runs under
:data:`RESEEDS_ATTR`); a re-run trial's score is the mean of its own value and those runs, and
re-run trials rank ahead of the others (the winner is the best mean among the candidates, not
a single lucky value that was never re-run). Report, export, confirm and the run's summary all
rank trials this way, through :func:`rank_complete`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from lrsearch.records._attrs import RESEEDS_ATTR

__all__ = ["rank_complete", "reseed_runs", "score_text", "trial_score", "trial_seed_values"]


def reseed_runs(study_attrs: Mapping[str, Any]) -> dict[int, dict[int, float]]:
    """``trial number -> {seed: value}`` of the re-runs stored in the study (none: empty)."""
    stored = study_attrs.get(RESEEDS_ATTR) or {}
    return {int(number): {int(seed): float(v) for seed, v in runs.items()}
            for number, runs in (stored.get("runs") or {}).items()}


def trial_seed_values(trial: FrozenTrial, runs: Mapping[int, Mapping[int, float]]
                      ) -> list[float]:
    """The trial's value in the search, then its re-runs' values by seed."""
    reruns = runs.get(trial.number, {})
    return [float(trial.value), *(float(reruns[seed]) for seed in sorted(reruns))]


def score_text(values: Sequence[float]) -> str:
    """How every command shows a trial's score: its one value, or the mean with each seed's.

    Example:
        >>> score_text([0.573]), score_text([0.574, 0.5605])
        ('0.5730', '0.5673 (mean of 2 seeds: 0.5740, 0.5605)')
    """
    if len(values) == 1:
        return f"{values[0]:.4f}"
    seeds = ", ".join(f"{v:.4f}" for v in values)
    return f"{statistics.fmean(values):.4f} (mean of {len(values)} seeds: {seeds})"


def trial_score(trial: FrozenTrial, runs: Mapping[int, Mapping[int, float]]
                ) -> tuple[float, int]:
    """The trial's mean value over its search run and its re-runs, and how many values.

    Example:
        >>> from optuna.trial import create_trial
        >>> trial = create_trial(value=0.5)
        >>> trial.number = 4
        >>> mean, n = trial_score(trial, {4: {5000: 0.3, 5001: 0.4}})
        >>> round(mean, 6), n
        (0.4, 3)
    """
    values = trial_seed_values(trial, runs)
    return statistics.fmean(values), len(values)


def rank_complete(trials: Iterable[FrozenTrial], study_attrs: Mapping[str, Any],
                  maximize: bool) -> list[FrozenTrial]:
    """The complete trials with a finite value: the re-run ones first, best mean first, then
    the others, best value first (ties: lower number)."""
    runs = reseed_runs(study_attrs)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
                and math.isfinite(t.value)]
    sign = -1.0 if maximize else 1.0
    return sorted(complete, key=lambda t: (t.number not in runs,
                                           sign * trial_score(t, runs)[0], t.number))
