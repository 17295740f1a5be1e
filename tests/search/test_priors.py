"""Priors: known-good schedules queued as a model-based search's first ordinary trials."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from lrsearch.config import parse_study
from lrsearch.errors import ConfigError
from lrsearch.records import PRIOR_ATTR, trial_schedule
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import SearchSpace, run_study
from lrsearch.search._queue import prior_points, uses_priors


def _space(**search_space):
    config = parse_study({"name": "p", "search_space": {
        "families": ["cosine", "linear", "wsd"], "optimizers": ["sgd", "adamw"],
        **search_space}})
    return SearchSpace.from_config(config)


def test_each_optimizer_starts_at_its_typical_peak_lr():
    points = {p.name: p for p in prior_points(_space())}
    assert list(points) == ["linear-to-zero (sgd)", "wsd-20 (sgd)", "linear-to-zero (adamw)"]
    assert points["wsd-20 (sgd)"].peak_lr == 0.1 and points["wsd-20 (sgd)"].warmup_frac == 0.0
    assert points["linear-to-zero (adamw)"].peak_lr == 1e-3


def test_a_range_without_the_typical_lr_starts_at_its_middle_and_unsearched_families_drop():
    points = prior_points(_space(families=["linear", "cosine"],
                                 peak_lr={"low": 1.0, "high": 4.0, "log": True}))
    assert [p.name for p in points] == ["linear-to-zero (sgd)", "linear-to-zero (adamw)"]
    assert points[0].peak_lr == pytest.approx(2.0)


def test_lr_factors_bracket_every_optimizers_typical_lr_inside_its_range():
    """sampler.prior_lr_factors: linear decay to zero at each multiple of the typical LR, for
    every optimizer, clipped into the searched range, each point once."""
    points = {p.name: p.peak_lr for p in prior_points(
        _space(optimizers={"sgd": {"peak_lr": {"low": 0.01, "high": 0.2, "log": True}},
                           "adamw": None}), lr_factors=[0.3, 1.0, 3.0])}
    assert points == pytest.approx({
        "linear-to-zero (sgd)": 0.1, "wsd-20 (sgd)": 0.1, "linear-to-zero x0.3 (sgd)": 0.03,
        "linear-to-zero x3 (sgd)": 0.2,  # 0.3 clipped to the range's high end
        "linear-to-zero (adamw)": 1e-3, "linear-to-zero x0.3 (adamw)": 3e-4,
        "linear-to-zero x3 (adamw)": 3e-3})
    config = parse_study({"name": "p", "sampler": {"prior_lr_factors": [0.3, 1, 3]}})
    assert config.sampler.prior_lr_factors == [0.3, 1.0, 3.0]
    with pytest.raises(ConfigError, match="sampler.prior_lr_factors"):
        parse_study({"name": "p", "sampler": {"prior_lr_factors": [0.0]}})


def test_on_by_default_for_model_based_samplers_only():
    def config(**sampler):
        return parse_study({"name": "p", "sampler": sampler})

    assert uses_priors(config(name="tpe")) and uses_priors(config(name="gp"))
    assert not uses_priors(config(name="random"))
    assert not uses_priors(config(name="tpe", priors=False))
    with pytest.raises(ConfigError, match="sampler.priors: got true with sampler.name 'grid'"):
        config(name="grid", priors=True)


@pytest.mark.slow
def test_a_study_runs_the_priors_after_its_baselines_as_prunable_searched_trials(tiny_config):
    config = tiny_config(n_trials=5, sampler={"name": "tpe", "seed": 0, "n_startup_trials": 2})
    run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    trials = study.get_trials()
    assert [t.user_attrs.get("baseline") for t in trials[:2]] == ["cosine", "step"]
    assert [t.user_attrs.get(PRIOR_ATTR) for t in trials[2:4]] == [
        "linear-to-zero (sgd)", "wsd-20 (sgd)"]
    linear, wsd = (trial_schedule(t) for t in trials[2:4])
    assert linear["family"] == "linear" and linear["params"]["final_ratio"] == 0.0
    assert wsd["family"] == "wsd" and wsd["params"]["decay_frac"] == 0.2
    assert linear["peak_lr"] == 0.1 and linear["warmup_frac"] == 0.0
    assert PRIOR_ATTR not in trials[4].user_attrs
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)


def test_a_space_of_wsd_alone_gets_linear_decay_to_zero_as_wsd_decaying_over_the_whole_run():
    """The smooth space (WSD, decay fraction up to 1) keeps both priors; WSD's default range
    (decay fraction at most 0.5) cannot hold linear decay, so there it is left out."""
    smooth = prior_points(_space(families={"wsd": {"decay_frac": {"low": 0.05, "high": 1.0}}}))
    assert [p.name for p in smooth] == ["linear-to-zero (sgd)", "wsd-20 (sgd)",
                                        "linear-to-zero (adamw)"]
    assert {p.family for p in smooth} == {"wsd"}
    assert smooth[0].params == {"decay_frac": 1.0, "decay_shape": "linear", "final_ratio": 0.0}
    linear = ScheduleSpec("linear", peak_lr=0.1, total_steps=37, params={"final_ratio": 0.0})
    as_wsd = ScheduleSpec("wsd", peak_lr=0.1, total_steps=37, params=smooth[0].params)
    assert [as_wsd.lr(k) for k in range(38)] == [linear.lr(k) for k in range(38)]
    assert [p.name for p in prior_points(_space(families=["wsd"]))] == ["wsd-20 (sgd)"]
