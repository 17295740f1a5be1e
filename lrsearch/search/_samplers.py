"""Build the Optuna sampler a study file asks for, and say what each one models.

- ``tpe`` (the default): multivariate TPE with ``group=True``, which models each family's own
  parameters from the trials of that family (the space is conditional), and ``constant_liar``
  so parallel workers do not all propose the same point. Its good set is ``good_fraction`` of
  the finished trials (Optuna's 10% leaves 1-3 good trials at 20-40 trials: too few for a
  family's parameters to be modelled), and baselines and priors do not count towards its
  random start-up. With ``startup: spread`` the start-up draws spread over the
  space (each categorical at a least-tried choice, each number in the widest gap so far)
  instead of falling where chance puts them; with ``split: branch`` each conditional group
  (an optimizer's peak LR, a family's shape) is ranked among its own branch's trials; with
  ``min_trials_per_optimizer`` every optimizer gets that many searched trials first (all
  three measured, none a default: docs/search_quality.md).
- ``gp``: a Gaussian process over the parameters *every* trial has (Optuna's intersection
  search space: ``family``, the peak LR, and the shared numbers such as ``warmup_frac`` when no
  searched family warms up by itself); each family's own parameters are drawn by a TPE.
- ``cmaes``: CMA-ES over the numbers every trial has (the peak LR, shared numbers; CMA-ES takes
  no categoricals, so not ``family``); everything else, ``family`` included, by a TPE.
- ``qmc``: a scrambled Sobol (or Halton) sequence over the parameters of the study's first
  trial; parameters that trial did not have (other families') are drawn at random.
- ``random``: every value at random.
- ``grid``: every point of a finite grid (``points_per_param`` values per searched number) in
  random order, by Optuna's BruteForceSampler walking the conditional tree of the space; the
  study ends when the grid is walked. Grids over :data:`MAX_GRID_SIZE` trials are refused.

Baseline trials outside the search space are hidden from the samplers that model the study as
a whole: a preset baseline (fixed spec, no parameters) would empty the intersection search
space of ``gp`` and ``cmaes`` and leave ``qmc`` with no parameters at all, and any baseline
would break the grid's tree (its values need not be grid values).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna._transform import _SearchSpaceTransform
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from lrsearch.config import SamplerConfig, StudyConfig
from lrsearch.errors import StudyError
from lrsearch.records import OPTIMIZER_PARAM, is_baseline, is_preset, is_prior
from lrsearch.search._space import MAX_GRID_SIZE, SearchSpace, grid_size

__all__ = ["build_sampler", "sampler_problems", "grid_walked", "MAX_GRID_SIZE"]

Hidden = Callable[[FrozenTrial], bool]


def build_sampler(config: SamplerConfig, space: SearchSpace, worker_index: int = 0,
                  trials_before: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler of ``config`` for worker ``worker_index``, seeded by
    :meth:`~lrsearch.config.SamplerConfig.worker_seed`.

    Raises:
        StudyError: When a grid is larger than :data:`MAX_GRID_SIZE` trials.

    Example:
        >>> from lrsearch.config import SamplerConfig, parse_study
        >>> space = SearchSpace.from_config(parse_study({"name": "demo"}))
        >>> type(build_sampler(SamplerConfig(name="random"), space)).__name__
        'RandomSampler'
    """
    problems = _grid_problems(config, space)
    if problems:
        raise StudyError(problems[0])
    seed = config.worker_seed(worker_index, trials_before)
    with warnings.catch_warnings():
        # TPE's multivariate/group/constant_liar and BruteForceSampler are experimental.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _BUILDERS[config.name](config, space, seed)


def sampler_problems(config: StudyConfig) -> list[str]:
    """Why the sampler of a checked study file cannot run (for ``lrsearch validate``)."""
    return _grid_problems(config.sampler, SearchSpace.from_config(config))


def grid_walked(study: optuna.Study, space: SearchSpace, running: bool = False) -> bool:
    """Whether every point of a grid space has been tried, or with ``running`` is being tried
    (False for other spaces)."""
    if space.grid_points is None:
        return False
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) + (
        (TrialState.RUNNING,) if running else ())
    points = {tuple(sorted(t.params.items())) for t in
              study.get_trials(deepcopy=False, states=states) if not is_baseline(t)}
    return len(points) >= grid_size(space)


def _grid_problems(config: SamplerConfig, space: SearchSpace) -> list[str]:
    if config.name != "grid":
        return []
    size = grid_size(space)
    if size <= MAX_GRID_SIZE:
        return []
    return [f"sampler.points_per_param: got {config.points_per_param}; the grid would be "
            f"{size:,} trials (at most {MAX_GRID_SIZE:,}): lower points_per_param, fix some "
            f"parameters or search fewer families, or use tpe"]


