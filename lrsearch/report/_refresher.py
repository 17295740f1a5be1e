"""Keep lrsearch's dashboard figures current while a study runs, at a bounded cost.

:class:`DashboardRefresher` is an Optuna-style callback ``(study, frozen_trial)`` that the study
runner calls after every finished trial. Publishing reads every trial and writes two figures
(about a second on thousands of trials), so it publishes at most once per ``min_interval_s``
and never spends more than ``max_share`` of the run's wall time on it; ``flush`` publishes
what the last trials changed when the run ends.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import optuna

__all__ = ["DashboardRefresher"]


class DashboardRefresher:
    """Publish lrsearch's figures and note into a running study, throttled.

    Args:
        min_interval_s: Seconds between two publishes at least (the first finished trial
            publishes at once).
        max_share: Largest share of wall time spent publishing: after a publish that took
            ``d`` seconds the next waits at least ``d / max_share`` seconds.
        top_k: How many of the best schedules the LR-curves figure draws.
        clock: Monotonic clock in seconds (tests pass a fake one).

    Example:
        >>> import optuna
        >>> refresher = DashboardRefresher(min_interval_s=60)
        >>> study = optuna.create_study(direction="maximize")
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3,
        ...                callbacks=[refresher])
        >>> refresher.publishes, refresher.flush()  # the first trial published; then too soon
        (1, True)
    """

    def __init__(self, min_interval_s: float = 30.0, *, max_share: float = 0.05,
                 top_k: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        if min_interval_s < 0:
            raise ValueError(f"min_interval_s: got {min_interval_s!r}; must be >= 0")
        if not 0 < max_share <= 1:
            raise ValueError(f"max_share: got {max_share!r}; must be in (0, 1]")
        self.min_interval_s = min_interval_s
        self.max_share = max_share
        self.top_k = top_k
        self.publishes = 0
        self.seconds = 0.0  # spent publishing, in all
        self._clock = clock
        self._next_at = float("-inf")
        self._pending: optuna.Study | None = None
        self._disabled = False

    def __call__(self, study: optuna.Study, trial: Any = None) -> None:
        """After a finished trial: publish if the last publish is old enough."""
        if self._disabled:
            return
        self._pending = study
        if self._clock() >= self._next_at:
            self._publish(study)

    def flush(self) -> bool:
        """Publish what finished since the last publish; True when there is nothing left."""
        if self._pending is None or self._disabled:
            return self._pending is None
        return self._publish(self._pending)

    def _publish(self, study: optuna.Study) -> bool:
        from lrsearch.report._dashboard import dashboard_module, publish_to_dashboard

        if dashboard_module() is None:  # warn once, then stay out of the way
            self._disabled = True
            warnings.warn("optuna-dashboard is not installed: lrsearch's figures are not "
                          "saved for the dashboard (pip install optuna-dashboard)",
                          stacklevel=3)
            return False
        started = self._clock()
        saved = publish_to_dashboard(study, top_k=self.top_k)
        ended = self._clock()
        self._pending = None if saved else self._pending
        self.publishes += saved
        self.seconds += ended - started
        self._next_at = ended + max(self.min_interval_s, (ended - started) / self.max_share)
        return saved
