"""``lrsearch.optimize``: the user's own training loop; the README's example run as it is."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import TrialState

import lrsearch
from lrsearch.cli import main
from lrsearch.errors import ConfigError, StudyError
from lrsearch.records import EPOCHS_ATTR, FAIL_REASON_ATTR, PRUNE_REASON_ATTR, SCHEDULE_ATTR
from tests.conftest import REPO


def readme_example() -> str:
    """The Python block of the README's section on a training loop of your own."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Your own model, data or training loop"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_learns_and_reports_and_exports(tmp_path):
    code = readme_example()
    assert len(code.splitlines()) < 40
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("best val_acc ")
    storage = f"sqlite:///{tmp_path / 'my-model.db'}"
    study = optuna.load_study(study_name="my-model", storage=storage)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert study.best_value > 0.7  # two classes: chance is 0.5
    assert all(t.user_attrs[SCHEDULE_ATTR]["total_steps"] == 4 * 12 for t in complete)
    assert [row["epoch"] for row in complete[0].user_attrs[EPOCHS_ATTR]] == [1, 2, 3, 4]
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--storage", storage, "--study", "my-model",
                                  "--out", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    assert "__main__.train_fn (lrsearch.optimize)" in (tmp_path / "report.html").read_text()
    result = runner.invoke(main, ["export", "--storage", storage, "--study", "my-model",
                                  "--out", str(tmp_path / "best")])
    assert result.exit_code == 0, result.output
    exported = json.loads((tmp_path / "best" / "best_schedule.json").read_text())
    assert exported["source"]["value"] == pytest.approx(study.best_value)
    result = runner.invoke(main, ["confirm", "--storage", storage, "--study", "my-model"])
    assert result.exit_code == 1 and "your own training loop" in result.output


def study(tmp_path, **changes):
    return {"name": "own-loop", "storage": f"sqlite:///{tmp_path / 'own.db'}", "n_trials": 8,
            "training": {"epochs": 4},
            "sampler": {"name": "random", "seed": 0},
            "pruner": {"name": "percentile", "percentile": 50.0, "n_startup_trials": 2,
                       "at_progress": [0.5]},
            "search_space": {"families": ["cosine", "linear"],
                             "peak_lr": {"low": 0.01, "high": 1.0, "log": True}}, **changes}


def by_peak_lr(trial):
    """A loop without a model: its value grows with the peak LR, so low ones are pruned."""
    for epoch in range(1, trial.epochs + 1):
        trial.report(epoch, val_acc=trial.spec.peak_lr * epoch / trial.epochs)


def test_raw_values_prune_and_every_trial_is_stored(tmp_path):
    summary = lrsearch.optimize(study(tmp_path), by_peak_lr)
    assert summary.complete + summary.pruned == 8 and summary.pruned >= 1
    storage = f"sqlite:///{tmp_path / 'own.db'}"
    trials = optuna.load_study(study_name="own-loop", storage=storage).trials
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert all(t.user_attrs[PRUNE_REASON_ATTR].startswith("pruned after epoch 2 (val_acc ")
               for t in pruned)
    assert all(len(t.user_attrs[EPOCHS_ATTR]) == 2 for t in pruned)
    more = lrsearch.optimize(study(tmp_path), by_peak_lr, n_trials=10)  # resumes
    assert more.complete + more.pruned == 10


def test_what_needs_lrsearchs_own_loop_is_refused(tmp_path):
    bad = study(tmp_path, pruner={"judge": "probe"},
                search_space={"families": ["cosine"], "peak_lr": "auto"})
    with pytest.raises(ConfigError, match=r"2 problem") as caught:
        lrsearch.optimize(bad, by_peak_lr)
    assert "search_space.peak_lr: got 'auto'" in str(caught.value)
    assert "pruner.judge: got 'probe'" in str(caught.value)
    assert not (tmp_path / "own.db").exists()


def test_a_failing_loop_fails_its_trial_saying_why(tmp_path):
    def forgets_the_metric(trial):
        trial.report(1, val_loss=0.5)

    with pytest.raises(StudyError, match="3 trials in a row failed"):
        lrsearch.optimize(study(tmp_path, n_trials=5), forgets_the_metric)
    trial = optuna.load_study(study_name="own-loop",
                              storage=f"sqlite:///{tmp_path / 'own.db'}").trials[0]
    assert trial.user_attrs[FAIL_REASON_ATTR] == (
        "LrsearchError: report: got ['val_loss']; must include 'val_acc', the study's metric")
