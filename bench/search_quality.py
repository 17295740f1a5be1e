"""Search quality at equal compute on a suite of workloads, paired over search seeds and
confirmed on the test set.

A workload is a study file (``bench/workloads/NAME.yaml``, or any path): ``home`` (small_cnn,
the benchmark the defaults were first measured on), ``plain-cnn`` (a user's own model without
normalisation layers, through ``model: "module:function"``), ``large-batch`` (batch 512, few
steps) and ``small-data-long`` (1,500 images, 10 epochs). One process runs one workload.

Arms, each run once per search seed with the same seeds (data split, sampler seed, trial
training seed) so that every comparison is paired:

* ``lrsearch``: the study's search as a user gets it (lrsearch's defaults);
* ``lrsearch-NAME``: the same with the study-file overrides of ``--variant NAME:key=value;...``
  (e.g. ``--variant auto:search_space.peak_lr=auto``), to choose a default side by side;
* ``random``: random search over the same space, no pruning;
* ``tpe-hyperband``: what a practitioner writes by hand with Optuna: ``TPESampler(seed=...)``
  with ``HyperbandPruner`` on the raw per-epoch validation values, no priors, no re-runs;
* ``linear-lr`` (and ``cosine-lr`` with ``--methods``): linear (cosine) decay to zero with
  warm-up 0, only the optimizer and its peak LR searched (random search), at the same budget
  unless ``--baseline-trials`` says otherwise.

Compute is counted in training epochs everywhere: a pruned trial costs the epochs it ran,
horizon rungs and cooldown probes count, re-runs of the top trials count, and an LR range test
(``peak_lr: auto``) counts its steps. Every incumbent (best validation value so far) met at a
checkpoint of the budget is *confirmed*: re-trained with ``--confirm-seeds`` fresh seeds and
scored on the test set, which no search sees. The **oracle** is the best confirmed schedule
there is: the top ``--oracle-top`` of all trials every arm ran on every seed (100+ trials,
random search's among them, plus the priors), by validation, confirmed, together with every
arm's confirmed winners; each arm is also measured as regret to it. Printed: the spread of the
space, the compute-to-quality and regret curves, the share of random search's compute each
lrsearch arm needs to reach random search's final confirmed quality, the final paired
differences with 95% t intervals against the issue's goals, and the rung fidelity (Spearman
rank correlation between the value at each horizon rung and at the full length, on random
search's trials re-trained at the rung: trials no pruner selected). Results:
docs/search_quality.md.

Usage::

    python bench/search_quality.py --study home --data-dir ../shared/data/cifar10-jpeg-fallback
    python bench/search_quality.py --quick          # minutes: every code path on fake data
    python bench/search_quality.py --study plain-cnn --variant auto:search_space.peak_lr=auto
    # shards (seeds of one workload), saved after every seed, then one report of them all:
    python bench/search_quality.py --study home --seeds 5 --save a.pkl & \\
    python bench/search_quality.py --study home --seeds 5 --first-seed 5 --save b.pkl; wait
    python bench/search_quality.py --study home --combine a.pkl b.pkl
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
from lrsearch.errors import DivergedError
from lrsearch.records import (
    RANGE_TEST_ATTR_PREFIX,
    paired_margin,
    rank_complete,
    study_records,
    trial_cost_epochs,
    with_curves,
)
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import Objective, open_study
from lrsearch.search._polish import enqueue_polish, polish_trials
from lrsearch.search._pruners import horizon_epochs
from lrsearch.search._reseed import reseed_top
from lrsearch.train import OptimizerSettings, load_data, train

WORKLOADS = Path(__file__).with_name("workloads")
CHECKPOINTS = (0.125, 0.25, 0.5, 0.75, 1.0)  # shares of the budget where incumbents are shown
SEARCHES = ("lrsearch", "random", "tpe-hyperband")
BASELINES = {"linear-lr": "linear", "cosine-lr": "cosine"}
DEFAULT_METHODS = ("random", "tpe-hyperband", "linear-lr")  # besides lrsearch and its variants
# The goals (points of accuracy as fractions): against random search and TPE +
# Hyperband the mean difference >= 0 with the interval's lower end >= -0.5 points; against
# random search and LR-tuned linear decay the interval above 0; regret at most half random
# search's; random search's final quality at <= 33% of its compute (median).
FLOOR = -0.005
MAX_SHARE = 0.33


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="home",
                        help="a workload of bench/workloads (home, plain-cnn, large-batch, "
                             "small-data-long) or a study file's path")
    parser.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--device", default=None, help="training.device override")
    parser.add_argument("--seeds", type=int, default=10, help="paired search seeds")
    parser.add_argument("--budget-trials", type=float, default=12.0,
                        help="budget of each search, in full trials' worth of epochs")
    parser.add_argument("--baseline-trials", type=float, default=None,
                        help="budget of each baseline's peak-LR search, in full trials "
                             "(default: --budget-trials, equal compute)")
    parser.add_argument("--oracle-top", type=int, default=5,
                        help="trials of all arms and seeds, best by validation, confirmed "
                             "for the oracle")
    parser.add_argument("--fidelity-trials", type=int, default=20,
                        help="random search's trials re-trained at each horizon rung")
    parser.add_argument("--confirm-seeds", type=int, default=3, help="fresh seeds per check")
    parser.add_argument("--horizon", type=int, default=4, help="epoch multiple of the check")
    parser.add_argument("--horizon-seeds", type=int, default=0,
                        help="search seeds whose winner gets the horizon check (vs LR-tuned "
                             "linear decay at --horizon times the epochs)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE;...",
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
    parser.add_argument("--no-report", action="store_true",
                        help="search and save only (a shard; --combine reports)")
    parser.add_argument("--quick", action="store_true", help="fake data, tiny budget")
    args = parser.parse_args()
    if args.quick:  # a sanity run of every code path, not a measurement
        args.seeds, args.budget_trials, args.baseline_trials = 2, 3.0, 2
        args.confirm_seeds, args.horizon, args.horizon_seeds = 1, 2, 1
        args.oracle_top, args.fidelity_trials = 2, 3
    if args.baseline_trials is None:
        args.baseline_trials = args.budget_trials
    args.study = str(study_file(args.study))
    return args


def study_file(name: str) -> Path:
    """A workload's study file: ``bench/workloads/NAME.yaml``, or ``name`` itself as a path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    path = WORKLOADS / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in WORKLOADS.glob("*.yaml")))
        raise SystemExit(f"--study: got {name!r}; a workload is one of {known}, or a path")
    return path


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
    """``NAME:key=value;key=value`` -> ``{"lrsearch-NAME": {key: value}}`` (values as YAML,
    so a value may hold commas: ``{low: 0.01, high: 1}``).

    Example:
        >>> parse_variants(["probe:pruner.name=median;sampler.n_startup_trials=8"])
        {'lrsearch-probe': {'pruner.name': 'median', 'sampler.n_startup_trials': 8}}
    """
    variants = {}
    for text in given:
        name, _, pairs = text.partition(":")
        variants[f"lrsearch-{name}"] = {
            key: yaml.safe_load(value)
            for key, _, value in (pair.partition("=") for pair in pairs.split(";") if pair)}
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
    if method == "tpe-hyperband":  # Optuna's own TPE replaces the sampler in run_search
        update["sampler"] = update["sampler"].model_copy(update={"name": "tpe",
                                                                 "priors": False})
        update["pruner"] = config.pruner.model_copy(update={"name": "hyperband",
                                                            "judge": "raw"})
    if method in BASELINES:
        family = BASELINES[method]
        update["search_space"] = config.search_space.model_copy(update={
            "families": {family: {"final_ratio": 0.0}}, "warmup_frac": 0.0})
    return config.model_copy(update=update)


