"""The trials a study queues before its search: baselines and priors, and their re-queueing.

**Baselines** are ready-made textbook schedules and a schedule-free optimizer, run as fixed
trials: a study file names them (``baselines: [cosine, linear, onecycle, step, schedulefree]``);
each is queued once, at the study's creation, as a trial that runs exactly its spec and
optimizer (no Optuna parameters), so every study carries its own yardstick even for families it
does not search. All of them use the study's reference peak LR: the middle of the first
optimizer's searched peak-LR range (geometric for a log range), or its fixed value.

| preset | schedule | optimizer |
|---|---|---|
| cosine | cosine to zero | the study's first |
| linear | linear decay to zero | the study's first |
| onecycle | one-cycle at torch's defaults (pct_start 0.3, div 25, final_div 1e4, cos) | first |
| step | x0.1 at 50% and 75% of training | the study's first |
| schedulefree | constant after a 5% warm-up | schedule-free SGD (for sgd), else AdamW |

**Priors** are schedules the field knows work, queued as the search's first ordinary trials:
linear decay to zero (budgeted training) and warmup-stable-decay with a 20% cooldown (Hägele
et al. 2024), at the optimizer's typical peak LR (the registry's). A search of 20-100 trials
that starts there spends its first trials where good schedules are, and the sampler learns from
them as from any trial. Unlike baselines they are points of the search space that can be
pruned; a space that searches WSD alone over decay fractions up to 1 gets linear decay to zero
as WSD decaying over the whole run (the same multipliers); a prior the space cannot sample in
any of its forms is left out. Measured effect: docs/search_quality.md.

**Failed ones are queued again**: a lost worker's or an interrupted trial is retried at once;
a baseline or prior that failed for another cause (the storage failed under it, a full disk, a
foreign checkpoint) is queued again by the next run (its cause may be gone), and a run ends by
naming every baseline that still has no result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from lrsearch.config import (
    MODEL_BASED_SAMPLERS,
    BaselineConfig,
    Range,
    StudyConfig,
    baseline_params,
)
from lrsearch.optimizers import get_optimizer
from lrsearch.records import PRIOR_ATTR, fail_reason, is_prior, retry_trial, trial_baseline
from lrsearch.schedules import ScheduleSpec, get_family
from lrsearch.search._space import PLACEHOLDER_TOTAL_STEPS, SearchSpace

__all__ = ["preset_trial", "reference_value", "PRIORS", "enqueue_priors", "prior_points",
           "uses_priors", "missing_baselines", "requeue_failed_yardsticks"]


SCHEDULE_FREE_WARMUP_FRAC = 0.05  # schedule-free methods are run with a short warm-up


_SCHEDULES: dict[str, tuple[str, dict[str, Any]]] = {
    "cosine": ("cosine", {"final_ratio": 0.0}),
    "linear": ("linear", {"final_ratio": 0.0}),
    "onecycle": ("onecycle", get_family("onecycle").defaults()),
    "step": ("multistep", get_family("multistep").defaults()),
    "schedulefree": ("constant", {}),
}


def reference_value(value: Any) -> Any:
    """A fixed value as it is; a :class:`Range` at its middle (geometric on a log scale).

    Example:
        >>> reference_value(Range(low=0.01, high=1.0, log=True))
        0.1
        >>> reference_value(Range(low=0.0, high=0.2)), reference_value(0.9)
        (0.1, 0.9)
    """
    if not isinstance(value, Range):
        return value
    if value.log:
        return float(round(math.exp((math.log(value.low) + math.log(value.high)) / 2), 12))
    return (value.low + value.high) / 2


def preset_trial(name: str, space: SearchSpace) -> tuple[ScheduleSpec, dict[str, Any]]:
    """The spec and optimizer settings that preset ``name`` runs in a study of ``space``.

    Example:
        >>> from lrsearch.config import parse_study
        >>> space = SearchSpace.from_config(parse_study({"name": "d", "search_space": {
        ...     "peak_lr": {"low": 0.02, "high": 0.8, "log": True}}}))
        >>> spec, optimizer = preset_trial("step", space)
        >>> spec.family, spec.params["milestones"], round(spec.peak_lr, 4), optimizer["name"]
        ('multistep', (0.5, 0.75), 0.1265, 'sgd')
        >>> preset_trial("schedulefree", space)[1]["name"]
        'sgd_schedulefree'
    """
    first = next(iter(space.optimizers))
    settings = {key: reference_value(value) for key, value in space.optimizers[first].items()}
    peak_lr = settings.pop("peak_lr")
    family, params = _SCHEDULES[name]
    warmup_frac = 0.0
    if name == "schedulefree":
        first = "sgd_schedulefree" if first == "sgd" else "adamw_schedulefree"
        own = get_optimizer(first)  # the settings it takes, as the registry declares them
        settings = {key: value for key, value in settings.items() if own.param(key) is not None}
        warmup_frac = SCHEDULE_FREE_WARMUP_FRAC
    spec = ScheduleSpec(family, peak_lr=peak_lr, total_steps=PLACEHOLDER_TOTAL_STEPS,
                        warmup_frac=warmup_frac, params=params)
    head_lr_mult = reference_value(space.shared["head_lr_mult"])
    return spec, {"name": first, "head_lr_mult": head_lr_mult, **settings}


PRIORS = (
    ("linear-to-zero", "linear", {"final_ratio": 0.0}),
    ("wsd-20", "wsd", {"decay_frac": 0.2, "final_ratio": 0.0, "decay_shape": "linear"}),
)
"""``(name, family, params)``: the first optimizer gets each, every other one the first. A
space without the family gets the same schedule as WSD where the family has a WSD form
(:meth:`~lrsearch.schedules.FamilyInfo.as_wsd`) the space can sample."""


def uses_priors(config: StudyConfig) -> bool:
    """``sampler.priors``, or when left out: on for the model-based samplers (tpe, gp, cmaes),
    off for random, qmc and grid (they promise to draw every point themselves)."""
    if config.sampler.priors is not None:
        return config.sampler.priors
    return config.sampler.name in MODEL_BASED_SAMPLERS


def prior_points(space: SearchSpace, lr_factors: Sequence[float] = (1.0,)
                 ) -> list[BaselineConfig]:
    """The priors ``space`` can run, as points of it (values it leaves out are sampled).

    The first optimizer gets every prior of :data:`PRIORS` at its typical peak LR, every
    optimizer linear decay to zero at each of ``lr_factors`` times its typical peak LR (inside
    its searched range); the same point is queued once.
    """
    families = {f.name: f for f in space.families}
    points, seen = [], set()
    for index, optimizer in enumerate(space.optimizers):
        searched = space.optimizers[optimizer]["peak_lr"]
        wanted = [(name, family, params, 1.0) for name, family, params in
                  (PRIORS if index == 0 else PRIORS[:1])]
        wanted += [(*PRIORS[0], factor) for factor in lr_factors if factor != 1.0]
        for name, family, params, factor in wanted:
            form = _sampleable_form(family, params, families)
            if form is None:
                continue
            family, params = form
            peak_lr = _peak_lr(optimizer, searched, factor)
            if (name, optimizer, peak_lr) in seen:
                continue
            seen.add((name, optimizer, peak_lr))
            label = name if factor == 1.0 else f"{name} x{factor:g}"
            points.append(BaselineConfig(
                name=f"{label} ({optimizer})", family=family, params=params, peak_lr=peak_lr,
                warmup_frac=_no_warmup(space.shared["warmup_frac"]), optimizer=optimizer))
    return points


def _sampleable_form(family: str, params: dict[str, Any], families: dict[str, Any]
                     ) -> tuple[str, dict[str, Any]] | None:
    """``(family, params)`` where the space samples them, else the same schedule as WSD where
    the space samples that, else None."""
    forms = [(family, params)]
    as_wsd = get_family(family).as_wsd(params)
    if as_wsd is not None:
        forms.append(("wsd", as_wsd))
    return next((form for form in forms if form[0] in families
                 and not baseline_params(form[1], families[form[0]], "")[1]), None)


def _peak_lr(optimizer: str, searched: Any, factor: float = 1.0) -> float | None:
    """``factor`` times the typical peak LR, clipped into the searched range, when the range
    holds the typical one, else the range's middle (geometric for a log range) times
    ``factor``, clipped; None (sampled) for a fixed peak LR."""
    if not isinstance(searched, Range):
        return None
    typical = get_optimizer(optimizer).typical_peak_lr
    if not searched.low <= typical <= searched.high:
        typical = (math.sqrt(searched.low * searched.high) if searched.log
                   else (searched.low + searched.high) / 2)
    return min(searched.high, max(searched.low, typical * factor))


def _no_warmup(searched: Any) -> float | None:
    return 0.0 if isinstance(searched, Range) and searched.low <= 0.0 else None


def enqueue_priors(study: optuna.Study, space: SearchSpace,
                   lr_factors: Sequence[float] = (1.0,)) -> None:
    """Queue the priors not queued yet (a set-up taken over may find some queued)."""
    queued = {t.user_attrs.get(PRIOR_ATTR) for t in study.get_trials(deepcopy=False)}
    for point in prior_points(space, lr_factors):
        if point.name in queued:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            study.enqueue_trial(space.baseline_params(point),
                                user_attrs={PRIOR_ATTR: point.name})


_SETTLED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def _yardstick(trial: FrozenTrial) -> str | None:
    """``baseline NAME`` or ``prior NAME`` for a queued yardstick, else None."""
    if trial_baseline(trial) is not None:
        return f"baseline {trial_baseline(trial)!r}"
    if is_prior(trial):
        return f"prior {trial.user_attrs[PRIOR_ATTR]!r}"
    return None


def _unsettled(study: optuna.Study) -> dict[str, FrozenTrial]:
    """Each yardstick whose trials all failed: its latest failed trial."""
    settled: set[str] = set()
    failed: dict[str, FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False):
        name = _yardstick(trial)
        if name is None:
            continue
        if trial.state in _SETTLED:
            settled.add(name)
        elif trial.state == TrialState.FAIL:
            failed[name] = trial  # trials come in order: the latest stays
    return {name: trial for name, trial in failed.items() if name not in settled}


def requeue_failed_yardsticks(study: optuna.Study, max_retry: int | None) -> list[str]:
    """Queue a copy of each baseline or prior whose trials all failed; a line for each."""
    lines = []
    for name, trial in _unsettled(study).items():
        waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
        retry_trial(study, trial, max_retry)
        again = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,))) > waiting
        lines.append(f"{name}: trial {trial.number} failed ({fail_reason(trial) or 'no reason'}"
                     f"); " + ("queued again" if again else
                               f"not queued again: it failed {max_retry} retries already"))
    return lines


def missing_baselines(study: optuna.Study) -> list[str]:
    """A line for each baseline with no result yet and why (its latest trial's reason)."""
    return [f"{name} has no result: trial {trial.number} failed "
            f"({fail_reason(trial) or 'no reason'}); the next run runs it again"
            for name, trial in _unsettled(study).items() if name.startswith("baseline")]
