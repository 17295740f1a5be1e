"""DashboardRefresher: publishes while a study runs, throttled, and flushes at the end."""

from __future__ import annotations

import pytest

from lrsearch.report import FIGURE_IDS, DashboardRefresher
from tests.report._studies import make_study


class StepClock:
    """A clock that moves ``step_s`` seconds each time it is read."""

    def __init__(self, step_s: float) -> None:
        self.now, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


def _saved_figures(study) -> set[str]:
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

    return set(get_plotly_graph_objects(study._storage.get_study_system_attrs(study._study_id)))


def test_publishes_at_once_then_at_most_every_interval_and_flushes():
    study = make_study(None, n_trials=12)
    clock = StepClock(0.001)  # publishing "takes" 1 ms: the interval rules
    refresher = DashboardRefresher(min_interval_s=10.0, clock=clock)
    refresher(study, study.trials[0])
    assert refresher.publishes == 1 and _saved_figures(study) == set(FIGURE_IDS.values())
    for trial in study.trials[1:5]:  # well within 10 s
        refresher(study, trial)
    assert refresher.publishes == 1
    clock.now += 10.0
    refresher(study, study.trials[5])
    assert refresher.publishes == 2
    refresher(study, study.trials[6])  # too soon again: left pending
    assert refresher.publishes == 2
    assert refresher.flush() and refresher.publishes == 3
    assert refresher.flush() and refresher.publishes == 3  # nothing pending: no publish


def test_slow_publishes_take_at_most_their_share_of_wall_time():
    study = make_study(None, n_trials=5)
    clock = StepClock(1.0)  # every clock read is 1 s later: a publish "takes" 1 s
    refresher = DashboardRefresher(min_interval_s=0.0, max_share=0.1, clock=clock)
    for _ in range(40):  # 40 calls, 1 s each, plus the publishes
        refresher(study)
    # Each publish (1 s) is followed by >= 10 s without one: at most 1 in 11 seconds.
    assert 2 <= refresher.publishes <= 4
    assert refresher.seconds == refresher.publishes * 1.0
    assert refresher.seconds / clock.now <= 0.1 + 1e-9


def test_publish_skips_the_pruning_analyses_on_thousands(monkeypatch):
    # What keeps it fast; how fast, bench/report_speed.py measures ("publish to dashboard").
    import lrsearch.report._extract as extract

    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard's figures do not need this")

    for name in ("extract_rank_bias", "extract_fidelity", "_importances"):
        monkeypatch.setattr(extract, name, refuse)
    study = make_study(None, n_trials=2000)
    refresher = DashboardRefresher()
    refresher(study)
    assert refresher.publishes == 1  # publish_to_dashboard warns and returns False on error


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="min_interval_s: got -1"):
        DashboardRefresher(min_interval_s=-1)
    with pytest.raises(ValueError, match="max_share: got 0"):
        DashboardRefresher(max_share=0)
