"""Pruning fidelity of a study: at each pruning point, did raw or probe values foretell the end?

For every complete trial whose stored ``epochs`` hold cooldown-probe values (studies judged by
``pruner.judge: probe``), each probed epoch gives three numbers: the raw validation metric
there, the probe's, and the trial's final value. Kendall's tau-b per point says how well each
ranks the trials as they ended. Plain data only; ``_pruning_figures.py`` draws it.
"""

from __future__ import annotations

from collections.abc import Iterable

from optuna.trial import FrozenTrial

from lrsearch.records import probe_key, trial_epochs
from lrsearch.report._rank import kendall_tau
from lrsearch.report._report_data import FidelityPoint

__all__ = ["extract_fidelity"]


def extract_fidelity(complete: Iterable[FrozenTrial], metric: str,
                     epochs: int | None = None) -> list[FidelityPoint]:
    """Per probed epoch, the raw, probe and final values of ``complete`` trials.

    Args:
        complete: Complete trials with a finite value (their final ``metric``).
        metric: ``val_acc`` or ``val_loss``: which stored values to read.
        epochs: The study's training length, for ``progress``; None: each trial's last
            stored epoch.

    Example:
        >>> from optuna.trial import create_trial
        >>> from lrsearch.records import EPOCHS_ATTR
        >>> rows = lambda raw, probe: [{"epoch": 1, "val_acc": raw, "probe_val_acc": probe},
        ...                            {"epoch": 2, "val_acc": 0.0, "probe_val_acc": None}]
        >>> trials = [create_trial(value=v, user_attrs={EPOCHS_ATTR: rows(r, p)})
        ...           for v, r, p in [(0.9, 0.5, 0.8), (0.8, 0.6, 0.7), (0.7, 0.7, 0.6)]]
        >>> (point,) = extract_fidelity(trials, "val_acc")
        >>> point.epoch, point.progress, point.tau_raw, point.tau_probe
        (1, 0.5, -1.0, 1.0)
    """
    by_epoch: dict[int, FidelityPoint] = {}
    for trial in complete:
        rows = trial_epochs(trial)
        length = epochs or (int(rows[-1]["epoch"]) if rows else 0)
        for row in rows:
            probe = row.get(probe_key(metric))
            if probe is None or row.get(metric) is None:
                continue
            epoch = int(row["epoch"])
            point = by_epoch.setdefault(epoch, FidelityPoint(epoch, epoch / max(1, length)))
            point.numbers.append(trial.number)
            point.raw.append(float(row[metric]))
            point.probe.append(float(probe))
            point.final.append(float(trial.value))
    points = [by_epoch[e] for e in sorted(by_epoch)]
    for point in points:
        point.tau_raw = kendall_tau(point.raw, point.final)
        point.tau_probe = kendall_tau(point.probe, point.final)
    return points
