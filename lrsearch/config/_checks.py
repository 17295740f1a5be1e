"""Checks of a parsed study that pydantic's types cannot express; each returns problem lines.

Every problem names the dotted path, the value received and the rule, like pydantic's own
errors after :mod:`lrsearch.config._loader` has reworded them.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from lrsearch.config._families import FINAL_KNOT_HIGH, FamilySearch, resolve_families
from lrsearch.config._models import METRIC_DIRECTIONS, StudyConfig
from lrsearch.config._pruning import pruning_policy
from lrsearch.config._settings import is_factory
from lrsearch.config._types import AUTO, Range
from lrsearch.optimizers import get_optimizer
from lrsearch.schedules import get_family

__all__ = ["check_study", "baseline_params", "optimizer_space"]


def check_study(config: StudyConfig, skip: Collection[str] = ()
                ) -> tuple[list[FamilySearch], list[str]]:
    """Every semantic problem of ``config``; also returns the resolved families.

    ``skip`` names top-level sections that failed their type checks (the loader has stand-ins
    for them): checks that read one of them are left out, so they report nothing false.
    """
    problems = []
    expected = METRIC_DIRECTIONS[config.metric]
    if config.direction not in (None, expected) and not {"direction", "metric"} & set(skip):
        problems.append(f"direction: got {config.direction!r}; must be {expected!r} for metric "
                        f"{config.metric!r} (or left out)")
    if config.n_trials is None and config.timeout_s is None and \
            not {"n_trials", "timeout_s"} & set(skip):
        problems.append("n_trials: got null with timeout_s null; set n_trials, timeout_s or "
                        "both, so the study ends")
    if "pruner" not in skip:
        problems += _check_pruner(config)
    if "data" not in skip:
        problems += [f"data.{line}" for line in config.data.problems()]
    if config.model_kwargs and not is_factory(config.model) and \
            not {"model", "model_kwargs"} & set(skip):
        problems.append(f"model_kwargs: got {config.model_kwargs!r}; only a 'module:function' "
                        f"model takes model_kwargs (model is {config.model!r})")
    if "sampler" not in skip and config.sampler.name == "grid" and config.sampler.priors:
        problems.append("sampler.priors: got true with sampler.name 'grid'; a grid walks every "
                        "point of the space itself, so there is nothing to start it from; "
                        "leave priors out")
    polish = config.sampler.polish_trials
    if "sampler" not in skip and polish and config.sampler.name == "grid":
        problems.append(f"sampler.polish_trials: got {polish} with sampler.name 'grid'; a grid "
                        f"walks its own points and has no polish trials: leave it out or set 0")
    elif "sampler" not in skip and polish and config.n_trials is not None and \
            polish >= config.n_trials:
        problems.append(f"sampler.polish_trials: got {polish} with n_trials {config.n_trials}; "
                        f"polish trials are the last of n_trials and need searched ones "
                        f"before them: set fewer than n_trials")
    if "search_space" in skip:
        return [], problems
    families, family_problems = resolve_families(config.search_space.families,
                                                 "search_space.families")
    problems += family_problems + _check_optimizers(config)
    if not family_problems and "baselines" not in skip:
        problems += _check_baselines(config, families)
    return families, problems


def _check_pruner(config: StudyConfig) -> list[str]:
    """Wilcoxon needs a value every epoch: the probe's few points could never prune. Horizon
    rungs judge whole schedules: a judge would be ignored."""
    pruner = config.pruner
    if pruning_policy(pruner.name).rungs and pruner.judge is not None:
        named = ("with pruner.name 'horizon'" if "name" in pruner.model_fields_set
                 else "and no pruner.name, so the default 'horizon'")
        return [f"pruner.judge: got {pruner.judge!r} {named}; horizon rungs judge each trial "
                f"by where its whole schedule ends at a shorter horizon, never by a probe or "
                f"a mid-run value; leave judge out, or name a per-epoch pruner (e.g. "
                f"pruner.name: median) to judge by {pruner.judge!r}"]
    if not pruning_policy(pruner.name).every_epoch or pruner.judge != "probe":
        return []
    # All differences of one sign give the one-sided signed-rank test its smallest p, 2**-n.
    needed = math.floor(-math.log2(pruner.p_threshold)) + 1
    points = len(pruner.at_progress)
    return [f"pruner.judge: got 'probe' with pruner.name 'wilcoxon'; wilcoxon's signed-rank "
            f"test pairs the trial's values with the best trial's and needs at least {needed} "
            f"paired epochs to reach p < {pruner.p_threshold:g}, while the probe judges only "
            f"the {points} pruning point(s) ({points} give p >= {2.0 ** -points:g}, so it "
            f"could never prune); use judge: raw (wilcoxon's default: the raw value of every "
            f"epoch from the first point on) or another pruner"]


def optimizer_space(config: StudyConfig) -> dict[str, Any]:
    """The searched optimizers, ``name -> OptimizerSpace``, each with its ``peak_lr`` and
    ``weight_decay`` filled in: its own, else the search space's, else the registry's."""
    from lrsearch.config._models import OptimizerSpace

    space = config.search_space
    given = (dict.fromkeys(space.optimizers) if isinstance(space.optimizers, list)
             else space.optimizers)
    filled = {}
    for name, opt in given.items():
        info = get_optimizer(name)
        default_lr = Range(low=info.peak_lr.low, high=info.peak_lr.high, log=info.peak_lr.log)
        opt = opt or OptimizerSpace()
        filled[name] = opt.model_copy(update={
            "peak_lr": _first(opt.peak_lr, space.peak_lr, default_lr),
            "weight_decay": _first(opt.weight_decay, space.weight_decay,
                                   info.weight_decay.default)})
    return filled


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _check_optimizers(config: StudyConfig) -> list[str]:
    """Each optimizer takes only its own settings, each by its own rule (the registry's)."""
    problems = []
    for name, space in optimizer_space(config).items():
        problems += _optimizer_problems(name, space)
    return problems


def _optimizer_problems(name: str, space: Any) -> list[str]:
    """The problems of one optimizer's entry; its cross-check sees its fixed values."""
    info = get_optimizer(name)
    path = f"search_space.optimizers.{name}"
    given = space.model_dump(exclude_none=True, exclude={"peak_lr"})
    problems, fixed = [], {}
    for key in given:
        value, param = getattr(space, key), info.param(key)
        if param is None:
            problems.append(f"{path}.{key}: got {_plain(value)!r}; {name!r} takes no {key}; "
                            f"its settings are {_settable(info)}")
        elif isinstance(value, Range):
            problems += [line for end in ("low", "high")
                         for line in param.check(getattr(value, end), f"{path}.{key}.{end}")[1]]
        else:
            problems += param.check(value, f"{path}.{key}")[1]
            fixed[key] = value
    if info.cross_check is not None and not problems:
        defaults = {p.name: p.default for p in info.all_params if p.name not in given}
        problems += [f"{path}.{line}" for line in info.cross_check({**defaults, **fixed})]
    return problems


def _settable(info: Any) -> list[str]:
    """What a study file may set in an optimizer's entry (the head's LR multiple is shared)."""
    from lrsearch.config._models import OptimizerSpace

    return [p.name for p in info.all_params if p.name in OptimizerSpace.model_fields]


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, Range) else value


