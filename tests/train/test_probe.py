"""The cooldown probe: its LRs, and a run probed at several epochs is bit for bit one without."""

from __future__ import annotations

import pytest
import torch

from lrsearch.errors import TrainingError
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import (
    DataSettings,
    OptimizerSettings,
    ProbeSettings,
    TrainSettings,
    cooldown_probe,
    load_data,
    train,
)
from lrsearch.train._training_run import TrainingRun

TINY = TrainSettings(epochs=3, batch_size=64, device="cpu", lr_record_every=1)
COSINE = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
PLATEAU = ScheduleSpec("plateau", peak_lr=0.1, total_steps=1, params={
    "factor": 0.5, "patience": 0, "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0,
    "min_ratio": 0.0, "mode": "min"})
PROBE_FIELDS = ("probe_val_loss", "probe_val_acc", "probe_steps", "probe_seconds")


def _comparable(result) -> dict:
    data = result.to_dict()
    for key in ("seconds", "images_per_second"):
        data.pop(key)
    for epoch in data["epochs"]:
        for key in ("seconds", *PROBE_FIELDS):
            epoch.pop(key)
    return data


def _tensors(state):
    """Every tensor of a (nested) state dict, in a stable order."""
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for key in sorted(state, key=str) for t in _tensors(state[key])]
    if isinstance(state, (list, tuple)):
        return [t for item in state for t in _tensors(item)]
    return []


@pytest.mark.parametrize("spec, optimizer", [(COSINE, "sgd"), (COSINE, "ranger"),
                                             (PLATEAU, "adamw"), (COSINE, "sgd_schedulefree")])
def test_probes_leave_the_run_exactly_as_without(fake_data: DataSettings, tmp_path, spec,
                                                 optimizer) -> None:
    settings = OptimizerSettings(name=optimizer, head_lr_mult=0.5)
    plain = train(spec, settings, TINY, fake_data, checkpoint_path=tmp_path / "plain.pt")
    probed = train(spec, settings, TINY, fake_data, checkpoint_path=tmp_path / "probed.pt",
                   probe=ProbeSettings(epochs=(1, 2, 3), frac=0.5))
    assert _comparable(plain) == _comparable(probed)
    assert all(getattr(e, f) is None for e in plain.epochs for f in PROBE_FIELDS)
    assert [e.probe_steps for e in probed.epochs] == [2, 4, 6]  # half of 4, 8, 12 steps
    a, b = (torch.load(tmp_path / name, weights_only=True) for name in ("plain.pt", "probed.pt"))
    for part in ("model", "optimizer"):
        pairs = list(zip(_tensors(a[part]), _tensors(b[part]), strict=True))
        assert pairs and all(torch.equal(x, y) for x, y in pairs), part
    assert str(a["optimizer"]) == str(b["optimizer"])  # LRs and every other setting too
    assert a["scheduler"] == b["scheduler"] and a["lr_curve"] == b["lr_curve"]
    assert torch.equal(a["generator"], b["generator"])


def test_probe_decays_each_group_linearly_to_zero_then_restores(fake_data) -> None:
    run = TrainingRun(COSINE, OptimizerSettings(head_lr_mult=0.5), TINY, load_data(fake_data))
    run.train_epoch(1)
    before = ([g["lr"] for g in run.optimizer.param_groups], run.step, list(run.lr_curve),
              run.scheduler.state_dict()["last_epoch"], run.generator.get_state(),
              torch.get_rng_state())
    used: list[list[float]] = []
    step = run.optimizer.step
    run.optimizer.step = lambda: (used.append([g["lr"] for g in run.optimizer.param_groups]),
                                  step())[1]
    result = cooldown_probe(run, frac=1.0)
    del run.optimizer.step
    start = before[0]
    assert result.steps == 4 == len(used)
    assert used == [pytest.approx([lr * (1 - i / 4) for lr in start]) for i in range(4)]
    assert len(set(start)) == 2  # head at half the backbone LR: each group from its own
    after = ([g["lr"] for g in run.optimizer.param_groups], run.step, list(run.lr_curve),
             run.scheduler.state_dict()["last_epoch"], run.generator.get_state(),
             torch.get_rng_state())
    assert after[:4] == before[:4]
    assert torch.equal(after[4], before[4]) and torch.equal(after[5], before[5])
    assert 0.0 <= result.val_acc <= 1.0 and result.seconds > 0


def test_probe_runs_only_after_the_asked_epochs(fake_data) -> None:
    result = train(COSINE, OptimizerSettings(), TINY, fake_data,
                   probe=ProbeSettings(epochs=(2,), frac=0.2))
    assert [e.probe_steps for e in result.epochs] == [None, 2, None]  # round(0.2 * 8)
    assert result.epochs[1].probe_val_loss > 0 and result.epochs[1].probe_seconds > 0


@pytest.mark.parametrize("kwargs, words", [
    ({"epochs": (0, 2), "frac": 0.2}, "epochs.0: got 0; must be greater than or equal to 1"),
    ({"epochs": (2,), "frac": 0.0}, "frac: got 0.0; must be greater than 0"),
])
def test_bad_probe_settings(kwargs, words) -> None:
    with pytest.raises(TrainingError, match=words.replace("[", r"\[").replace("(", r"\(")):
        ProbeSettings(**kwargs)
