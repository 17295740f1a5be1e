"""More confirmation seeds for the winners in search-quality shards (trains only those).

A workload whose schedules vary by a few points from one training seed to the next (plain-cnn:
2-2.5 points, docs/search_quality.md) makes each arm's 3-seed confirmation noisy enough to
swamp the differences between the arms. This trains every arm's final winner of the given
shards again with ``--seeds`` more fresh seeds (20_003 on: the shards used 20_000-20_002), on
the training split as searched, and saves ``{(spec, optimizer, epochs): [test accuracies]}``;
``bench/suite_paired.py --reconfirmed PATH`` then scores each winner by the mean of all its
seeds. Resumable: a schedule already in ``--out`` is not trained again.

Usage::

    python bench/reconfirm.py --study plain-cnn --data-dir ../shared/data/cifar10-jpeg-fallback \\
        --out plain-cnn-reconfirm.pkl bench/results/suite/plain-cnn-combined.pkl:0 ...
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from search_quality import CONFIRM_FIRST_SEED, Confirmer, base_config, study_file  # noqa: E402

from lrsearch.schedules import ScheduleSpec  # noqa: E402
from lrsearch.train import load_data  # noqa: E402

FIRST_SEED = CONFIRM_FIRST_SEED + 3  # after the shards' own 3 confirmation seeds


def winners(paths: list[str], methods: set[str] | None = None) -> list:
    """Every arm's final winner in the shards (``PATH`` or ``PATH:FIRST_SEED``); only those
    of ``methods`` if given."""
    found = []
    for given in paths:
        with open(given.rsplit(":", 1)[0] if ":" in given else given, "rb") as handle:
            shard = pickle.load(handle)
        for method, histories in shard["runs"].items():
            if methods and method not in methods:
                continue
            found += [history[-1][1] for history in histories if history]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", required=True, help="the shards' workload")
    parser.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--device", default=None, help="training.device override")
    parser.add_argument("--seeds", type=int, default=7, help="more confirmation seeds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--methods", default=None, help="only these arms' winners (A,B,...)")
    parser.add_argument("--out", required=True, help="the results (read first: resumable)")
    parser.add_argument("shards", nargs="+", metavar="PATH:FIRST_SEED")
    args = parser.parse_args()
    args.quick, args.variant, args.study = False, [], str(study_file(args.study))
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    done = pickle.loads(out.read_bytes()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as folder:
        config = base_config(args, Path(folder))
        data = load_data(config.data, config.training.device)
        confirm = Confirmer(config, data, 0)
        epochs = config.training.epochs
        todo = {(*Confirmer.key(t), epochs): t for t in winners(
            args.shards, set(args.methods.split(",")) if args.methods else None)}
        todo = {key: trial for key, trial in todo.items() if key not in done}
        print(f"{len(todo)} schedules to confirm with {args.seeds} more seeds", flush=True)
        for index, (key, trial) in enumerate(todo.items()):
            spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
            optimizer = dict(trial.user_attrs["optimizer"])
            done[key] = [confirm.one_test_acc(spec, optimizer,
                                              config.train_settings(epochs=epochs, seed=seed))
                         for seed in range(FIRST_SEED, FIRST_SEED + args.seeds)]
            out.write_bytes(pickle.dumps(done))
            print(f"  {index + 1}/{len(todo)}: " + ", ".join(f"{a:.4f}" for a in done[key]),
                  flush=True)


if __name__ == "__main__":
    main()