def _within(value: float, searched: Any) -> bool:
    if isinstance(searched, Range):
        return searched.low <= value <= searched.high
    return value == searched


def _check_baselines(config: StudyConfig, families: list[FamilySearch]) -> list[str]:
    problems = []
    by_name = {f.name: f for f in families}
    optimizers = optimizer_space(config)
    seen = set()
    for i, baseline in enumerate(config.baselines):
        path = f"baselines.{i}"
        if isinstance(baseline, str):  # a preset: always runnable, checked by its type
            if baseline in seen:
                problems.append(f"{path}: got {baseline!r}; baseline names must be unique")
            seen.add(baseline)
            continue
        if baseline.name in seen:
            problems.append(f"{path}.name: got {baseline.name!r}; baseline names must be unique")
        seen.add(baseline.name)
        family = by_name.get(baseline.family)
        if family is None:
            problems.append(f"{path}.family: got {baseline.family!r}; must be one of the "
                            f"searched families {list(by_name)} (name it in "
                            f"search_space.families, or use a preset baseline)")
            continue
        problems += baseline_params(baseline.params, family, f"{path}.params")[1]
        optimizer = baseline.optimizer or next(iter(optimizers))
        if optimizer not in optimizers:
            problems.append(f"{path}.optimizer: got {optimizer!r}; must be one of the searched "
                            f"optimizers {list(optimizers)}")
            continue
        peak = optimizers[optimizer].peak_lr
        if baseline.peak_lr is not None and peak == AUTO:
            problems.append(f"{path}.peak_lr: got {baseline.peak_lr!r}; must be left out when "
                            f"the peak_lr of {optimizer!r} is auto (its range is known only "
                            f"after the LR range test)")
        elif baseline.peak_lr is not None and not _within(baseline.peak_lr, peak):
            problems.append(f"{path}.peak_lr: got {baseline.peak_lr!r}; must lie in the searched "
                            f"peak_lr of {optimizer!r}: {_show(peak)}")
        warmup = config.search_space.warmup_frac
        if baseline.warmup_frac and get_family(baseline.family).warms_up_itself:
            problems.append(f"{path}.warmup_frac: got {baseline.warmup_frac!r}; must be left out "
                            f"or 0: {baseline.family!r} warms up by itself, so the search "
                            f"gives it no separate warm-up")
        elif baseline.warmup_frac is not None and not _within(baseline.warmup_frac, warmup):
            problems.append(f"{path}.warmup_frac: got {baseline.warmup_frac!r}; must lie in the "
                            f"searched warmup_frac: {_show(warmup)}")
    return problems


