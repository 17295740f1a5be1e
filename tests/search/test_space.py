"""The search space: every family decodes to valid specs, baselines round-trip, names clash not."""

from __future__ import annotations

import math
import statistics
import warnings

import optuna
import pytest

from lrsearch.config import Range, SamplerConfig, parse_study
from lrsearch.errors import SpecError, StudyError
from lrsearch.records import FIXED_SCHEDULE_ATTR
from lrsearch.schedules import ScheduleSpec, family_names
from lrsearch.search import (
    MAX_GRID_SIZE,
    SearchSpace,
    build_sampler,
    fingerprint,
    grid_size,
    grid_walked,
    preset_trial,
    run_study,
)
from lrsearch.search._space import grid_values

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
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        space.suggest(trial)
        study.tell(trial, 0.0)
    names = {name for trial in study.trials for name in trial.params}
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


def test_milestones_map_one_to_one_onto_their_parameters():
    """The first milestone is one parameter, each next one its own share of the way on: the
    sampler never sees two parameters swap meanings when a draw is sorted."""
    _, space = space_of(families={"multistep": {"milestones": {"low": 0.2, "high": 0.9,
                                                               "min_count": 3,
                                                               "max_count": 3}}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(20):
        trial = study.ask()
        spec, _ = space.suggest(trial)
        first, gap1, gap2 = (trial.params[f"multistep.milestone_{k}"]
                             for k in ("0", "gap_1", "gap_2"))
        second = first + gap1 * (0.9 - first)
        expected = sorted({first, second, second + gap2 * (0.9 - second)})
        assert list(spec.params["milestones"]) == pytest.approx(expected)
        study.tell(trial, 0.0)
    # A baseline's milestones encode back to themselves.
    config = parse_study({"name": "t", "search_space": {"families": {"multistep": {
        "milestones": {"low": 0.2, "high": 0.9, "min_count": 1, "max_count": 3}}}},
        "baselines": [{"name": "b", "family": "multistep",
                       "params": {"milestones": [0.3, 0.6, 0.8]}}]})
    space = SearchSpace.from_config(config)
    study.enqueue_trial(space.baseline_params(config.baselines[0]))
    spec, _ = space.suggest(study.ask())
    assert list(spec.params["milestones"]) == pytest.approx([0.3, 0.6, 0.8])


def test_tpe_start_up_leaves_out_baselines_and_priors_and_its_good_set_is_a_quarter():
    from lrsearch.records import BASELINE_ATTR, PRIOR_ATTR

    config, space = space_of(families=["cosine", "linear"])
    sampler = build_sampler(SamplerConfig(n_startup_trials=2, good_fraction=0.25), space)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    marks = [{BASELINE_ATTR: "b"}, {PRIOR_ATTR: "p1"}, {PRIOR_ATTR: "p2"}, {}, {}]
    relative = []
    for k, attrs in enumerate(marks + [{}]):
        if attrs:
            study.enqueue_trial({}, user_attrs=attrs)
        trial = study.ask()
        relative.append(bool(trial.relative_params))
        space.suggest(trial)
        study.tell(trial, float(k))
    # Three yardsticks, then two random trials; the model starts at the sixth trial.
    assert relative == [False] * 5 + [True]
    assert [sampler._gamma(n) for n in (4, 12, 40, 200)] == [1, 3, 10, 25]


def test_spread_startup_meets_every_family_and_optimizer_and_both_ends_of_the_lr_range():
    families = ["constant", "cosine", "linear", "onecycle", "wsd", "multistep"]
    _, space = space_of(families=families, optimizers=["sgd", "adamw"])
    startup = len(families) * 2
    spread = draw(space, startup, build_sampler(
        SamplerConfig(n_startup_trials=startup, startup="spread", seed=3), space))
    pairs = {(spec.family, optimizer["name"]) for spec, optimizer in spread}
    assert {f for f, _ in pairs} == set(families) and {o for _, o in pairs} == {"sgd", "adamw"}
    assert [sum(spec.family == f for spec, _ in spread) for f in families] == [2] * 6
    lrs = sorted(spec.peak_lr for spec, o in spread if o["name"] == "sgd")
    low, high = space.optimizers["sgd"]["peak_lr"].low, space.optimizers["sgd"]["peak_lr"].high
    # Six log-spread draws leave no gap wider than a third of the log range; random ones do.
    cuts = [math.log(v) for v in [low, *lrs, high]]
    assert max(b - a for a, b in zip(cuts, cuts[1:])) < math.log(high / low) / 3
    clumped = draw(space, startup, build_sampler(SamplerConfig(startup="random", seed=3), space))
    assert len({spec.family for spec, _ in clumped}) < len(families)


def _two_optimizer_study(space, sampler, trials: int) -> list[tuple[ScheduleSpec, dict]]:
    """``trials`` trials on a landscape where SGD near 0.1 beats everything AdamW reaches and
    AdamW's own best is near 0.007: a branch that is never in the study's best quarter."""
    study = optuna.create_study(sampler=sampler, direction="maximize")
    out = []
    for _ in range(trials):
        trial = study.ask()
        spec, optimizer = space.suggest(trial)
        best = 0.1 if optimizer["name"] == "sgd" else 0.007
        top = 0.5 if optimizer["name"] == "sgd" else 0.3
        study.tell(trial, top - 0.1 * abs(math.log10(spec.peak_lr / best)))
        out.append((spec, optimizer))
    return out


def test_min_trials_per_optimizer_draws_the_least_tried_optimizer_first():
    _, space = space_of(families=["linear"], optimizers=["sgd", "adamw"])
    floor = 6
    sampler = build_sampler(SamplerConfig(n_startup_trials=2, min_trials_per_optimizer=floor,
                                          seed=0), space)
    drawn = [o["name"] for _, o in _two_optimizer_study(space, sampler, 2 * floor)]
    # Never more than one apart while the floor is not met, both at the floor after.
    for k in range(1, len(drawn) + 1):
        assert abs(drawn[:k].count("sgd") - drawn[:k].count("adamw")) <= 1
    assert drawn.count("adamw") == drawn.count("sgd") == floor
    # Without the floor, TPE follows the better optimizer and AdamW is left behind.
    free = build_sampler(SamplerConfig(n_startup_trials=2, seed=0), space)
    assert [o["name"] for _, o in _two_optimizer_study(space, free, 2 * floor)].count(
        "adamw") < floor


@pytest.mark.parametrize("seed", [0, 1])
def test_split_branch_climbs_each_optimizers_own_peak_lr(seed):
    _, space = space_of(families=["linear"], optimizers=["sgd", "adamw"])

    def adamw_error(split: str) -> float:
        """Median distance, in decades, of the modelled AdamW draws from AdamW's own best."""
        sampler = build_sampler(SamplerConfig(n_startup_trials=4, split=split, seed=seed,
                                              min_trials_per_optimizer=10), space)
        drawn = _two_optimizer_study(space, sampler, 20)[4:]
        return statistics.median(abs(math.log10(spec.peak_lr / 0.007))
                                 for spec, o in drawn if o["name"] == "adamw")

    # Ranked among all trials, no AdamW trial is good, so its peak LR is drawn as if nothing
    # were known; ranked among AdamW's own, it climbs towards 0.007.
    assert adamw_error("branch") < 0.5 < adamw_error("global")


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
             "peak_lr": 0.005, "optimizer": "adamw"},
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
    grid = {"sampler": {"name": "grid"}, "search_space": {"families": ["cosine"]}}
    for change in ({"search_space": {"families": ["cosine", "linear"]}},
                   grid,  # grid draws categoricals: Optuna would refuse a mix
                   {**grid, "sampler": {"name": "grid", "points_per_param": 4}},
                   {"search_space": {"families": {"cosine": {"final_ratio": 0.0}}}},
                   {"model": "resnet20", "search_space": {"families": ["cosine"]}},
                   {"training": {"epochs": 3}, "search_space": {"families": ["cosine"]}}):
        other = parse_study({"name": "t", **change})
        assert fingerprint(other, SearchSpace.from_config(other)) != base


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


# -- the grid: finite, family-conditional, walked once -------------------------------------

def grid_space(**search_space):
    config = parse_study({"name": "g", "sampler": {"name": "grid", "points_per_param": 2,
                                                   "seed": 0},
                          "search_space": search_space})
    return config, SearchSpace.from_config(config)


def test_grid_is_a_sum_over_families_not_a_product():
    config = parse_study({"name": "g", "sampler": {"name": "grid"}})  # the 5 default families
    space = SearchSpace.from_config(config)
    # cosine 3, linear 3, multistep 7 sets x gamma 3, onecycle 3*3*3*2*2, wsd 3*3*3; x warm-up
    # 3 for all but onecycle (warms up by itself); x peak LR 3.
    assert grid_size(space) == ((3 + 3 + 21 + 27) * 3 + 108) * 3 == 810
    assert build_sampler(config.sampler, space) is not None  # built at once: nothing is listed


def test_bruteforce_walks_exactly_the_grid_once(tmp_path):
    config, space = grid_space(families={"cosine": None, "multistep": {"gamma": 0.1},
                                         "onecycle": {"div_factor": 25.0,
                                                      "final_div_factor": 1e4}},
                               warmup_frac={"low": 0.0, "high": 0.1},
                               optimizers={"sgd": None, "adam": {"weight_decay": 0.0}})
    size = grid_size(space)
    # cosine 2 final ratios x 2 warm-ups; multistep 3 milestone sets x 2 warm-ups; onecycle
    # 2 pct_start x 2 anneal x 2 three_phase (no warm-up); x (2 + 2) optimizer peak LRs.
    assert size == (4 + 6 + 8) * 4
    study = optuna.create_study(sampler=build_sampler(config.sampler, space))
    study.optimize(lambda trial: space.suggest(trial)[0].peak_lr, n_trials=size + 10,
                   catch=(SpecError,))
    points = {tuple(sorted(t.params.items())) for t in study.trials}
    assert len(study.trials) == len(points) == size  # BruteForceSampler stopped the study
    assert grid_walked(study, space)
    # The grid's ends are searched values; one-cycle's pct_start 0.5 (the top of its default
    # range) cannot go with three_phase: those 2 x 4 points fail (the runner says why).
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 8 and all(t.params["onecycle.pct_start"] == 0.5
                                    and t.params["onecycle.three_phase"] for t in failed)
    for trial in study.trials:
        assert all(isinstance(v, (str, int, float, bool)) for v in trial.params.values())


def test_grid_values_are_log_spaced_for_log_ranges():
    config = parse_study({"name": "g", "sampler": {"name": "grid", "points_per_param": 3},
                          "search_space": {"families": ["cosine"], "warmup_frac": 0.0,
                                           "peak_lr": {"low": 0.001, "high": 0.1, "log": True}}})
    space = SearchSpace.from_config(config)
    study = optuna.create_study(sampler=build_sampler(config.sampler, space))
    study.optimize(lambda t: space.suggest(t)[0].peak_lr, n_trials=20)
    assert len(study.trials) == grid_size(space) == 9  # 3 final ratios x 3 peak LRs
    assert sorted({t.params["sgd.peak_lr"] for t in study.trials}) == [0.001, 0.01, 0.1]


def test_an_auto_peak_lr_counts_as_a_range_in_the_grid():
    config = parse_study({"name": "g", "sampler": {"name": "grid"},
                          "search_space": {"families": ["cosine"], "peak_lr": "auto",
                                           "warmup_frac": 0.0}})
    space = SearchSpace.from_config(config)
    assert grid_size(space) == 9
    found = Range(low=0.01, high=0.1, log=True)  # what the range test would store
    assert grid_size(space.with_peak_lr({"sgd": found})) == 9


def test_too_large_a_grid_is_refused_naming_the_field():
    config = parse_study({"name": "g", "sampler": {"name": "grid", "points_per_param": 5},
                          "search_space": {"families": ["onecycle", "cyclic", "piecewise"]}})
    space = SearchSpace.from_config(config)
    assert grid_size(space) > MAX_GRID_SIZE
    with pytest.raises(StudyError, match=r"sampler.points_per_param: got 5; the grid would be"):
        build_sampler(config.sampler, space)


def test_grid_baselines_run_their_own_values(tmp_path):
    """A grid baseline's values need not be grid values; what it leaves out is drawn."""
    config = parse_study({"name": "g", "sampler": {"name": "grid", "points_per_param": 2},
                          "search_space": {"families": ["cosine", "multistep"]},
                          "baselines": [{"name": "cos", "family": "cosine",
                                         "params": {"final_ratio": 0.05}},
                                        {"name": "steps", "family": "multistep",
                                         "params": {"milestones": [0.5, 0.75]},
                                         "peak_lr": 0.05, "warmup_frac": 0.03}]})
    space = SearchSpace.from_config(config)
    study = optuna.create_study(sampler=build_sampler(config.sampler, space))
    for baseline in config.baselines:
        study.enqueue_trial(space.baseline_params(baseline), user_attrs={
            "baseline": baseline.name})
    specs = []
    for baseline in config.baselines:
        trial = study.ask()
        specs.append(space.suggest(trial, baseline)[0])
        study.tell(trial, 0.0)
    assert specs[0].params["final_ratio"] == 0.05  # not a grid value (0.0 or 0.1)
    assert specs[0].peak_lr in grid_values(1e-3, 1.0, True, 2)  # left out: a grid value
    assert specs[1].params["milestones"] == (0.5, 0.75) and specs[1].peak_lr == 0.05
    assert specs[1].warmup_frac == 0.03
    assert study.trials[1].params == {"family": "multistep", "optimizer": "sgd"}


# -- every sampler runs a real tiny study; gp and cmaes really model ------------------------

SAMPLER_RUN = {
    "n_trials": 5, "data": {"dataset": "fake", "val_size": 64, "train_subset": 128},
    "training": {"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0},
    "pruner": {"name": "none"},
    "search_space": {"families": ["cosine", "linear"], "warmup_frac": 0.0,
                     "peak_lr": {"low": 0.01, "high": 0.3, "log": True}},
    # a preset (no parameters at all) and a point of the space that leaves out its peak LR
    "baselines": ["cosine", {"name": "lin", "family": "linear"}],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tpe", "random", "gp", "qmc", "cmaes", "grid"])
def test_every_sampler_runs_a_tiny_study(tiny_config, name):
    config = tiny_config(sampler={"name": name, "seed": 0, "n_startup_trials": 1,
                                  "points_per_param": 2}, **SAMPLER_RUN)
    summary = run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    trials = study.get_trials()
    assert summary.failed == 0, [t.user_attrs.get("fail_reason") for t in trials]
    # grid: 2 families x 2 final ratios x 2 peak LRs = 8 points, more than the 3 trials left
    assert summary.complete == len(trials) == 5
    assert [t.user_attrs.get("baseline") for t in trials[:2]] == ["cosine", "lin"]
    assert trials[1].params["family"] == "linear" and "sgd.peak_lr" in trials[1].params
    for trial in trials[2:]:
        assert trial.params["family"] in ("cosine", "linear")
        assert 0.01 <= trial.user_attrs["schedule"]["peak_lr"] <= 0.3


def synthetic(space):
    """A value that depends on the schedule, cheap enough for many trials."""
    def objective(trial):
        spec, _ = space.suggest(trial)
        return -abs(math.log10(spec.peak_lr / 0.05)) - 0.2 * (spec.family == "linear")
    return objective


def run_synthetic(name: str, n_trials: int = 14):
    config = parse_study({"name": "s", "sampler": {"name": name, "seed": 3,
                                                   "n_startup_trials": 4},
                          "search_space": {"families": ["cosine", "linear", "wsd"]},
                          "baselines": ["cosine"]})
    space = SearchSpace.from_config(config)
    study = optuna.create_study(direction="maximize",
                                sampler=build_sampler(config.sampler, space))
    spec, optimizer = preset_trial("cosine", space)  # queued as lrsearch queues a preset
    study.enqueue_trial({}, user_attrs={"baseline": "cosine", FIXED_SCHEDULE_ATTR:
                                        spec.to_dict(), "fixed_optimizer": optimizer})
    study.optimize(lambda t: 0.0 if t.number == 0 else synthetic(space)(t), n_trials=n_trials)
    return study


@pytest.mark.parametrize("name", ["gp", "cmaes"])
def test_gp_and_cmaes_model_despite_a_preset_baseline(name):
    study = run_synthetic(name)
    assert study.trials[0].params == {}  # the preset: it alone would empty the intersection
    assert optuna.search_space.intersection_search_space(study.get_trials()) == {}
    relative = study.sampler.infer_relative_search_space(study, study.trials[-1])
    assert "sgd.peak_lr" in relative and "warmup_frac" in relative
    if name == "gp":
        assert "family" in relative  # CMA-ES takes no categoricals: family goes to TPE
    draws = [(t.params["family"], t.params["sgd.peak_lr"]) for t in study.trials[1:]]
    random = [(t.params["family"], t.params["sgd.peak_lr"])
              for t in run_synthetic("random").trials[1:]]
    assert draws[4:] != random[4:]  # after the startup trials it is not random search


def test_each_optimizer_searches_its_own_decades_unless_the_study_says():
    def optimizers(**space):
        config = parse_study({"name": "t", "search_space": {"optimizers": ["sgd", "adamw"],
                                                            **space}})
        return SearchSpace.from_config(config).as_dict()["optimizers"]

    default = optimizers()
    assert default["sgd"] == {"peak_lr": {"low": 1e-3, "high": 1.0, "log": True},
                              "weight_decay": 5e-4}
    assert default["adamw"] == {"peak_lr": {"low": 1e-5, "high": 1e-2, "log": True},
                                "weight_decay": 0.05}  # decoupled: lr * 0.05 a step
    shared = optimizers(peak_lr={"low": 0.01, "high": 0.1, "log": True}, weight_decay=0.0)
    assert shared["adamw"] == {"peak_lr": {"low": 0.01, "high": 0.1, "log": True},
                               "weight_decay": 0.0}