def run_search(config, data, budget_epochs: float, plain_tpe: bool = False
               ) -> list[tuple[float, object, object]]:
    """Trials until ``budget_epochs`` are spent; return ``[(compute so far, incumbent,
    trial)]``. A search that re-runs its top trials before naming its winner (lrsearch's
    ``reseed``) keeps their compute out of its trials' budget, then re-runs them: its last
    entry is the winner, at the compute of the whole (``trial`` None). An LR range test run
    when the study opened (``peak_lr: auto``) is spent before the first trial.
    ``plain_tpe``: Optuna's ``TPESampler(seed=...)`` with its defaults, as written by hand."""
    opened = open_study(config, progress="off")
    if plain_tpe:
        opened.study.sampler = optuna.samplers.TPESampler(seed=config.sampler.seed)
    objective = Objective(config, opened.space, data)
    reseeds = config.reseed.top_k * config.reseed.seeds
    reserve = reseeds * config.training.epochs
    polish = 0 if plain_tpe else polish_trials(config.sampler)
    search_end = budget_epochs - reserve - polish * config.training.epochs
    spent, incumbents, best = range_test_epochs(opened.study, config, data), [], None
    # The searched trials, then the polish trials (``sampler.polish_trials``: the last of a
    # study's n_trials), each run wherever the searched trials' compute ended.
    while spent < search_end - 1e-9 or (
            polish and enqueue_polish(opened.study, opened.space, polish)):
        opened.study.optimize(objective, n_trials=1)
        # The trial just run (not the study's last one: priors are queued at the start).
        stored = opened.study._storage.get_trial(objective.trial_id)
        (trial,) = with_curves(opened.study, [stored])
        spent += trial_cost_epochs(trial)
        if trial.state == optuna.trial.TrialState.COMPLETE and (
                best is None or trial.value > best.value):
            best = trial
        incumbents.append((spent, best, trial))
    if reseeds and best is not None:
        trained = reseed_top(opened.study, config, data)
        spent += trained * config.training.epochs
        winner = rank_complete(opened.study.get_trials(deepcopy=False),
                               study_records(opened.study), config.direction == "maximize")[0]
        incumbents.append((spent, winner, None))
    return incumbents


