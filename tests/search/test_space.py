"""The search space: every family decodes to valid specs, baselines round-trip, names clash not."""

from __future__ import annotations

import warnings

import optuna
import pytest

from lrsearch.config import parse_study
from lrsearch.schedules import ScheduleSpec, family_names
from lrsearch.search import SearchSpace, build_pruner, build_sampler, fingerprint

optuna.logging.set_verbosity(optuna.logging.ERROR)


def space_of(**search_space) -> tuple:
    config = parse_study({"name": "t", "search_space": search_space})
    return config, SearchSpace.from_config(config)


def draw(space: SearchSpace, n: int, sampler=None) -> list[tuple[ScheduleSpec, dict]]:
    study = optuna.create_study(sampler=sampler or optuna.samplers.RandomSampler(seed=1))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(space.suggest(trial))
        study.tell(trial, 0.0)
    return out


@pytest.mark.parametrize("family", family_names())
def test_every_family_decodes_to_valid_specs(family):
    _, space = space_of(families=[family], optimizers=["sgd", "adamw", "ranger"])
    for spec, optimizer in draw(space, 40):
        assert spec.family == family
        again = ScheduleSpec.from_dict(spec.to_dict())  # checks everything once more
        assert again == spec
        assert optimizer["name"] in ("sgd", "adamw", "ranger")
        if not spec.info.metric_driven:
            assert spec.with_total_steps(37).lr(36) >= 0.0


