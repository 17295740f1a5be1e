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
from lrsearch.config import parse_study
from lrsearch.errors import ConfigError, StudyError
from lrsearch.records import (
    FAIL_REASON_ATTR,
    PRUNE_REASON_ATTR,
    SCHEDULE_ATTR,
    study_records,
    trial_epochs,
    with_curves,
)
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
    complete = with_curves(study, study.get_trials(states=(TrialState.COMPLETE,)))
    assert study.best_value > 0.7  # two classes: chance is 0.5
    assert all(t.user_attrs[SCHEDULE_ATTR]["total_steps"] == 4 * 12 for t in complete)
    assert [row["epoch"] for row in trial_epochs(complete[0])] == [1, 2, 3, 4]
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
    stored = optuna.load_study(study_name="own-loop", storage=storage)
    trials = with_curves(stored, stored.trials)
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert all(t.user_attrs[PRUNE_REASON_ATTR].startswith("pruned after epoch 2 (val_acc ")
               for t in pruned)
    assert all(len(trial_epochs(t)) == 2 for t in pruned)
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


def test_a_study_naming_no_pruner_gets_the_per_epoch_one_and_horizon_rungs_are_refused(
        tmp_path):
    plain = {key: value for key, value in study(tmp_path).items() if key != "pruner"}
    lrsearch.optimize(plain, by_peak_lr, n_trials=3)
    stored = optuna.load_study(study_name="own-loop", storage=plain["storage"])
    assert study_records(stored)["config"]["pruner"]["name"] == "median"
    assert parse_study(plain).pruner.name == "horizon"  # what lrsearch run gets
    rungs = study(tmp_path, name="rungs", pruner={"name": "horizon"})
    with pytest.raises(ConfigError, match=r"pruner.name: got 'horizon'; horizon rungs") as caught:
        lrsearch.optimize(rungs, by_peak_lr)
    assert "'median' (the default with your own loop)" in str(caught.value)
    assert "rungs" not in optuna.get_all_study_names(plain["storage"])


def test_a_failing_loop_fails_its_trial_saying_why(tmp_path):
    def forgets_the_metric(trial):
        trial.report(1, val_loss=0.5)

    with pytest.raises(StudyError, match="3 trials in a row failed"):
        lrsearch.optimize(study(tmp_path, n_trials=5), forgets_the_metric)
    trial = optuna.load_study(study_name="own-loop",
                              storage=f"sqlite:///{tmp_path / 'own.db'}").trials[0]
    assert trial.user_attrs[FAIL_REASON_ATTR] == (
        "LrsearchError: report: got ['val_loss']; must include 'val_acc', the study's metric")


def probed_study(tmp_path, name):
    return study(tmp_path, name=name, n_trials=3, sampler={"name": "random", "seed": 0},
                 pruner={"name": "median", "n_startup_trials": 1, "at_progress": [0.5]})


def toy_loop(trial):
    """A small torch loop; its probe's batches come from a source of their own."""
    import torch

    torch.manual_seed(trial.seed)
    x, y = torch.randn(256, 8), torch.randint(0, 2, (256,))
    x[:, 0] += 2 * y
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optimizer = trial.build_optimizer(model)
    scheduler = trial.build_scheduler(optimizer, total_steps=trial.epochs * 8)
    probe_batches = torch.Generator().manual_seed(1)

    def step(rows):
        loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for epoch in range(1, trial.epochs + 1):
        for rows in torch.randperm(256).split(32):
            step(rows)
            scheduler.step()
        with torch.no_grad():
            val_acc = (model(x).argmax(1) == y).float().mean().item()
        trial.report(epoch, val_acc=val_acc, model=model, optimizer=optimizer,
                     train_step=lambda: step(torch.randperm(256, generator=probe_batches)[:32]))


def accuracy(model):
    import torch

    torch.manual_seed(5)
    x, y = torch.randn(256, 8), torch.randint(0, 2, (256,))
    x[:, 0] += 2 * y
    with torch.no_grad():
        return {"val_acc": (model(x).argmax(1) == y).float().mean().item()}


def test_an_evaluate_callback_judges_pruning_points_by_a_probe_that_changes_nothing(tmp_path):
    lrsearch.optimize(probed_study(tmp_path, "probed"), toy_loop, evaluate=accuracy)
    lrsearch.optimize(probed_study(tmp_path, "raw"), toy_loop)
    storage = f"sqlite:///{tmp_path / 'own.db'}"
    probed = optuna.load_study(study_name="probed", storage=storage)
    raw = optuna.load_study(study_name="raw", storage=storage)
    assert study_records(probed)["config"]["pruner"]["judge"] == "probe"
    assert study_records(raw)["config"]["pruner"]["judge"] == "raw"
    rows = trial_epochs(with_curves(probed, probed.trials)[0])
    assert [("probe_val_acc" in row) for row in rows] == [False, True, False, False]
    assert rows[1]["probe_steps"] == 2  # 10% of the 16 steps done, rounded
    # The probe restored the run: the same trial without probes reports the same values.
    assert [row["val_acc"] for row in rows] == \
        [row["val_acc"] for row in trial_epochs(with_curves(raw, raw.trials)[0])]


def test_a_probe_without_what_it_needs_is_named(tmp_path):
    with pytest.raises(StudyError, match="3 trials in a row failed"):
        lrsearch.optimize(probed_study(tmp_path, "probed"), by_peak_lr,
                          evaluate=lambda model: 0.5)
    trial = optuna.load_study(study_name="probed",
                              storage=f"sqlite:///{tmp_path / 'own.db'}").trials[0]
    assert trial.user_attrs[FAIL_REASON_ATTR] == (
        "LrsearchError: report: epoch 2 is a pruning point judged by a cooldown probe; pass "
        "model, optimizer, train_step to trial.report (or leave evaluate out of "
        "lrsearch.optimize to judge raw values)")
