"""Optimizers: one registry entry each (hyperparameters, defaults, rules, constructor).

Pure like :mod:`lrsearch.schedules`: importing it loads no torch; building an optimizer
(:func:`construct`) and the Lookahead wrapper load it.

Example:
    >>> from lrsearch.optimizers import OptimizerSettings, get_optimizer
    >>> OptimizerSettings("adam").beta2, get_optimizer("adam").param("beta2").rule()
    (0.999, 'must be a number in [0, 1)')
"""

from lrsearch.optimizers._build import construct
from lrsearch.optimizers._hyperparams import GROUP_PARAMS, HEAD_LR_MULT
from lrsearch.optimizers._optimizer_settings import OptimizerSettings, optimizer_problems
from lrsearch.optimizers._registry import (
    OptimizerInfo,
    get_optimizer,
    list_optimizers,
    optimizer_names,
)

__all__ = ["GROUP_PARAMS", "HEAD_LR_MULT", "Lookahead", "OptimizerInfo", "OptimizerSettings",
           "construct", "get_optimizer",
           "list_optimizers", "optimizer_names", "optimizer_problems"]


def __getattr__(name: str):
    """``Lookahead`` (a torch optimizer) loads torch: only when it is asked for."""
    if name == "Lookahead":
        from lrsearch.optimizers._lookahead import Lookahead

        return Lookahead
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
