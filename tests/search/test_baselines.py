"""Ready-made baselines: queued first as fixed trials, run exactly their spec, never pruned."""

from __future__ import annotations

import math

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import TrialState

from lrsearch.cli import main
from lrsearch.config import parse_study
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import SearchSpace, trial_family
from lrsearch.search._queue import preset_trial

pytestmark = pytest.mark.slow
PRESETS = ["cosine", "linear", "onecycle", "step", "schedulefree"]


def test_presets_use_the_middle_of_the_searched_peak_lr():
    space = SearchSpace.from_config(parse_study({"name": "d", "search_space": {
        "families": ["wsd"], "peak_lr": {"low": 0.01, "high": 1.0, "log": True},
        "optimizers": {"adamw": {"weight_decay": {"low": 0.0, "high": 0.1}}}}}))
    specs = {name: preset_trial(name, space) for name in PRESETS}
    assert {name: spec.family for name, (spec, _) in specs.items()} == {
        "cosine": "cosine", "linear": "linear", "onecycle": "onecycle", "step": "multistep",
        "schedulefree": "constant"}
    assert all(math.isclose(spec.peak_lr, 0.1) for spec, _ in specs.values())
    assert specs["step"][0].params == {"milestones": (0.5, 0.75), "gamma": 0.1}
    assert specs["cosine"][1] == {"name": "adamw", "head_lr_mult": 1.0, "weight_decay": 0.05}
    assert specs["schedulefree"][1]["name"] == "adamw_schedulefree"
    assert specs["schedulefree"][0].warmup_frac == 0.05


def test_unknown_preset_and_duplicates_are_refused(tiny_study):
    result = CliRunner().invoke(main, ["validate", str(tiny_study(baselines=["cosine",
                                                                          "exp-decay"]))])
    assert result.exit_code == 1
    assert "baselines.1: got 'exp-decay'; must be 'cosine', 'linear'" in result.output
    result = CliRunner().invoke(main, ["validate", str(tiny_study(baselines=["cosine",
                                                                          "cosine"]))])
    assert result.exit_code == 1
    assert "baselines.1: got 'cosine'; baseline names must be unique" in result.output


def test_a_study_runs_every_preset_first_unpruned_and_exactly(tiny_study):
    # Presets run outside the space; where the space searches a preset's family (cosine, and
    # schedulefree's constant), it is the trial's family parameter, as Optuna's frame shows.
    path = tiny_study(n_trials=7, baselines=PRESETS,
                      search_space={"families": ["wsd", "cosine", "constant"],
                                    "peak_lr": {"low": 0.01, "high": 0.3, "log": True}},
                      # Prune below the 99th percentile (Optuna mirrors it when maximizing).
                      pruner={"name": "percentile", "percentile": 1.0,
                              "n_startup_trials": 0})
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny",
                              storage=f"sqlite:///{path.parent / 'studies.db'}")
    trials = study.get_trials()
    baselines = trials[:5]
    assert [t.user_attrs["baseline"] for t in baselines] == PRESETS
    assert all(t.state == TrialState.COMPLETE for t in baselines)
    assert [t.params for t in baselines] == [{"family": "cosine"}, {}, {}, {},
                                             {"family": "constant"}]
    frame = study.trials_dataframe()
    assert list(frame["params_family"][:5].fillna("-")) == ["cosine", "-", "-", "-", "constant"]
    assert [trial_family(t) for t in baselines] == ["cosine", "linear", "onecycle",
                                                    "multistep", "constant"]
    for trial in baselines:
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
        assert math.isclose(spec.peak_lr, math.sqrt(0.01 * 0.3))
        assert spec.total_steps == 3 * (256 // 64)
    assert baselines[-1].user_attrs["optimizer"]["name"] == "sgd_schedulefree"
    searched = trials[5:]
    assert all(trial_family(t) in {"wsd", "cosine", "constant"} for t in searched)
    assert any(t.state == TrialState.PRUNED for t in searched)  # pruning was on for them


@pytest.mark.slow
def test_a_failed_baseline_is_named_at_the_end_and_run_again_by_the_next_run(tiny_study):
    """A baseline failed for a cause other than a lost worker (here a foreign checkpoint in its
    place) was never run again, and the study ended without its yardstick, saying nothing."""
    from lrsearch.config import load_study
    from lrsearch.search import open_study, study_folder

    path = tiny_study(n_trials=3, pruner={"name": "none"},
                      training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    config = load_study(path)
    folder = study_folder(config.checkpoint_dir, open_study(config, progress="off").study)
    folder.mkdir(parents=True)
    (folder / "trial-0.pt").write_bytes(b"not a checkpoint")  # trial 0: the cosine baseline
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert ("warning: baseline 'cosine' has no result: trial 0 failed (TrainingError: "
            "checkpoint ") in result.output
    assert "the next run runs it again" in result.output
    result = CliRunner().invoke(main, ["run", str(path), "--n-trials", 4])
    assert result.exit_code == 0, result.output
    assert "baseline 'cosine': trial 0 failed (TrainingError: checkpoint " in result.output
    assert "queued again" in result.output and "has no result" not in result.output
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    cosine = [t for t in study.trials if t.user_attrs.get("baseline") == "cosine"]
    assert [t.state for t in cosine] == [TrialState.FAIL, TrialState.COMPLETE]