def _tpe(config: SamplerConfig, space: SearchSpace, seed: int | None
         ) -> optuna.samplers.BaseSampler:
    sampler = _TPESampler(config.n_startup_trials, config.good_fraction, seed=seed,
                          multivariate=True, group=True, constant_liar=True)
    sampler.by_branch = config.split == "branch"
    if config.min_trials_per_optimizer and len(space.optimizers) > 1:
        sampler.optimizer_floor = (list(space.optimizers), config.min_trials_per_optimizer)
    if config.startup == "spread":
        # TPESampler draws its start-up trials' values from this field's sampler.
        sampler._random_sampler = _SpreadSampler(seed=seed)
    return sampler


_MAX_GOOD_TRIALS = 25  # Optuna's own cap on the good set


class _TPESampler(optuna.samplers.TPESampler):
    """TPE whose random start-up counts searched trials only: baselines and priors are
    evidence the model learns from, but they do not use up the random start-up trials (they
    are few, fixed points, not a random cover of the space).

    ``by_branch`` (``split: branch``): a group of conditional parameters is split into good
    and bad among the trials that have it, not among all trials. ``optimizer_floor``
    (``(optimizers, trials)``, from ``min_trials_per_optimizer``): while a searched optimizer
    has fewer trials, the optimizer is drawn as a least-tried one, out of TPE's joint model.
    """

    by_branch = False
    optimizer_floor: tuple[list[str], int] | None = None

    def __init__(self, n_startup_trials: int, good_fraction: float, **kwargs: Any) -> None:
        super().__init__(n_startup_trials=n_startup_trials, **kwargs)
        self._random_startup_trials = n_startup_trials
        # TPESampler's ``gamma`` argument is deprecated (Optuna 4.9) but its field is what
        # splits the trials; set here, it needs no deprecated argument.
        self._gamma = lambda n: min(math.ceil(good_fraction * n), _MAX_GOOD_TRIALS)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        finished = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,
                                                             TrialState.PRUNED), use_cache=True)
        yardsticks = sum(1 for t in finished if is_baseline(t) or is_prior(t))
        # TPESampler counts every finished trial against its start-up; this is its own field.
        self._n_startup_trials = self._random_startup_trials + yardsticks
        super().before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial
                                    ) -> dict[str, Any]:
        space = super().infer_relative_search_space(study, trial)
        if self._short_optimizers(study, trial):
            space.pop(OPTIMIZER_PARAM, None)
        return space

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: Any) -> Any:
        if param_name == OPTIMIZER_PARAM:
            short = self._short_optimizers(study, trial)
            if short:
                return short[self._rng.rng.randint(len(short))]
        return super().sample_independent(study, trial, param_name, param_distribution)

    def _sample(self, study: Any, trial: FrozenTrial, search_space: dict[str, Any]
                ) -> dict[str, Any]:
        if self.by_branch:
            names, real = search_space.keys(), study
            study = _View(real, lambda t: not names <= self._get_params(t, real).keys())
        return super()._sample(study, trial, search_space)

    def _short_optimizers(self, study: optuna.Study, trial: FrozenTrial) -> list[str]:
        """The least-tried optimizers while one has fewer searched trials than the floor."""
        if self.optimizer_floor is None:
            return []
        names, floor = self.optimizer_floor
        counts = dict.fromkeys(names, 0)
        for other in study._get_trials(deepcopy=False, use_cache=False):
            name = other.params.get(OPTIMIZER_PARAM)
            if (other.number != trial.number and name in counts and other.state != TrialState.FAIL
                    and not is_baseline(other) and not is_prior(other)):
                counts[name] += 1
        least = min(counts.values())
        return [] if least >= floor else [name for name in names if counts[name] == least]


class _SpreadSampler(optuna.samplers.RandomSampler):
    """Random draws that fill the space the study has left empty, one parameter at a time.

    A categorical takes one of its least-tried choices (ties at random), so five draws after
    the priors meet five families and both optimizers; a number is drawn uniformly in the
    widest gap between the bounds and the values tried so far (on Optuna's transformed scale:
    log for a log range), so the peak LR's far ends are tried early. Every trial the study
    holds counts, running and queued ones included (parallel workers spread too).
    """

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: Any) -> Any:
        tried = [t.params[param_name] for t in study._get_trials(deepcopy=False,
                                                                   use_cache=False)
                 if param_name in t.params and t.number != trial.number
                 and t.state != TrialState.FAIL]
        rng = self._rng.rng
        if isinstance(param_distribution, CategoricalDistribution):
            counts = [0] * len(param_distribution.choices)
            for value in tried:
                counts[param_distribution.to_internal_repr(value)] += 1
            least = [i for i, count in enumerate(counts) if count == min(counts)]
            return param_distribution.choices[least[rng.randint(len(least))]]
        transform = _SearchSpaceTransform({param_name: param_distribution})
        low, high = transform.bounds[0]
        cuts = sorted([low, high] + [float(transform.transform({param_name: v})[0])
                                     for v in tried])
        widest = max(range(len(cuts) - 1), key=lambda i: cuts[i + 1] - cuts[i])
        value = rng.uniform(cuts[widest], cuts[widest + 1])
        return transform.untransform(np.array([value]))[param_name]


