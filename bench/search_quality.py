"""Search quality at equal compute, paired over search seeds and confirmed on the test set.

Methods, each run once per search seed with the same seeds (data split, sampler seed, trial
training seed) so that every comparison is paired:

* ``lrsearch``: the study's search as a user gets it (TPE, lrsearch's default pruner);
* ``lrsearch-NAME``: the same with the study-file overrides of ``--variant NAME:key=value,...``
  (e.g. ``--variant probe:pruner.name=median``), to choose a default side by side;
* ``random``: random search over the same space, no pruning;
* ``cosine-lr`` and ``linear-lr``: cosine / linear decay to zero with warm-up 0, only the
  optimizer and its peak LR searched (random search, ``--baseline-trials`` trials): the
  baselines a practitioner would run, their LR tuned, counted at their compute.

Compute is counted in training epochs (a pruned trial costs the epochs it ran; cooldown
probes count by their optimizer steps). Every incumbent (best validation value so far) met
at a checkpoint of the budget is *confirmed*: re-trained with ``--confirm-seeds`` fresh seeds
and scored on the test set, which no search sees. Printed: the compute-to-quality curve of each
method, the share of random search's compute lrsearch needs to reach random search's final
confirmed quality (median and bootstrap 95% interval over seeds), the final paired differences
with 95% t intervals, the spread of the space, and the horizon check (the found schedule and
LR-tuned cosine at ``--horizon`` times the epochs). Results: docs/search_quality.md.

Usage::

    python bench/search_quality.py --data-dir ../shared/data/cifar10-jpeg-fallback
    python bench/search_quality.py --quick          # minutes: every code path on fake data
    python bench/search_quality.py --variant probe:pruner.name=median
    # two shards side by side, then one report of both:
    python bench/search_quality.py --seeds 5 --save a.pkl & \\
    python bench/search_quality.py --seeds 5 --first-seed 5 --save b.pkl; wait
    python bench/search_quality.py --combine a.pkl b.pkl
    python bench/search_quality.py --study studies/cifar10_resnet18.yaml --device cuda
"""

from __future__ import annotations

import argparse
import logging
import math
import pickle
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import yaml

from lrsearch.config import load_study
from lrsearch.records import paired_margin, rank_complete, trial_cost_epochs
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import Objective, open_study
from lrsearch.search._reseed import reseed_top
from lrsearch.train import OptimizerSettings, load_data, train

STUDY_FILE = Path(__file__).with_name("search_quality.yaml")
CHECKPOINTS = (0.125, 0.25, 0.5, 0.75, 1.0)  # shares of the budget where incumbents are shown
SEARCHES = ("lrsearch", "random")
BASELINES = {"cosine-lr": "cosine", "linear-lr": "linear"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default=str(STUDY_FILE), help="the study file searched")
    parser.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--device", default=None, help="training.device override")
    parser.add_argument("--seeds", type=int, default=10, help="paired search seeds")
    parser.add_argument("--budget-trials", type=float, default=12.0,
                        help="budget of each search, in full trials' worth of epochs")
    parser.add_argument("--baseline-trials", type=int, default=4,
                        help="trials of each baseline's peak-LR search")
    parser.add_argument("--confirm-seeds", type=int, default=3, help="fresh seeds per check")
    parser.add_argument("--horizon", type=int, default=4, help="epoch multiple of the check")
    parser.add_argument("--horizon-seeds", type=int, default=3,
                        help="search seeds whose winner gets the horizon check")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="also run lrsearch with these study-file overrides (repeatable)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="search seeds first-seed .. first-seed + seeds - 1 (a shard)")
    parser.add_argument("--save", metavar="PATH",
                        help="also pickle the searches and confirmations here (a shard)")
    parser.add_argument("--combine", nargs="+", metavar="PATH",
                        help="report the shards saved with --save together, training nothing")
    parser.add_argument("--methods", default=None, metavar="A,B,...",
                        help="run only these methods (e.g. to redo some; --combine joins)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: unharmed by other work on the machine)")
    parser.add_argument("--quick", action="store_true", help="fake data, tiny budget")
    args = parser.parse_args()
    if args.quick:  # a sanity run of every code path, not a measurement
        args.seeds, args.budget_trials, args.baseline_trials = 2, 3.0, 2
        args.confirm_seeds, args.horizon, args.horizon_seeds = 1, 2, 1
    return args


def base_config(args: argparse.Namespace, folder: Path, variant: str | None = None):
    """The benchmark's study with the bench's own settings, and a variant's overrides."""
    overrides = {"storage": f"sqlite:///{folder / 'bench.db'}", "baselines": [],
                 "checkpoint_dir": str(folder / "ckpt"), "training.device": args.device,
                 "data.data_dir": args.data_dir}
    if args.quick:
        overrides.update({"data.dataset": "fake", "data.train_subset": 256,
                          "data.val_size": 128, "training.epochs": 2, "reseed.top_k": 1})
    if variant is not None:
        overrides.update(parse_variants(args.variant)[variant])
    return load_study(args.study, overrides)


