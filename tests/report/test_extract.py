"""Extraction: one pass over the trials into plain data, checked against the synthetic study."""

from __future__ import annotations

import optuna
import pytest

from lrsearch.report import extract_report, load_report_study
from tests.report._studies import make_study


@pytest.fixture(scope="module")
def data(synthetic_url):
    return extract_report(load_report_study(synthetic_url, "synthetic"), top_k=5)


def test_top_k_is_the_best_complete_trials_best_first(data, synthetic_url):
    study = load_report_study(synthetic_url, "synthetic")
    complete = sorted((t for t in study.trials if t.state.name == "COMPLETE"),
                      key=lambda t: -t.value)
    assert [t.trial.number for t in data.top] == [t.number for t in complete[:5]]
    assert [t.rank for t in data.top] == [1, 2, 3, 4, 5]
    assert data.best.number == study.best_trial.number
    for top in data.top:
        assert top.lr.x[0] == 0.0 and top.lr.x[-1] <= 1.0 and len(top.lr.x) == len(top.lr.y)
        assert top.metric.x == [float(e) for e in range(1, 11)]
        assert top.trial.schedule["family"] == top.trial.family


def test_families_counts_and_best(data, synthetic_url):
    study = load_report_study(synthetic_url, "synthetic")
    for stats in data.families:
        trials = [t for t in study.trials
                  if t.user_attrs["schedule"]["family"] == stats.family]
        assert stats.complete + stats.pruned + stats.failed == len(trials)
        if stats.values:
            assert stats.best_value == max(stats.values)
    bests = [s.best_value for s in data.families if s.best_value is not None]
    assert bests == sorted(bests, reverse=True)
    assert data.counts["COMPLETE"] + data.counts["PRUNED"] + data.counts["FAIL"] == 60


def test_baselines_margin_history_intermediate(data):
    assert [(b.name, b.number) for b in data.baselines] == [("cosine", 0), ("step-50-75", 1),
                                                             ("schedulefree", 3)]
    assert data.best_baseline.value == max(b.value for b in data.baselines)
    assert data.margin == pytest.approx(data.best.value - data.best_baseline.value)
    assert data.margin > 0
    history = data.history
    assert history.best_so_far[-1] == data.best.value
    assert all(a <= b for a, b in zip(history.best_so_far, history.best_so_far[1:]))
    assert history.baselines[:4] == ["cosine", "step-50-75", None, "schedulefree"]
    pruned = [c for c in data.intermediate if c.state == "PRUNED"]
    assert pruned and all(len(c.epochs) < 10 for c in pruned)
    assert data.importances and not data.importance_note
    assert data.provenance["git_sha"] == "abc123" and data.config["name"] == "synthetic"


def test_plateau_draws_its_recorded_curve_and_test_acc_is_averaged():
    study = make_study(None, n_trials=40)
    data = extract_report(study, top_k=40, importances=False)
    sources = {t.trial.family: t.lr_source for t in data.top}
    assert sources["plateau"] == "recorded" and sources["cosine"] == "spec"
    plateau = next(t for t in data.top if t.trial.family == "plateau")
    assert plateau.lr.x[1] == pytest.approx(10 / 500)
    with_test = [t.trial for t in data.top if t.trial.number == 2]
    if with_test:
        assert with_test[0].test_acc == pytest.approx(0.71)
        assert with_test[0].test_acc_std == pytest.approx(0.01)


def test_minimize_study_orders_the_other_way():
    study = make_study(None, n_trials=30, direction="minimize")
    data = extract_report(study, top_k=3, importances=False)
    values = [t.trial.value for t in data.top]
    assert values == sorted(values) and data.best.number == study.best_trial.number
    assert data.metric == "val_loss" and data.margin >= 0


def test_empty_and_one_trial_studies_skip_importances():
    study = optuna.create_study(direction="maximize")
    data = extract_report(study)
    assert data.best is None and data.margin is None and data.importances is None
    study = make_study(None, n_trials=1)
    data = extract_report(study)
    assert data.best.number == 0 and data.importances is None
    assert "at least 2" in data.importance_note
