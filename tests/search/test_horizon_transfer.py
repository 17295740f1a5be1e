"""Search short, train long: a default study with target_epochs, its horizon sweep, and the
winner exported for a longer training with the transferred peak LR."""

from __future__ import annotations

import json
import math

import optuna
import pytest
import torch
import yaml
from click.testing import CliRunner

import lrsearch
from lrsearch.cli import main
from lrsearch.records import HORIZON_SWEEP_ATTR, TRANSFER_RULE, study_records
from lrsearch.schedules import ScheduleSpec

pytestmark = pytest.mark.slow
TARGET = 12  # 4x the study's 3 epochs


@pytest.fixture(scope="module")
def transfer_study(tmp_path_factory, shared_cifar10):
    """Every default but what makes it small, with target_epochs, on real CIFAR-10 images (a
    model learns them, so the values have a best peak LR). No polish trial: in 4 trials it
    would be the winner on these few images, and its sweep's evidence at 1 epoch does not
    bracket a best (export then refuses, rightly: tests/records/test_horizon.py), so the
    transfer these tests follow would not be reached."""
    folder = tmp_path_factory.mktemp("transfer")
    path = folder / "transfer.yaml"
    path.write_text(yaml.safe_dump({
        "name": "transfer", "storage": f"sqlite:///{folder / 'studies.db'}",
        "checkpoint_dir": str(folder / "ckpt"), "n_trials": 4,
        "data": {"dataset": "cifar10", "data_dir": str(shared_cifar10), "val_size": 500,
                 "train_subset": 1024},
        "training": {"epochs": 3, "batch_size": 64, "device": "cpu"},
        "target_epochs": TARGET, "sampler": {"polish_trials": 0},
    }))
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    return folder, f"sqlite:///{folder / 'studies.db'}"


def test_the_run_stores_the_sweep_within_its_budget(transfer_study):
    _, url = transfer_study
    sweep = study_records(optuna.load_study(study_name="transfer", storage=url))[
        HORIZON_SWEEP_ATTR]
    horizons = sorted({p["epochs"] for p in sweep["points"] + sweep["diverged"]})
    assert horizons == [1, 3]  # the shortest horizon rung and the full length
    assert 0 < sweep["epochs_trained"] <= 8 * 3


def test_export_lays_the_winner_onto_the_target_with_its_evidence(transfer_study):
    folder, url = transfer_study
    out = folder / "best"
    result = CliRunner().invoke(main, ["export", "--storage", url, "--study", "transfer",
                                       "--out", str(out), "--epochs", str(TARGET)])
    assert result.exit_code == 0, result.output
    assert f"laid onto {TARGET} epochs (searched at 3)" in result.output
    document = json.loads((out / "best_schedule.json").read_text())
    horizon = document["horizon"]
    assert horizon["searched_epochs"] == 3 and horizon["target_epochs"] == TARGET
    assert {b["epochs"] for b in horizon["best_peak_lr"]} == {1, 3}
    assert all(b["bracketed"] for b in horizon["best_peak_lr"])
    assert len(horizon["points"]) >= 8 and math.isfinite(horizon["exponent"])
    spec = ScheduleSpec.from_dict(document["schedule"])
    # The transferred LR follows the rule stated: the found one where the 95% interval of the
    # best at the study's own length holds it, else that best.
    assert spec.peak_lr == pytest.approx(horizon["peak_lr_transferred"])
    low, high = horizon["interval_95"]
    assert horizon["kept_found"] == (low <= horizon["peak_lr_found"] <= high)
    kept = horizon["peak_lr_found"] if horizon["kept_found"] else (
        horizon["best_peak_lr"][-1]["peak_lr"])
    assert spec.peak_lr == pytest.approx(kept)
    assert horizon["rule"] == TRANSFER_RULE
    # The spec runs the target's steps (16 a epoch here), exact to torch.
    assert spec.total_steps == TARGET * (1024 // 64)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=spec.peak_lr)
    scheduler = spec.to_torch(optimizer)
    for step in range(spec.total_steps):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(spec.lr(step), rel=1e-9,
                                                                abs=1e-12)
        optimizer.step()
        scheduler.step()
    shown = CliRunner().invoke(main, ["show", str(out / "best_schedule.json")])
    assert shown.exit_code == 0 and f"laid onto {TARGET} epochs (searched at 3)" in shown.output
    code = (out / "best_schedule.py").read_text()
    assert code.startswith(f"# Laid onto {TARGET} epochs (searched at 3): peak LR")
    # The Python API gives the same spec.
    assert lrsearch.load_best(url, "transfer", epochs=TARGET).to_dict() == spec.to_dict()


def test_a_transfer_past_the_evidence_is_refused_unless_forced(transfer_study):
    folder, url = transfer_study
    args = ["export", "--storage", url, "--study", "transfer", "--out", str(folder / "far"),
            "--epochs", "300"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert ("epochs: got 300; the study measured the best peak LR at 1, 3 epochs, which "
            "supports a transfer up to 27 epochs (9x its 3)") in result.output
    assert not (folder / "far").exists()
    result = CliRunner().invoke(main, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert "FORCED past the supported 27 epochs" in result.output
    assert json.loads((folder / "far" / "best_schedule.json").read_text())["horizon"]["forced"]


def test_without_a_sweep_export_says_how_to_get_one(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump({
        "name": "plain", "storage": f"sqlite:///{tmp_path / 'studies.db'}",
        "checkpoint_dir": str(tmp_path / "ckpt"), "n_trials": 2, "reseed": {"top_k": 0},
        "data": {"dataset": "fake", "val_size": 64, "train_subset": 128},
        "training": {"epochs": 2, "batch_size": 64, "device": "cpu"}}))
    assert CliRunner().invoke(main, ["run", str(path), "--quiet"]).exit_code == 0
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    result = CliRunner().invoke(main, ["export", "--storage", url, "--out", str(tmp_path / "best"),
                                       "--epochs", "8"])
    assert result.exit_code == 1
    assert "set `target_epochs: 8` in the study file and run `lrsearch run`" in result.output


def test_the_report_draws_the_peak_lr_against_the_horizon_in_chromium(transfer_study, tmp_path):
    from lrsearch.report import build_panels, extract_report, load_report_study
    from tests.report.test_browser import assert_draws_in_chromium

    _, url = transfer_study
    data = extract_report(load_report_study(url, "transfer"), top_k=5)
    (line,) = [h for h in data.horizons if h.fit is not None]
    assert line.target_epochs == TARGET and line.interval is not None
    assert [b.epochs for b in line.best] == [1, 3]
    panel = {p.key: p for p in build_panels(data)}["horizon"]
    assert "star: the peak LR `lrsearch export --epochs N` uses" in panel.note
    assert "horizon" in assert_draws_in_chromium(data, tmp_path)
