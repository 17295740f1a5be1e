"""Pruning bias in the report: tau of mid-training ranks vs final ones, overall and per family."""

from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import create_trial

from lrsearch.records import set_study_record
from lrsearch.report import build_panels, extract_report, render_report


def _trial(family: str, raw: list[float]) -> optuna.trial.FrozenTrial:
    rows = [{"epoch": e, "step": 10 * e, "val_acc": v} for e, v in enumerate(raw, start=1)]
    return create_trial(value=raw[-1], params={"family": family},
                        distributions={"family": CategoricalDistribution(["wsd", "cosine"])},
                        user_attrs={"epochs": rows, "schedule": {"family": family}})


def _study() -> optuna.Study:
    # wsd holds its LR and ends best, but lags until its decay; cosine decays early.
    study = optuna.create_study(direction="maximize")
    for i in range(6):
        study.add_trial(_trial("wsd", [0.30 + 0.01 * i, 0.35 + 0.01 * i, 0.80 + 0.01 * i]))
        study.add_trial(_trial("cosine", [0.50 + 0.01 * i, 0.60 + 0.01 * i, 0.70 + 0.01 * i]))
    set_study_record(study, "config", {"metric": "val_acc", "training": {"epochs": 3}})
    return study


def test_short_horizon_bias_shows_as_negative_early_tau_overall_but_not_within_families():
    data = extract_report(_study(), top_k=3, importances=False)
    curves = {c.label: c for c in data.rank_bias}
    assert set(curves) == {"all (raw)", "wsd (raw)", "cosine (raw)"}
    overall = curves["all (raw)"]
    assert overall.trials == 12 and overall.progress == [1 / 3, 2 / 3]
    assert all(tau < 0 for tau in overall.tau)  # early ranks invert the final ones
    assert curves["wsd (raw)"].tau == [1.0, 1.0] and curves["cosine (raw)"].tau == [1.0, 1.0]


def test_rank_bias_panel_is_drawn_or_explains_why_not():
    panels = {p.key: p for p in build_panels(extract_report(_study(), 3, importances=False))}
    assert panels["rank-bias"].figure is not None
    assert "Pruning bias" in render_report(extract_report(_study(), 3, importances=False))
    few = optuna.create_study(direction="maximize")
    few.add_trial(_trial("wsd", [0.3, 0.8]))
    panels = {p.key: p for p in build_panels(extract_report(few, 3, importances=False))}
    assert panels["rank-bias"].figure is None and "at least 5" in panels["rank-bias"].note
