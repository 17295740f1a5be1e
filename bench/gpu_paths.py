"""The CUDA-only code paths, each once, for ``bench/gpu_check.py``; figures as plain data.

On a GPU: resnet20 and resnet18 in bf16 on fake data; with ``smoke``, small_cnn on a CPU (the
same code, where CPU and GPU paths differ the CPU's).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import torch

from lrsearch.schedules import ScheduleSpec
from lrsearch.train import (
    DataSettings,
    OptimizerSettings,
    ProbeSettings,
    RangeTestSettings,
    TrainSettings,
    load_data,
    range_test,
    train,
)

SPEC = ScheduleSpec("cosine", peak_lr=0.2, total_steps=1, warmup_frac=0.1,
                    params={"final_ratio": 0.0})
OPTIMIZER = OptimizerSettings(name="sgd", momentum=0.9, nesterov=True, weight_decay=5e-4)
BACKGROUND_S = 1e-9  # checkpoint_every_s > 0, always due: every epoch, written in the background


def _plain(result) -> dict:
    """A result without its timings: what two equal runs share bit for bit."""
    data = result.to_dict()
    for key in ("seconds", "images_per_second"):
        data.pop(key)
    for epoch in data["epochs"]:
        epoch.pop("seconds")
    return data


def train_probe_resume(folder: Path, device: str, smoke: bool) -> dict:
    """A run with a probe and background checkpoints on ``device``, resumed on the CPU."""
    model = "small_cnn" if smoke else "resnet20"
    data = DataSettings(dataset="fake", val_size=256 if smoke else 1024,
                        train_subset=512 if smoke else 4096)
    settings = TrainSettings(model=model, epochs=2, batch_size=128 if smoke else 256,
                             device=device, checkpoint_every_s=BACKGROUND_S)
    path = folder / "trial.pt"
    first = train(SPEC, OPTIMIZER, settings, load_data(data, torch.device(device)),
                  checkpoint_path=path, probe=ProbeSettings(epochs=(1,), frac=0.1))
    assert first.epochs[0].probe_val_acc is not None, "the probe did not run"
    saved = torch.load(path, weights_only=True)
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2], "the last epoch is not on disk"
    replayed = []
    cpu = settings.model_copy(update={"device": "cpu"})
    train(SPEC, OPTIMIZER, cpu, data, checkpoint_path=path, on_epoch=replayed.append)
    assert [r.epoch for r in replayed] == [1, 2], replayed
    return {"model": model, "device_name": first.device_name,
            "val_acc": first.epochs[-1].val_acc, "images_per_second": first.images_per_second,
            "checkpoint_mb": path.stat().st_size / 1e6, "resumed_on_cpu": True}


def determinism(folder: Path, device: str, smoke: bool) -> dict:
    """Repeats and a resume, deterministic and not, compared bit for bit; the cost in images/s."""
    model = "small_cnn" if smoke else "resnet18"
    data = load_data(DataSettings(dataset="fake", val_size=256 if smoke else 1024,
                                  train_subset=512 if smoke else 10240), torch.device(device))
    base = TrainSettings(model=model, epochs=2, batch_size=128 if smoke else 512, device=device,
                         precision="fp32" if smoke else "bf16", checkpoint_every_s=BACKGROUND_S)
    strict = base.model_copy(update={"deterministic": True})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = {name: train(SPEC, OPTIMIZER, s, data) for name, s in
                (("default", base), ("default_again", base), ("deterministic", strict),
                 ("deterministic_again", strict))}
        path = folder / "stopped.pt"
        train(SPEC, OPTIMIZER, strict, data, checkpoint_path=path,
              on_epoch=lambda r: "stopped" if r.epoch == 1 else None)
        resumed = train(SPEC, OPTIMIZER, strict, data, checkpoint_path=path)
    nondeterministic_ops = sorted({str(w.message).split("\n")[0][:200] for w in caught
                                   if "deterministic" in str(w.message)})
    plain = {name: _plain(result) for name, result in runs.items()}
    return {"model": model,
            "default_repeat_equal": plain["default"] == plain["default_again"],
            "deterministic_repeat_equal": plain["deterministic"] == plain["deterministic_again"],
            "deterministic_resume_equal": _plain(resumed) == plain["deterministic"],
            "default_images_per_second": runs["default"].images_per_second,
            "deterministic_images_per_second": runs["deterministic"].images_per_second,
            "deterministic_cost": 1 - (runs["deterministic"].images_per_second
                                       / runs["default"].images_per_second),
            "ops_without_deterministic_kernels": nondeterministic_ops}


def lr_range_test(device: str, smoke: bool) -> dict:
    settings = TrainSettings(model="small_cnn" if smoke else "resnet20", batch_size=128,
                             device=device)
    data = DataSettings(dataset="fake", val_size=128, train_subset=2048)
    result = range_test(OPTIMIZER, settings, data, RangeTestSettings(num_steps=20 if smoke
                                                                     else 100))
    return {"steps": len(result.lrs), "suggested_lr": result.suggested_lr,
            "rule": result.settings.rule, "stopped": result.stopped}


def cuda_paths(device: str, smoke: bool) -> dict:
    """Every CUDA-only path once (on ``device``); the figures of each."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        return {"train_probe_checkpoint_resume": train_probe_resume(folder, device, smoke),
                "determinism": determinism(folder, device, smoke),
                "range_test": lr_range_test(device, smoke)}