def _show(searched: Any) -> str:
    if isinstance(searched, Range):
        return f"[{searched.low:g}, {searched.high:g}]"
    return f"fixed at {searched:g}"


def baseline_params(params: dict[str, Any], family: FamilySearch, path: str
                    ) -> tuple[dict[str, Any], list[str]]:
    """A baseline's family parameters with defaults filled, checked against the search.

    Returns ``(values, problems)``; a value must be one the search itself could sample, so the
    baseline is an ordinary point of the study's search space.
    """
    from lrsearch.schedules import get_family

    info = get_family(family.name)
    problems = [f"{path}.{key}: got {value!r}; unknown parameter of {family.name!r}, its "
                f"parameters are {[p.name for p in info.params]}"
                for key, value in params.items() if key not in {p.name for p in info.params}]
    values = {}
    for param in info.params:
        given = param.name in params
        value, found = param.check(params[param.name] if given else param.default,
                                   f"{path}.{param.name}")
        problems += found
        if found:
            continue
        values[param.name] = value
        if not _sampleable(value, family.param(param.name)):
            what = "got" if given else "the family default is"
            problems.append(f"{path}.{param.name}: {what} {value!r}; must be a value the "
                            f"search can sample ({family.param(param.name).as_dict()})")
    return values, problems


def _sampleable(value: Any, search: Any) -> bool:
    if search.fixed is not None:
        return value == search.fixed
    if search.choices is not None:
        return value in search.choices
    if search.kind == "fractions":
        return (search.min_count <= len(value) <= search.max_count
                and all(search.low <= v <= search.high for v in value))
    if search.kind == "knots":
        positions = (0.0, *search.positions, 1.0)
        return (tuple(p for p, _ in value) == positions and value[0][1] == 1.0
                and all(search.low <= m <= search.high for _, m in value[1:-1])
                and 0.0 <= value[-1][1] <= FINAL_KNOT_HIGH)
    return search.low <= value <= search.high
