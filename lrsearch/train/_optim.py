"""Optimizers with per-layer LRs and weight decay kept off normalisation and bias parameters.

Param groups, in this order (empty ones are left out):

0. ``backbone``: backbone weights, with weight decay. Group 0 is the reference LR of the
   schedule spec (``peak_lr``); the other groups keep their ratio to it.
1. ``backbone_no_decay``: backbone biases and normalisation parameters.
2. ``head``: the classifier head's weight (the last ``nn.Linear``), LR ``peak_lr * head_lr_mult``.
3. ``head_no_decay``: the head's bias, same LR as the head.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lrsearch.errors import TrainingError
from lrsearch.optimizers import OptimizerSettings, construct
from lrsearch.train._models import head_module

__all__ = ["build_optimizer", "param_groups", "is_schedule_free"]

_NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm,
               nn.modules.instancenorm._InstanceNorm)


def _no_decay_ids(model: nn.Module) -> set[int]:
    """ids of parameters that take no weight decay: all of norm layers, and every bias."""
    ids = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if isinstance(module, _NORM_TYPES) or name == "bias":
                ids.add(id(param))
    return ids


def param_groups(model: nn.Module, settings: OptimizerSettings,
                 peak_lr: float) -> list[dict[str, Any]]:
    """The param groups described in the module docstring, each with a ``name``."""
    head_ids = {id(p) for p in head_module(model).parameters()}
    no_decay = _no_decay_ids(model)
    buckets: dict[str, list[nn.Parameter]] = {
        "backbone": [], "backbone_no_decay": [], "head": [], "head_no_decay": []}
    for param in model.parameters():
        if not param.requires_grad:
            continue
        part = "head" if id(param) in head_ids else "backbone"
        buckets[part + ("_no_decay" if id(param) in no_decay else "")].append(param)
    if not buckets["backbone"]:
        raise TrainingError("model: no backbone weight to train; group 0 (the schedule's "
                            "reference LR) must be the backbone")
    groups = []
    for name, params in buckets.items():
        if params:
            lr = peak_lr * (settings.head_lr_mult if name.startswith("head") else 1.0)
            decay = 0.0 if name.endswith("no_decay") else settings.weight_decay
            groups.append({"params": params, "lr": lr, "weight_decay": decay, "name": name})
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
        >>> from lrsearch.train._models import build_model
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
