"""The optimizer registry: every optimizer lrsearch trains with, declared once.

An entry holds the optimizer's own hyperparameters (besides the per-group ``weight_decay`` and
``head_lr_mult`` every optimizer takes), a rule that ties them together, and its constructor
written as the one line of Python that the torch-only export prints. Building an optimizer
evaluates that same line, so the exported code cannot drift from what trained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lrsearch.optimizers._params import (
    ADAM_PARAMS,
    GROUP_PARAMS,
    LOOKAHEAD_ALPHA,
    LOOKAHEAD_STEPS,
    MOMENTUM,
    MOMENTUM_POSITIVE,
    NESTEROV,
)
from lrsearch.schedules import ParamInfo

__all__ = ["OptimizerInfo", "get_optimizer", "optimizer_names", "list_optimizers"]


@dataclass(frozen=True)
class OptimizerInfo:
    """An optimizer.

    Attributes:
        name: Its name in a study file (``search_space.optimizers``).
        summary: One line on what it is.
        params: Its own hyperparameters (``weight_decay`` and ``head_lr_mult`` are every
            optimizer's: :data:`~lrsearch.optimizers._params.GROUP_PARAMS`).
        constructor: The expression that builds it from ``groups`` (param groups),
            ``peak_lr`` and ``o`` (its settings), with ``torch`` imported.
        package: A package it needs besides torch (imported under its own name), or None.
        cross_check: ``f(values) -> problems`` for rules that tie its settings together.
    """

    name: str
    summary: str
    params: tuple[ParamInfo, ...]
    constructor: str
    package: str | None = None
    cross_check: Callable[[Mapping[str, Any]], list[str]] | None = None

    @property
    def all_params(self) -> tuple[ParamInfo, ...]:
        """Every setting it takes: the per-group ones first, then its own."""
        return (*GROUP_PARAMS, *self.params)

    def param(self, name: str) -> ParamInfo | None:
        """Its setting called ``name``, or None."""
        return next((p for p in self.all_params if p.name == name), None)

    @property
    def uses_lookahead(self) -> bool:
        """Whether it wraps its inner optimizer in lrsearch's Lookahead."""
        return "Lookahead(" in self.constructor

    @property
    def schedule_free(self) -> bool:
        """Whether it is one of Defazio et al.'s schedule-free optimizers."""
        return self.package == "schedulefree"


def _nesterov_needs_momentum(values: Mapping[str, Any]) -> list[str]:
    if values.get("nesterov") and values.get("momentum", 1.0) <= 0:
        return [f"nesterov: got True with momentum {values['momentum']!r}; Nesterov momentum "
                f"needs momentum > 0"]
    return []


_ADAM = "betas=(o['beta1'], o['beta2']), eps=o['eps']"

_OPTIMIZERS = (
    OptimizerInfo("sgd", "SGD with (Nesterov) momentum", (MOMENTUM, NESTEROV),
                  "torch.optim.SGD(groups, lr=peak_lr, momentum=o['momentum'], "
                  "nesterov=o['nesterov'])", cross_check=_nesterov_needs_momentum),
    OptimizerInfo("adam", "Adam (L2 weight decay)", ADAM_PARAMS,
                  f"torch.optim.Adam(groups, lr=peak_lr, {_ADAM})"),
    OptimizerInfo("adamw", "AdamW (decoupled weight decay)", ADAM_PARAMS,
                  f"torch.optim.AdamW(groups, lr=peak_lr, {_ADAM})"),
    OptimizerInfo("amsgrad", "Adam with the AMSGrad maximum", ADAM_PARAMS,
                  f"torch.optim.Adam(groups, lr=peak_lr, {_ADAM}, amsgrad=True)"),
    OptimizerInfo("adamax", "Adamax (infinity norm)", ADAM_PARAMS,
                  f"torch.optim.Adamax(groups, lr=peak_lr, {_ADAM})"),
    OptimizerInfo("radam", "RAdam (rectified Adam)", ADAM_PARAMS,
                  f"torch.optim.RAdam(groups, lr=peak_lr, {_ADAM})"),
    OptimizerInfo("ranger", "RAdam inside Lookahead", (*ADAM_PARAMS, LOOKAHEAD_STEPS,
                                                       LOOKAHEAD_ALPHA),
                  f"Lookahead(torch.optim.RAdam(groups, lr=peak_lr, {_ADAM}),\n"
                  f"                     k=o['lookahead_steps'], alpha=o['lookahead_alpha'])"),
    # A constant LR after warm-up, the weights averaged by the optimizer. Their own
    # warmup_steps would scale the LR exactly as the spec's linear warm-up does, so the spec's
    # is the one used and the recorded LR curve stays truthful.
    OptimizerInfo("sgd_schedulefree", "schedule-free SGD (Defazio et al.)",
                  (MOMENTUM_POSITIVE,),
                  "schedulefree.SGDScheduleFree(groups, lr=peak_lr, momentum=o['momentum'])",
                  package="schedulefree"),
    OptimizerInfo("adamw_schedulefree", "schedule-free AdamW (Defazio et al.)", ADAM_PARAMS,
                  f"schedulefree.AdamWScheduleFree(groups, lr=peak_lr, {_ADAM})",
                  package="schedulefree"),
)
_BY_NAME = {info.name: info for info in _OPTIMIZERS}


def list_optimizers() -> list[OptimizerInfo]:
    """Every registered optimizer.

    Example:
        >>> [p.name for p in get_optimizer("sgd").all_params]
        ['weight_decay', 'head_lr_mult', 'momentum', 'nesterov']
    """
    return list(_OPTIMIZERS)


def optimizer_names() -> tuple[str, ...]:
    """The names of the registered optimizers, in registry order."""
    return tuple(_BY_NAME)


def get_optimizer(name: str) -> OptimizerInfo | None:
    """The optimizer called ``name``, or None."""
    return _BY_NAME.get(name)
