"""Paired final figures of search-quality shards, from their confirmations alone (trains nothing).

``bench/search_quality.py --combine`` reports everything (oracle, curves, fidelity) and may
train what no shard confirmed; this reads only the final confirmed test accuracy of each arm's
winner and prints each arm's mean and how many of its winners each optimizer ran (on a workload
whose best optimizer is not the priors', whether a search got there), then the paired
differences of the lrsearch arms with 95% t intervals, pairing by
search seed across shards that hold different arms (``PATH:FIRST_SEED`` says which seeds a
shard holds). A schedule confirmed in more than one shard scores its first shard's value, so
two arms that chose the same schedule tie exactly (confirmations in different processes or code
versions differed by up to 0.3 points for the same schedule and seeds). ``--reconfirmed`` adds
the seeds ``bench/reconfirm.py`` trained: a winner then scores the mean of all its seeds.

Usage::

    python bench/suite_paired.py --epochs 3 bench/results/suite/home-combined.pkl:0 \\
        bench/results/suite/home-start10.pkl:0
"""

from __future__ import annotations

import argparse
import collections
import math
import pickle
import statistics

from lrsearch.records import POLISH_ATTR, paired_margin
from lrsearch.schedules import ScheduleSpec

REFERENCES = ("random", "tpe-hyperband", "linear-lr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, required=True, help="the workload's epochs")
    parser.add_argument("--confirm-seeds", type=int, default=3,
                        help="the seeds of the shards' own confirmations")
    parser.add_argument("--reconfirmed", action="append", default=[], metavar="PATH",
                        help="bench/reconfirm.py's results: more seeds per winner (repeatable)")
    parser.add_argument("--per-seed", action="store_true",
                        help="also each seed's confirmed winner of every arm")
    parser.add_argument("shards", nargs="+", metavar="PATH:FIRST_SEED")
    args = parser.parse_args()
    more: dict = {}
    for path in args.reconfirmed:
        with open(path, "rb") as handle:
            more.update(pickle.load(handle))
    cache, shards = {}, []
    for given in args.shards:
        path, first = given.rsplit(":", 1)
        with open(path, "rb") as handle:
            shard = pickle.load(handle)
        for key, value in shard["cache"].items():
            cache.setdefault(key, value)  # one value per schedule: the first shard's
        shards.append((shard, int(first)))

    def score(trial) -> float:
        if trial is None:
            return math.nan
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"]).to_dict()
        optimizer = sorted(dict(trial.user_attrs["optimizer"]).items())
        key = (repr(spec), repr(optimizer), args.epochs)
        value, extra = cache.get(key, math.nan), more.get(key, [])
        return (args.confirm_seeds * value + sum(extra)) / (args.confirm_seeds + len(extra))

    values: dict[str, dict[int, float]] = {}
    optimizers: dict[str, dict[int, str]] = {}
    winners: dict[int, dict[str, str]] = {}
    for shard, first in shards:
        for method, histories in shard["runs"].items():
            for index, history in enumerate(histories):
                winner = history[-1][1] if history else None
                values.setdefault(method, {})[first + index] = score(winner)
                optimizers.setdefault(method, {})[first + index] = (
                    "none" if winner is None else winner.user_attrs["optimizer"]["name"])
                if winner is not None:
                    winners.setdefault(first + index, {})[method] = _described(winner)
    if args.per_seed:
        for seed in sorted(winners):
            for method, line in winners[seed].items():
                print(f"seed {seed} {method:<18} {values[method][seed]:.4f} {line}")
    for method, by_seed in values.items():
        scored = [v for v in by_seed.values() if not math.isnan(v)]
        won = collections.Counter(optimizers[method].values())
        print(f"{method:<18} {len(by_seed)} seeds {sorted(by_seed)}: mean "
              f"{statistics.fmean(scored):.4f}; winners' optimizers "
              f"{', '.join(f'{name} {count}' for name, count in sorted(won.items()))}")
    ours = [m for m in values if m.startswith("lrsearch")]
    extra = [m for m in values if m not in ours and m not in REFERENCES]  # e.g. random-five
    for method in ours:
        for other in [*REFERENCES, *extra, *(m for m in ours if m != method)]:
            if other not in values:
                continue
            seeds = [s for s in values[method] if s in values[other]
                     and not math.isnan(values[method][s] - values[other][s])]
            if len(seeds) < 2:
                continue
            margin = paired_margin({s: values[method][s] for s in seeds},
                                   {s: values[other][s] for s in seeds})
            half = margin.half_width or 0.0
            print(f"  {method} - {other}: {100 * margin.mean:+.2f} pts "
                  f"[{100 * (margin.mean - half):+.2f}, {100 * (margin.mean + half):+.2f}] "
                  f"over {margin.n} seeds")


def _described(trial) -> str:
    """A winner in a few words: trial, optimizer, family, peak LR, and where it came from."""
    schedule, optimizer = trial.user_attrs["schedule"], trial.user_attrs["optimizer"]
    origin = trial.user_attrs.get(POLISH_ATTR) or {}
    came = f", polish x{origin['factor']:g} of #{origin['trial']}" if origin else ""
    return (f"#{trial.number} {optimizer['name']} {schedule['family']} "
            f"{schedule['peak_lr']:.3g}{came}")


if __name__ == "__main__":
    main()
