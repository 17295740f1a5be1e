"""``lrsearch confirm``: fresh seeds, full training set, test set, paired margins, resumable."""

from __future__ import annotations

import optuna
import pytest
from click.testing import CliRunner

from lrsearch.cli import main
from lrsearch.config import load_study
from lrsearch.records import paired_margin, set_study_record, study_records, summarise_values
from lrsearch.report import extract_confirmation, extract_report, render_report
from lrsearch.search import CONFIRM_ATTR, pick_candidates, run_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study_url(tmp_path_factory):
    from tests.search.conftest import write_study

    folder = tmp_path_factory.mktemp("confirm")
    run_study(load_study(write_study(folder, n_trials=5, pruner={"name": "none"})),
              progress="off")
    return f"sqlite:///{folder / 'studies.db'}"


def confirm(url, *extra):
    return CliRunner().invoke(main, ["confirm", "--storage", url, "--study", "tiny",
                                     *map(str, extra)])


def test_pairing_cancels_the_noise_schedules_share():
    shared = [0.013, -0.021, 0.008, -0.004, 0.017]  # seed noise both runs of a seed share
    schedule = {s: 0.70 + 0.01 + n + 0.001 * (-1) ** s for s, n in enumerate(shared)}
    baseline = {s: 0.70 + n for s, n in enumerate(shared)}
    margin = paired_margin(schedule, baseline)
    unpaired = summarise_values(list(schedule.values()))
    assert margin.mean == pytest.approx(0.0102, abs=1e-9)
    assert margin.half_width < 0.01 < unpaired.half_width  # only pairing can tell them apart
    assert margin.mean - margin.half_width > 0


def test_confirm_retrains_top_and_baselines_with_the_same_fresh_seeds(study_url):
    result = confirm(study_url, "--top", 2, "--seeds", 2)
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny", storage=study_url)
    stored = study_records(study)[CONFIRM_ATTR]
    candidates = pick_candidates(study, 2)
    assert [c.baseline for c in candidates] == [None, None, "cosine", "step"]
    assert len(stored["runs"]) == 4 * 2
    seeds = {(r["trial"], r["seed"]) for r in stored["runs"]}
    assert {s for _, s in seeds} == set(stored["seeds"]) and min(stored["seeds"]) >= 10_000
    assert len(seeds) == 8  # every candidate with every seed: pairs
    assert stored["train_images"] == 256 + 128  # the training split plus the validation images
    assert all(0.0 <= r["test_acc"] <= 1.0 for r in stored["runs"])
    search_seed = study_records(study)["config"]["training"]["seed"]
    assert search_seed not in stored["seeds"]
    assert "paired over" in result.output and "cosine" in result.output


def test_confirm_resumes_and_extends_only_what_is_missing(study_url):
    assert confirm(study_url, "--top", 2, "--seeds", 2).exit_code == 0
    study = optuna.load_study(study_name="tiny", storage=study_url)
    before = study_records(study)[CONFIRM_ATTR]["runs"]
    result = confirm(study_url, "--top", 2, "--seeds", 3)
    assert result.exit_code == 0, result.output
    assert result.output.count("seed 10002") == 4 and "seed 10000" not in result.output
    after = study_records(optuna.load_study(study_name="tiny", storage=study_url))[CONFIRM_ATTR]
    assert after["runs"][:len(before)] == before and len(after["runs"]) == 12


def test_fewer_seeds_or_another_top_deletes_nothing_and_reports_every_stored_run(study_url):
    assert confirm(study_url, "--top", 2, "--seeds", 2).exit_code == 0
    before = study_records(optuna.load_study(study_name="tiny", storage=study_url))[CONFIRM_ATTR]
    seeds = sorted({r["seed"] for r in before["runs"]})
    assert len(seeds) >= 2
    # One seed, but a third trial: it is trained (with that seed), and nothing is dropped.
    result = confirm(study_url, "--top", 3, "--seeds", 1)
    assert result.exit_code == 0, result.output
    after = study_records(optuna.load_study(study_name="tiny", storage=study_url))[CONFIRM_ATTR]
    new = after["runs"][len(before["runs"]):]
    assert after["runs"][:len(before["runs"])] == before["runs"]
    assert {r["seed"] for r in new} <= {seeds[0]} and after["seeds"] == seeds
    assert result.output.count(": seed ") == len(new)  # one line per run trained
    assert f"{len(seeds)} seeds)" in result.output  # the table covers every stored seed
    # Fewer seeds and a smaller top: nothing to train, everything kept and shown.
    result = confirm(study_url, "--top", 1, "--seeds", 1)
    assert result.exit_code == 0 and ": seed " not in result.output  # nothing trained
    final = study_records(optuna.load_study(study_name="tiny", storage=study_url))[CONFIRM_ATTR]
    assert final["runs"] == after["runs"] and final["top_k"] == 3
    assert all(r["label"] in result.output for r in final["runs"])


def test_report_shows_confirmation_and_test_accuracy(study_url):
    assert confirm(study_url, "--top", 2, "--seeds", 2).exit_code == 0
    study = optuna.load_study(study_name="tiny", storage=study_url)
    data = extract_report(study, top_k=3)
    confirmation = extract_confirmation(study_records(study)[CONFIRM_ATTR])
    assert data.confirmation.reference == confirmation.reference in ("cosine", "step")
    confirmed = {row.trial: row.summary.mean for row in confirmation.rows}
    shown = [t.trial for t in [*data.top, *data.baseline_curves] if t.trial.number in confirmed]
    assert shown and all(t.test_acc == confirmed[t.number] for t in shown)
    page = render_report(data)
    assert "Confirmation on the test set" in page and "fig-confirmation" in page
    assert f"paired margin over {confirmation.reference}" in page


def test_confirm_of_a_study_without_complete_trials_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    study = optuna.create_study(study_name="tiny", storage=url)
    set_study_record(study, "config", {"name": "tiny"})  # as `lrsearch run` made it
    result = confirm(url)
    assert result.exit_code == 1 and "no complete trial to confirm" in result.output


def test_confirm_reruns_the_top_trial_of_a_grid_study(tmp_path):
    from tests.search.conftest import write_study

    config = load_study(write_study(tmp_path, n_trials=2, baselines=["cosine"],
                                    pruner={"name": "none"},
                                    sampler={"name": "grid", "points_per_param": 2},
                                    training={"epochs": 1, "batch_size": 64, "device": "cpu",
                                              "seed": 0}))
    run_study(config, progress="off")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = optuna.load_study(study_name="tiny", storage=url)
    result = confirm(url, "--top", 1, "--seeds", 1)
    assert result.exit_code == 0, result.output
    assert len(study_records(study)[CONFIRM_ATTR]["runs"]) == 2  # the top trial and the baseline