def range_test_epochs(study: optuna.Study, config, data) -> float:
    """The LR range tests stored in ``study`` (``peak_lr: auto``), in epochs of training."""
    steps = sum(len(record["result"]["losses"]) for key, record in study_records(study).items()
                if key.startswith(RANGE_TEST_ATTR_PREFIX))
    return steps / max(1, len(data.train_y) // config.training.batch_size)


CONFIRM_FIRST_SEED = 20_000  # confirmation seeds: CONFIRM_FIRST_SEED + 0, 1, ...


class Confirmer:
    """Mean test accuracy of a trial's schedule over fresh seeds (training split as searched)."""

    def __init__(self, config, data, seeds: int) -> None:
        self.config, self.data, self.cache = config, data, {}
        self.seeds = [CONFIRM_FIRST_SEED + i for i in range(seeds)]
        self.epochs_spent = 0

    def __call__(self, trial, epochs: int | None = None) -> float:
        if trial is None:
            return math.nan
        epochs = self.config.training.epochs if epochs is None else epochs
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
        optimizer = dict(trial.user_attrs["optimizer"])
        key = (*self.key(trial), epochs)
        if key not in self.cache:
            settings = [self.config.train_settings(epochs=epochs, seed=s) for s in self.seeds]
            self.cache[key] = statistics.fmean(self.one_test_acc(spec, optimizer, s)
                                               for s in settings)
            self.epochs_spent += epochs * len(self.seeds)
        return self.cache[key]

    def one_test_acc(self, spec, optimizer, settings) -> float:
        """Test accuracy of one training; a run that diverges with this seed (it did not
        with the search's) scores chance, as a user training it would get nothing better."""
        try:
            return train(spec, OptimizerSettings(**optimizer), settings, self.data,
                         evaluate_test=True).test_acc
        except DivergedError:
            return 1.0 / self.data.num_classes

    @staticmethod
    def key(trial) -> tuple[str, str]:
        """What makes two trials the same schedule: the spec and the optimizer."""
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"]).to_dict()
        return repr(spec), repr(sorted(dict(trial.user_attrs["optimizer"]).items()))

    def rung(self, trial, epochs: int, seed: int) -> tuple[float, float]:
        """``trial``'s schedule trained in ``epochs`` with its search's training ``seed``: its
        validation accuracy and loss (cached with the confirmations)."""
        key = ("rung", *self.key(trial), epochs, seed)
        if key not in self.cache:
            spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
            try:
                result = train(spec, OptimizerSettings(**trial.user_attrs["optimizer"]),
                               self.config.train_settings(epochs=epochs, seed=seed), self.data)
                self.cache[key] = (result.epochs[-1].val_acc, result.epochs[-1].val_loss)
            except DivergedError:  # chance accuracy, the loss of a uniform guess
                self.cache[key] = (1.0 / self.data.num_classes, math.log(self.data.num_classes))
            self.epochs_spent += epochs
        return self.cache[key]


def final(history):
    """The search's winner: its last incumbent (None when it ran no trial)."""
    return history[-1][1] if history else None


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
        print(f"workload {Path(args.study).stem}: {config.model}, batch "
              f"{config.training.batch_size}, {len(data.train_y)} train / {len(data.val_y)} val / "
              f"{len(data.test_y)} test images, {config.training.epochs} epochs; budget "
              f"{budget:g} epochs per search, {baseline_budget:g} per baseline search; "
              f"{args.seeds} paired seeds; {args.confirm_seeds} confirmation seeds")
        if args.combine:
            runs = combine(args.combine, confirm)
        else:
            runs = search_all(args, config, data, budget, baseline_budget, Path(folder), start,
                              confirm)
        if "random" not in runs or args.no_report:  # --combine reports the shards
            print(f"saved {args.save}; bench wall time {time.perf_counter() - start:.0f} s")
            return
        oracle = report_oracle(runs, confirm, args.oracle_top)
        if args.save:
            save(args.save, runs, confirm)
        report_spread(runs["random"])
        report_curves(runs, confirm, budget, oracle)
        report_needed(runs, confirm, budget)
        report_final(runs, confirm, oracle)
        report_fidelity(runs["random"], confirm, args.fidelity_trials)
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
               start: float, confirm):
    """Every method on every search seed of this run, in seed order; with ``--save``, the
    shard is saved after each seed (a run stopped midway keeps its finished seeds)."""
    configs = {"lrsearch": config, **{name: base_config(args, folder, name)
                                      for name in parse_variants(args.variant)}}
    methods = (*configs, *DEFAULT_METHODS)
    if args.methods:
        wanted = args.methods.split(",")
        methods = tuple(m for m in (*configs, *SEARCHES[1:], *BASELINES) if m in wanted)
    runs = {method: [] for method in methods}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for method in runs:
            own = baseline_budget if method in BASELINES else budget
            searched = method_config(configs.get(method, config), method, seed)
            runs[method].append(run_search(searched, data, own,
                                           plain_tpe=method == "tpe-hyperband"))
        confirm_seed(runs, confirm, budget)
        print(f"  seed {seed} searched and confirmed ({time.perf_counter() - start:.0f} s)",
              flush=True)
        if args.save:
            save(args.save, runs, confirm)
    return runs


