"""Per-trial checkpoints: a crashed run resumes to exactly the uninterrupted result on CPU."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from lrsearch.errors import TrainingError
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, load_data, train
from lrsearch.train._training_run import TrainingRun, resume_seed

from .conftest import write_tiny_cifar10

# checkpoint_every_s 0: a write after every epoch, in the background.
SETTINGS = TrainSettings(epochs=3, batch_size=64, device="cpu", lr_record_every=3,
                         checkpoint_every_s=0)
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


TWO_EPOCHS = TrainSettings(epochs=2, batch_size=64, device="cpu")
# A CUDA generator's state is its seed and offset, 16 bytes; a CPU one's is 5,056 bytes.
CUDA_GENERATOR_STATE = torch.arange(16, dtype=torch.uint8)


def _saved_on_another_device(path: Path, tag_device: bool) -> dict:
    """Rewrite the checkpoint at ``path`` as a CUDA run would have saved it; return it."""
    state = torch.load(path, weights_only=True)
    state["generator"] = CUDA_GENERATOR_STATE.clone()
    if tag_device:
        state["generator_device"] = "cuda"
    else:  # as versions before the tag saved it
        state.pop("generator_device")
    torch.save(state, path)
    return state


@pytest.mark.parametrize("tag_device", [True, False], ids=["tagged", "untagged"])
def test_checkpoint_of_another_device_type_resumes_reseeded(tmp_path: Path, fake_data,
                                                            tag_device) -> None:
    path = tmp_path / "trial.pt"
    with pytest.raises(Crash):
        train(COSINE, OptimizerSettings(), TWO_EPOCHS, fake_data, checkpoint_path=path,
              on_epoch=_crash_after(1))
    assert torch.load(path, weights_only=True)["generator_device"] == "cpu"
    state = _saved_on_another_device(path, tag_device)
    copy = tmp_path / "copy.pt"
    shutil.copy(path, copy)
    resumed = [train(COSINE, OptimizerSettings(), TWO_EPOCHS, fake_data, checkpoint_path=p)
               for p in (path, copy)]
    assert [e.epoch for e in resumed[0].epochs] == [1, 2]
    assert _without_timings(resumed[0]) == _without_timings(resumed[1])  # deterministic
    run = TrainingRun(COSINE, OptimizerSettings(), TWO_EPOCHS, load_data(fake_data))
    run.load_state_dict(state)
    reseeded = torch.Generator().manual_seed(resume_seed(TWO_EPOCHS.seed, state["step"]))
    assert torch.equal(run.generator.get_state(), reseeded.get_state())


def test_checkpoint_of_the_same_device_type_restores_the_generator(fake_data) -> None:
    data = load_data(fake_data)
    run = TrainingRun(COSINE, OptimizerSettings(), SETTINGS, data)
    run.train_epoch(1)
    state = run.state_dict()
    other = TrainingRun(COSINE, OptimizerSettings(), SETTINGS, data)
    other.load_state_dict(state)
    assert torch.equal(other.generator.get_state(), run.generator.get_state())


def test_checkpoint_of_another_split_of_the_same_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    data = DataSettings(dataset="fake", val_size=128, train_subset=256, split_seed=0)
    result = train(COSINE, OptimizerSettings(), settings, data, checkpoint_path=path)
    assert result.split_seed == 0 and result.to_dict()["split_seed"] == 0
    other = DataSettings(dataset="fake", val_size=128, train_subset=256, split_seed=1)
    with pytest.raises(TrainingError, match=r"\(data: saved \{.*'split_seed': 0.*now \{.*"
                                            r"'split_seed': 1"):
        train(COSINE, OptimizerSettings(), settings, other, checkpoint_path=path)


def test_the_same_data_read_from_another_folder_resumes(tmp_path: Path, tiny_cifar10) -> None:
    path = tmp_path / "ckpt.pt"
    one, two = (TrainSettings(epochs=n, batch_size=32, device="cpu") for n in (1, 2))
    train(COSINE, OptimizerSettings(), one, DataSettings(data_dir=str(tiny_cifar10), val_size=20),
          checkpoint_path=path)
    copied = tmp_path / "elsewhere"  # another machine's copy of the same files
    shutil.copytree(tiny_cifar10, copied)
    # A run of 2 epochs is another run (the spec's length differs): refused; the same run from
    # the copied folder continues.
    with pytest.raises(TrainingError, match="written by a different run"):
        train(COSINE, OptimizerSettings(), two, DataSettings(data_dir=str(copied), val_size=20),
              checkpoint_path=path)
    restored = []
    train(COSINE, OptimizerSettings(), one, DataSettings(data_dir=str(copied), val_size=20),
          checkpoint_path=path, on_epoch=restored.append)
    assert [r.epoch for r in restored] == [1]  # replayed from the checkpoint, not retrained


def test_checkpoint_of_other_data_of_the_same_sizes_is_refused(tmp_path: Path,
                                                               tiny_cifar10) -> None:
    path = tmp_path / "ckpt.pt"
    settings = TrainSettings(epochs=1, batch_size=32, device="cpu")
    train(COSINE, OptimizerSettings(), settings,
          DataSettings(data_dir=str(tiny_cifar10), val_size=20), checkpoint_path=path)
    other = tmp_path / "other"
    write_tiny_cifar10(other, seed=1)  # same sizes, other images and labels
    with pytest.raises(TrainingError, match=r"\(data: saved \{.*'labels_sha256': '[0-9a-f]{64}'"):
        train(COSINE, OptimizerSettings(), settings,
              DataSettings(data_dir=str(other), val_size=20), checkpoint_path=path)
