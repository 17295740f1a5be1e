"""Training throughput of lrsearch's loop, side by side with hand-written references.

Measured in one process on one device, with the same model, precision, batch size and seed:

* ``plain PyTorch loop``: what one writes by hand for the same job on device-resident data: each
  round, a random crop (4 px zero padding) + flip of the round's images written the obvious
  batched way (a masked copy per shift, as airbench does), then a random batch indexed out,
  normalised, forward, backward, SGD step. No scheduler, no metrics, no checks.
* ``lrsearch loop``: ``TrainingRun.train_epoch``, the code ``lrsearch.train.train`` runs:
  on-device crop + flip, per-step scheduler, LR record, NaN checks, running loss and accuracy.
  Goal: >= 0.95x the plain loop, i.e. lrsearch's bookkeeping costs at most 5%.
* ``DataLoader loop`` (default on a GPU): the tutorial recipe, PIL images through torchvision's
  RandomCrop / RandomHorizontalFlip / ToTensor / Normalize in DataLoader worker processes.
  Goal: the lrsearch loop >= 3x this.

A round is one pass over the benchmark's training images, ``--steps`` optimizer steps of
``--batch-size`` images for every loop (one lrsearch epoch, one DataLoader epoch). Where the data
holds fewer than ``steps * batch-size`` images, a round is as many steps as the data holds and
more rounds are timed, so the timed steps still add up to ``steps * rounds``. Each loop runs one
warm-up round (untimed: cudnn autotuning, compilation, worker start-up), then the timed rounds,
interleaved so drift (other processes, clocks) hits all alike. images/s = images per round /
the median round's seconds, the same definition for every loop; GPU timings synchronise before
reading the clock.

Then, on the same images, a whole trial (``bench/trial_time.py``): ``lrsearch.train.train`` for
``--trial-epochs`` epochs with evaluation, cooldown probes and checkpoints, its wall time per
epoch against its optimizer steps' (goal: training alone >= 0.9x the whole trial), with the
checkpoint written in the background (the default interval), the same without probes, and
with the checkpoint written after every epoch and waited for.
The last line is a one-line summary of the ratios, to copy into notes; ``--json`` writes every
figure to a file.

Usage::

    python bench/throughput.py                      # CPU: small_cnn; GPU: resnet18, bf16
    python bench/throughput.py --device cuda --model resnet18 --batch-size 512 --steps 100
    python bench/throughput.py --device cpu --dataloader --workers 2   # the GPU's comparison
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.trial_time import TRIAL_GOAL, print_trials, time_trial, trial_data  # noqa: E402
from lrsearch.errors import DataError  # noqa: E402
from lrsearch.schedules import ScheduleSpec  # noqa: E402
from lrsearch.train import (  # noqa: E402
    DataSettings,
    OptimizerSettings,
    TrainSettings,
    load_data,
    resolve_device,
)
from lrsearch.train._device import autocast_dtype, device_name, kernel_mode  # noqa: E402
from lrsearch.train._training_run import TrainingRun  # noqa: E402

GPU_GOAL_IMAGES_PER_SECOND = 40_000  # resnet18, bf16, channels_last, one H100
GOALS = {"plain": 0.95, "DataLoader": 3.0}  # lrsearch loop / that loop, at least


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--model", default=None, help="default: resnet18 on GPU, small_cnn on CPU")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 512 GPU, 128 CPU")
    parser.add_argument("--steps", type=int, default=None,
                        help="optimizer steps per round (capped by the data; default 100 GPU, "
                             "30 CPU)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds per loop (more when --steps is capped; default 3 "
                             "GPU, 9 CPU, where a round is short and noisier)")
    parser.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--precision", default="auto", help="auto | fp32 | bf16")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--dataloader", action=argparse.BooleanOptionalAction, default=None,
                        help="also time the DataLoader loop (default: on GPU only)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="DataLoader worker processes (default: min(8, CPU cores))")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--trial-epochs", type=int, default=3,
                        help="epochs of the whole-trial timing (0: skip it)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _load(args, device):
    """CIFAR-10's training split from --data-dir (or the default data dir), else fake images.

    The validation split keeps one image: the whole trial evaluates on test images.
    """
    try:
        settings = DataSettings(data_dir=args.data_dir, download=False, val_size=1)
        return load_data(settings, device), "cifar10"
    except DataError as exc:
        print(f"note: {str(exc).splitlines()[0][:120]}...; timing on fake images instead")
        return load_data(DataSettings(dataset="fake", val_size=1), device), "fake"


def plan_rounds(images: int, batch_size: int, steps: int, rounds: int) -> tuple[int, int]:
    """``(steps_per_round, timed_rounds)`` for ``rounds`` rounds of ``steps`` steps.

    A round holds at most the steps ``images`` training images allow; more rounds make up the
    difference, so that ``steps_per_round * timed_rounds >= steps * rounds``.

    Raises:
        DataError: Not even one batch of images.
    """
    if images < batch_size:
        raise DataError(f"--batch-size: got {batch_size}; the data holds only {images} "
                        f"training images")
    steps_per_round = min(steps, images // batch_size)
    return steps_per_round, math.ceil(steps * rounds / steps_per_round)


def _first(data, count: int):
    """The data with only its first ``count`` training images: one round's worth."""
    return dataclasses.replace(data, train_x=data.train_x[:count], train_y=data.train_y[:count])


