"""One value for "best" everywhere: the winner's mean over its seeds, with each seed named.

The run's summary, the report's headline and margin, the export, the dashboard's note and the
per-trial line all show the same number for a study whose top trials were re-run.
"""

from __future__ import annotations

import json
import statistics

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import TrialState, create_trial

from lrsearch.cli import main
from lrsearch.records import (
    RESEEDS_ATTR,
    SCHEDULE_ATTR,
    reseed_runs,
    score_text,
    set_study_record,
    study_records,
    trial_seed_values,
)
from lrsearch.report import dashboard_note, extract_report
from lrsearch.search._progress import StudyProgress

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reseeded(tmp_path_factory):
    """A real study whose top 2 trials were re-run with one more seed, and the run's output."""
    from tests.search.conftest import write_study

    folder = tmp_path_factory.mktemp("reseeded")
    path = write_study(folder, name="tiny", n_trials=4, pruner={"name": "none"},
                       reseed={"top_k": 2, "seeds": 1})
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 0, result.output
    return folder, f"sqlite:///{folder / 'studies.db'}", result.output


def _winner(url):
    study = optuna.load_study(study_name="tiny", storage=url)
    data = extract_report(study, importances=False)
    trial = study.trials[data.best.number]
    return study, data, trial_seed_values(trial, reseed_runs(study_records(study)))


def test_summary_report_export_and_dashboard_show_the_same_mean(reseeded):
    folder, url, output = reseeded
    study, data, seeds = _winner(url)
    assert len(seeds) == 2
    shown = score_text(seeds)
    assert shown.startswith(f"{statistics.fmean(seeds):.4f} (mean of 2 seeds: ")
    assert f"val_acc {shown} (trial {data.best.number}," in output  # the run's summary
    assert data.best.value == pytest.approx(statistics.fmean(seeds))
    assert data.best.seed_values == seeds
    base = data.best_baseline
    assert data.margin == pytest.approx(data.best.value - base.value)
    assert base.value == pytest.approx(statistics.fmean(base.seed_values))

    page = folder / "report.html"
    result = CliRunner().invoke(main, ["report", "--storage", url, "--study", "tiny",
                                       "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert f"val_acc <b>{shown}</b>" in page.read_text()
    assert f"<b>{data.margin:+.4f}</b>" in page.read_text()

    result = CliRunner().invoke(main, ["export", "--storage", url, "--study", "tiny",
                                       "--out", str(folder / "best")])
    assert result.exit_code == 0, result.output
    assert shown in result.output
    source = json.loads((folder / "best" / "best_schedule.json").read_text())["source"]
    assert source["value"] == pytest.approx(statistics.fmean(seeds))
    assert source["seed_values"] == pytest.approx(seeds)

    note = dashboard_note(study)
    assert shown in note and "Optuna's own *Best Trial*" in note
    assert f"lrsearch report --storage {url} --study tiny" in note  # no URL placeholder
    assert study.metric_names == ["val_acc"]  # the dashboard's axes say the metric


def _trial(value):
    return create_trial(value=value, user_attrs={SCHEDULE_ATTR: {"family": "cosine"}})


def test_a_higher_single_value_that_is_not_best_says_why():
    study = optuna.create_study(direction="maximize")
    study.add_trial(_trial(0.60))
    study.add_trial(_trial(0.50))
    set_study_record(study, RESEEDS_ATTR, {"runs": {"0": {"5000": 0.56}}})  # mean 0.58
    study.add_trial(_trial(0.59))  # above the mean, one seed: not the winner
    progress = StudyProgress(total=None, done=0, epochs=3, metric="val_acc", mode="off")
    progress.set_best(study)
    later = study.trials[2]
    assert later.state == TrialState.COMPLETE
    line = progress.trial_line(later)
    assert "best: 0.5800 (trial 0, cosine, mean of 2 seeds)" in line
    assert "trial 2 has one seed; the best is the mean over re-runs" in line
    assert "has one seed" not in progress.trial_line(study.trials[1])  # below: no hint
