"""One-shot check of lrsearch's GPU path: every CUDA-only code path once, then the throughput.

For a session with a lent GPU machine, whose image has torch and torchvision but none of
lrsearch's other dependencies: ``lrsearch.train`` needs only torch, torchvision and numpy, so
this runs from a plain checkout. It exercises, on ``cuda`` with bf16 autocast and channels_last:

1. a real training run (resnet20 on 4,096 FakeData images, 2 epochs) with a cooldown probe and a
   per-epoch checkpoint, then a resume of that checkpoint on the CPU (the cross-device path);
2. the same run under ``torch.compile``;
3. an LR range test (model, optimizer and RNG restored afterwards);
4. ``bench/throughput.py`` with resnet18, batch 512, bf16: lrsearch's loop vs a plain loop vs a
   DataLoader loop (goals: >= 0.95x, >= 3x, >= 40,000 images/s on one H100).

Each check prints one line; a failure prints its traceback and the script goes on, exiting 1 at
the end. Usage (about 5 minutes on an H100 / H200, most of it compile and the DataLoader loop)::

    PYTHONPATH=. PYTHONUNBUFFERED=1 python3 bench/gpu_check.py [--data-dir DIR] [--skip-compile]

``--device cpu --skip-compile --skip-throughput`` runs checks 1 and 3 on the CPU (a dry run of
the script itself, as the tests do).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import traceback
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
DATA = DataSettings(dataset="fake", val_size=1024, train_subset=4096)
OPTIMIZER = OptimizerSettings(name="sgd", momentum=0.9, nesterov=True, weight_decay=5e-4)


def check_train_probe_resume(folder: Path, device: str) -> str:
    gpu = TrainSettings(model="resnet20", epochs=2, batch_size=256, device=device)
    ckpt = folder / "trial.pt"
    data = load_data(DATA, device)
    first = train(SPEC, OPTIMIZER, gpu, data, checkpoint_path=ckpt,
                  probe=ProbeSettings(epochs=(1,), frac=0.1))
    assert first.epochs[0].probe_val_acc is not None, "the probe did not run"
    assert abs(first.lr_curve[-1][1] - SPEC.with_total_steps(first.total_steps)
               .lr(first.lr_curve[-1][0])) < 1e-9, "the LR seen is not the spec's"
    # Resume the finished run's checkpoint on the CPU: restored epochs are replayed, not retrained.
    replayed = []
    cpu = TrainSettings(model="resnet20", epochs=2, batch_size=256, device="cpu")
    train(SPEC, OPTIMIZER, cpu, DATA, checkpoint_path=ckpt, on_epoch=replayed.append)
    assert [r.epoch for r in replayed] == [1, 2], replayed
    return (f"train+probe+checkpoint on {first.device_name}: val_acc "
            f"{first.epochs[-1].val_acc:.3f}, {first.images_per_second:,.0f} images/s "
            f"(resnet20); resumed on the CPU")


def check_compile(device: str) -> str:
    settings = TrainSettings(model="resnet20", epochs=2, batch_size=256, device=device,
                             compile=True)
    start = time.perf_counter()
    result = train(SPEC, OPTIMIZER, settings, DATA)
    return (f"torch.compile: val_acc {result.epochs[-1].val_acc:.3f}, "
            f"{result.images_per_second:,.0f} images/s, {time.perf_counter() - start:.0f} s "
            f"with compilation")


def check_range_test(device: str) -> str:
    settings = TrainSettings(model="resnet20", batch_size=256, device=device)
    result = range_test(OPTIMIZER, settings, DATA, RangeTestSettings(num_steps=100))
    return (f"range test: {len(result.lrs)} steps, suggestion {result.suggested_lr:.3g} "
            f"({result.settings.rule}), stopped: {result.stopped}")


def check_throughput(data_dir: str | None) -> str:
    command = [sys.executable, str(Path(__file__).with_name("throughput.py")), "--device", "cuda",
               "--model", "resnet18", "--batch-size", "512", "--steps", "100", "--dataloader"]
    if data_dir:
        command += ["--data-dir", data_dir]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    print(output, end="")
    return output.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py (else FakeData)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a dry run)")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: this script checks the GPU path (--device cpu for a dry run)")
        return 1
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
    print(f"{name}, torch {torch.__version__}, {os.cpu_count()} CPU cores")
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        checks = [lambda: check_train_probe_resume(Path(folder), device),
                  lambda: check_range_test(device)]
        if not args.skip_compile:
            checks.insert(1, lambda: check_compile(device))
        if not args.skip_throughput:
            checks.append(lambda: check_throughput(args.data_dir))
        for check in checks:
            try:
                print("ok:", check(), flush=True)
            except Exception:  # report every check, not only the first failure
                failed += 1
                print("FAILED:", traceback.format_exc(), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
