"""The budget's last trials polish the incumbent's peak LR (``sampler.polish_trials``)."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import TrialState

import lrsearch
from lrsearch.config import parse_study
from lrsearch.errors import ConfigError
from lrsearch.records import POLISH_ATTR, RUNGS_ATTR
from lrsearch.search import SearchSpace, run_study
from lrsearch.search._polish import (
    DEFAULT_POLISH_TRIALS,
    enqueue_polish,
    polish_count,
    polish_point,
    polish_trials,
)


def _space(peak_lr=None):
    search = {"families": ["linear", "wsd"], "optimizers": ["sgd"]}
    if peak_lr is not None:
        search["peak_lr"] = peak_lr
    return SearchSpace.from_config(parse_study({"name": "d", "search_space": search}))


def _landscape(space, best_lr):
    """A real Optuna objective over the real space: value falls with the distance (in log)
    of the peak LR from ``best_lr``; linear decay scores a point above WSD."""
    def objective(trial):
        spec, _ = space.suggest(trial)
        return -abs(math.log(spec.peak_lr / best_lr)) + (0.1 if spec.family == "linear" else 0)
    return objective


def _study(space, trials, best_lr, seed=0):
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study.optimize(_landscape(space, best_lr), n_trials=trials)
    return study


def _lr(trial):
    return trial.params[f"{trial.params['optimizer']}.peak_lr"]


def test_the_first_polish_point_is_the_incumbent_at_half_its_peak_lr():
    space = _space({"low": 0.001, "high": 1.0, "log": True})
    study = _study(space, 8, best_lr=0.05)
    best = max(study.trials, key=lambda t: t.value)
    point = polish_point(study, space)
    assert point["origin"] == {"trial": best.number, "factor": 0.5}
    assert point["params"] == {**best.params, "sgd.peak_lr": pytest.approx(_lr(best) / 2)}


def test_polish_steps_walk_the_peak_lr_towards_the_best_and_stop_at_the_budget():
    space = _space({"low": 0.001, "high": 1.0, "log": True})
    # The search drew its peak LRs between 0.005 and 0.01, the best is at 0.08: x0.5 is
    # tried and loses, x2 wins, then x2 of the new incumbent, and so on.
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_landscape(_space({"low": 0.005, "high": 0.01, "log": True}), 0.08),
                   n_trials=6)
    start = _lr(max(study.trials, key=lambda t: t.value))
    objective = _landscape(space, best_lr=0.08)
    for _ in range(5):
        assert enqueue_polish(study, space, polish_trials=5)
        study.optimize(objective, n_trials=1)
    assert not enqueue_polish(study, space, polish_trials=5)  # the budget is spent
    assert polish_count(study) == 5
    polished = [t for t in study.trials if POLISH_ATTR in t.user_attrs]
    assert all(t.state == TrialState.COMPLETE for t in polished)
    best = max(study.trials, key=lambda t: t.value)
    # The search's best LR was x8-16 off; five polish trials get within x1.5.
    assert abs(math.log(start / 0.08)) > math.log(7.9)
    assert abs(math.log(_lr(best) / 0.08)) < math.log(1.5)
    # Each polish trial is one step from the trial that was best when it was queued.
    for trial in polished:
        origin = study.trials[trial.user_attrs[POLISH_ATTR]["trial"]]
        assert _lr(trial) / _lr(origin) == pytest.approx(trial.user_attrs[POLISH_ATTR]["factor"])
        assert {k: v for k, v in trial.params.items() if k != "sgd.peak_lr"} == {
            k: v for k, v in origin.params.items() if k != "sgd.peak_lr"}


def test_polish_stays_inside_the_searched_range_and_skips_what_was_tried():
    space = _space({"low": 0.05, "high": 0.2, "log": True})
    study = _study(space, 1, best_lr=0.05)
    (first,) = study.trials
    # Pin the only trial to the range's low end: x0.5 lies outside, so x2 comes first.
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({**first.params, "sgd.peak_lr": 0.05})
    study.optimize(_landscape(space, 0.05), n_trials=1)
    assert polish_point(study, space)["origin"]["factor"] == 2.0
    study.enqueue_trial({**first.params, "sgd.peak_lr": 0.1})
    study.optimize(_landscape(space, 0.05), n_trials=1)
    # x2 tried (and worse), x0.71 outside: x1.41 is the last point left.
    assert polish_point(study, space)["params"]["sgd.peak_lr"] == pytest.approx(0.05 * 2 ** 0.5)
    study.enqueue_trial({**first.params, "sgd.peak_lr": 0.05 * 2 ** 0.5})
    study.optimize(_landscape(space, 0.05), n_trials=1)
    assert polish_point(study, space) is None


def test_polish_trials_left_out_are_the_default_for_model_based_samplers_only():
    def sampler(**given):
        return parse_study({"name": "d", "sampler": given}).sampler

    assert polish_trials(sampler(name="tpe")) == polish_trials(sampler(name="gp")) == (
        DEFAULT_POLISH_TRIALS)
    assert polish_trials(sampler(name="random")) == polish_trials(sampler(name="grid")) == 0
    assert polish_trials(sampler(name="random", polish_trials=3)) == 3
    assert polish_trials(sampler(name="tpe", polish_trials=0)) == 0


def test_a_fixed_peak_lr_has_nothing_to_polish_and_a_study_file_is_checked():
    space = _space(0.1)
    assert polish_point(_study(space, 3, best_lr=0.1), space) is None
    with pytest.raises(ConfigError, match="sampler.polish_trials: got 2 with sampler.name "
                                          "'grid'"):
        parse_study({"name": "d", "sampler": {"name": "grid", "polish_trials": 2}})
    with pytest.raises(ConfigError, match="sampler.polish_trials: got 5 with n_trials 5; "):
        parse_study({"name": "d", "n_trials": 5, "sampler": {"polish_trials": 5}})
    assert parse_study({"name": "d", "n_trials": 5, "sampler": {"polish_trials": 4}})


def test_polish_trials_of_a_users_own_loop_run_to_the_end(tmp_path):
    def by_peak_lr(trial):  # no model: the value grows with the peak LR
        for epoch in range(1, trial.epochs + 1):
            trial.report(epoch, val_acc=trial.spec.peak_lr * epoch / trial.epochs)

    storage = f"sqlite:///{tmp_path / 'own.db'}"
    # Keep only the top 5% at the half-way point: every trial below the best is pruned there,
    # as a polish trial at half the incumbent's peak LR would be.
    lrsearch.optimize({
        "name": "own", "storage": storage, "n_trials": 8, "training": {"epochs": 4},
        "sampler": {"name": "random", "seed": 0, "polish_trials": 2},
        "pruner": {"name": "percentile", "percentile": 5.0, "n_startup_trials": 2,
                   "at_progress": [0.5]},
        "search_space": {"families": ["linear"], "peak_lr": {"low": 0.01, "high": 1.0,
                                                             "log": True}}}, by_peak_lr)
    study = optuna.load_study(study_name="own", storage=storage)
    polished = [t for t in study.trials if POLISH_ATTR in t.user_attrs]
    assert [t.number for t in polished] == [6, 7]
    assert all(t.state == TrialState.COMPLETE for t in polished)
    assert any(t.state == TrialState.PRUNED for t in study.trials[:6])


@pytest.mark.slow
def test_a_study_spends_its_last_trials_on_the_incumbents_peak_lr(tiny_config):
    # Horizon rungs (the default pruner): searched trials train at 1 epoch first, polish
    # trials only at full length, never pruned.
    config = tiny_config(n_trials=6, baselines=[], pruner={"name": "horizon"},
                         sampler={"name": "tpe", "seed": 0, "n_startup_trials": 2,
                                  "priors": False, "polish_trials": 2})
    run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    assert len(study.trials) == 6
    polished = [t for t in study.trials if POLISH_ATTR in t.user_attrs]
    assert [t.number for t in polished] == [4, 5]
    for trial in polished:
        origin = study.trials[trial.user_attrs[POLISH_ATTR]["trial"]]
        before = [t for t in study.trials[:trial.number] if t.state == TrialState.COMPLETE]
        assert origin.value == max(t.value for t in before)  # the incumbent when queued
        assert trial.user_attrs["schedule"]["family"] == origin.user_attrs["schedule"]["family"]
        assert _lr(trial) == pytest.approx(_lr(origin) * trial.user_attrs[POLISH_ATTR]["factor"])
        assert trial.state == TrialState.COMPLETE and RUNGS_ATTR not in trial.user_attrs
    assert any(RUNGS_ATTR in t.user_attrs for t in study.trials[:4])
    # Resumed with a larger budget, the study polishes again at its new end.
    run_study(config.model_copy(update={"n_trials": 8}), progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    assert [t.number for t in study.trials if POLISH_ATTR in t.user_attrs] == [4, 5, 6, 7]
    assert [t.user_attrs[POLISH_ATTR]["n_trials"] for t in study.trials[4:]] == [6, 6, 8, 8]


def test_a_failed_polish_trial_does_not_spend_the_polish_budget():
    space = _space({"low": 0.001, "high": 1.0, "log": True})
    study = _study(space, 4, best_lr=0.05)
    assert enqueue_polish(study, space, polish_trials=1)

    def crash(trial):
        space.suggest(trial)
        raise RuntimeError("the worker's disk is full")

    study.optimize(crash, n_trials=1, catch=(RuntimeError,))
    assert study.trials[-1].state == TrialState.FAIL and POLISH_ATTR in study.trials[-1].user_attrs
    assert polish_count(study) == 0
    assert enqueue_polish(study, space, polish_trials=1)  # the next point, x2
    assert study.trials[-1].user_attrs[POLISH_ATTR]["factor"] == 2.0
    assert not enqueue_polish(study, space, polish_trials=1)