def parse_variants(given: list[str]) -> dict[str, dict[str, object]]:
    """``NAME:key=value,key=value`` -> ``{"lrsearch-NAME": {key: value}}`` (values as YAML).

    Example:
        >>> parse_variants(["probe:pruner.name=median,sampler.n_startup_trials=8"])
        {'lrsearch-probe': {'pruner.name': 'median', 'sampler.n_startup_trials': 8}}
    """
    variants = {}
    for text in given:
        name, _, pairs = text.partition(":")
        variants[f"lrsearch-{name}"] = {
            key: yaml.safe_load(value)
            for key, _, value in (pair.partition("=") for pair in pairs.split(",") if pair)}
    return variants


def method_config(config, method: str, seed: int):
    """The study of ``method`` on search seed ``seed``: same data and training seed for all."""
    update = {"name": f"{method}-{seed}",
              "training": config.training.model_copy(update={"seed": seed}),
              "sampler": config.sampler.model_copy(update={"seed": seed})}
    if not method.startswith("lrsearch"):  # as a hand-written search runs: no re-runs either
        update["sampler"] = update["sampler"].model_copy(update={"name": "random"})
        update["pruner"] = config.pruner.model_copy(update={"name": "none"})
        update["reseed"] = config.reseed.model_copy(update={"top_k": 0})
    if method in BASELINES:
        family = BASELINES[method]
        update["search_space"] = config.search_space.model_copy(update={
            "families": {family: {"final_ratio": 0.0}}, "warmup_frac": 0.0})
    return config.model_copy(update=update)


def run_search(config, data, budget_epochs: float) -> list[tuple[float, object, object]]:
    """Trials until ``budget_epochs`` are spent; return ``[(compute so far, incumbent,
    trial)]``. A search that re-runs its top trials before naming its winner (lrsearch's
    ``reseed``) keeps their compute out of its trials' budget, then re-runs them: its last
    entry is the winner, at the compute of the whole (``trial`` None)."""
    opened = open_study(config, progress="off")
    objective = Objective(config, opened.space, data)
    reseeds = config.reseed.top_k * config.reseed.seeds
    reserve = reseeds * config.training.epochs
    spent, incumbents, best = 0.0, [], None
    while spent < budget_epochs - reserve - 1e-9:
        opened.study.optimize(objective, n_trials=1)
        # The trial just run (not the study's last one: priors are queued at the start).
        trial = opened.study._storage.get_trial(objective.trial_id)
        spent += trial_cost_epochs(trial)
        if trial.state == optuna.trial.TrialState.COMPLETE and (
                best is None or trial.value > best.value):
            best = trial
        incumbents.append((spent, best, trial))
    if reseeds and best is not None:
        trained = reseed_top(opened.study, config, data)
        spent += trained * config.training.epochs
        winner = rank_complete(opened.study.get_trials(deepcopy=False),
                               opened.study.user_attrs, config.direction == "maximize")[0]
        incumbents.append((spent, winner, None))
    return incumbents


class Confirmer:
    """Mean test accuracy of a trial's schedule over fresh seeds (training split as searched)."""

    def __init__(self, config, data, seeds: int) -> None:
        self.config, self.data, self.cache = config, data, {}
        self.seeds = [20_000 + i for i in range(seeds)]
        self.epochs_spent = 0

    def __call__(self, trial, epochs: int | None = None) -> float:
        if trial is None:
            return math.nan
        epochs = self.config.training.epochs if epochs is None else epochs
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
        optimizer = dict(trial.user_attrs["optimizer"])
        key = (repr(spec.to_dict()), repr(sorted(optimizer.items())), epochs)
        if key not in self.cache:
            settings = [self.config.train_settings(epochs=epochs, seed=s) for s in self.seeds]
            self.cache[key] = statistics.fmean(
                train(spec, OptimizerSettings(**optimizer), s, self.data,
                      evaluate_test=True).test_acc for s in settings)
            self.epochs_spent += epochs * len(self.seeds)
        return self.cache[key]


def at(history, share: float, budget: float):
    """The incumbent once ``share`` of ``budget`` was spent; at the whole budget, the final one
    (the last trial may end past the budget: it started within it)."""
    if not history:
        return None
    if share >= 1.0:
        return history[-1][1]
    chosen = None
    for spent, incumbent, _ in history:
        if spent <= share * budget + 1e-9:
            chosen = incumbent
    return chosen


def share_needed(history, confirm, target: float, budget: float) -> float:
    """Smallest share of ``budget`` at which the confirmed incumbent reaches ``target``
    (infinity when it never does)."""
    for spent, incumbent, _ in history:
        if incumbent is not None and confirm(incumbent) >= target - 1e-12:
            return spent / budget
    return math.inf


