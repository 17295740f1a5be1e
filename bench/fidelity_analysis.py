"""Analysis of ``pruning_fidelity.py``'s recordings: plain data in, numbers out, no torch.

A recording is ``{seed: [row, ...]}``, one row per schedule trained to the end: ``label``,
``family``, ``raw`` (the validation accuracy after each epoch), ``probe[frac]`` (the cooldown
probe's after each epoch), ``run_seconds`` (train + evaluate per epoch) and
``probe_seconds[frac]``. One seed's rows are one study.
"""

from __future__ import annotations

import random
import statistics

from lrsearch.report import kendall_tau

__all__ = ["values_at", "tau_table", "family_tau_table", "below_median_top3", "cost_share",
           "simulate_studies", "reported_best"]

STARTUP_TRIALS = 5  # PrunerConfig's n_startup_trials: complete trials before the median counts
MIN_FAMILY = 3  # a family needs this many schedules in a study for a rank correlation of its own


def values_at(rows: list[dict], judge: str, epoch: int) -> list[float]:
    """Each schedule's value after ``epoch``: ``raw``, or the probe's of fraction ``judge``."""
    return [r["raw"][epoch - 1] if judge == "raw" else r["probe"][judge][epoch - 1]
            for r in rows]


def below_median_top3(values: list[float], finals: list[float]) -> int:
    """How many of the final top 3 are below the median of the other schedules' ``values``."""
    top3 = sorted(range(len(finals)), key=lambda i: -finals[i])[:3]
    return sum(values[i] < statistics.median(v for j, v in enumerate(values) if j != i)
               for i in top3)


def tau_table(runs: dict, epochs: int, judges: list[str]) -> dict:
    """``(epoch, judge) -> (mean tau over seeds, top 3 below the median summed, taus)``."""
    table = {}
    for epoch in range(1, epochs):
        for judge in judges:
            taus, below = [], 0
            for rows in runs.values():
                finals = [r["raw"][-1] for r in rows]
                values = values_at(rows, judge, epoch)
                tau = kendall_tau(values, finals)
                taus += [] if tau is None else [tau]
                below += below_median_top3(values, finals)
            table[(epoch, judge)] = (statistics.fmean(taus) if taus else None, below, taus)
    return table


def family_tau_table(runs: dict, epochs: int, judges: list[str]) -> dict:
    """``(family, epoch, judge) -> (mean tau over seeds, taus)``, ranking each family's
    schedules among themselves (families with at least :data:`MIN_FAMILY` in a study)."""
    table: dict = {}
    for rows in runs.values():
        families: dict[str, list[dict]] = {}
        for row in rows:
            families.setdefault(row.get("family", row["label"]), []).append(row)
        for family, members in families.items():
            if len(members) < MIN_FAMILY:
                continue
            finals = [r["raw"][-1] for r in members]
            for epoch in range(1, epochs):
                for judge in judges:
                    tau = kendall_tau(values_at(members, judge, epoch), finals)
                    table.setdefault((family, epoch, judge), []).extend(
                        [] if tau is None else [tau])
    return {key: (statistics.fmean(taus) if taus else None, taus)
            for key, taus in table.items()}


def cost_share(runs: dict, probe_epochs: tuple[int, ...], frac: str) -> float:
    """Probe seconds / all seconds of runs to the end with probes after ``probe_epochs``."""
    rows = [r for rows in runs.values() for r in rows]
    probe = sum(r["probe_seconds"][frac][e - 1] for r in rows for e in probe_epochs)
    return probe / (probe + sum(sum(r["run_seconds"]) for r in rows))


def reported_best(row: dict, judge: str, points: tuple[int, ...], epoch: int) -> float:
    """The best value ``row`` has reported to Optuna by ``epoch``: what Optuna's median pruner
    judges a trial by (``_get_best_intermediate_result_over_steps``, a maximum for accuracy).

    With ``judge: raw`` lrsearch reports the raw value of every epoch; with a probe judge it
    reports the probe value at the pruning points only.

    Example:
        >>> row = {"raw": [0.3, 0.5, 0.4, 0.45], "probe": {"0.1": [0.4, 0.6, 0.55, 0.6]}}
        >>> reported_best(row, "raw", (2, 3), 3), reported_best(row, "0.1", (1, 3), 3)
        (0.5, 0.55)
    """
    if judge == "raw":
        return max(row["raw"][:epoch])
    return max(row["probe"][judge][e - 1] for e in points if e <= epoch)


def _study(rows: list[dict], order: list[int], judge: str, points: tuple[int, ...],
           probe_frac: str) -> tuple[set[int], float, float]:
    """One study in ``order`` under Optuna's median rule: (pruned, run s, probe s).

    As ``optuna.pruners.MedianPruner`` does it: at a pruning point, once
    :data:`STARTUP_TRIALS` trials are complete, a trial is pruned when the best value it has
    reported so far is below the median of the complete trials' values at that step.
    """
    complete: list[int] = []
    pruned: set[int] = set()
    run_seconds = probe_seconds = 0.0
    for i in order:
        row = rows[i]
        for epoch, seconds in enumerate(row["run_seconds"], start=1):
            run_seconds += seconds
            if epoch not in points:
                continue
            if judge != "raw":
                probe_seconds += row["probe_seconds"][probe_frac][epoch - 1]
            others = values_at([rows[j] for j in complete], judge, epoch)
            best = reported_best(row, judge, points, epoch)
            if len(others) >= STARTUP_TRIALS and best < statistics.median(others):
                pruned.add(i)
                break
        else:
            complete.append(i)
    return pruned, run_seconds, probe_seconds


def simulate_studies(runs: dict, judge: str, points: tuple[int, ...], probe_frac: str,
                     orders: int = 200) -> dict:
    """Studies of the recorded schedules in ``orders`` random orders per seed, pruned by the
    median rule at ``points`` on raw or probe values.

    Returns:
        ``winner_pruned``: share of studies that pruned the schedule that ends best;
        ``top3_pruned``: share of studies that pruned one of the final top 3 or more;
        ``compute``: the study's compute relative to running every schedule to the end;
        ``probe_share``: probe seconds as a share of the study's compute.
    """
    rng = random.Random(0)
    hit = winner = studies = 0
    full = spent = probe = 0.0
    for rows in runs.values():
        finals = [r["raw"][-1] for r in rows]
        ranked = sorted(range(len(rows)), key=lambda i: -finals[i])
        top3 = set(ranked[:3])
        for _ in range(orders):
            order = rng.sample(range(len(rows)), len(rows))
            pruned, run_seconds, probe_seconds = _study(rows, order, judge, points, probe_frac)
            hit += bool(pruned & top3)
            winner += ranked[0] in pruned
            studies += 1
            full += sum(sum(r["run_seconds"]) for r in rows)
            spent += run_seconds + probe_seconds
            probe += probe_seconds
    return {"winner_pruned": winner / studies, "top3_pruned": hit / studies,
            "compute": spent / full, "probe_share": probe / spent}
