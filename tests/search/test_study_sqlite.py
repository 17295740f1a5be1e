"""Real studies on a SQLite file: tiny fake data, real training on the CPU."""

from __future__ import annotations

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import TrialState

from lrsearch.cli import main
from lrsearch.schedules import ScheduleSpec
from tests.search.conftest import TINY_STUDY

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


def test_several_families_are_judged_by_probe_values_at_the_points(tiny_study):
    path = tiny_study()  # 4 families, 3 epochs: points 1/3, 2/3 -> epochs 1 and 2
    assert run(path).exit_code == 0
    study = load(path)
    assert study.user_attrs["config"]["pruner"]["judge"] == "probe"
    trials = study.get_trials()
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= {t.state for t in trials}
    for trial in trials:
        rows = {row["epoch"]: row for row in trial.user_attrs["epochs"]}
        assert set(trial.intermediate_values) == {1, 2} & set(rows)
        for epoch, value in trial.intermediate_values.items():
            assert value == rows[epoch]["probe_val_acc"]  # what the pruner judged
            assert rows[epoch]["probe_steps"] == max(1, round(0.1 * rows[epoch]["step"]))
            assert isinstance(rows[epoch]["val_acc"], float)  # the raw value is kept too
        if trial.state == TrialState.PRUNED:
            assert max(rows) in (1, 2)
        else:
            assert rows[3]["probe_val_acc"] is None  # nothing to probe at the end
            assert trial.value == rows[3]["val_acc"]  # the final value stays raw

    raw = tiny_study(n_trials=7, pruner={**TINY_STUDY["pruner"], "judge": "raw"})
    result = run(raw)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "pruner.judge: got 'raw'" in result.output and "probe values" in result.output
    assert len(load(raw).trials) == 6  # nothing stored was touched


def test_one_family_is_judged_by_raw_values_without_probes(tiny_study):
    path = tiny_study(n_trials=2, baselines=[], search_space={"families": ["cosine"]})
    assert run(path).exit_code == 0
    study = load(path)
    assert study.user_attrs["config"]["pruner"]["judge"] == "raw"
    for trial in study.get_trials():
        rows = trial.user_attrs["epochs"]
        assert trial.intermediate_values == {r["epoch"]: r["val_acc"] for r in rows}
        assert all(r["probe_val_acc"] is None for r in rows)
