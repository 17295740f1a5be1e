"""The pruning policy: points to epochs, the default judge, what is reported; every pruner in a
real tiny study, and wilcoxon pruning a trial that is worse at every epoch."""

from __future__ import annotations

import optuna
import pytest

from lrsearch.config import (
    PRUNERS,
    PrunerConfig,
    parse_study,
    pruning_epochs,
    pruning_policy,
    reported_kind,
    resolve_judge,
)
from lrsearch.errors import ConfigError
from lrsearch.records import trial_lr_curve, with_curves
from lrsearch.search import Objective, SearchSpace, build_pruner, run_study


@pytest.mark.parametrize("pruner, epochs, expected", [
    ({}, 6, (2, 4)),
    ({}, 30, (10, 20)),
    ({}, 5, (2, 3)),                                  # 1.67 -> 2, 3.33 -> 3
    ({"at_progress": [0.5, 2 / 3]}, 3, (2,)),         # 2.0 -> 2 and 2.5 -> 3 (halves up) = last
    ({}, 1, ()),                                      # the last epoch is never a point
    ({"at_progress": [0.9, 0.05]}, 10, (1, 9)),       # sorted, at least epoch 1
    ({"name": "none"}, 6, ()),
])
def test_points_map_to_the_nearest_epoch_before_the_last(pruner, epochs, expected):
    assert pruning_epochs(PrunerConfig(**{"name": "median", **pruner}), epochs) == expected
    assert pruning_epochs(PrunerConfig(**{**pruner, "name": "horizon"}), epochs) == ()


def test_probe_is_the_default_for_several_families_only():
    median = {"name": "median"}
    several = parse_study({"name": "d", "pruner": median,
                           "search_space": {"families": ["cosine", "wsd"]}})
    one = parse_study({"name": "d", "pruner": median, "search_space": {"families": ["cosine"]}})
    assert resolve_judge(several.pruner, 2) == "probe"
    assert resolve_judge(one.pruner, 1) == "raw"
    forced = parse_study({"name": "d", "pruner": {**median, "judge": "raw"}})
    assert resolve_judge(forced.pruner, 5) == "raw"
    assert reported_kind("none", "probe") == "raw"


def _objective(pruner: dict, families: list[str]) -> Objective:
    config = parse_study({"name": "d", "training": {"epochs": 6},
                          "pruner": {"name": "median", **pruner},
                          "search_space": {"families": families}})
    return Objective(config, SearchSpace.from_config(config), data=None)


def test_objective_probes_at_the_points_only_when_judging_by_probe():
    probing = _objective({}, ["cosine", "step"])
    assert probing.judge == "probe" and probing.probe.epochs == (2, 4)
    assert probing.probe.frac == 0.1
    assert _objective({}, ["cosine"]).probe is None  # one family: raw, no probe
    assert _objective({"name": "none"}, ["cosine", "step"]).probe is None  # no cost at all
    assert _objective({"name": "horizon"}, ["cosine", "step"]).probe is None  # the default
    row = {"epoch": 4, "val_acc": 0.5, "probe_val_acc": 0.6}
    assert probing._judged_value(row) == 0.6
    assert probing._judged_value({"epoch": 1, "val_acc": 0.5, "probe_val_acc": None}) is None
    assert _objective({"judge": "raw"}, ["cosine", "step"])._judged_value(row) == 0.5


def test_pruners_warm_up_until_the_first_point():
    pruner = build_pruner(PrunerConfig(name="median", at_progress=[0.5, 0.75]), epochs=8)
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert pruner._n_warmup_steps == 4


def test_wilcoxon_hears_every_epoch_from_the_first_point():
    assert pruning_epochs(PrunerConfig(name="wilcoxon"), 9) == (3, 4, 5, 6, 7, 8)
    assert resolve_judge(PrunerConfig(name="wilcoxon"), 5) == "raw"
    objective = _objective({"name": "wilcoxon"}, ["cosine", "step"])
    assert objective.probe is None and objective.prune_epochs == (2, 3, 4, 5)


def test_wilcoxon_with_the_probe_is_refused_saying_why():
    with pytest.raises(ConfigError) as caught:
        parse_study({"name": "d", "pruner": {"name": "wilcoxon", "judge": "probe"}})
    (problem,) = caught.value.problems
    assert problem.startswith("pruner.judge: got 'probe' with pruner.name 'wilcoxon'")
    assert "at least 4 paired epochs" in problem and "p >= 0.25" in problem


# -- every pruner in a real tiny study -------------------------------------------------------

PRUNER_RUN = {
    "n_trials": 4, "data": {"dataset": "fake", "val_size": 64, "train_subset": 128},
    "training": {"epochs": 2, "batch_size": 64, "device": "cpu", "seed": 0},
    "sampler": {"name": "random", "seed": 0},
    "search_space": {"families": ["cosine"], "peak_lr": {"low": 0.01, "high": 0.3,
                                                         "log": True}},
    "baselines": [],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["median", "percentile", "successive_halving", "hyperband",
                                  "wilcoxon", "patient", "none"])