def test_all_families_together_with_tpe_never_clash():
    _, space = space_of(families=family_names(), optimizers=["sgd", "adam"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5, multivariate=True,
                                             group=True)
    specs = draw(space, 30, sampler)
    assert len({spec.family for spec, _ in specs}) > 3


def test_names_are_namespaced():
    _, space = space_of(families=["cosine", "linear", "multistep", "piecewise"])
    names = set(space.grid(2))
    assert {"family", "optimizer", "cosine.final_ratio", "linear.final_ratio",
            "multistep.milestone_count", "multistep.milestone_0", "piecewise.knot_0",
            "piecewise.knot_end", "sgd.peak_lr", "warmup_frac"} <= names


def test_overrides_fixed_values_and_choices():
    _, space = space_of(families={"cosine": {"final_ratio": 0.05},
                                  "onecycle": {"anneal": {"choices": ["linear"]},
                                               "div_factor": {"low": 10, "high": 10}}},
                        peak_lr=0.2, warmup_frac=0.0)
    for spec, _ in draw(space, 20):
        assert spec.peak_lr == 0.2 and spec.warmup_frac == 0.0
        if spec.family == "cosine":
            assert spec.params["final_ratio"] == 0.05
        else:
            assert spec.params["anneal"] == "linear" and spec.params["div_factor"] == 10


def test_milestones_sorted_and_counted():
    _, space = space_of(families={"multistep": {"milestones": {"low": 0.2, "high": 0.9,
                                                               "min_count": 2,
                                                               "max_count": 3}}})
    for spec, _ in draw(space, 30):
        milestones = spec.params["milestones"]
        assert list(milestones) == sorted(set(milestones))
        assert all(0.2 <= m <= 0.9 for m in milestones) and 1 <= len(milestones) <= 3


def test_piecewise_knots_positions():
    _, space = space_of(families={"piecewise": {"knots": {"positions": [0.3, 0.6]}}})
    for spec, _ in draw(space, 10):
        knots = spec.params["knots"]
        assert [p for p, _ in knots] == [0.0, 0.3, 0.6, 1.0] and knots[0][1] == 1.0
        assert 0.0 <= knots[-1][1] <= 0.1


def test_baselines_run_exactly_their_spec():
    config = parse_study({"name": "t", "search_space": {
        "families": ["cosine", "multistep", "piecewise", "onecycle"],
        "optimizers": ["sgd", "adamw"]},
        "baselines": [
            {"name": "cos", "family": "cosine", "peak_lr": 0.1, "warmup_frac": 0.05},
            {"name": "steps", "family": "multistep", "params": {"milestones": [0.5, 0.75]},
             "peak_lr": 0.05, "optimizer": "adamw"},
            {"name": "pw", "family": "piecewise",
             "params": {"knots": [[0, 1], [0.25, 1], [0.5, 0.5], [0.75, 0.2], [1, 0]]}},
            {"name": "oc", "family": "onecycle"}]})
    space = SearchSpace.from_config(config)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for baseline in config.baselines:
        study.enqueue_trial(space.baseline_params(baseline))
    specs = [space.suggest(study.ask())[0] for _ in config.baselines]
    assert specs[0].family == "cosine" and specs[0].peak_lr == 0.1
    assert specs[0].warmup_frac == 0.05 and specs[0].params["final_ratio"] == 0.0
    assert specs[1].params["milestones"] == (0.5, 0.75) and specs[1].params["gamma"] == 0.1
    assert specs[2].params["knots"][2] == (0.5, 0.5)
    assert specs[3].params == ScheduleSpec("onecycle", 1.0, 10, params={
        "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "anneal": "cos",
        "three_phase": False}).params


def test_fingerprint_follows_the_space_not_the_run_settings():
    config, space = space_of(families=["cosine"])
    base = fingerprint(config, space)
    for change in ({"n_trials": 5}, {"storage": "sqlite:///x.db"},
                   {"sampler": {"name": "random"}}):
        other = parse_study({"name": "t", "search_space": {"families": ["cosine"]}, **change})
        assert fingerprint(other, SearchSpace.from_config(other)) == base
    for change in ({"search_space": {"families": ["cosine", "linear"]}},
                   {"search_space": {"families": {"cosine": {"final_ratio": 0.0}}}},
                   {"model": "resnet20", "search_space": {"families": ["cosine"]}},
                   {"training": {"epochs": 3}, "search_space": {"families": ["cosine"]}}):
        other = parse_study({"name": "t", **change})
        assert fingerprint(other, SearchSpace.from_config(other)) != base


@pytest.mark.parametrize("name", ["tpe", "random", "grid", "gp", "cmaes", "qmc"])
def test_every_sampler_builds_or_says_what_it_needs(name):
    from lrsearch.errors import StudyError

    config = parse_study({"name": "t", "sampler": {"name": name},
                          "search_space": {"families": ["cosine", "linear"]}})
    space = SearchSpace.from_config(config)
    try:
        sampler = build_sampler(config.sampler, space)
    except StudyError as exc:
        assert "pip install" in str(exc)
        return
    specs = draw(space, 4, sampler)
    assert all(spec.family in ("cosine", "linear") for spec, _ in specs)


@pytest.mark.parametrize("name", ["median", "percentile", "successive_halving", "hyperband",
                                  "wilcoxon", "patient", "none"])
def test_every_pruner_builds_or_says_what_it_needs(name):
    from lrsearch.errors import StudyError

    config = parse_study({"name": "t", "pruner": {"name": name}})
    try:
        assert isinstance(build_pruner(config.pruner, 10), optuna.pruners.BasePruner)
    except StudyError as exc:
        assert "pip install" in str(exc)


@pytest.mark.parametrize("family", ["onecycle", "cyclic"])
def test_families_that_warm_up_themselves_get_no_extra_warmup(family):
    # A linear warm-up to the peak in front of one-cycle would then drop to peak/div_factor.
    _, space = space_of(families=[family, "cosine"], warmup_frac={"low": 0.05, "high": 0.2},
                        warmup_start={"low": 0.0, "high": 0.5})
    specs = draw(space, 40)
    own = [spec for spec, _ in specs if spec.family == family]
    others = [spec for spec, _ in specs if spec.family == "cosine"]
    assert own and others
    assert all(spec.warmup_frac == 0.0 and spec.warmup_start == 0.0 for spec in own)
    assert all(spec.warmup_frac >= 0.05 for spec in others)
