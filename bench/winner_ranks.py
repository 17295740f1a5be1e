"""Where each search's winner ranked before the re-runs of its top trials (``reseed``).

For every search of a method in ``bench/search_quality.py`` shards: the rank of the final
winner among the search's complete trials by their single value (1: the re-runs kept the
best-looking trial; 3: only the third re-run found it). Tells what a re-run of the k-th trial
is worth. Usage::

    python bench/winner_ranks.py SHARD:FIRST_SEED:METHOD ...
"""

from __future__ import annotations

import argparse
import collections
import pickle

from optuna.trial import TrialState


def winner_rank(history) -> int | None:
    """The winner's rank among the complete trials of ``history`` (None: no re-run entry)."""
    if not history or history[-1][2] is not None:  # the re-runs' entry carries no trial
        return None
    complete = [t for _, _, t in history if t is not None and t.state == TrialState.COMPLETE]
    ranked = [t.number for t in sorted(complete, key=lambda t: -t.value)]
    winner = history[-1][1].number
    return ranked.index(winner) + 1 if winner in ranked else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shards", nargs="+", metavar="SHARD:FIRST_SEED:METHOD")
    args = parser.parse_args()
    for spec in args.shards:
        path, first, method = spec.rsplit(":", 2)
        with open(path, "rb") as f:
            runs = pickle.load(f)["runs"].get(method, [])
        ranks = {int(first) + i: winner_rank(history) for i, history in enumerate(runs)}
        counts = collections.Counter(rank for rank in ranks.values() if rank is not None)
        late = [f"seed {seed} rank {rank}" for seed, rank in ranks.items() if rank and rank >= 3]
        print(f"{path} {method}: winners by rank {dict(sorted(counts.items()))}"
              + (f" ({', '.join(late)})" if late else ""))


if __name__ == "__main__":
    main()
