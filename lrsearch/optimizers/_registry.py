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

from lrsearch.optimizers._hyperparams import (
    ADAM_PARAMS,
    DECOUPLED_WEIGHT_DECAY,
    HEAD_LR_MULT,
    LOOKAHEAD_ALPHA,
    LOOKAHEAD_STEPS,
    MOMENTUM,
    MOMENTUM_POSITIVE,
    NESTEROV,
    WEIGHT_DECAY,
)
from lrsearch.schedules import ParamInfo, SearchRange

__all__ = ["OptimizerInfo", "get_optimizer", "optimizer_names", "list_optimizers"]


@dataclass(frozen=True)
class OptimizerInfo:
    """An optimizer.

    Attributes:
        name: Its name in a study file (``search_space.optimizers``).
        summary: One line on what it is.
        params: Its own hyperparameters (``weight_decay`` and ``head_lr_mult`` are every
            optimizer's: :data:`~lrsearch.optimizers._hyperparams.GROUP_PARAMS`).
        constructor: The expression that builds it from ``groups`` (param groups),
            ``peak_lr`` and ``o`` (its settings), with ``torch`` imported.
        peak_lr: The default search range of its peak LR (a study's ``peak_lr`` overrides it):
            Adam-type optimizers train in other decades than SGD.
        weight_decay: Its ``weight_decay`` (decoupled for AdamW: another default).
        typical_peak_lr: The peak LR it is most often run at (SGD 0.1, the Adam family 1e-3):
            where a search's priors start, inside ``peak_lr``.
        package: A package it needs besides torch (imported under its own name), or None.
        cross_check: ``f(values) -> problems`` for rules that tie its settings together.
    """

    name: str
    summary: str
    params: tuple[ParamInfo, ...]
    constructor: str
    peak_lr: SearchRange
    weight_decay: ParamInfo = WEIGHT_DECAY
    typical_peak_lr: float = 1e-3
    package: str | None = None
    cross_check: Callable[[Mapping[str, Any]], list[str]] | None = None

    @property
    def all_params(self) -> tuple[ParamInfo, ...]:
        """Every setting it takes: the per-group ones first, then its own."""
        return (self.weight_decay, HEAD_LR_MULT, *self.params)

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
# Default peak-LR search ranges, three decades each: where SGD trains CIFAR-size networks, and
# the decades below where the Adam family does (torch's Adam default, 1e-3, near the middle).
_SGD_LR = SearchRange(1e-3, 1.0, log=True)
_ADAM_LR = SearchRange(1e-5, 1e-2, log=True)

_OPTIMIZERS = (
    OptimizerInfo("sgd", "SGD with (Nesterov) momentum", (MOMENTUM, NESTEROV),
                  "torch.optim.SGD(groups, lr=peak_lr, momentum=o['momentum'], "
                  "nesterov=o['nesterov'])", _SGD_LR, typical_peak_lr=0.1,
                  cross_check=_nesterov_needs_momentum),
    OptimizerInfo("adam", "Adam (L2 weight decay)", ADAM_PARAMS,
                  f"torch.optim.Adam(groups, lr=peak_lr, {_ADAM})", _ADAM_LR),
    OptimizerInfo("adamw", "AdamW (decoupled weight decay)", ADAM_PARAMS,
                  f"torch.optim.AdamW(groups, lr=peak_lr, {_ADAM})", _ADAM_LR,
                  weight_decay=DECOUPLED_WEIGHT_DECAY),
    OptimizerInfo("amsgrad", "Adam with the AMSGrad maximum", ADAM_PARAMS,
                  f"torch.optim.Adam(groups, lr=peak_lr, {_ADAM}, amsgrad=True)", _ADAM_LR),
    OptimizerInfo("adamax", "Adamax (infinity norm)", ADAM_PARAMS,
                  f"torch.optim.Adamax(groups, lr=peak_lr, {_ADAM})", _ADAM_LR),
    OptimizerInfo("radam", "RAdam (rectified Adam)", ADAM_PARAMS,
                  f"torch.optim.RAdam(groups, lr=peak_lr, {_ADAM})", _ADAM_LR),
    OptimizerInfo("ranger", "RAdam inside Lookahead", (*ADAM_PARAMS, LOOKAHEAD_STEPS,
                                                       LOOKAHEAD_ALPHA),
                  f"Lookahead(torch.optim.RAdam(groups, lr=peak_lr, {_ADAM}),\n"
                  f"                     k=o['lookahead_steps'], alpha=o['lookahead_alpha'])",
                  _ADAM_LR),
    # A constant LR after warm-up, the weights averaged by the optimizer. Their own
    # warmup_steps would scale the LR exactly as the spec's linear warm-up does, so the spec's
    # is the one used and the recorded LR curve stays truthful.
    OptimizerInfo("sgd_schedulefree", "schedule-free SGD (Defazio et al.)",
                  (MOMENTUM_POSITIVE,),
                  "schedulefree.SGDScheduleFree(groups, lr=peak_lr, momentum=o['momentum'])",
                  _SGD_LR, typical_peak_lr=0.1, package="schedulefree"),
    OptimizerInfo("adamw_schedulefree", "schedule-free AdamW (Defazio et al.)", ADAM_PARAMS,
                  f"schedulefree.AdamWScheduleFree(groups, lr=peak_lr, {_ADAM})", _ADAM_LR,
                  weight_decay=DECOUPLED_WEIGHT_DECAY, package="schedulefree"),
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