def test_every_pruner_runs_a_tiny_study(tiny_config, name):
    config = tiny_config(pruner={"name": name, "n_startup_trials": 1}, **PRUNER_RUN)
    summary = run_study(config, progress="off")
    assert summary.failed == 0
    assert summary.complete + summary.pruned == 4
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    for trial in with_curves(study, study.get_trials()):
        assert trial.intermediate_values  # raw values, every epoch it ran
        if trial.state == optuna.trial.TrialState.PRUNED:
            assert trial.user_attrs["prune_reason"].startswith("pruned after epoch 1")
            assert trial_lr_curve(trial)[0][0] == 0  # the part it ran


def _low_and_high_lr_study(tiny_config, pruner: dict, epochs: int, **training):
    """A 3-trial grid study of constant LRs on fake data: the baseline at peak LR 1e-5, then
    the grid's 1e-5 and 0.1, judged on val_loss. Returns ``(trials, grid trials by peak LR)``."""
    config = tiny_config(
        n_trials=3, metric="val_loss", sampler={"name": "grid", "points_per_param": 2},
        pruner=pruner,
        training={"epochs": epochs, "batch_size": 64, "device": "cpu", "seed": 0, **training},
        search_space={"families": ["constant"], "warmup_frac": 0.0,
                      "peak_lr": {"low": 1e-5, "high": 0.1, "log": True}},
        baselines=[{"name": "low", "family": "constant", "peak_lr": 1e-5}])
    run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    trials = with_curves(study, study.get_trials())
    return trials, {t.user_attrs["schedule"]["peak_lr"]: t for t in trials[1:]}


@pytest.mark.slow
def test_a_clearly_worse_trial_is_pruned_keeping_its_reason_and_curve(tiny_config):
    # Fake data (nothing to learn): at peak LR 1e-5 the validation loss stays near ln 10, at
    # 0.1 it is higher every epoch. The grid runs 1e-5 (as the baseline, never pruned, does)
    # and 0.1, which is judged after epoch 1 against the completed ones and pruned.
    trials, by_lr = _low_and_high_lr_study(
        tiny_config, {"name": "median", "n_startup_trials": 1, "at_progress": [0.5]},
        epochs=2, lr_record_every=1)
    assert trials[0].state == by_lr[1e-5].state == optuna.trial.TrialState.COMPLETE
    pruned = by_lr[0.1]
    assert pruned.state == optuna.trial.TrialState.PRUNED, pruned.intermediate_values
    value = pruned.intermediate_values[1]
    assert value > trials[0].intermediate_values[1]
    assert pruned.user_attrs["prune_reason"] == f"pruned after epoch 1 (val_loss {value:.4f})"
    # The part it ran: epoch 1's 4 steps (recorded every step), at its constant LR.
    assert trial_lr_curve(pruned) == [[step, pytest.approx(0.1)] for step in range(4)]


@pytest.mark.slow
def test_wilcoxon_prunes_a_trial_worse_at_every_epoch(tiny_config):
    # Fake data (nothing to learn): at peak LR 1e-5 the validation loss stays near ln 10, at
    # 0.1 it is 0.15-0.4 higher every epoch. The baseline (1e-5, never pruned) is the best
    # trial; the grid then runs 1e-5 again and 0.1, whose 4th worse epoch gives p = 1/16.
    trials, by_lr = _low_and_high_lr_study(
        tiny_config, {"name": "wilcoxon", "at_progress": [0.1], "p_threshold": 0.1}, epochs=6)
    assert set(by_lr) == {1e-5, 0.1}
    assert by_lr[1e-5].state == optuna.trial.TrialState.COMPLETE
    pruned = by_lr[0.1]
    assert pruned.state == optuna.trial.TrialState.PRUNED, pruned.intermediate_values
    assert pruned.user_attrs["prune_reason"].startswith("pruned after epoch 4 (val_loss")
    assert sorted(pruned.intermediate_values) == [1, 2, 3, 4]
    # The part it ran: the points a whole run records (every 10 steps, and the last step)
    # within its 4 epochs of 4 steps, at its constant LR.
    whole = [step for step, _ in trial_lr_curve(by_lr[1e-5])]
    assert whole == [0, 10, 20, 23]
    curve = trial_lr_curve(pruned)
    assert curve == [[step, pytest.approx(0.1)] for step in whole if step < 4 * 4]


def test_every_pruner_name_has_a_builder_and_a_policy_and_an_unknown_one_is_refused():
    built = {name: type(build_pruner(PrunerConfig(name=name), epochs=9)).__name__
             for name in PRUNERS}
    assert built["patient"] == "PatientPruner" and built["wilcoxon"] == "WilcoxonPruner"
    assert len(set(built.values())) == len(PRUNERS)  # no name falls through to another's
    with pytest.raises(ValueError, match="pruner.name: got 'asha'"):
        build_pruner(PrunerConfig.model_construct(name="asha"), epochs=9)
    # What each name implies, decided once: rungs xor per-epoch judging, or nothing.
    assert [name for name in PRUNERS if pruning_policy(name).rungs] == ["horizon"]
    assert [name for name in PRUNERS if not pruning_policy(name).judged] == ["horizon", "none"]
    with pytest.raises(ValueError, match="pruner.name: got 'asha'"):
        pruning_policy("asha")