def _random(config: SamplerConfig, space: SearchSpace, seed: int | None
            ) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _gp(config: SamplerConfig, space: SearchSpace, seed: int | None
        ) -> optuna.samplers.BaseSampler:
    independent = optuna.samplers.TPESampler(seed=seed)
    return _HideTrials(optuna.samplers.GPSampler(
        seed=seed, n_startup_trials=config.n_startup_trials, independent_sampler=independent,
        warn_independent_sampling=False), is_preset, seed)


def _cmaes(config: SamplerConfig, space: SearchSpace, seed: int | None
           ) -> optuna.samplers.BaseSampler:
    independent = optuna.samplers.TPESampler(seed=seed)
    return _HideTrials(optuna.samplers.CmaEsSampler(
        seed=seed, n_startup_trials=config.n_startup_trials, independent_sampler=independent,
        warn_independent_sampling=False), is_preset, seed)


def _qmc(config: SamplerConfig, space: SearchSpace, seed: int | None
         ) -> optuna.samplers.BaseSampler:
    return _HideTrials(optuna.samplers.QMCSampler(
        qmc_type=config.qmc_type, scramble=True, seed=seed, warn_independent_sampling=False),
        is_preset, seed)


def _grid(config: SamplerConfig, space: SearchSpace, seed: int | None
          ) -> optuna.samplers.BaseSampler:
    return _HideTrials(optuna.samplers.BruteForceSampler(seed=seed), is_baseline, seed)


_BUILDERS = {"tpe": _tpe, "random": _random, "gp": _gp, "cmaes": _cmaes, "qmc": _qmc,
             "grid": _grid}


class _HideTrials(optuna.samplers.BaseSampler):
    """``inner`` sampling as if the study held none of the trials that ``hidden`` picks.

    A hidden trial itself gets no relative sampling, and what it leaves open (a grid
    baseline's peak LR) is drawn at random.
    """

    def __init__(self, inner: optuna.samplers.BaseSampler, hidden: Hidden,
                 seed: int | None) -> None:
        self.inner, self.hidden = inner, hidden
        self.fallback = optuna.samplers.RandomSampler(seed=seed)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial
                                    ) -> dict[str, Any]:
        if self.hidden(trial):
            return {}
        return self.inner.infer_relative_search_space(_View(study, self.hidden), trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, Any]) -> dict[str, Any]:
        if self.hidden(trial) or not search_space:
            return {}
        return self.inner.sample_relative(_View(study, self.hidden), trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: Any) -> Any:
        sampler = self.fallback if self.hidden(trial) else self.inner
        return sampler.sample_independent(_View(study, self.hidden), trial, param_name,
                                          param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.inner.before_trial(_View(study, self.hidden), trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Any) -> None:
        if not self.hidden(trial):
            self.inner.after_trial(_View(study, self.hidden), trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()
        self.fallback.reseed_rng()


class _View:
    """The study as ``_HideTrials``' inner sampler sees it: hidden trials left out.

    Samplers read trials through ``study._get_trials`` / ``get_trials`` or straight from
    ``study._storage.get_all_trials`` (BruteForceSampler); all of them are filtered here, and
    everything else (writing system attributes, ``stop``) goes to the real study.
    """

    def __init__(self, study: Any, hidden: Hidden) -> None:
        self._study, self._hidden = study, hidden
        self._storage = _FilteredStorage(study._storage, hidden)

    def _get_trials(self, deepcopy: bool = True, states: Any = None,
                    use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return [t for t in trials if not self._hidden(t)]

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


class _FilteredStorage:
    """A storage whose ``get_all_trials`` leaves out the hidden trials."""

    def __init__(self, storage: Any, hidden: Hidden) -> None:
        self._inner, self._hidden = storage, hidden

    def get_all_trials(self, study_id: int, deepcopy: bool = True, states: Any = None
                       ) -> list[FrozenTrial]:
        trials = self._inner.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        return [t for t in trials if not self._hidden(t)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
