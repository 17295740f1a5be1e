"""Per-trial checkpoints: a crashed run resumes to exactly the uninterrupted result on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lrsearch.errors import TrainingError
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, train

SETTINGS = TrainSettings(epochs=3, batch_size=64, device="cpu", lr_record_every=3)
COSINE = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, warmup_frac=0.1,
                      params={"final_ratio": 0.0})
PLATEAU = ScheduleSpec("plateau", peak_lr=0.01, total_steps=1, params={
    "factor": 0.5, "patience": 0, "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0,
    "min_ratio": 0.0, "mode": "max"})


class Crash(Exception):
    """Stands in for a killed worker."""


def _crash_after(epoch: int):
    def on_epoch(result) -> None:
        if result.epoch == epoch:
            raise Crash(f"crashed after epoch {epoch}")
    return on_epoch


def _without_timings(result) -> dict:
    data = result.to_dict()
    for key in ("seconds", "images_per_second"):
        data.pop(key)
    for epoch in data["epochs"]:
        epoch.pop("seconds")
    return data


CONSTANT = ScheduleSpec("constant", peak_lr=0.05, total_steps=1, warmup_frac=0.2)


@pytest.mark.parametrize(("spec", "optimizer"), [(COSINE, "sgd"), (PLATEAU, "ranger"),
                                                 (CONSTANT, "sgd_schedulefree")],
                         ids=["cosine-sgd", "plateau-ranger", "constant-schedulefree"])
def test_resumed_run_equals_uninterrupted_run(tmp_path: Path, fake_data: DataSettings, spec,
                                              optimizer) -> None:
    settings = OptimizerSettings(name=optimizer)
    uninterrupted = train(spec, settings, SETTINGS, fake_data)
    path = tmp_path / "trial-7.pt"
    with pytest.raises(Crash):
        train(spec, settings, SETTINGS, fake_data, checkpoint_path=path, on_epoch=_crash_after(2))
    replayed = []
    resumed = train(spec, settings, SETTINGS, fake_data, checkpoint_path=path,
                    on_epoch=lambda result: replayed.append(result.epoch))
    assert _without_timings(resumed) == _without_timings(uninterrupted)
    assert replayed == [1, 2, 3]  # restored epochs are reported again, then the new one
    assert [p.name for p in tmp_path.iterdir()] == ["trial-7.pt"]  # no temp files left


def test_checkpoint_holds_plain_data_and_tensors(tmp_path: Path, fake_data) -> None:
    path = tmp_path / "ckpt.pt"
    train(PLATEAU, OptimizerSettings(name="ranger"), SETTINGS, fake_data, checkpoint_path=path)
    state = torch.load(path, weights_only=True)
    assert {"model", "optimizer", "scheduler", "epochs", "generator"} <= set(state)
    assert [e["epoch"] for e in state["epochs"]] == [1, 2, 3]


def test_checkpoint_of_another_run_is_refused(tmp_path: Path, fake_data) -> None:
    path = tmp_path / "ckpt.pt"
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    train(COSINE, OptimizerSettings(), settings, fake_data, checkpoint_path=path)
    with pytest.raises(TrainingError, match=r"written by a different run \(optimizer: saved"):
        train(COSINE, OptimizerSettings(name="adam"), settings, fake_data, checkpoint_path=path)


def test_unreadable_checkpoint_says_so(tmp_path: Path, fake_data) -> None:
    path = tmp_path / "ckpt.pt"
    path.write_bytes(b"truncated")
    with pytest.raises(TrainingError, match="unreadable"):
        train(COSINE, OptimizerSettings(), SETTINGS, fake_data, checkpoint_path=path)
