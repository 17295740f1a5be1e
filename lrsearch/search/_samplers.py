"""Build the Optuna sampler a study file asks for.

TPE (the default) runs multivariate with ``group=True``, which suits the conditional space (each
family has its own parameters), and with ``constant_liar`` so parallel workers do not all
propose the same point. ``gp`` and ``qmc`` need scipy, ``cmaes`` needs the ``cmaes`` package;
asking for one without it is a clear error, not a traceback.
"""

from __future__ import annotations

import importlib.util
import warnings

import optuna

from lrsearch.config import SamplerConfig
from lrsearch.errors import StudyError
from lrsearch.search._space import SearchSpace

__all__ = ["build_sampler"]

_NEEDS = {"gp": ("scipy",), "qmc": ("scipy",), "cmaes": ("cmaes",)}


def build_sampler(config: SamplerConfig, space: SearchSpace,
                  seed_offset: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler of ``config``; worker ``i`` passes ``seed_offset=i`` for its own stream.

    Raises:
        StudyError: When the sampler needs a package that is not installed.

    Example:
        >>> from lrsearch.config import SamplerConfig, parse_study
        >>> space = SearchSpace.from_config(parse_study({"name": "demo"}))
        >>> type(build_sampler(SamplerConfig(name="random"), space)).__name__
        'RandomSampler'
    """
    missing = [m for m in _NEEDS.get(config.name, ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise StudyError(f"sampler.name: got {config.name!r}; it needs the package(s) "
                         f"{missing}: pip install {' '.join(missing)} (or use tpe or random)")
    seed = None if config.seed is None else config.seed + seed_offset
    with warnings.catch_warnings():
        # TPE's multivariate/group/constant_liar options are marked experimental in Optuna.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _BUILDERS[config.name](config, space, seed)


def _tpe(config: SamplerConfig, space: SearchSpace, seed: int | None):
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=config.n_startup_trials,
                                      multivariate=True, group=True, constant_liar=True)


def _random(config: SamplerConfig, space: SearchSpace, seed: int | None):
    return optuna.samplers.RandomSampler(seed=seed)


def _gp(config: SamplerConfig, space: SearchSpace, seed: int | None):
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=config.n_startup_trials)


def _cmaes(config: SamplerConfig, space: SearchSpace, seed: int | None):
    # CMA-ES handles the numbers; the categoricals (family, optimizer) fall back to TPE.
    independent = optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=config.n_startup_trials,
                                        independent_sampler=independent,
                                        warn_independent_sampling=False)


def _qmc(config: SamplerConfig, space: SearchSpace, seed: int | None):
    return optuna.samplers.QMCSampler(qmc_type=config.qmc_type, scramble=True, seed=seed,
                                      warn_independent_sampling=False)


def _grid(config: SamplerConfig, space: SearchSpace, seed: int | None):
    return optuna.samplers.GridSampler(space.grid(config.grid_points), seed=seed)


_BUILDERS = {"tpe": _tpe, "random": _random, "gp": _gp, "cmaes": _cmaes, "qmc": _qmc,
             "grid": _grid}
