"""Search quality at equal compute: lrsearch's default search vs random search vs the baselines.

On the quickstart's setting (small CNN, CIFAR-10 subset, 5 epochs, CPU), each search seed runs:

* ``lrsearch``: the default search (TPE sampler, the default pruner and pruning points);
* ``random``: random search over the same space, no pruning;

each until it has spent the same compute budget, counted in training epochs (a pruned trial
costs the epochs it ran; cooldown probes count by their optimizer steps). Every trial that
becomes the incumbent (best validation value so far) is *confirmed*: re-trained with fresh
seeds on the training split plus the validation images, and evaluated on the test set. The
baselines (cosine, linear to zero, step at 50/75% and schedule-free SGD, at the quickstart's
peak LR) are confirmed the same way.

Printed: the confirmed test accuracy of each method's incumbent at 25/50/75/100% of the
budget (mean over search seeds); the compute lrsearch needs to reach the confirmed accuracy
random search ends with (goal: <= 25% of the budget); and the horizon transfer check: the
best lrsearch schedule and the cosine baseline re-trained at 4x the epochs, where the found
schedule should keep its margin.

Usage::

    python bench/search_quality.py --data-dir ../shared/data/cifar10-jpeg-fallback
    python bench/search_quality.py --quick      # a few-minute sanity run on fake data
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from lrsearch.config import load_study
from lrsearch.search import Objective, open_study, preset_trial
from lrsearch.search._confirm import _full_training_set
from lrsearch.train import OptimizerSettings, load_data, train

STUDY_FILE = Path(__file__).parents[1] / "studies" / "quickstart.yaml"
BASELINES = ("cosine", "linear", "step", "schedulefree")
CHECKPOINTS = (0.25, 0.5, 0.75, 1.0)  # fractions of the budget at which incumbents are shown


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--search-seeds", type=int, default=3, help="independent searches")
    parser.add_argument("--budget-trials", type=float, default=24.0,
                        help="budget per search, in full trials' worth of epochs")
    parser.add_argument("--confirm-seeds", type=int, default=2, help="fresh seeds per check")
    parser.add_argument("--horizon", type=int, default=4, help="epoch multiple for transfer")
    parser.add_argument("--quick", action="store_true", help="fake data, tiny budget")
    args = parser.parse_args()
    if args.quick:  # a sanity run of every code path, not a measurement
        args.search_seeds, args.budget_trials, args.confirm_seeds = 2, 4.0, 1
    return args


def base_config(args: argparse.Namespace, folder: Path):
    overrides = {"storage": f"sqlite:///{folder / 'bench.db'}", "baselines": [],
                 "checkpoint_dir": str(folder / "ckpt"), "training.device": "cpu"}
    if args.data_dir:
        overrides["data.data_dir"] = args.data_dir
    if args.quick:
        overrides.update({"data.dataset": "fake", "data.train_subset": 512,
                          "data.val_size": 256, "training.epochs": 2})
    config = load_study(STUDY_FILE, overrides)
    # The default pruner (what a study file that says nothing about pruning gets).
    return config.model_copy(update={"pruner": type(config.pruner)()})


def trial_compute(trial: optuna.trial.FrozenTrial) -> float:
    """Epochs a trial trained, plus its probes' optimizer steps in epochs."""
    rows = trial.user_attrs.get("epochs") or []
    if not rows:
        return 0.0
    steps_per_epoch = max(1, int(rows[0]["step"]) // max(1, int(rows[0]["epoch"])))
    probe_steps = sum(int(row.get("probe_steps") or 0) for row in rows)
    return len(rows) + probe_steps / steps_per_epoch


def run_search(config, data, name: str, seed: int, budget_epochs: float) -> list[tuple]:
    """Run one search until ``budget_epochs``; return ``[(compute, incumbent trial)]``."""
    if name == "random":
        config = config.model_copy(update={
            "pruner": config.pruner.model_copy(update={"name": "none"}),
            "sampler": config.sampler.model_copy(update={"name": "random"})})
    config = config.model_copy(update={
        "name": f"{name}-{seed}", "sampler": config.sampler.model_copy(update={"seed": seed})})
    opened = open_study(config)
    objective = Objective(config, opened.space, data)
    spent, incumbents, best = 0.0, [], None
    sign = 1 if config.direction == "maximize" else -1
    while spent < budget_epochs:
        opened.study.optimize(objective, n_trials=1)
        trial = opened.study.trials[-1]
        spent += trial_compute(trial)
        if trial.state == optuna.trial.TrialState.COMPLETE and (
                best is None or sign * trial.value > sign * best.value):
            best = trial
        if best is not None:
            incumbents.append((spent, best))
    return incumbents


class Confirmer:
    """Confirmed test accuracy of a spec: fresh seeds, training split + validation images."""

    def __init__(self, config, data, seeds: int) -> None:
        self.config, self.data, self.cache = config, _full_training_set(data), {}
        self.seeds = [20_000 + i for i in range(seeds)]

    def __call__(self, spec, optimizer: dict, epochs: int | None = None) -> float:
        epochs = self.config.training.epochs if epochs is None else epochs
        key = (repr(spec.to_dict()), repr(sorted(optimizer.items())), epochs)
        if key not in self.cache:
            accs = [train(spec, OptimizerSettings(**optimizer),
                          self.config.train_settings(epochs=epochs, seed=s),
                          self.data, evaluate_test=True).test_acc for s in self.seeds]
            self.cache[key] = statistics.fmean(accs)
        return self.cache[key]

    def trial(self, trial, epochs: int | None = None) -> float:
        from lrsearch.schedules import ScheduleSpec

        return self(ScheduleSpec.from_dict(trial.user_attrs["schedule"]),
                    dict(trial.user_attrs["optimizer"]), epochs)


def at(incumbents: list[tuple], compute: float):
    """The incumbent once ``compute`` epochs were spent (the last one before it)."""
    chosen = None
    for spent, trial in incumbents:
        if spent <= compute + 1e-9:
            chosen = trial
    return chosen if chosen is not None else incumbents[0][1]


def needed(incumbents, confirm, target: float, budget: float) -> float | None:
    """Smallest compute share at which the incumbent's confirmed accuracy reaches ``target``."""
    for spent, trial in incumbents:
        if confirm.trial(trial) >= target:
            return spent / budget
    return None


def main() -> None:
    args = parse_args()
    optuna.logging.set_verbosity(logging.ERROR)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        config = base_config(args, Path(folder))
        data = load_data(config.data, "cpu")
        confirm = Confirmer(config, data, args.confirm_seeds)
        budget = args.budget_trials * config.training.epochs
        print(f"setting: {config.model}, {len(data.train_y)} train / {len(data.val_y)} val "
              f"images, {config.training.epochs} epochs; budget {budget:g} epochs per search; "
              f"{args.search_seeds} search seeds; {args.confirm_seeds} confirmation seeds")
        searches = {name: [run_search(config, data, name, seed, budget)
                           for seed in range(args.search_seeds)]
                    for name in ("lrsearch", "random")}
        report_curves(searches, confirm, budget)
        report_baselines(config, data, confirm)
        report_needed(searches, confirm, budget)
        report_horizon(searches, config, data, confirm, args.horizon)
    print(f"bench wall time {time.perf_counter() - start:.0f} s")


def report_curves(searches, confirm, budget) -> None:
    print("\nconfirmed test accuracy of the incumbent at a share of the budget "
          "(mean over search seeds)")
    print(f"{'method':<10}" + "".join(f"{int(100 * c):>9}%" for c in CHECKPOINTS))
    for name, runs in searches.items():
        means = [statistics.fmean(confirm.trial(at(inc, c * budget)) for inc in runs)
                 for c in CHECKPOINTS]
        print(f"{name:<10}" + "".join(f"{m:>10.4f}" for m in means))


def report_baselines(config, data, confirm) -> None:
    from lrsearch.search import SearchSpace

    space = SearchSpace.from_config(config)
    print("\nbaselines (confirmed test accuracy, one trial each = "
          f"{config.training.epochs} epochs of compute)")
    for name in BASELINES:
        spec, optimizer = preset_trial(name, space)
        print(f"  {name:<14}{confirm(spec, optimizer):.4f}  (peak_lr {spec.peak_lr:.3g}, "
              f"{optimizer['name']})")


def report_needed(searches, confirm, budget) -> None:
    print("\ncompute lrsearch needs to reach the confirmed accuracy random search ends with")
    shares = []
    for seed, (ours, theirs) in enumerate(zip(searches["lrsearch"], searches["random"])):
        target = confirm.trial(theirs[-1][1])
        share = needed(ours, confirm, target, budget)
        shares.append(share)
        shown = "not reached" if share is None else f"{100 * share:.0f}% of the budget"
        print(f"  search seed {seed}: random ends at {target:.4f}; lrsearch: {shown}")
    # A seed that never reaches the target counts as needing more than the whole budget.
    median = statistics.median(math.inf if s is None else s for s in shares)
    shown = "more than the budget" if math.isinf(median) else f"{100 * median:.0f}%"
    reached = sum(s is not None and s <= 0.25 for s in shares)
    print(f"  median share: {shown} (goal <= 25%: {'met' if median <= 0.25 else 'NOT met'}; "
          f"{reached} of {len(shares)} search seeds within 25%)")


def report_horizon(searches, config, data, confirm, horizon: int) -> None:
    from lrsearch.search import SearchSpace

    # Chosen by its validation value, as a user would: choosing by test accuracy would bias
    # the margin measured on that same test set.
    finals = [runs[-1][1] for runs in searches["lrsearch"]]
    sign = 1 if config.direction == "maximize" else -1
    best = max(finals, key=lambda trial: sign * trial.value)
    cosine_spec, cosine_opt = preset_trial("cosine", SearchSpace.from_config(config))
    epochs = config.training.epochs
    print(f"\nhorizon transfer: lrsearch's best (trial {best.number}, "
          f"{best.user_attrs['schedule']['family']}) vs cosine, fresh seeds")
    for length in (epochs, horizon * epochs):
        ours = confirm.trial(best, length)
        cosine = confirm(cosine_spec, cosine_opt, length)
        print(f"  {length:>3} epochs: found {ours:.4f}  cosine {cosine:.4f}  "
              f"margin {ours - cosine:+.4f}")


if __name__ == "__main__":
    main()
