"""``peak_lr: auto``: a real range test at the start of a real SQLite study, stored and reused."""

from __future__ import annotations

import optuna
import pytest
from click.testing import CliRunner
from optuna.distributions import FloatDistribution

from lrsearch.cli import main
from lrsearch.config import Range, load_study, parse_study
from lrsearch.search import ATTR_PREFIX, SearchSpace, fingerprint, open_study

pytestmark = pytest.mark.slow

RANGE_TEST = {"start_lr": 1.0e-4, "end_lr": 10.0, "num_steps": 20}
AUTO_SPACE = {"families": ["cosine", "linear"], "peak_lr": "auto"}


def _study(tiny_study, **changes):
    settings = {"n_trials": 3, "baselines": [], "lr_range_test": RANGE_TEST,
                "training": {"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0},
                "pruner": {"name": "none"}, "search_space": AUTO_SPACE}
    return tiny_study(**{**settings, **changes})


def _load(path) -> optuna.Study:
    return optuna.load_study(study_name="tiny",
                             storage=f"sqlite:///{path.parent / 'studies.db'}")


def test_range_test_is_stored_bounds_the_trials_and_is_reused(tiny_study):
    path = _study(tiny_study)
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    study = _load(path)
    stored = study.user_attrs[ATTR_PREFIX + "sgd"]
    span = stored["search_range"]
    suggested = stored["result"]["suggested_lr"]
    assert span == {"low": suggested / 10, "high": suggested * 10, "log": True}  # width 10
    assert stored["result"]["settings"]["num_steps"] == 20
    assert len(stored["result"]["lrs"]) <= 20 and stored["result"]["model"] == "small_cnn"
    trials = study.get_trials()
    assert len(trials) == 3
    for trial in trials:
        assert trial.distributions["sgd.peak_lr"] == FloatDistribution(
            span["low"], span["high"], log=True)
        assert span["low"] <= trial.params["sgd.peak_lr"] <= span["high"]
        assert trial.user_attrs["schedule"]["peak_lr"] == trial.params["sgd.peak_lr"]

    # A resume reads the stored test: same range, no new test, the fingerprint still fits.
    config = load_study(path)
    opened = open_study(config)
    assert opened.range_tests_run == () and not opened.created
    assert opened.space.optimizers["sgd"]["peak_lr"] == Range(**span)
    result = CliRunner().invoke(main, ["run", str(path), "--quiet", "--n-trials", "4"])
    assert result.exit_code == 0, result.output
    study = _load(path)
    assert study.user_attrs[ATTR_PREFIX + "sgd"] == stored  # not run (nor stored) again
    assert len(study.get_trials()) == 4


def test_the_stored_result_wins_over_a_new_test(tiny_study):
    # What another worker stored first is what every later process uses.
    path = _study(tiny_study, search_space={**AUTO_SPACE, "optimizers": {
        "sgd": {"peak_lr": "auto"}, "adam": {"peak_lr": 1.0e-3}}})
    config = load_study(path)
    first = open_study(config, progress="off")
    assert first.created and first.range_tests_run == ("sgd",)
    assert ATTR_PREFIX + "adam" not in first.study.user_attrs  # adam's peak LR is fixed
    record = dict(first.study.user_attrs[ATTR_PREFIX + "sgd"])
    record["search_range"] = {"low": 0.01, "high": 0.02, "log": True}
    first.study.set_user_attr(ATTR_PREFIX + "sgd", record)
    again = open_study(config, progress="off")
    assert again.range_tests_run == ()
    assert again.space.optimizers["sgd"]["peak_lr"] == Range(low=0.01, high=0.02, log=True)
    assert again.space.optimizers["adam"]["peak_lr"] == 1.0e-3


def test_changed_range_test_settings_are_refused_on_resume(tiny_study):
    path = _study(tiny_study)
    open_study(load_study(path), progress="off")
    path = _study(tiny_study, lr_range_test={**RANGE_TEST, "width": 2.0})
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 1 and "changed" in result.output
    assert "Traceback" not in result.output


def test_range_test_settings_count_in_the_fingerprint_only_with_auto():
    def fingerprint_of(peak_lr, num_steps):
        config = parse_study({"name": "d", "search_space": {"peak_lr": peak_lr},
                              "lr_range_test": {"num_steps": num_steps}})
        return fingerprint(config, SearchSpace.from_config(config))

    fixed = {"low": 0.01, "high": 0.1, "log": True}
    assert fingerprint_of(fixed, 100) == fingerprint_of(fixed, 200)  # older studies resume
    assert fingerprint_of("auto", 100) != fingerprint_of("auto", 200)


def test_preset_baselines_run_at_the_suggested_peak_lr(tiny_study):
    # Presets are queued after the range test: the middle of the auto range is its suggestion.
    path = _study(tiny_study, n_trials=2, baselines=["cosine", "schedulefree"])
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    study = _load(path)
    suggested = study.user_attrs[ATTR_PREFIX + "sgd"]["result"]["suggested_lr"]
    trials = study.get_trials()
    assert [t.user_attrs["baseline"] for t in trials] == ["cosine", "schedulefree"]
    for trial in trials:
        assert trial.user_attrs["schedule"]["peak_lr"] == pytest.approx(suggested, rel=1e-9)