def confirm_seed(runs, confirm, budget: float) -> None:
    """Confirm what the reports will ask of the latest seed (its incumbents at the
    checkpoints, lrsearch's until they reach random search's final), so a shard carries its
    own confirmations and ``--combine`` trains little."""
    for histories in runs.values():
        for share in CHECKPOINTS:
            confirm(at(histories[-1], share, budget))
    if "random" in runs:
        target = confirm(final(runs["random"][-1]))
        for method in ours(runs):
            share_needed(runs[method][-1], confirm, target, budget)


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


def report_oracle(runs, confirm, top: int) -> float:
    """The best confirmed schedule there is: the ``top`` trials of every arm and seed by
    validation (distinct schedules), and every arm's final winners, confirmed; its value."""
    pooled, seen = [], set()
    for histories in runs.values():
        for history in histories:
            for _, _, trial in history:
                if trial is None or trial.state != optuna.trial.TrialState.COMPLETE:
                    continue
                key = confirm.key(trial)
                if key not in seen:
                    seen.add(key)
                    pooled.append(trial)
    pooled.sort(key=lambda t: t.value, reverse=True)
    candidates = pooled[:top] + [h[-1][1] for histories in runs.values() for h in histories
                                 if h and h[-1][1] is not None]
    best = max(candidates, key=confirm)
    schedule, optimizer = best.user_attrs["schedule"], best.user_attrs["optimizer"]
    print(f"\noracle: {confirm(best):.4f} confirmed test accuracy ({schedule['family']}, "
          f"{optimizer['name']} peak LR {schedule['peak_lr']:.3g}), the best of the top {top} of "
          f"{len(pooled)} distinct complete trials of all arms and seeds and of the arms' "
          f"winners")
    return confirm(best)