class LrsearchLoop:
    """lrsearch's own epoch: one round is one ``train_epoch`` (the round's images once)."""

    def __init__(self, args, data, training: TrainSettings) -> None:
        spec = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
        self.run = TrainingRun(spec, OptimizerSettings(), training, data)
        self.epoch = 0

    def round(self) -> None:
        self.epoch += 1
        self.run.train_epoch(self.epoch)


class PlainLoop:
    """The minimal hand-written loop on device-resident data."""

    def __init__(self, args, data, training: TrainSettings, model: torch.nn.Module) -> None:
        self.data, self.batch_size, self.steps = data, training.batch_size, args.steps_per_round
        self.model = model
        self.forward = torch.compile(model) if training.compile else model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                                         nesterov=True, weight_decay=5e-4)
        self.dtype = autocast_dtype(training.precision, data.device)
        device = data.device
        self.mean = torch.tensor(data.mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(data.std, device=device).view(1, 3, 1, 1) * 255

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        with torch.autocast(images.device.type, dtype=self.dtype or torch.bfloat16,
                            enabled=self.dtype is not None):
            loss = F.cross_entropy(self.forward(images), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def round(self) -> None:
        self.model.train()
        train_x = hand_crop_flip(self.data.train_x)
        order = torch.randperm(len(self.data.train_y), device=self.data.device)
        for index in range(self.steps):
            rows = order[index * self.batch_size:(index + 1) * self.batch_size]
            images = train_x.index_select(0, rows).float().sub_(self.mean).div_(self.std)
            self.step(images.contiguous(memory_format=torch.channels_last),
                      self.data.train_y.index_select(0, rows))


def hand_crop_flip(images: torch.Tensor, padding_px: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random flip of a uint8 batch, written by hand."""
    count, span = len(images), 2 * padding_px + 1
    flip = torch.rand(count, device=images.device) < 0.5
    images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
    padded = F.pad(images, (padding_px,) * 4)
    shift = torch.randint(0, span * span, (count,), device=images.device)
    out = torch.empty_like(images)
    height, width = images.shape[-2:]
    for index in range(span * span):
        dy, dx = divmod(index, span)
        mask = shift == index
        out[mask] = padded[mask, :, dy:dy + height, dx:dx + width]
    return out


class DataLoaderLoop(PlainLoop):
    """The tutorial recipe: PIL + torchvision transforms in DataLoader workers."""

    def __init__(self, args, data, training, model) -> None:
        super().__init__(args, data, training, model)
        from torch.utils.data import DataLoader
        from torchvision import transforms

        transform = transforms.Compose([
            transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize(data.mean, data.std)])
        dataset = _PilDataset(data.train_x.cpu(), data.train_y.cpu(), transform)
        self.loader = DataLoader(dataset, batch_size=training.batch_size, shuffle=True,
                                 drop_last=True, num_workers=args.workers,
                                 pin_memory=data.device.type == "cuda",
                                 persistent_workers=args.workers > 0)

    def round(self) -> None:
        """One DataLoader epoch: the round's images are exactly one epoch of batches."""
        self.model.train()
        device = self.data.device
        for images, labels in self.loader:
            images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
            self.step(images, labels.to(device, non_blocking=True))


class _PilDataset(torch.utils.data.Dataset):
    """Like torchvision's CIFAR10: one PIL image per item, transformed in the worker."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images = images.permute(0, 2, 3, 1).contiguous().numpy()  # HWC, as CIFAR10 keeps
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index])), self.labels[index]


def _fresh_model(training: TrainSettings, num_classes: int, device) -> torch.nn.Module:
    from lrsearch.train import build_model

    torch.manual_seed(training.seed)
    model = build_model(training.model, num_classes)
    return model.to(device, memory_format=torch.channels_last)


def _time_rounds(loops: dict, args, device) -> dict[str, float]:
    """Median images/s of each loop over interleaved timed rounds (after one warm-up round)."""
    seconds: dict[str, list[float]] = {name: [] for name in loops}
    for round_index in range(args.timed_rounds + 1):
        for name, loop in loops.items():
            _synchronize(device)
            start = time.perf_counter()
            loop.round()
            _synchronize(device)
            if round_index > 0:
                seconds[name].append(time.perf_counter() - start)
    images = args.steps_per_round * args.batch_size
    return {name: images / statistics.median(times) for name, times in seconds.items()}


def _goal(name: str) -> float | None:
    return next((goal for key, goal in GOALS.items() if name.startswith(key)), None)


def _print_header(args, device, dataset: str, training) -> None:
    """What is about to be timed (printed first: a long run shows it has got past loading)."""
    dtype = autocast_dtype(training.precision, device)
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    capped = (f" (--steps {args.steps} capped by the data)"
              if args.steps_per_round < args.steps else "")
    print(f"device {device_name(device)}{threads} | model {training.model} | batch "
          f"{args.batch_size} | precision {'bf16' if dtype else 'fp32'} | channels_last | "
          f"{args.steps_per_round} steps{capped} x {args.timed_rounds} timed rounds (median) | "
          f"data {dataset}{' | compiled' if training.compile else ''} | load average "
          f"{_load_average()}", flush=True)


def _print_table(rates: dict[str, float], device, training) -> None:
    ours = rates["lrsearch loop"]
    print(f"{'loop':<34}{'images/s':>12}{'lrsearch / this':>18}{'goal':>10}  met")
    for name, rate in rates.items():
        goal = _goal(name)
        mark = "" if goal is None else ("yes" if ours / rate >= goal else "NO")
        goal_text = "" if goal is None else f">= {goal:g}x"
        print(f"{name:<34}{rate:>12,.0f}{ours / rate:>17.2f}x{goal_text:>10}  {mark}")
    if device.type == "cuda" and training.model == "resnet18":
        met = "yes" if ours >= GPU_GOAL_IMAGES_PER_SECOND else "NO"
        print(f"goal on one H100: lrsearch loop >= {GPU_GOAL_IMAGES_PER_SECOND:,} images/s: {met}")


def _summary(rates: dict[str, float], args, device, training, trials) -> str:
    """One line with every ratio, the lrsearch loop's images/s and the conditions."""
    ours = rates["lrsearch loop"]
    parts = []
    for name, rate in rates.items():
        goal = _goal(name)
        if goal is not None:
            met = "met" if ours / rate >= goal else "NOT met"
            parts.append(f"lrsearch/{name.split()[0]} {ours / rate:.3f}x "
                         f"(goal >= {goal:g}x: {met})")
    if trials:
        ratio = trials[0]["train_over_trial"]
        parts.append(f"training/whole trial {ratio:.3f}x (goal >= {TRIAL_GOAL:g}x: "
                     f"{'met' if ratio >= TRIAL_GOAL else 'NOT met'})")
    precision = "bf16" if autocast_dtype(training.precision, device) else "fp32"
    return (f"summary: {' | '.join(parts)} | lrsearch {ours:,.0f} images/s | "
            f"{device_name(device)} {training.model} batch {args.batch_size} {precision} | "
            f"load average {_load_average()}")


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # not on this platform
        return "n/a"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark with command-line arguments ``argv`` (default: ``sys.argv``)."""
    args = _parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    args.model = args.model or ("resnet18" if on_gpu else "small_cnn")
    args.batch_size = args.batch_size or (512 if on_gpu else 128)
    args.steps = args.steps or (100 if on_gpu else 30)
    args.rounds = args.rounds or (3 if on_gpu else 9)
    data, dataset = _load(args, device)
    args.steps_per_round, args.timed_rounds = plan_rounds(len(data.train_y), args.batch_size,
                                                          args.steps, args.rounds)
    full, data = data, _first(data, args.steps_per_round * args.batch_size)
    training = TrainSettings(model=args.model, epochs=args.timed_rounds + 1,
                             batch_size=args.batch_size, device=str(device),
                             precision=args.precision, compile=args.compile)
    loops = {"plain PyTorch loop": PlainLoop(args, data, training,
                                             _fresh_model(training, data.num_classes, device)),
             "lrsearch loop": LrsearchLoop(args, data, training)}
    if args.dataloader if args.dataloader is not None else on_gpu:
        loops[f"DataLoader loop ({args.workers} workers)"] = DataLoaderLoop(
            args, data, training, _fresh_model(training, data.num_classes, device))
    _print_header(args, device, dataset, training)
    with kernel_mode(False, device):  # what train() runs under: cuDNN autotuning on a GPU
        rates = _time_rounds(loops, args, device)
    _print_table(rates, device, training)
    trials = []
    if args.trial_epochs > 0:
        trial_images = trial_data(full, args.steps_per_round * args.batch_size)
        every_s = TrainSettings().checkpoint_every_s
        trials = [time_trial(trial_images, training, args.trial_epochs, every_s),
                  time_trial(trial_images, training, args.trial_epochs, every_s, probes=False),
                  time_trial(trial_images, training, args.trial_epochs, 0.0)]
        print_trials(trials)
    summary = _summary(rates, args, device, training, trials)
    print(summary)
    if args.json:
        figures = {"images_per_second": rates, "trials": trials, "summary": summary,
                   "device": device_name(device), "model": training.model,
                   "batch_size": args.batch_size, "compile": training.compile,
                   "precision": "bf16" if autocast_dtype(training.precision, device) else "fp32"}
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
