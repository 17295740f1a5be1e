"""Horizon rungs: whole schedules at shorter horizons, promoted by asynchronous halving."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from lrsearch.errors import ConfigError, StudyError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import RUNGS_ATTR, trial_cost_epochs, trial_epochs, with_curves
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import open_study, run_study
from lrsearch.search._pruners import HorizonPruner
from lrsearch.train import load_data, train

HORIZON = {"name": "horizon", "reduction_factor": 3}


def _study_with_rung_values(values, direction="maximize"):
    study = optuna.create_study(direction=direction)
    for value in values:
        study.add_trial(create_trial(state=TrialState.PRUNED, params={"x": 0.5},
                                     distributions={"x": FloatDistribution(0, 1)},
                                     intermediate_values={1: value}))
    return study


@pytest.mark.parametrize("direction, others, value, pruned", [
    ("maximize", [], 0.1, False),                     # the first at a rung goes on
    ("maximize", [0.5], 0.4, True),                   # 2 values: keep 1, and it is not best
    ("maximize", [0.5, 0.3], 0.4, True),              # 3 values: keep 1; it is second
    ("maximize", [0.5, 0.3, 0.2, 0.1, 0.6], 0.55, False),  # 6 values: keep 2; it is second
    ("maximize", [0.5, 0.3, 0.2, 0.1, 0.6, 0.05, 0.45, 0.55], 0.4, True),  # 9: keep 3, 5th
    ("minimize", [0.5, 0.3], 0.2, False),
    ("minimize", [0.5, 0.3], 0.4, True),
])
def test_a_trial_goes_on_while_it_ranks_in_the_best_third_of_its_rung(direction, others,
                                                                      value, pruned):
    study = _study_with_rung_values(others, direction)
    trial = study.ask()
    trial.report(value, 1)
    assert HorizonPruner(3).prune(study, study._storage.get_trial(trial._trial_id)) is pruned


def test_a_judge_with_horizon_rungs_is_refused(tiny_config):
    with pytest.raises(ConfigError, match="pruner.judge: got 'probe' with pruner.name 'horizon'"):
        tiny_config(pruner={**HORIZON, "judge": "probe"})


@pytest.mark.slow
def test_each_rung_is_the_whole_schedule_trained_at_its_horizon(tiny_config):
    config = tiny_config(n_trials=6, pruner=HORIZON, baselines=["cosine"])
    run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    baseline, *searched = with_curves(study, study.get_trials())
    # The baseline is the yardstick: never laddered, one full run.
    assert RUNGS_ATTR not in baseline.user_attrs and trial_cost_epochs(baseline) == 3
    states = [t.state for t in searched]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    data = load_data(config.data, "cpu")
    for trial in searched:
        (rung,) = trial.user_attrs[RUNGS_ATTR]
        assert rung["epochs"] == 1 and trial.intermediate_values == {1: rung["value"]}
        if trial.state == TrialState.PRUNED:
            assert trial.user_attrs["prune_reason"].startswith("pruned at the 1-epoch horizon")
            assert trial_epochs(trial) == [] and trial_cost_epochs(trial) == 1
        else:  # the full run after the rung: 1 + 3 epochs of training
            assert len(trial_epochs(trial)) == 3 and trial_cost_epochs(trial) == 4
            assert trial.value == trial_epochs(trial)[-1]["val_acc"]
    # A rung's value is exactly a 1-epoch run of the same whole schedule.
    trial = searched[0]
    spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
    alone = train(spec, OptimizerSettings(**trial.user_attrs["optimizer"]),
                  config.train_settings(epochs=1), data)
    assert alone.epochs[-1].val_acc == trial.user_attrs[RUNGS_ATTR][0]["value"]


@pytest.mark.slow
def test_a_study_of_probe_values_cannot_resume_with_horizon_rungs(tiny_config):
    config = tiny_config(n_trials=1)
    run_study(config, progress="off")
    with pytest.raises(StudyError, match="reported probe values to its pruner"):
        open_study(tiny_config(n_trials=1, pruner=HORIZON), progress="off")
