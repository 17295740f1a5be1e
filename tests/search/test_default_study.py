"""A study run with every default, then each command that re-reads what it stored.

The study stores its resolved config (the pruner's judge among it); confirm, report, export,
a resumed run with a changed file and a run with workers must all accept that state. The study
file names only what makes it tiny: data, model size, epochs, trials, paths.
"""

from __future__ import annotations

import json

import optuna
import pytest
import yaml
from click.testing import CliRunner

from lrsearch.cli import main
from lrsearch.records import CONFIRM_ATTR, POLISH_ATTR, reseed_runs, study_records

pytestmark = pytest.mark.slow


def _write(folder, n_trials: int, storage: str | None = None):
    path = folder / "defaults.yaml"
    path.write_text(yaml.safe_dump({
        "name": "defaults", "storage": storage or f"sqlite:///{folder / 'studies.db'}",
        "checkpoint_dir": str(folder / "ckpt"), "n_trials": n_trials,
        "data": {"dataset": "fake", "val_size": 128, "train_subset": 256},
        "training": {"epochs": 3, "batch_size": 64, "device": "cpu"},
    }))
    return path


def _cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def default_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("defaults")
    study_file = _write(folder, n_trials=5)
    output = _cli("run", study_file, "--quiet")
    return folder, study_file, f"sqlite:///{folder / 'studies.db'}", output


def test_the_defaults_use_horizon_rungs_and_store_no_judge(default_study):
    _, _, url, _ = default_study
    stored = study_records(optuna.load_study(study_name="defaults", storage=url))["config"]
    assert stored["pruner"]["name"] == "horizon"
    assert stored["pruner"].get("judge") is None


def test_the_defaults_end_on_a_polish_trial_and_re_run_the_top_two(default_study):
    _, _, url, _ = default_study
    study = optuna.load_study(study_name="defaults", storage=url)
    *searched, last = study.trials
    assert last.user_attrs[POLISH_ATTR]["factor"] == 0.5  # the incumbent at half its peak LR
    assert last.state == optuna.trial.TrialState.COMPLETE
    assert not any(POLISH_ATTR in t.user_attrs for t in searched)
    assert len(reseed_runs(study_records(study))) == 2


def test_confirm_then_report_and_export_on_a_default_study(default_study):
    folder, _, url, _ = default_study
    output = _cli("confirm", "--storage", url, "--study", "defaults", "--top", 1, "--seeds", 1)
    assert "invalid" not in output and "paired over" in output
    study = optuna.load_study(study_name="defaults", storage=url)
    assert study_records(study)[CONFIRM_ATTR]["runs"]
    report = folder / "report.html"
    _cli("report", "--storage", url, "--study", "defaults", "--out", report)
    assert "Confirmation on the test set" in report.read_text()
    _cli("export", "--storage", url, "--study", "defaults", "--out", folder / "best")
    document = json.loads((folder / "best" / "best_schedule.json").read_text())
    assert document["schedule"]["family"]


def test_resume_with_a_changed_file(default_study):
    folder, _, url, _ = default_study
    _cli("run", _write(folder, n_trials=6), "--quiet")
    study = optuna.load_study(study_name="defaults", storage=url)
    assert len([t for t in study.trials if t.state.is_finished()]) == 6
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]


def test_a_default_study_resumed_with_workers(tmp_path, server_url):
    _cli("run", _write(tmp_path, n_trials=3, storage=server_url), "--quiet")
    _cli("run", _write(tmp_path, n_trials=6, storage=server_url), "--quiet", "--workers", 2)
    study = optuna.load_study(study_name="defaults", storage=server_url)
    assert len([t for t in study.trials if t.state.is_finished()]) >= 6
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
