"""Before naming its winner a study re-runs its top trials with more seeds: best mean wins."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import RESEEDS_ATTR, rank_complete, reseed_runs, study_records, trial_score
from lrsearch.report import export_best
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import pick_candidates, run_study
from lrsearch.search._reseed import reseed_seeds
from lrsearch.train import load_data, train


def test_re_run_trials_rank_first_by_their_mean_then_the_rest_by_value():
    trials = [create_trial(value=v) for v in (0.50, 0.70, 0.65, 0.90)]
    for number, trial in enumerate(trials):
        trial.number = number
    attrs = {RESEEDS_ATTR: {"runs": {"1": {"5000": 0.50}, "2": {"5000": 0.64}}}}
    # Trial 3 was never re-run: its one lucky value does not beat the candidates' means.
    assert [t.number for t in rank_complete(trials, attrs, maximize=True)] == [2, 1, 3, 0]
    assert [t.number for t in rank_complete(trials, {}, maximize=True)] == [3, 1, 2, 0]
    assert [t.number for t in rank_complete(trials, attrs, maximize=False)] == [1, 2, 0, 3]
    assert trial_score(trials[2], reseed_runs(attrs)) == (pytest.approx(0.645), 2)


@pytest.mark.slow
def test_a_finished_study_re_runs_its_top_trials_and_names_the_best_mean(tiny_config):
    config = tiny_config(n_trials=4, baselines=[], pruner={"name": "none"},
                         reseed={"top_k": 2, "seeds": 2})
    summary = run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    runs = reseed_runs(study_records(study))
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    top_two = sorted(complete, key=lambda t: -t.value)[:2]
    assert sorted(runs) == sorted(t.number for t in top_two)
    assert all(sorted(r) == reseed_seeds(config) for r in runs.values())
    # A re-run is the trial's schedule trained with that seed, nothing else changed.
    trial = top_two[0]
    again = train(ScheduleSpec.from_dict(trial.user_attrs["schedule"]),
                  OptimizerSettings(**trial.user_attrs["optimizer"]),
                  config.train_settings(seed=reseed_seeds(config)[1]), load_data(config.data))
    assert runs[trial.number][reseed_seeds(config)[1]] == again.epochs[-1].val_acc
    # Summary, export and confirm all name the best mean of three runs.
    means = {t.number: trial_score(t, runs)[0] for t in top_two}
    winner = max(means, key=means.get)
    assert (summary.best_trial, len(summary.best_seed_values)) == (winner, 3)
    assert summary.best_value == pytest.approx(means[winner])
    assert export_best(study).document["source"]["trial"] == winner
    assert pick_candidates(study, 1)[0].trial == winner
    # A second run of the finished study trains nothing more.
    run_study(config, progress="off")
    assert reseed_runs(study_records(optuna.load_study(study_name="tiny",
                                         storage=config.storage))) == runs
