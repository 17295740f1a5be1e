"""Pruning fidelity: do raw mid-schedule values or cooldown-probe values predict the final one?

A set of schedules is trained to the end, unpruned, for each seed: ``--set mixed`` (14
schedules of 11 families, the default), or one family, ``--set cosine`` or ``--set wsd`` (6
variants each with different peak LRs and parameters: what a one-family search compares).
After every epoch the run records its raw validation accuracy and, for each
``--probe-fracs`` value, the accuracy of a cooldown probe (``lrsearch.train.cooldown_probe``:
LR linearly to zero over that fraction of the steps done so far, evaluated, then thrown
away). Since every epoch is probed, any set of pruning points can be judged afterwards.
Per epoch it prints, for each seed's set of schedules (one seed = one study):

* Kendall's tau-b between the value at that epoch and the final raw value, raw vs probe, over
  all schedules and within each family that has at least 3 of them;
* how many of the final top 3 sit below the median of all the other schedules at that epoch,
  on raw vs on probe values (a static reading: a pruner compares a trial with the trials
  complete before it, which the simulated studies below replay);
* the probe's cost as a share of the compute of runs that go to the end with probes at the
  default pruning points (``PrunerConfig().at_progress``), per probe fraction;
* simulated studies under Optuna's median rule (the trial's best reported value so far
  against the median of the complete trials' values at that step).

The recording is written to ``--out`` (``fidelity.json`` by default) after every schedule, so
``--from-json`` reproduces every table without training again.

Usage::

    python bench/pruning_fidelity.py --quick          # sanity run, about a minute
    python bench/pruning_fidelity.py                  # the documented run (docs/pruning.md)
    python bench/pruning_fidelity.py --from-json fidelity.json   # its tables again
    python bench/pruning_fidelity.py --set wsd --seeds 1 --probe-fracs 0.1 --out wsd.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from fidelity_analysis import (
    MIN_FAMILY,
    STARTUP_TRIALS,
    cost_share,
    family_tau_table,
    simulate_studies,
    tau_table,
)

from lrsearch.config import PrunerConfig, pruning_epochs
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, cooldown_probe, load_data
from lrsearch.train._device import device_name
from lrsearch.train._training_run import TrainingRun

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg-fallback"
# (label, family, peak LR, params): every family but plateau (it needs no step budget) and
# piecewise (a free-form shape), plus variants; a few peak LRs, as a search would try.
SCHEDULES = [
    ("constant", "constant", 0.2, {}),
    ("step-30%", "step", 0.2, {"step_frac": 0.3, "gamma": 0.3}),
    ("step-50/75%", "multistep", 0.2, {"milestones": [0.5, 0.75], "gamma": 0.1}),
    ("exponential", "exponential", 0.2, {"final_ratio": 0.01}),
    ("linear", "linear", 0.2, {"final_ratio": 0.0}),
    ("linear@0.5", "linear", 0.5, {"final_ratio": 0.0}),
    ("cosine", "cosine", 0.2, {"final_ratio": 0.0}),
    ("cosine@0.05", "cosine", 0.05, {"final_ratio": 0.0}),
    ("cosine-restarts", "cosine_restarts",
     0.2, {"cycles": 3, "cycle_mult": 1, "final_ratio": 0.0}),
    ("onecycle", "onecycle", 0.4, {"pct_start": 0.3, "div_factor": 25.0,
                                  "final_div_factor": 1e4, "anneal": "cos",
                                  "three_phase": False}),
    ("wsd-20%", "wsd", 0.2, {"decay_frac": 0.2, "final_ratio": 0.0, "decay_shape": "linear"}),
    ("wsd-10%-sqrt", "wsd", 0.2, {"decay_frac": 0.1, "final_ratio": 0.0, "decay_shape": "sqrt"}),
    ("poly-2", "poly", 0.2, {"power": 2.0, "final_ratio": 0.0}),
    ("cyclic-tri2", "cyclic", 0.2, {"base_ratio": 0.1, "cycles": 5, "up_frac": 0.5,
                                    "mode": "triangular2", "gamma": 1.0}),
]
# One family at a time, as a one-family search compares its trials: peak LR and the family's
# parameters vary (WSD's decay_frac moves the decay: the LRs of its trials do not fall alike).
COSINE = [
    ("cosine@0.03", "cosine", 0.03, {"final_ratio": 0.0}),
    ("cosine@0.07", "cosine", 0.07, {"final_ratio": 0.0}),
    ("cosine@0.15", "cosine", 0.15, {"final_ratio": 0.0}),
    ("cosine@0.3", "cosine", 0.3, {"final_ratio": 0.0}),
    ("cosine@0.3-to-0.1", "cosine", 0.3, {"final_ratio": 0.1}),
    ("cosine@0.6", "cosine", 0.6, {"final_ratio": 0.0}),
]
WSD = [
    ("wsd-10%@0.2", "wsd", 0.2, {"decay_frac": 0.1, "final_ratio": 0.0, "decay_shape": "linear"}),
    ("wsd-20%@0.1", "wsd", 0.1, {"decay_frac": 0.2, "final_ratio": 0.0, "decay_shape": "linear"}),
    ("wsd-30%@0.2-cos", "wsd", 0.2, {"decay_frac": 0.3, "final_ratio": 0.0,
                                     "decay_shape": "cosine"}),
    ("wsd-50%@0.3", "wsd", 0.3, {"decay_frac": 0.5, "final_ratio": 0.0, "decay_shape": "linear"}),
    ("wsd-20%@0.4-sqrt", "wsd", 0.4, {"decay_frac": 0.2, "final_ratio": 0.0,
                                      "decay_shape": "sqrt"}),
    ("wsd-40%@0.05", "wsd", 0.05, {"decay_frac": 0.4, "final_ratio": 0.0,
                                   "decay_shape": "linear"}),
]
SETS = {"mixed": SCHEDULES, "cosine": COSINE, "wsd": WSD}


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(SHARED_DATA),
                        help="folder holding cifar-10-batches-py")
    parser.add_argument("--train-images", type=int, default=8000)
    parser.add_argument("--val-images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1")
    parser.add_argument("--probe-fracs", default="0.1,0.2",
                        help="comma-separated probe lengths (fractions of the steps done)")
    parser.add_argument("--set", dest="schedule_set", choices=sorted(SETS), default="mixed",
                        help="mixed families (14 schedules) or one family (6 variants)")
    parser.add_argument("--schedules", type=int, default=None,
                        help="use the first N schedules of the set")
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", "--json", dest="out", default="fidelity.json",
                        help="write every measurement here (after each schedule)")
    parser.add_argument("--from-json", default=None,
                        help="no training: analyse a recording written to --out")
    parser.add_argument("--quick", action="store_true",
                        help="sanity run: 1000/500 images, 3 epochs, 6 schedules, 1 seed")
    args = parser.parse_args()
    if args.quick:
        args.train_images, args.val_images, args.epochs = 1000, 500, 3
        args.schedules, args.seeds = 6, 1
    args.fracs = [float(f) for f in args.probe_fracs.split(",")]
    if args.schedules is None:
        args.schedules = len(SETS[args.schedule_set])
    return args


def _run(label: str, spec: ScheduleSpec, data, training: TrainSettings,
         fracs: list[float]) -> dict:
    """One schedule trained to the end, probed after every epoch with every fraction."""
    run = TrainingRun(spec, OptimizerSettings(name="sgd", momentum=0.9, nesterov=True),
                      training, data)
    row: dict = {"label": label, "family": spec.family, "raw": [], "run_seconds": [],
                 "probe": {str(f): [] for f in fracs},
                 "probe_seconds": {str(f): [] for f in fracs}}
    for epoch in range(1, training.epochs + 1):
        start = time.perf_counter()
        run.train_epoch(epoch)
        val_loss, val_acc = run.evaluate(data.val_x, data.val_y)
        run.feed_metric(val_loss, val_acc)
        row["run_seconds"].append(time.perf_counter() - start)
        row["raw"].append(val_acc)
        for frac in fracs:
            probe = cooldown_probe(run, frac)
            row["probe"][str(frac)].append(probe.val_acc)
            row["probe_seconds"][str(frac)].append(probe.seconds)
    return row


def _fmt(tau: float | None) -> str:
    return "n/a" if tau is None else f"{tau:+.2f}"


def _print_taus(args: argparse.Namespace, runs: dict, points: tuple[int, ...]) -> None:
    keys = ["raw", *map(str, args.fracs)]
    table = tau_table(runs, args.epochs, keys)
    names = ["raw", *(f"probe {f}" for f in args.fracs)]
    print("\nKendall tau-b vs the final value (mean over seeds) | final top 3 below the median "
          "of the others (count over seeds)")
    print(f"{'epoch':>5} {'progress':>8} | " + " ".join(f"{n:>9}" for n in names) + " | "
          + " ".join(f"{n:>9}" for n in names))
    for epoch in range(1, args.epochs):
        taus = " ".join(f"{_fmt(table[(epoch, k)][0]):>9}" for k in keys)
        below = " ".join(f"{table[(epoch, k)][1]:>9}" for k in keys)
        mark = "*" if epoch in points else " "
        print(f"{epoch:>4}{mark} {epoch / args.epochs:8.2f} | {taus} | {below}")
    for key in keys:
        print(f"tau per seed, {key}: " + "; ".join(
            f"epoch {e}: [{', '.join(f'{t:+.2f}' for t in table[(e, key)][2])}]"
            for e in range(1, args.epochs)))
    _print_family_taus(args, runs, keys, names)


def _print_family_taus(args: argparse.Namespace, runs: dict, keys: list[str],
                       names: list[str]) -> None:
    table = family_tau_table(runs, args.epochs, keys)
    families = sorted({family for family, _, _ in table})
    if not families:
        print(f"\nno family has {MIN_FAMILY} or more schedules: no tau within a family")
        return
    print("\nKendall tau-b within one family (mean over seeds; per seed in brackets)")
    for family in families:
        print(f"  {family}:")
        for epoch in range(1, args.epochs):
            cells = [f"{name} {_fmt(table[(family, epoch, key)][0])} ["
                     + ", ".join(f"{t:+.2f}" for t in table[(family, epoch, key)][1]) + "]"
                     for key, name in zip(keys, names)]
            print(f"    epoch {epoch} ({epoch / args.epochs:.2f}): " + " | ".join(cells))


def _print_costs(args: argparse.Namespace, runs: dict, points: tuple[int, ...]) -> None:
    print("\nprobe cost, runs to the end probed after the default points "
          f"(epochs {list(points)}); per single epoch in brackets")
    for frac in args.fracs:
        each = ", ".join(f"{e}: {100 * cost_share(runs, (e,), str(frac)):.1f}%"
                         for e in range(1, args.epochs))
        print(f"  frac {frac}: {100 * cost_share(runs, points, str(frac)):.1f}% [{each}]")
    print("\nsimulated studies (every seed, 200 orders each; Optuna's median rule after "
          f"{STARTUP_TRIALS} complete trials, at epochs {list(points)}: a trial's best "
          "reported value so far vs the median of the complete trials at that step):")
    for judge in ["raw", *map(str, args.fracs)]:
        sim = simulate_studies(runs, judge, points, judge)
        name = "raw" if judge == "raw" else f"probe {judge}"
        print(f"  {name:>9}: winner pruned in {100 * sim['winner_pruned']:.0f}% of studies, one "
              f"of the final top 3 in {100 * sim['top3_pruned']:.0f}%; compute "
              f"{100 * sim['compute']:.0f}% of no pruning, of which probes "
              f"{100 * sim['probe_share']:.1f}%")


def _report(args: argparse.Namespace, runs: dict, seconds: float | None) -> None:
    points = pruning_epochs(PrunerConfig(name="median"), args.epochs)
    took = "" if seconds is None else f"; {seconds / 60:.1f} min in all"
    print(f"\n{len(runs)} seed(s) x {len(next(iter(runs.values())))} schedules, {args.epochs} "
          f"epochs, {args.train_images}/{args.val_images} train/val images, batch "
          f"{args.batch_size}, {args.model} on {args.device_name}, {args.threads_used} "
          f"thread(s){took}")
    _print_taus(args, runs, points)
    progress = [round(p, 3) for p in PrunerConfig(name="median").at_progress]
    print(f"* = a default pruning point (at_progress {progress} -> epochs {list(points)})")
    _print_costs(args, runs, points)
    print("\nfinal val_acc per seed:")
    for index, row in enumerate(next(iter(runs.values()))):
        finals = [rows[index]["raw"][-1] for rows in runs.values()]
        print(f"  {row['label']:>16}: " + " ".join(f"{f:.4f}" for f in finals))


def _save(args: argparse.Namespace, runs: dict, seconds: float) -> None:
    saved = {key: value for key, value in vars(args).items() if key != "from_json"}
    Path(args.out).write_text(json.dumps({"args": saved, "seconds": seconds, "runs": runs},
                                         indent=1))


def main() -> None:
    args = _parse()
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        args.__dict__.update({k: v for k, v in saved["args"].items()
                              if k not in ("from_json", "out")})
        _report(args, saved["runs"], saved.get("seconds"))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    args.threads_used = torch.get_num_threads()
    args.device_name = device_name(torch.device(args.device))
    data = load_data(DataSettings(dataset="cifar10", data_dir=args.data_dir, download=False,
                                  val_size=args.val_images, train_subset=args.train_images),
                     args.device)
    started = time.perf_counter()
    runs: dict[str, list[dict]] = {}
    for seed in range(args.seeds):
        training = TrainSettings(model=args.model, epochs=args.epochs,
                                 batch_size=args.batch_size, device=args.device, seed=seed)
        for label, family, peak_lr, params in SETS[args.schedule_set][:args.schedules]:
            spec = ScheduleSpec(family, peak_lr=peak_lr, total_steps=1, params=params)
            row = _run(label, spec, data, training, args.fracs)
            runs.setdefault(str(seed), []).append(row)
            _save(args, runs, time.perf_counter() - started)  # an interrupted run keeps its rows
            print(f"seed {seed} {label:>16}: raw " + " ".join(f"{v:.3f}" for v in row["raw"])
                  + " | probe " + " ".join(f"{v:.3f}" for v in row["probe"][str(args.fracs[-1])])
                  + f" ({time.perf_counter() - started:.0f} s)", flush=True)
    _report(args, runs, time.perf_counter() - started)
    print(f"\nrecording: {args.out} (python bench/pruning_fidelity.py --from-json {args.out})")


if __name__ == "__main__":
    main()
