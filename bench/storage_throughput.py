"""Trials per second that Optuna's RDB storage sustains on PostgreSQL, with K processes.

Each of K worker processes runs ``--trials`` trials of a trivial objective (no training: a
few ``suggest_float`` calls, three ``report`` calls as epochs, a return value) on one shared
study, so the time measured is the storage's. Two loops, side by side in one run:

* ``optuna``: ``study.optimize(objective, n_trials=T)`` with heartbeats on (as lrsearch sets
  them on a server database), RandomSampler (TPE's own cost grows with the trial count and is
  not storage).
* ``lrsearch``: the loop ``lrsearch run`` runs per trial (``lrsearch.search._runner``): fail
  the RUNNING trials of dead workers (a read of the running ones), fail stale trials, read every
  trial (the count), ``optimize(n_trials=1)``, then read the trial back (the failures-in-a-row
  check). Its read of all trials per trial grows with the study's size.

Every (loop, K) runs on a fresh database (created and dropped here) and is timed from the
moment all K processes are ready to the last one's end.

Usage::

    python bench/storage_throughput.py                       # K = 1, 2, 4, 8; 40 trials each
    python bench/storage_throughput.py --workers 1 4 16 --trials 100 \\
        --admin-url postgresql+psycopg2://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import time
import uuid
import warnings

import optuna
from optuna.trial import TrialState
from sqlalchemy import create_engine, text

from lrsearch.search import fail_dead_workers

STUDY = "bench"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
EPOCHS = 3  # intermediate values reported per trial, like a short training


_last_trial_id = [0]  # what lrsearch's objective remembers for the check after the trial


def objective(trial: optuna.Trial) -> float:
    _last_trial_id[0] = trial._trial_id
    x = trial.suggest_float("peak_lr", 1e-3, 1.0, log=True)
    y = trial.suggest_float("warmup_frac", 0.0, 0.2)
    family = trial.suggest_categorical("family", ["cosine", "linear", "step"])
    for epoch in range(1, EPOCHS + 1):
        trial.report(x * epoch + y, epoch)
    return x + y + len(family)


def _storage(url: str) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180)


def _worker(url: str, loop: str, trials: int, ready, start) -> None:
    optuna.logging.set_verbosity(logging.ERROR)
    study = optuna.load_study(study_name=STUDY, storage=_storage(url),
                              sampler=optuna.samplers.RandomSampler())
    ready.wait()
    start.wait()
    if loop == "optuna":
        study.optimize(objective, n_trials=trials)
        return
    for _ in range(trials):
        fail_dead_workers(study, max_retry=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        sum(t.state in FINISHED for t in study.get_trials(deepcopy=False))
        study.optimize(objective, n_trials=1)
        study._storage.get_trial(_last_trial_id[0])


def measure(admin_url: str, loop: str, workers: int, trials: int) -> tuple[int, float]:
    """(finished trials, seconds) of ``workers`` processes x ``trials`` trials on a fresh DB."""
    name = f"lrsearch_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        optuna.create_study(study_name=STUDY, storage=_storage(url))  # tables + study, once
        context = mp.get_context("spawn")
        ready, start = context.Barrier(workers + 1), context.Event()
        procs = [context.Process(target=_worker, args=(url, loop, trials, ready, start))
                 for _ in range(workers)]
        for proc in procs:
            proc.start()
        ready.wait()  # every worker has imported optuna and connected
        started = time.perf_counter()
        start.set()
        for proc in procs:
            proc.join()
        seconds = time.perf_counter() - started
        if any(proc.exitcode != 0 for proc in procs):
            raise RuntimeError(f"a worker failed ({[p.exitcode for p in procs]})")
        done = len(optuna.load_study(study_name=STUDY, storage=url).get_trials(
            states=(TrialState.COMPLETE,)))
        return done, seconds
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test",
                        help="A database on the server where the bench may CREATE DATABASE.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--trials", type=int, default=40, help="Trials per worker process.")
    parser.add_argument("--loops", nargs="+", default=["optuna", "lrsearch"],
                        choices=["optuna", "lrsearch"])
    args = parser.parse_args()
    optuna.logging.set_verbosity(logging.ERROR)
    print(f"{'loop':<9} {'K':>3} {'trials':>7} {'seconds':>8} {'trials/s':>9} {'ms/trial/K':>11}")
    for workers in args.workers:
        for loop in args.loops:
            done, seconds = measure(args.admin_url, loop, workers, args.trials)
            print(f"{loop:<9} {workers:>3} {done:>7} {seconds:>8.2f} {done / seconds:>9.1f} "
                  f"{1000 * seconds * workers / done:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
