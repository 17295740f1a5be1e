"""What each pruner name implies, decided once: rungs, judged epochs, probes or raw values.

A study's pruner is one of :data:`PRUNERS`, each with a :class:`PruningPolicy`: ``horizon``
trains every trial's whole schedule at shorter horizons first (rungs; no pruning points, no
judge); the per-epoch pruners judge a trial at its pruning points, by a cooldown probe or the
raw metric (``judge``); ``wilcoxon`` hears every epoch from the first point on; ``none``
judges nothing. Every layer asks these functions instead of testing a pruner's name.
Why the defaults: docs/pruning.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PRUNERS", "PruningPolicy", "pruning_policy", "pruning_epochs", "reported_kind",
           "resolve_judge"]


@dataclass(frozen=True)
class PruningPolicy:
    """What a pruner needs of a trial.

    Attributes:
        rungs: The trial trains its whole schedule at shorter horizons first (no per-epoch
            judging, no judge).
        judged: The trial is judged at its pruning points (a per-epoch pruner).
        every_epoch: Judged at every epoch from the first pruning point on, by raw values
            (a test that needs several paired epochs).
    """

    rungs: bool = False
    judged: bool = True
    every_epoch: bool = False


_POLICIES: dict[str, PruningPolicy] = {
    "median": PruningPolicy(),
    "percentile": PruningPolicy(),
    "successive_halving": PruningPolicy(),
    "hyperband": PruningPolicy(),
    "wilcoxon": PruningPolicy(every_epoch=True),
    "patient": PruningPolicy(),
    "horizon": PruningPolicy(rungs=True, judged=False),
    "none": PruningPolicy(judged=False),
}
PRUNERS = tuple(_POLICIES)


class _Pruner(Protocol):  # PrunerConfig's fields read here (config/_models.py declares it)
    name: str
    judge: str | None
    at_progress: Sequence[float]


def pruning_policy(name: str) -> PruningPolicy:
    """The policy of pruner ``name``.

    Raises:
        ValueError: For a name that is not one of :data:`PRUNERS`.

    Example:
        >>> pruning_policy("horizon").rungs, pruning_policy("median").judged
        (True, True)
    """
    if name not in _POLICIES:
        raise ValueError(f"pruner.name: got {name!r}; must be one of {list(PRUNERS)}")
    return _POLICIES[name]


def pruning_epochs(config: _Pruner, epochs: int) -> tuple[int, ...]:
    """The 1-based epochs after which a trial is judged (and, with a probe judge, probed).

    A point ``p`` (fraction of training) maps to the nearest epoch, halves up:
    ``floor(p * epochs + 0.5)``, at least 1. The last epoch is dropped: the trial has cost all
    it will by then. A pruner that judges no epoch (rungs, ``none``): none.

    Example:
        >>> from lrsearch.config import PrunerConfig
        >>> pruning_epochs(PrunerConfig(name="median"), epochs=6)
        (2, 4)
        >>> pruning_epochs(PrunerConfig(name="median", at_progress=[0.1, 0.5, 0.95]), 10)
        (1, 5)
        >>> pruning_epochs(PrunerConfig(name="wilcoxon"), epochs=6)  # every epoch from 1/3 on
        (2, 3, 4, 5)
    """
    policy = pruning_policy(config.name)
    if not policy.judged:
        return ()
    found = {max(1, int(p * epochs + 0.5)) for p in config.at_progress}
    if policy.every_epoch and found:
        found = set(range(min(found), epochs))
    return tuple(sorted(e for e in found if e < epochs))


def resolve_judge(config: _Pruner, family_count: int) -> str | None:
    """``config.judge``, or when left out: ``probe`` for several families, else ``raw``
    (``raw`` always for a pruner that hears every epoch); None for rungs, which judge whole
    schedules, so the study stores no judge it would refuse.

    Within one family the raw values rank trials fairly well (their LRs fall alike) and
    cost nothing extra; across families only the probe does (docs/pruning.md).

    Example:
        >>> from lrsearch.config import PrunerConfig
        >>> median = PrunerConfig(name="median")
        >>> resolve_judge(median, 5), resolve_judge(median, 1)
        ('probe', 'raw')
        >>> resolve_judge(PrunerConfig(name="median", judge="raw"), 5), resolve_judge(
        ...     PrunerConfig(name="wilcoxon"), 5)
        ('raw', 'raw')
        >>> resolve_judge(PrunerConfig(name="horizon"), 5) is None
        True
    """
    policy = pruning_policy(config.name)
    if policy.rungs:
        return None
    if config.judge is not None:
        return config.judge
    if policy.every_epoch:
        return "raw"
    return "probe" if family_count > 1 else "raw"


def reported_kind(name: str | None, judge: str | None) -> str:
    """What a study's intermediate values are, from its pruner's ``name`` and resolved
    ``judge`` (a study's stored config holds both): ``horizon`` (whole schedules at a rung's
    horizon, the step being the rung's epochs), ``probe`` (cooldown probes at pruning points)
    or ``raw`` (the metric per epoch; also what a study judged by nothing reports).

    Example:
        >>> reported_kind("horizon", None), reported_kind("median", "probe")
        ('horizon', 'probe')
        >>> reported_kind("none", "probe"), reported_kind("median", "raw")
        ('raw', 'raw')
        >>> reported_kind(None, "probe")  # a stored pruner without a name: judged per epoch
        'probe'
    """
    policy = PruningPolicy() if name is None else pruning_policy(name)  # unnamed: per epoch
    if policy.rungs:
        return "horizon"
    return "probe" if policy.judged and judge == "probe" else "raw"