def report_curves(runs, confirm, budget, oracle: float) -> None:
    print("\ncompute-to-quality: confirmed test accuracy of the incumbent (mean over seeds) "
          "after a share of the search budget; below it, regret to the oracle")
    print(f"{'method':<17}" + "".join(f"{100 * c:>8.1f}%" for c in CHECKPOINTS))
    rows = {}
    for method, histories in runs.items():
        cells = []
        for share in CHECKPOINTS:
            if method in BASELINES and share * budget > histories[0][-1][0] + 1e-9:
                cells.append(math.nan)
                continue
            values = [confirm(at(h, share, budget)) for h in histories]
            cells.append(statistics.fmean(values) if not any(map(math.isnan, values))
                         else math.nan)
        rows[method] = cells
        print(f"{method:<17}" + "".join(f"{c:>9.4f}" if not math.isnan(c) else f"{'':>9}"
                                        for c in cells))
    print("regret")
    for method, cells in rows.items():
        print(f"{method:<17}" + "".join(f"{oracle - c:>9.4f}" if not math.isnan(c) else
                                        f"{'':>9}" for c in cells))
    for method in BASELINES:
        if method in runs:
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
            target = confirm(final(theirs))
            shares.append(share_needed(mine, confirm, target, budget))
            random_own = share_needed(theirs, confirm, target, budget)
            print(f"  seed {seed}: random ends at {target:.4f} (reached by random itself at "
                  f"{random_own:.0%}); {method} at {_share(shares[-1])}")
        median, low, high = bootstrap_median(shares)
        print(f"  median {_share(median)}, 95% interval [{_share(low)}, {_share(high)}]; goal "
              f"median <= {MAX_SHARE:.0%} (over seeds and workloads): "
              f"{'met' if median <= MAX_SHARE else 'NOT met'} here")


def _share(value: float) -> str:
    return "never (within the budget)" if math.isinf(value) else f"{value:.0%}"


def report_final(runs, confirm, oracle: float) -> None:
    random_regret = oracle - statistics.fmean(confirm(final(h)) for h in runs["random"])
    for method in ours(runs):
        mine = {seed: confirm(final(h)) for seed, h in enumerate(runs[method])}
        regret = oracle - statistics.fmean(mine.values())
        print(f"\nfinal paired differences ({method} minus the other, confirmed test accuracy)")
        for other in runs:
            if other == method:
                continue
            theirs = {seed: confirm(final(h)) for seed, h in enumerate(runs[other])}
            # a search that ran no trial (its range test took the budget) has no winner
            paired = [seed for seed in mine if not math.isnan(mine[seed] - theirs[seed])]
            if not paired:
                print(f"  vs {other:<16} no seed where both have a winner")
                continue
            margin = paired_margin({s: mine[s] for s in paired}, {s: theirs[s] for s in paired})
            low = None if margin.half_width is None else margin.mean - margin.half_width
            interval = ("" if low is None else
                        f" [{low:+.4f}, {margin.mean + margin.half_width:+.4f}]")
            print(f"  vs {other:<16} {margin.mean:+.4f}{interval} over {margin.n} seeds "
                  f"({method} {statistics.fmean(mine.values()):.4f}, {other} "
                  f"{statistics.fmean(theirs.values()):.4f}){_goal(other, margin.mean, low)}")
        print(f"  regret to the oracle {regret:.4f}, random search's {random_regret:.4f}: "
              f"{regret / random_regret if random_regret > 0 else math.inf:.2f} of it (goal "
              f"<= 0.5 on most workloads)")


