"""Pruning bias in the user's own study: how well does a trial's rank mid-training foretell its end?

For the complete trials, Kendall's tau-b between the raw validation metric after each epoch and
the trial's final value, over all of them and within each family that has enough complete
trials; and the cooldown probe's tau at the probed points. A tau near +1 at a fraction of
training means pruning there would keep the right trials; a low or negative tau is the
short-horizon bias: schedules that keep a high LR late look bad early.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from optuna.trial import FrozenTrial

from lrsearch.records import probe_key, trial_epochs
from lrsearch.report._rank import kendall_tau

__all__ = ["RankCurve", "extract_rank_bias", "MIN_TRIALS"]

MIN_TRIALS = 5  # complete trials a group needs before its tau is worth showing


@dataclass
class RankCurve:
    """Kendall's tau-b against the final value, per epoch, of one group of complete trials.

    Attributes:
        label: ``all (raw)``, ``all (probe)`` or ``<family> (raw)``.
        trials: Complete trials in the group.
        progress: Fraction of training of each point.
        tau: Tau at each point (None where undefined, e.g. all tied).
    """

    label: str
    trials: int
    progress: list[float] = field(default_factory=list)
    tau: list[float | None] = field(default_factory=list)


def extract_rank_bias(complete: Iterable[FrozenTrial], metric: str, family_of,
                      epochs: int | None = None) -> list[RankCurve]:
    """Tau per epoch for all complete trials (raw and probe) and per family (raw).

    Args:
        complete: Complete trials (value = final metric).
        metric: ``val_acc`` or ``val_loss``.
        family_of: ``trial -> family name``.
        epochs: The study's training length (the last epoch is left out: it is the final
            value itself).

    Example:
        >>> from optuna.trial import create_trial
        >>> from lrsearch.records import EPOCHS_ATTR
        >>> trials = [create_trial(value=v, user_attrs={EPOCHS_ATTR: [
        ...     {"epoch": 1, "val_acc": r}, {"epoch": 2, "val_acc": v}]})
        ...     for v, r in [(0.9, 0.5), (0.8, 0.6), (0.7, 0.7), (0.6, 0.8), (0.5, 0.9)]]
        >>> curves = extract_rank_bias(trials, "val_acc", lambda t: "cosine", epochs=2)
        >>> [(c.label, c.progress, c.tau) for c in curves]  # one family: 'all' says it
        [('all (raw)', [0.5], [-1.0])]
    """
    trials = [t for t in complete if trial_epochs(t)]
    groups: dict[str, list[FrozenTrial]] = {"all": trials}
    for trial in trials:
        groups.setdefault(str(family_of(trial)), []).append(trial)
    curves = []
    for name, members in groups.items():
        if len(members) < MIN_TRIALS or (name != "all" and len(members) == len(trials)):
            continue
        curves.append(_curve(f"{name} (raw)", members, metric, epochs))
        if name == "all":
            probe = _curve("all (probe)", members, probe_key(metric), epochs)
            if probe.progress:
                curves.append(probe)
    return curves


def _curve(label: str, trials: list[FrozenTrial], key: str, epochs: int | None) -> RankCurve:
    by_epoch: dict[int, tuple[list[float], list[float]]] = {}
    length = epochs or max(int(trial_epochs(t)[-1]["epoch"]) for t in trials)
    for trial in trials:
        for row in trial_epochs(trial):
            epoch = int(row["epoch"])
            if epoch < length and row.get(key) is not None:
                values, finals = by_epoch.setdefault(epoch, ([], []))
                values.append(float(row[key]))
                finals.append(float(trial.value))
    curve = RankCurve(label, len(trials))
    for epoch in sorted(by_epoch):
        values, finals = by_epoch[epoch]
        if len(values) >= MIN_TRIALS:
            curve.progress.append(epoch / length)
            curve.tau.append(kendall_tau(values, finals))
    return curve
