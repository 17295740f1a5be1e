"""Optimizers with per-layer LRs and weight decay kept off normalisation and bias parameters:
the registry's constructor over the param groups of :mod:`lrsearch.train._param_groups` (the
rule ``lrsearch export`` copies into its code).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from lrsearch.errors import TrainingError
from lrsearch.optimizers import OptimizerSettings, construct
from lrsearch.train import _param_groups
from lrsearch.train._networks import head_module
from lrsearch.train._param_groups import param_groups as group_rule

__all__ = ["build_optimizer", "param_group_code", "param_groups", "is_schedule_free"]

def param_groups(model: nn.Module, settings: OptimizerSettings,
                 peak_lr: float) -> list[dict[str, Any]]:
    """The trial's param groups (:func:`lrsearch.train._param_groups.param_groups`), each
    with a ``name``.

    Raises:
        TrainingError: The model has no ``nn.Linear`` (no head) or no backbone weight.
    """
    head_module(model)  # says so when there is no head
    groups = group_rule(model, peak_lr, settings.weight_decay, settings.head_lr_mult)
    if not groups or groups[0]["name"] != "backbone":
        raise TrainingError("model: no backbone weight to train; group 0 (the schedule's "
                            "reference LR) must be the backbone")
    return groups


def build_optimizer(model: nn.Module, settings: OptimizerSettings,
                    peak_lr: float) -> torch.optim.Optimizer:
    """The optimizer named in ``settings`` (its registry constructor) over :func:`param_groups`.

    Args:
        model: The model; its head is its last ``nn.Linear``.
        settings: Optimizer name and hyperparameters.
        peak_lr: The backbone's LR (group 0); the head gets ``peak_lr * head_lr_mult``.

    Raises:
        TrainingError: For a bad ``peak_lr``, a model without a backbone weight, or a
            missing optimizer package.

    Example:
        >>> from lrsearch.train._networks import build_model
        >>> opt = build_optimizer(build_model("small_cnn", 10),
        ...                       OptimizerSettings(head_lr_mult=2.0), peak_lr=0.1)
        >>> [(g["name"], g["lr"]) for g in opt.param_groups]
        [('backbone', 0.1), ('backbone_no_decay', 0.1), ('head', 0.2), ('head_no_decay', 0.2)]
    """
    if isinstance(peak_lr, bool) or not isinstance(peak_lr, (int, float)) or not peak_lr > 0:
        raise TrainingError(f"peak_lr: got {peak_lr!r}; must be a number > 0")
    return construct(settings, param_groups(model, settings, float(peak_lr)), float(peak_lr))


def is_schedule_free(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` needs ``.train()`` before steps and ``.eval()`` before evaluation.

    Example:
        >>> is_schedule_free(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
        False
    """
    return "train_mode" in optimizer.param_groups[0] and callable(getattr(optimizer, "eval",
                                                                            None))


def param_group_code() -> str:
    """The param-group rule's code as ``lrsearch export`` copies it: its module below the
    imports (``NORM_TYPES`` and ``param_groups``)."""
    source = inspect.getsource(_param_groups)
    return source[source.index("\nNORM_TYPES"):].strip()
