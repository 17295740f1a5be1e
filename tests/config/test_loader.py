"""Study files: every malformed input gives one ConfigError listing each problem with its path."""

from __future__ import annotations

import pytest

from lrsearch.config import load_study, parse_study
from lrsearch.config._settings import MODELS
from lrsearch.errors import ConfigError


def problems_of(data, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_study(data, overrides)
    return caught.value.problems


def one_problem(data) -> str:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


def test_minimal_study_gets_defaults():
    config = parse_study({"name": "demo"})
    assert config.direction == "maximize"
    assert config.storage == "sqlite:///lrsearch.db"
    pruner = config.pruner
    assert pruner.name == "horizon" and pruner.judge is None  # horizon rungs need no judge
    assert pruner.at_progress == pytest.approx([1 / 3, 2 / 3])
    assert pruner.probe_frac == 0.1
    assert parse_study({"name": "d", "metric": "val_loss"}).direction == "minimize"


def test_judge_without_pruner_name_says_the_default_is_horizon():
    problem = one_problem({"name": "d", "pruner": {"judge": "probe"}})
    assert problem.startswith("pruner.judge: got 'probe' and no pruner.name, so the default "
                              "'horizon'")
    assert "pruner.name: median" in problem
    assert parse_study({"name": "d", "pruner": {"name": "median", "judge": "probe"}})


def test_unknown_key_names_the_known_keys():
    problem = one_problem({"name": "d", "training": {"epochz": 3}})
    assert problem.startswith("training.epochz: unknown key (got 3)")
    assert "epochs" in problem


def test_unknown_top_level_key():
    assert one_problem({"name": "d", "bogus": 1}).startswith("bogus: unknown key")


@pytest.mark.parametrize("data, path, word", [
    ({"model": "resnet99"}, "model", "resnet18"),
    ({"sampler": {"name": "annealing"}}, "sampler.name", "tpe"),
    ({"pruner": {"name": "early"}}, "pruner.name", "median"),
    ({"search_space": {"optimizers": ["sgd", "lion"]}}, "search_space.optimizers.1", "adamw"),
    ({"search_space": {"optimizers": {"lion": {}}}}, "search_space.optimizers.lion", "ranger"),
    ({"data": {"dataset": "mnist"}}, "data.dataset", "cifar10"),
    ({"training": {"precision": "fp8"}}, "training.precision", "bf16"),
    ({"training": {"device": "tpu"}}, "training.device", "pattern"),
    ({"training": {"epochs": 0}}, "training.epochs", "greater than or equal to 1"),
    ({"training": {"checkpoint_every_s": -1}}, "training.checkpoint_every_s",
     "greater than or equal to 0"),
    ({"training": {"checkpoint_every_s": float("inf")}}, "training.checkpoint_every_s", "finite"),
    ({"training": {"deterministic": "sometimes"}}, "training.deterministic", "bool"),
    ({"pruner": {"judge": "final"}}, "pruner.judge", "'probe' or 'raw'"),
    ({"pruner": {"at_progress": [0.5, 1.0]}}, "pruner.at_progress.1", "less than 1"),
    ({"pruner": {"probe_frac": 0}}, "pruner.probe_frac", "greater than 0"),
    ({"baselines": [{"name": "b", "family": "cosine", "optimizer": "lion"}]},
     "baselines.0.optimizer", "sgd"),
])
def test_unknown_names_and_bad_values(data, path, word):
    problem = one_problem({"name": "d", **data})
    assert problem.startswith(f"{path}:"), problem
    assert word in problem


def test_unknown_family_lists_the_families():
    problem = one_problem({"name": "d", "search_space": {"families": ["cosine", "cosinus"]}})
    assert problem.startswith("search_space.families.cosinus: unknown family")
    assert "'cosine'" in problem


def test_family_param_range_low_above_high():
    problem = one_problem({"name": "d", "search_space": {"families": {
        "cosine": {"final_ratio": {"low": 0.5, "high": 0.1}}}}})
    assert problem.startswith("search_space.families.cosine.final_ratio.high: got 0.1")
    assert "low" in problem


def test_family_param_outside_valid_range():
    problem = one_problem({"name": "d", "search_space": {"families": {
        "cosine": {"final_ratio": {"low": -0.5}}}}})
    assert problem == ("search_space.families.cosine.final_ratio.low: got -0.5; must be a "
                       "number in [0, 1]")


def test_family_param_unknown_name_and_key():
    problems = problems_of({"name": "d", "search_space": {"families": {
        "step": {"gama": 0.1, "gamma": {"lo": 0.1}}}}})
    assert any(p.startswith("search_space.families.step.gama: got 0.1; unknown parameter of "
                            "'step'") for p in problems), problems
    assert any(p.startswith("search_space.families.step.gamma.lo: unknown key") for p in
               problems)


def test_fixed_family_value_is_checked():
    problem = one_problem({"name": "d", "search_space": {"families": {
        "onecycle": {"anneal": "cubic"}}}})
    assert problem.startswith("search_space.families.onecycle.anneal: got 'cubic'")


def test_search_range_rules():
    problems = problems_of({"name": "d", "search_space": {
        "peak_lr": {"low": 0.0, "high": 1.0, "log": True},
        "warmup_frac": {"low": 0.0, "high": 1.5},
        "optimizers": {"sgd": {"momentum": 1.2}}}})
    assert any(p.startswith("search_space.peak_lr.log:") for p in problems)
    assert any(p.startswith("search_space.warmup_frac: got {'low': 0.0, 'high': 1.5}; high "
                            "must be a number in [0, 1)") for p in problems), problems
    assert any(p.startswith("search_space.optimizers.sgd.momentum: got 1.2") for p in problems)


def test_several_problems_listed_at_once_with_paths():
    problems = problems_of({
        "name": "d", "model": "resnet99", "extra": True, "training": {"epochs": -1},
        "search_space": {"families": {"cosine": {"final_ratio": {"low": 0.5, "high": 0.1}},
                                      "nope": None}},
    })
    paths = [p.split(":")[0] for p in problems]
    assert {"model", "extra", "training.epochs", "search_space.families.cosine.final_ratio.high",
            "search_space.families.nope"} <= set(paths), problems


def test_error_message_lists_every_problem():
    with pytest.raises(ConfigError) as caught:
        parse_study({"name": "d", "model": "x", "sampler": {"name": "y"}})
    text = str(caught.value)
    assert "2 problems" in text and "  - model:" in text and "  - sampler.name:" in text


def test_direction_must_fit_metric_and_study_must_end():
    problems = problems_of({"name": "d", "metric": "val_loss", "direction": "maximize",
                            "n_trials": None})
    assert any(p.startswith("direction: got 'maximize'") for p in problems)
    assert any(p.startswith("n_trials:") for p in problems)


def test_bad_storage_url():
    assert one_problem({"name": "d", "storage": "not a url"}).startswith("storage: got")


def test_baselines_must_be_points_of_the_space():
    problems = problems_of({"name": "d", "search_space": {"families": ["cosine", "step"]},
                            "baselines": [
                                {"name": "a", "family": "linear"},
                                {"name": "a", "family": "step", "params": {"gamma": 0.9}},
                                {"name": "c", "family": "cosine", "peak_lr": 50.0}]})
    assert any(p.startswith("baselines.0.family: got 'linear'") for p in problems)
    assert any(p.startswith("baselines.1.name:") for p in problems)
    assert any(p.startswith("baselines.1.params.gamma: got 0.9") for p in problems)
    assert any(p.startswith("baselines.2.peak_lr: got 50.0") for p in problems)


def test_baseline_warmup_refused_for_a_family_that_warms_up_itself():
    problems = problems_of({"name": "d", "search_space": {"families": ["onecycle"]},
                            "baselines": [{"name": "a", "family": "onecycle",
                                           "warmup_frac": 0.05}]})
    assert any(p.startswith("baselines.0.warmup_frac: got 0.05; must be left out or 0")
               for p in problems)


def test_overrides_are_checked_like_the_file():
    config = parse_study({"name": "d"}, {"training.device": "cpu", "data.data_dir": "/x"})
    assert config.training.device == "cpu" and config.data.data_dir == "/x"
    assert problems_of({"name": "d"}, {"n_trials": 0})[0].startswith("n_trials: got 0")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: d\ntraining:\n  epochs: [1\n")
    with pytest.raises(ConfigError) as caught:
        load_study(path)
    assert caught.value.problems[0].startswith("line ")


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_study(tmp_path / "none.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_study(path)


def test_the_training_code_takes_the_study_sections_and_knows_every_model():
    train = pytest.importorskip("lrsearch.train")
    train_models = pytest.importorskip("lrsearch.train._networks")
    config = parse_study({"name": "d", "model": "resnet20", "training": {"seed": 3}})
    assert isinstance(config.data, train.DataSettings)
    assert config.train_settings() == train.TrainSettings(model="resnet20", seed=3)
    assert set(MODELS) == set(train_models.model_names())


def test_type_problems_hide_no_cross_check_problem():
    """A bad model must not hide a bad baseline, storage URL or pruner setting."""
    problems = problems_of({
        "name": "d", "model": "resnet99", "storage": "::bad", "colour": "red",
        "pruner": {"name": "wilcoxon", "judge": "probe"},
        "search_space": {"families": ["cosine", "cosinus"]},
        "baselines": [{"name": "b", "family": "cosine", "params": {"final_ratio": 7}}]})
    paths = [p.split(":")[0] for p in problems]
    assert paths == ["model", "colour", "pruner.judge", "search_space.families.cosinus",
                     "storage"], problems
    assert "colour: unknown key (got 'red')" in problems[1]
    # the baselines are checked once the families they name are known
    problems = problems_of({"name": "d", "model": "resnet99", "storage": "::bad",
                            "baselines": [{"name": "b", "family": "cosine",
                                           "params": {"final_ratio": 7}}]})
    assert [p.split(":")[0] for p in problems] == [
        "model", "baselines.0.params.final_ratio", "storage"], problems


def test_a_bad_section_gives_no_false_cross_check_problem():
    # search_space fails its type check; the baseline naming its family is not reported
    # against the default families instead.
    problems = problems_of({"name": "d", "search_space": {"families": ["step"],
                                                          "peak_lr": -1},
                            "baselines": [{"name": "b", "family": "step"}]})
    assert [p.split(":")[0] for p in problems] == ["search_space.peak_lr"], problems
    # a bad name still lets the other sections be checked
    problems = problems_of({"name": "", "n_trials": None, "timeout_s": None})
    assert [p.split(":")[0] for p in problems] == ["name", "n_trials"], problems


def test_grid_points_per_param():
    assert parse_study({"name": "d", "sampler": {"name": "grid"}}).sampler.points_per_param == 3
    assert one_problem({"name": "d", "sampler": {"points_per_param": 1}}).startswith(
        "sampler.points_per_param: got 1")



def test_wilcoxon_refuses_the_probe_only():
    assert parse_study({"name": "d", "pruner": {"name": "wilcoxon"}}).pruner.judge is None
    assert parse_study({"name": "d", "pruner": {"name": "wilcoxon", "judge": "raw"}})
    problem = one_problem({"name": "d", "pruner": {"name": "wilcoxon", "judge": "probe",
                                                   "p_threshold": 0.2}})
    assert "at least 3 paired epochs to reach p < 0.2" in problem


def test_each_optimizer_entry_is_checked_on_its_own():
    # A problem of sgd_schedulefree (listed first) must not hide sgd's own cross-check.
    problems = problems_of({"name": "d", "search_space": {"optimizers": {
        "sgd_schedulefree": {"momentum": 0.0}, "sgd": {"momentum": 0.0}}}})
    assert problems == [
        "search_space.optimizers.sgd_schedulefree.momentum: got 0.0; must be a number in (0, 1)",
        "search_space.optimizers.sgd.nesterov: got True with momentum 0.0; Nesterov momentum "
        "needs momentum > 0"]


def test_yaml_merge_keys_share_a_block_and_x_keys_hold_it(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("""\
x-step: &step {family: multistep, params: {milestones: [0.5, 0.75]}, warmup_frac: 0.0}
name: merged
baselines:
  - {<<: *step, name: step-sgd, peak_lr: 0.1}
  - {<<: *step, name: step-low, peak_lr: 0.01, warmup_frac: 0.05}
""")
    config = load_study(path)
    first, second = config.baselines
    assert (first.family, first.params, first.warmup_frac) == (
        "multistep", {"milestones": [0.5, 0.75]}, 0.0)
    assert (second.peak_lr, second.warmup_frac) == (0.01, 0.05)  # a key given beside the merge
    path.write_text("x-a: &a {family: cosine}\nname: m\nbaselines: [{<<: *a, name: b, "
                    "name: c}]\n")
    with pytest.raises(ConfigError, match="key 'name' given twice"):
        load_study(path)
    path.write_text("y-a: 1\nname: m\n")  # only x- keys are set aside
    with pytest.raises(ConfigError, match="y-a"):
        load_study(path)