def bootstrap_median(values: list[float], rounds: int = 10_000) -> tuple[float, float, float]:
    """Median of ``values`` and its bootstrap 95% percentile interval over seeds."""
    rng = np.random.default_rng(0)
    data = np.asarray(values, dtype=float)
    # A seed that never reaches the target is infinite: sort, then take the middle (the mean
    # of the two middle values, infinite when one is), and the interval without interpolation.
    def median(rows: np.ndarray) -> np.ndarray:
        rows = np.sort(rows, axis=-1)
        half = rows.shape[-1] // 2
        if rows.shape[-1] % 2:
            return rows[..., half]
        with np.errstate(invalid="ignore"):
            return (rows[..., half - 1] + rows[..., half]) / 2

    medians = median(rng.choice(data, size=(rounds, len(data)), replace=True))
    return (float(median(data)), float(np.quantile(medians, 0.025, method="inverted_cdf")),
            float(np.quantile(medians, 0.975, method="inverted_cdf")))


def main() -> None:
    args = parse_args()
    optuna.logging.set_verbosity(logging.ERROR)
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        config = base_config(args, Path(folder))
        data = load_data(config.data, config.training.device)
        confirm = Confirmer(config, data, args.confirm_seeds)
        budget = args.budget_trials * config.training.epochs
        baseline_budget = args.baseline_trials * config.training.epochs
        print(f"setting: {config.model}, {len(data.train_y)} train / {len(data.val_y)} val / "
              f"{len(data.test_y)} test images, {config.training.epochs} epochs; budget "
              f"{budget:g} epochs per search, {baseline_budget:g} per baseline search; "
              f"{args.seeds} paired seeds; {args.confirm_seeds} confirmation seeds")
        if args.combine:
            runs = combine(args.combine, confirm)
        else:
            runs = search_all(args, config, data, budget, baseline_budget, Path(folder), start)
            if args.save:  # the searches first: nothing after them can lose them
                save(args.save, runs, confirm)
        if "random" not in runs:  # a shard of some methods only: --combine reports it
            print(f"saved {args.save}; bench wall time {time.perf_counter() - start:.0f} s")
            return
        report_spread(runs["random"])
        report_curves(runs, confirm, budget)
        report_needed(runs, confirm, budget)
        report_final(runs, confirm)
        # The horizon check is of the first seeds overall: in a shard, those it holds.
        report_horizon(runs, confirm, args.horizon,
                       max(0, args.horizon_seeds - args.first_seed) if not args.combine
                       else args.horizon_seeds)
        report_trials(runs)
        print(f"\nconfirmation cost: {confirm.epochs_spent} epochs of training")
        if args.save:
            save(args.save, runs, confirm)
    print(f"bench wall time {time.perf_counter() - start:.0f} s")


def save(path: str, runs, confirm) -> None:
    """Pickle the searches and the confirmations so far (``--combine`` reads them)."""
    with open(path, "wb") as handle:
        pickle.dump({"runs": runs, "cache": confirm.cache,
                     "epochs_spent": confirm.epochs_spent}, handle)


def search_all(args, config, data, budget: float, baseline_budget: float, folder: Path,
               start: float):
    """Every method on every search seed of this run, in seed order."""
    configs = {"lrsearch": config, **{name: base_config(args, folder, name)
                                      for name in parse_variants(args.variant)}}
    methods = (*configs, *SEARCHES[1:], *BASELINES)
    if args.methods:
        methods = tuple(m for m in methods if m in args.methods.split(","))
    runs = {method: [] for method in methods}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for method in runs:
            own = baseline_budget if method in BASELINES else budget
            searched = method_config(configs.get(method, config), method, seed)
            runs[method].append(run_search(searched, data, own))
        print(f"  seed {seed} searched ({time.perf_counter() - start:.0f} s)", flush=True)
    return runs


def combine(paths: list[str], confirm) -> dict:
    """The shards' searches in seed order (pass them in that order; a method's histories come
    from the shards that hold it), their confirmations in ``confirm``'s cache: the reports
    then train only what no shard confirmed."""
    runs: dict = {}
    for path in paths:
        with open(path, "rb") as handle:
            shard = pickle.load(handle)
        for method, histories in shard["runs"].items():
            runs.setdefault(method, []).extend(histories)
        confirm.cache.update(shard["cache"])
        confirm.epochs_spent += shard["epochs_spent"]
    return runs


def report_spread(random_runs) -> None:
    """Whether schedules matter here: the validation values random search meets."""
    values = sorted(t.value for history in random_runs for _, _, t in history
                    if t.state == optuna.trial.TrialState.COMPLETE)
    deciles = np.quantile(values, [0.1, 0.5, 0.9])
    print(f"\nspread of the space (random search's {len(values)} trials, val_acc): min "
          f"{values[0]:.4f}, 10% {deciles[0]:.4f}, median {deciles[1]:.4f}, 90% "
          f"{deciles[2]:.4f}, max {values[-1]:.4f}")


