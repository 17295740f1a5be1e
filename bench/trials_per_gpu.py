"""Trials per hour on one device: one trial at a time against K at once (K worker processes).

What ``lrsearch run --trials-per-gpu K`` does, without the storage: K processes share the
device, each loading the data onto it, running one untimed warm-up trial (CUDA context, cuDNN
autotuning), waiting at a common barrier, then running ``--trials`` whole trials one after
another (``lrsearch.train.train`` with evaluation, cooldown probes at the study's pruning points
and a checkpoint, as a study's objective runs them). trials/hour = all timed trials / the wall
time from the barrier to the last worker's end, for K = 1 and each K asked, model by model.
On a CPU each of K workers gets cores / K threads, so the comparison is at equal cores. Goal on
one H100/H200: small_cnn and resnet20 at K workers >= 3x the trials/hour of one at a time.

Usage::

    python bench/trials_per_gpu.py --device cuda --models small_cnn resnet20 --k 4 8
    python bench/trials_per_gpu.py --device cpu --tiny      # a smoke run: fake data, seconds
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL = 3.0  # trials/hour of K at once / one at a time, at least (small models on a big GPU)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--models", nargs="+", default=["small_cnn", "resnet20"])
    parser.add_argument("--k", type=int, nargs="+", default=None,
                        help="concurrent trials to compare with 1 (default: 4 on GPU, 2 CPU)")
    parser.add_argument("--trials", type=int, default=2, help="timed trials per worker")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--train-images", type=int, default=20_000)
    parser.add_argument("--val-images", type=int, default=2_000)
    parser.add_argument("--data-dir", default=None, help="CIFAR-10 folder (else fake images)")
    parser.add_argument("--tiny", action="store_true",
                        help="fake data, 512 images, 2 epochs, batch 64: a smoke run")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.tiny:
        args.train_images, args.val_images, args.epochs, args.batch_size = 512, 128, 2, 64
        args.data_dir = None
    return args


def _data_settings(args):
    from lrsearch.train import DataSettings

    if args.data_dir is None:
        return DataSettings(dataset="fake", val_size=args.val_images,
                            train_subset=args.train_images)
    return DataSettings(data_dir=args.data_dir, download=False, val_size=args.val_images,
                        train_subset=args.train_images)


def _worker(args, model: str, device: str, threads: int, barrier, ends) -> None:
    """One worker: load, warm up, wait for the others, run the timed trials, report its end."""
    import torch

    from lrsearch.config import PrunerConfig, pruning_epochs
    from lrsearch.schedules import ScheduleSpec
    from lrsearch.train import OptimizerSettings, ProbeSettings, TrainSettings, load_data, train

    torch.set_num_threads(threads)
    data = load_data(_data_settings(args), torch.device(device))
    pruner = PrunerConfig(name="median")
    probe = ProbeSettings(epochs=pruning_epochs(pruner, args.epochs), frac=pruner.probe_frac)
    with tempfile.TemporaryDirectory() as folder:
        for index in range(-1, args.trials):  # -1: the warm-up
            if index == 0:
                barrier.wait()
            settings = TrainSettings(model=model, epochs=1 if index < 0 else args.epochs,
                                     batch_size=args.batch_size, device=device, seed=index + 1)
            spec = ScheduleSpec("cosine", peak_lr=0.1, total_steps=1, warmup_frac=0.05,
                                params={"final_ratio": 0.0})
            train(spec, OptimizerSettings(momentum=0.9, nesterov=True), settings, data,
                  probe=probe if index >= 0 else None,
                  checkpoint_path=Path(folder) / f"trial-{index + 1}.pt")
    ends.put(time.monotonic())


def time_workers(args, model: str, device: str, workers: int) -> dict:
    """Trials/hour of ``workers`` processes on ``device``, each running ``args.trials``."""
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    barrier, ends = context.Barrier(workers + 1), context.Queue()
    threads = max(1, (os.cpu_count() or 1) // workers) if device == "cpu" else 1
    procs = [context.Process(target=_worker, args=(args, model, device, threads, barrier, ends))
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=600)
    start = time.monotonic()
    finished = [ends.get(timeout=1800) for _ in procs]
    for proc in procs:
        proc.join()
    if any(proc.exitcode for proc in procs):
        raise RuntimeError(f"a worker failed: exit codes {[p.exitcode for p in procs]}")
    wall_s = max(finished) - start
    trials = workers * args.trials
    return {"model": model, "workers": workers, "trials": trials, "wall_s": wall_s,
            "trials_per_hour": trials * 3600 / wall_s}


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark; return its rows (also printed, and written with ``--json``)."""
    import torch

    args = _parse(argv)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    ks = args.k or ([4] if device.startswith("cuda") else [2])
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"
    print(f"device {name} | {args.trials} trials per worker x {args.epochs} epochs of "
          f"{args.train_images} images (batch {args.batch_size}), "
          f"{'CIFAR-10' if args.data_dir else 'fake data'} | {os.cpu_count()} CPU cores",
          flush=True)
    print(f"{'model':<12}{'trials at once':>15}{'trials':>8}{'wall s':>9}{'trials/hour':>13}"
          f"{'vs 1':>7}{'goal':>9}  met", flush=True)
    rows = []
    for model in args.models:
        one = None
        for workers in (1, *ks):
            row = time_workers(args, model, device, workers)
            one = one or row["trials_per_hour"]
            row["vs_one"] = row["trials_per_hour"] / one
            rows.append(row)
            goal = "" if workers == 1 else f">= {GOAL:g}x"
            met = "" if workers == 1 else ("yes" if row["vs_one"] >= GOAL else "NO")
            print(f"{model:<12}{workers:>15}{row['trials']:>8}{row['wall_s']:>9.1f}"
                  f"{row['trials_per_hour']:>13,.0f}{row['vs_one']:>6.2f}x{goal:>9}  {met}",
                  flush=True)
    best = {m: max(r["vs_one"] for r in rows if r["model"] == m) for m in args.models}
    print("summary: " + " | ".join(f"{m} {v:.2f}x trials/hour at best" for m, v in best.items())
          + f" | {name}")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