def _goal(other: str, mean: float, low: float | None) -> str:
    """The issue's goals against ``other``: met or not, for this workload."""
    if low is None:
        return ""
    notes = []
    if other in ("random", "tpe-hyperband"):
        notes.append("no loss" if mean >= 0 and low >= FLOOR else "LOSS-FLOOR NOT met")
    if other in ("random", "linear-lr"):
        notes.append("above" if low > 0 else "not clearly above")
    return f"  [{'; '.join(notes)}]" if notes else ""


def report_fidelity(random_runs, confirm, trials: int) -> None:
    """Rung fidelity on trials no pruner selected: random search's first ``trials`` complete
    trials, each re-trained at every horizon rung shorter than the full length (its own
    training seed), ranked against its full-length value, by accuracy and by loss."""
    config = confirm.config
    epochs = config.training.epochs
    rungs = horizon_epochs(epochs, config.pruner.reduction_factor)[:-1]
    # (search seed, trial): the shards hold seeds 0, 1, ... in order (see combine)
    chosen = [(seed, t) for seed, h in enumerate(random_runs) for _, _, t in h
              if t is not None and t.state == optuna.trial.TrialState.COMPLETE][:trials]
    if not rungs or len(chosen) < 3:
        return
    full = [t.value for _, t in chosen]
    print(f"\nrung fidelity: Spearman rank correlation of each horizon rung with the full "
          f"{epochs} epochs, on {len(chosen)} of random search's complete trials")
    for rung in rungs:
        results = [confirm.rung(t, rung, seed) for seed, t in chosen]
        accs = [r[0] for r in results]
        losses = [-r[1] if math.isfinite(r[1]) else -math.inf for r in results]
        chance = 1.0 / max(1, int(max(confirm.data.val_y)) + 1)
        print(f"  {rung}-epoch rung: by val_acc {spearman(accs, full):+.2f}, by val_loss "
              f"{spearman(losses, full):+.2f}; median rung val_acc "
              f"{statistics.median(accs):.3f} (chance {chance:.2f})")


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties).

    Example:
        >>> spearman([1, 2, 3, 4], [10, 20, 30, 40]), spearman([1, 2, 3], [3, 2, 1])
        (1.0, -1.0)
    """
    def ranks(values: list[float]) -> np.ndarray:
        array = np.asarray(values, dtype=float)
        order = np.argsort(array, kind="stable")
        ranked = np.empty(len(array))
        ranked[order] = np.arange(len(array), dtype=float)
        for value in np.unique(array):  # ties share their mean rank
            ranked[array == value] = ranked[array == value].mean()
        return ranked

    a, b = ranks(x), ranks(y)
    return float(np.corrcoef(a, b)[0, 1])


def report_horizon(runs, confirm, horizon: int, seeds: int) -> None:
    """The found schedule vs LR-tuned linear decay to zero at ``horizon`` times the epochs,
    both chosen by validation as a user would choose them."""
    epochs = confirm.config.training.epochs
    seeds = min(seeds, len(runs.get("linear-lr", [])))
    if seeds < 1:
        return
    for method in ours(runs):
        print(f"\nhorizon transfer: each seed's {method} winner vs its LR-tuned linear decay at "
              f"{epochs} and {horizon * epochs} epochs (first {seeds} seeds)")
        for length in (epochs, horizon * epochs):
            mine = {s: confirm(final(runs[method][s]), length) for s in range(seeds)}
            linear = {s: confirm(final(runs["linear-lr"][s]), length) for s in range(seeds)}
            margin = paired_margin(mine, linear)
            print(f"  {length:>3} epochs: found {statistics.fmean(mine.values()):.4f}, linear "
                  f"{statistics.fmean(linear.values()):.4f}, margin {margin.mean:+.4f}")


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