def report_curves(runs, confirm, budget) -> None:
    print("\ncompute-to-quality: confirmed test accuracy of the incumbent (mean over seeds) "
          "after a share of the search budget")
    print(f"{'method':<17}" + "".join(f"{100 * c:>8.1f}%" for c in CHECKPOINTS))
    for method, histories in runs.items():
        cells = []
        for share in CHECKPOINTS:
            if method in BASELINES and share * budget > histories[0][-1][0] + 1e-9:
                cells.append(f"{'':>9}")
                continue
            values = [confirm(at(h, share, budget)) for h in histories]
            mean = statistics.fmean(values) if not any(map(math.isnan, values)) else math.nan
            cells.append(f"{mean:>9.4f}")
        print(f"{method:<17}" + "".join(cells))
    for method in BASELINES:
        spent = runs[method][0][-1][0]
        print(f"  {method}: its whole search is {spent / budget:.0%} of a search budget")


def ours(runs) -> list[str]:
    """lrsearch and its variants, in the order run."""
    return [method for method in runs if method.startswith("lrsearch")]


def report_needed(runs, confirm, budget) -> None:
    for method in ours(runs):
        print(f"\ncompute {method} needs to reach random search's final confirmed accuracy "
              "(share of random search's compute)")
        shares = []
        for seed, (mine, theirs) in enumerate(zip(runs[method], runs["random"])):
            target = confirm(theirs[-1][1])
            shares.append(share_needed(mine, confirm, target, budget))
            random_own = share_needed(theirs, confirm, target, budget)
            print(f"  seed {seed}: random ends at {target:.4f} (reached by random itself at "
                  f"{random_own:.0%}); {method} at {_share(shares[-1])}")
        median, low, high = bootstrap_median(shares)
        print(f"  median {_share(median)}, 95% interval [{_share(low)}, {_share(high)}]; goal: "
              f"median <= 25% and upper end <= 50%: "
              f"{'met' if median <= 0.25 and high <= 0.5 else 'NOT met'}")


def _share(value: float) -> str:
    return "never (within the budget)" if math.isinf(value) else f"{value:.0%}"


def report_final(runs, confirm) -> None:
    for method in ours(runs):
        mine = {seed: confirm(h[-1][1]) for seed, h in enumerate(runs[method])}
        print(f"\nfinal paired differences ({method} minus the other, confirmed test accuracy)")
        for other in runs:
            if other == method:
                continue
            theirs = {seed: confirm(h[-1][1]) for seed, h in enumerate(runs[other])}
            margin = paired_margin(mine, theirs)
            interval = ("" if margin.half_width is None else
                        f" [{margin.mean - margin.half_width:+.4f}, "
                        f"{margin.mean + margin.half_width:+.4f}]")
            print(f"  vs {other:<16} {margin.mean:+.4f}{interval} over {margin.n} seeds "
                  f"({method} {statistics.fmean(mine.values()):.4f}, {other} "
                  f"{statistics.fmean(theirs.values()):.4f})")


def report_horizon(runs, confirm, horizon: int, seeds: int) -> None:
    """The found schedule vs LR-tuned cosine at ``horizon`` times the epochs, both chosen by
    validation as a user would choose them."""
    epochs = confirm.config.training.epochs
    if seeds < 1:
        return
    for method in ours(runs):
        print(f"\nhorizon transfer: each seed's {method} winner vs its LR-tuned cosine at "
              f"{epochs} and {horizon * epochs} epochs (first {seeds} seeds)")
        for length in (epochs, horizon * epochs):
            mine = {s: confirm(runs[method][s][-1][1], length) for s in range(seeds)}
            cosine = {s: confirm(runs["cosine-lr"][s][-1][1], length) for s in range(seeds)}
            margin = paired_margin(mine, cosine)
            print(f"  {length:>3} epochs: found {statistics.fmean(mine.values()):.4f}, cosine "
                  f"{statistics.fmean(cosine.values()):.4f}, margin {margin.mean:+.4f}")


def report_trials(runs) -> None:
    """How many trials each search ran in its budget, and how many it pruned."""
    print("\ntrials per search (mean over seeds): run, of them pruned")
    for method, histories in runs.items():
        counts = [sum(t is not None for _, _, t in h) for h in histories]
        pruned = [sum(t is not None and t.state == optuna.trial.TrialState.PRUNED
                      for _, _, t in h) for h in histories]
        print(f"  {method:<16} {statistics.fmean(counts):5.1f} {statistics.fmean(pruned):5.1f}")


if __name__ == "__main__":
    main()
