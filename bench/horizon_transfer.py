"""Search short, train long: does the transferred peak LR beat the found one at 4T and 8T?

For each workload of the search-quality suite and each search seed, lrsearch's default study
is run at its own length T with ``target_epochs: 4T`` (so the run ends with the horizon sweep),
then three schedules are trained at 4T and 8T and scored on the test set (``--confirm-seeds``
fresh training seeds each, the same for every arm: paired):

* ``stretched``: the winner laid onto the longer length with the peak LR it was found with
  (what a user does with ``lrsearch export`` alone);
* ``transferred``: ``lrsearch export --epochs N`` (``load_best(epochs=N)``), forced past the
  supported length where it ends, and said so;
* ``linear-tuned``: linear decay to zero, no warm-up, on the winner's optimizer, its peak LR
  tuned by random search *at the long length* (``--tuning-trials`` trainings on the
  validation split): the expensive oracle a careful user would run.

Compute is reported per arm in epochs: the study (search, re-runs, sweep), the tuning. Printed:
mean test accuracy per arm and length, the paired differences with 95% t intervals, and the
issue's check (at 4T: transferred >= stretched, transferred >= linear-tuned - 0.5 points at the
interval's lower end). Results: docs/horizon-transfer.md.

Usage::

    python bench/horizon_transfer.py --study home --data-dir ../shared/data/cifar10-jpeg-fallback
    python bench/horizon_transfer.py --quick        # every code path on fake data, minutes
    python bench/horizon_transfer.py --study home --seeds 2 --first-seed 2 --save b.pkl
    python bench/horizon_transfer.py --combine a.pkl b.pkl
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pickle
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

import lrsearch
from lrsearch.config import load_study
from lrsearch.errors import DivergedError
from lrsearch.records import (
    HORIZON_SWEEP_ATTR,
    TransferError,
    horizon_points,
    paired_margin,
    rank_complete,
    reseed_runs,
    study_records,
    trial_optimizer,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import SearchSpace, run_study
from lrsearch.train import OptimizerSettings, load_data, train

WORKLOADS = Path(__file__).with_name("workloads")
ARMS = ("stretched", "transferred", "linear-tuned")
MULTIPLES = (4, 8)
FLOOR = -0.005  # transferred >= linear-tuned - 0.5 points (the interval's lower end)
TRUTH_FACTORS = (0.5, 0.71, 1.41, 2.0, 2.83)  # --truth: beside 1 (stretched) and the transferred


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="home", help="a workload of bench/workloads")
    parser.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--device", default=None, help="training.device override")
    parser.add_argument("--seeds", type=int, default=3, help="paired search seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--confirm-seeds", type=int, default=2,
                        help="fresh training seeds per schedule and length")
    parser.add_argument("--tuning-trials", type=int, default=4,
                        help="random-search trainings of linear decay's peak LR per length")
    parser.add_argument("--truth", action="store_true",
                        help="also train the winner at 4T at TRUTH_FACTORS times its found peak "
                             "LR: the accuracy-vs-LR curve any transfer rule can be read against")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--save", metavar="PATH", help="pickle the results (a shard)")
    parser.add_argument("--combine", nargs="+", metavar="PATH", help="report saved shards")
    parser.add_argument("--quick", action="store_true", help="fake data, tiny budget")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.confirm_seeds, args.tuning_trials = 1, 1, 2
    return args


def study_config(args, folder: Path, seed: int):
    path = Path(args.study) if Path(args.study).exists() else WORKLOADS / f"{args.study}.yaml"
    overrides = {"storage": f"sqlite:///{folder / f'study-{seed}.db'}", "baselines": [],
                 "checkpoint_dir": str(folder / "ckpt"), "training.device": args.device,
                 "data.data_dir": args.data_dir, "training.seed": seed, "sampler.seed": seed,
                 "name": f"transfer-{seed}"}
    if args.quick:
        overrides.update({"data.dataset": "fake", "data.train_subset": 256, "n_trials": 4,
                          "data.val_size": 128, "training.epochs": 2, "reseed.top_k": 1})
    config = load_study(path, overrides)
    return config.model_copy(update={"target_epochs": MULTIPLES[0] * config.training.epochs})


def test_acc(spec: ScheduleSpec, optimizer: dict, config, data, epochs: int, seeds) -> float:
    """Mean test accuracy of ``spec`` trained ``epochs`` epochs with each seed (a diverged
    run scores chance)."""
    accs = []
    for seed in seeds:
        try:
            accs.append(train(spec, OptimizerSettings(**optimizer),
                              config.train_settings(epochs=epochs, seed=seed), data,
                              evaluate_test=True).test_acc)
        except DivergedError:
            accs.append(1.0 / data.num_classes)
    return statistics.fmean(accs)


def tuned_linear(optimizer: dict, config, data, epochs: int, trials: int, seed: int,
                 low: float, high: float) -> tuple[ScheduleSpec, float]:
    """Linear decay to zero with the best of ``trials`` log-uniform peak LRs in
    ``[low, high]`` by validation at ``epochs``; the spec and the epochs spent."""
    rng = np.random.default_rng(seed)
    best, best_value = None, -math.inf
    for lr in np.exp(rng.uniform(math.log(low), math.log(high), trials)):
        spec = ScheduleSpec("linear", peak_lr=float(lr), total_steps=1, warmup_frac=0.0,
                            params={"final_ratio": 0.0})
        try:
            value = train(spec, OptimizerSettings(**optimizer),
                          config.train_settings(epochs=epochs), data).epochs[-1].val_acc
        except DivergedError:
            continue
        if value > best_value:
            best, best_value = spec, value
    return best, float(trials * epochs)


def one_seed(args, seed: int, folder: Path) -> dict:
    """The study, the sweep and the three arms at each multiple for search seed ``seed``."""
    config = study_config(args, folder, seed)
    data = load_data(config.data)
    run_study(config, progress="off")
    study = optuna.load_study(study_name=config.name, storage=config.storage)
    records = study_records(study)
    winner = rank_complete(study.trials, records, True)[0]
    found = lrsearch.load_best(config.storage, config.name)
    optimizer = dict(trial_optimizer(winner))
    searched = config.training.epochs
    # linear-tuned draws from the study's own peak-LR range of that optimizer
    searched_range = SearchSpace.from_config(config).optimizers[optimizer["name"]]["peak_lr"]
    low, high = searched_range.low, searched_range.high
    confirm = [30_000 + i for i in range(args.confirm_seeds)]
    row = {"seed": seed, "searched_epochs": searched, "winner": winner.number,
           "found": found.to_dict(), "optimizer": optimizer,
           "found_lr": found.peak_lr,
           "sweep_epochs": (records.get(HORIZON_SWEEP_ATTR) or {}).get("epochs_trained", 0.0),
           "sweep": records.get(HORIZON_SWEEP_ATTR), "arms": {},
           # every measurement export's fit reads (rungs, trials of the shape, the sweep):
           # another transfer rule can be scored offline against the truth curve
           "points": [dataclasses.asdict(p) for p in horizon_points(
               study.trials, winner, searched, records.get(HORIZON_SWEEP_ATTR),
               reseed_runs(records))]}
    for multiple in MULTIPLES:
        epochs = multiple * searched
        try:
            transferred = lrsearch.load_best(config.storage, config.name, epochs=epochs)
            forced = False
        except TransferError:
            transferred = lrsearch.load_best(config.storage, config.name, epochs=epochs,
                                             force=True)
            forced = True
        linear, tuning = tuned_linear(optimizer, config, data, epochs, args.tuning_trials,
                                      seed, low, high)
        row["arms"][multiple] = {
            "stretched": test_acc(found, optimizer, config, data, epochs, confirm),
            "transferred": test_acc(transferred, optimizer, config, data, epochs, confirm),
            "linear-tuned": (test_acc(linear, optimizer, config, data, epochs, confirm)
                             if linear is not None else math.nan),
            "transferred_lr": transferred.peak_lr, "forced": forced,
            "linear_lr": None if linear is None else linear.peak_lr, "tuning_epochs": tuning}
        if args.truth and multiple == MULTIPLES[0]:
            row["truth"] = {
                factor: test_acc(dataclasses.replace(found, peak_lr=factor * found.peak_lr),
                                 optimizer, config, data, epochs, confirm)
                for factor in TRUTH_FACTORS}
    return row


def report(rows: list[dict]) -> None:
    for multiple in MULTIPLES:
        print(f"\nat {multiple}T ({len(rows)} seeds): mean test accuracy")
        for arm in ARMS:
            values = [r["arms"][multiple][arm] for r in rows]
            print(f"  {arm:<14} {statistics.fmean(values):.4f}  "
                  + " ".join(f"{v:.4f}" for v in values))
        print("  peak LR found / transferred / linear-tuned: " + "; ".join(
            f"{r['found_lr']:.3g} / {r['arms'][multiple]['transferred_lr']:.3g}"
            f"{' (forced)' if r['arms'][multiple]['forced'] else ''} / "
            f"{r['arms'][multiple]['linear_lr'] or math.nan:.3g}" for r in rows))
        for other in ("stretched", "linear-tuned"):
            mine = {r["seed"]: r["arms"][multiple]["transferred"] for r in rows}
            theirs = {r["seed"]: r["arms"][multiple][other] for r in rows}
            margin = paired_margin(mine, theirs)
            if margin is None:
                continue
            half = margin.half_width
            interval = "" if half is None else \
                f" [{100 * (margin.mean - half):+.2f}, {100 * (margin.mean + half):+.2f}]"
            floor = 0.0 if other == "stretched" else FLOOR
            low = margin.mean - (half or math.inf)
            verdict = "met" if low >= floor else "NOT met"
            check = (f"the goal: lower end >= {100 * floor:+.1f}: {verdict}"
                     if multiple == MULTIPLES[0] else "no goal at this length")
            print(f"  transferred - {other}: {100 * margin.mean:+.2f} pts{interval} ({check})")
    truths = [r for r in rows if r.get("truth")]
    if truths:
        print(f"\nat {MULTIPLES[0]}T, the winner at multiples of its found peak LR (test acc, "
              f"the transferred LR's multiple in brackets):")
        for r in truths:
            curve = {1.0: r["arms"][MULTIPLES[0]]["stretched"], **r["truth"]}
            ratio = r["arms"][MULTIPLES[0]]["transferred_lr"] / r["found_lr"]
            print(f"  seed {r['seed']}: " + "  ".join(
                f"x{f:g} {curve[f]:.4f}" for f in sorted(curve)) + f"  [x{ratio:.2f} "
                f"{r['arms'][MULTIPLES[0]]['transferred']:.4f}]")
    sweep = statistics.fmean(r["sweep_epochs"] for r in rows)
    tuning = {m: statistics.fmean(r["arms"][m]["tuning_epochs"] for r in rows)
              for m in MULTIPLES}
    print(f"\ncost: the horizon sweep {sweep:.0f} epochs a study (at T); linear-tuned's tuning "
          + ", ".join(f"{tuning[m]:.0f} epochs at {m}T" for m in MULTIPLES))


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.combine:
        rows = [row for path in args.combine for row in pickle.load(open(path, "rb"))]
        report(rows)
        return
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows.append(one_seed(args, seed, Path(tmp)))
            print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
            if args.save:
                with open(args.save, "wb") as handle:
                    pickle.dump(rows, handle)
    report(rows)


if __name__ == "__main__":
    main()
