"""Real studies on a SQLite file: tiny fake data, real training on the CPU."""

from __future__ import annotations

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import TrialState

from lrsearch.cli import main
from lrsearch.schedules import ScheduleSpec

if not hasattr(pytest.importorskip("lrsearch.train"), "train"):
    pytest.skip("lrsearch.train.train is not there yet", allow_module_level=True)
pytestmark = pytest.mark.slow


def run(*args):
    return CliRunner().invoke(main, ["run", *map(str, args), "--quiet"])


def load(path, name="tiny"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{path.parent / 'studies.db'}")


def test_end_to_end_then_resume_continues_the_count(tiny_study):
    path = tiny_study()
    result = run(path)
    assert result.exit_code == 0, result.output
    study = load(path)
    trials = study.get_trials()
    states = [t.state for t in trials]
    assert len(trials) == 6 and set(states) <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert TrialState.COMPLETE in states and TrialState.PRUNED in states
    assert [t.user_attrs.get("baseline") for t in trials[:2]] == ["cosine", "step"]
    for trial in trials:
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
        assert spec.family == trial.params["family"]
        assert spec.total_steps == 3 * (256 // 64)  # laid onto the real length
        assert trial.user_attrs["optimizer"]["name"] == "sgd"
        assert trial.user_attrs["epochs"][0]["epoch"] == 1
        assert trial.intermediate_values
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    for trial in complete:
        assert len(trial.user_attrs["epochs"]) == 3
        assert all(isinstance(s, int) and isinstance(lr, float)
                   for s, lr in trial.user_attrs["lr_curve"])
        assert trial.value == trial.user_attrs["epochs"][-1]["val_acc"]
    attrs = study.user_attrs
    assert {"config", "search_space_fingerprint", "lrsearch_version", "torch_version",
            "optuna_version", "git_sha", "device_name"} <= set(attrs)
    assert attrs["config"]["name"] == "tiny"
    assert not list((path.parent / "ckpt" / "tiny").glob("*.pt"))  # finished: cleaned up

    result = run(path, "--n-trials", 8)
    assert result.exit_code == 0, result.output
    trials = load(path).get_trials()
    assert [t.number for t in trials] == list(range(8))
    assert sum("baseline" in t.user_attrs for t in trials) == 2  # queued once, at creation


def test_changed_search_space_is_refused(tiny_study):
    path = tiny_study(n_trials=1, baselines=[])
    assert run(path).exit_code == 0
    path = tiny_study(n_trials=2, baselines=[],
                      search_space={"families": ["cosine", "onecycle"]})
    result = run(path)
    assert result.exit_code == 1
    assert "changed" in result.output and "tiny-2" in result.output
    assert "Traceback" not in result.output
    assert len(load(path).trials) == 1  # nothing stored was touched


def test_diverged_trials_are_pruned_with_the_reason(tiny_study):
    path = tiny_study(n_trials=1, baselines=[], search_space={
        "families": ["constant"], "peak_lr": 1.0e4, "warmup_frac": 0.0})
    result = run(path)
    assert result.exit_code == 0, result.output
    (trial,) = load(path).get_trials()
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs["fail_reason"].startswith("diverged")
