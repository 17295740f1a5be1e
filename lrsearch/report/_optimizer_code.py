"""Standalone code that rebuilds a trial's optimizer with plain torch: ``build_optimizer``.

It mirrors ``lrsearch.train.build_optimizer``: weight decay off normalisation and bias
parameters, the classifier head (the model's last ``nn.Linear``) at ``head_lr_mult`` times the
schedule's LR, and the optimizer's constructor line from the optimizer registry (the very
line lrsearch evaluates to train). Ranger is RAdam inside a copy of lrsearch's Lookahead class.
"""

from __future__ import annotations

import inspect
import pprint
import textwrap
from typing import Any

from lrsearch.optimizers import OptimizerSettings

__all__ = ["optimizer_code", "resolve_optimizer"]

_SCHEDULE_FREE_HEADER = '''\
# Schedule-free (pip install schedulefree): call optimizer.train() before training steps and
# optimizer.eval() before evaluating (and recompute BatchNorm statistics in train mode, under
# torch.no_grad(), on some training batches after optimizer.eval()).

import schedulefree  # noqa: E402
'''

_IMPORTS = '''\
# The optimizer of the trial: build_optimizer(model) gives the optimizer the schedule was found
# with; then scheduler = build_scheduler(optimizer, total_steps=epochs * steps_per_epoch).

import torch  # noqa: E402
from torch import nn  # noqa: E402
'''

_TEMPLATE = '''\
OPTIMIZER = {settings}

_NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm,
               nn.modules.instancenorm._InstanceNorm)


def param_groups(model_or_params, peak_lr=PEAK_LR):
    """Param groups: decay / no decay (norm layers, biases); the head at head_lr_mult.

    A plain iterable of parameters gives one group with weight decay on everything.
    """
    o = OPTIMIZER
    if not isinstance(model_or_params, nn.Module):
        return [{{"params": list(model_or_params), "lr": peak_lr,
                 "weight_decay": o["weight_decay"], "name": "all"}}]
    model = model_or_params
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    head_ids = {{id(p) for p in linears[-1].parameters()}} if linears else set()
    no_decay = {{id(p) for m in model.modules() for name, p in m.named_parameters(recurse=False)
                if isinstance(m, _NORM_TYPES) or name == "bias"}}
    buckets = {{"backbone": [], "backbone_no_decay": [], "head": [], "head_no_decay": []}}
    for p in model.parameters():
        if p.requires_grad:
            part = "head" if id(p) in head_ids else "backbone"
            buckets[part + ("_no_decay" if id(p) in no_decay else "")].append(p)
    groups = []
    for name, params in buckets.items():
        if params:
            mult = o["head_lr_mult"] if name.startswith("head") else 1.0
            decay = 0.0 if name.endswith("no_decay") else o["weight_decay"]
            groups.append({{"params": params, "lr": peak_lr * mult, "weight_decay": decay,
                           "name": name}})
    return groups


def build_optimizer(model_or_params, peak_lr=PEAK_LR):
    """The trial's {name} optimizer over a model (or an iterable of parameters)."""
    o = OPTIMIZER
    groups = param_groups(model_or_params, peak_lr)
    return {constructor}
'''

_LOOKAHEAD_HEADER = '''\
# Ranger is RAdam inside Lookahead; the class below is a copy of lrsearch's.

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from torch.optim import Optimizer  # noqa: E402
'''


def resolve_optimizer(settings: dict[str, Any]) -> dict[str, Any]:
    """Every setting of the trial's optimizer, the ones it did not store at their defaults.

    Example:
        >>> resolve_optimizer({"name": "sgd", "weight_decay": 0.0})
        {'name': 'sgd', 'weight_decay': 0.0, 'head_lr_mult': 1.0, 'momentum': 0.9, 'nesterov': True}
    """
    return OptimizerSettings(**settings).to_dict()


def optimizer_code(settings: dict[str, Any]) -> str:
    """Source defining ``OPTIMIZER``, ``param_groups`` and ``build_optimizer(model_or_params)``.

    Appended to ``ScheduleSpec.to_torch_code()`` (it uses that code's ``PEAK_LR``); imports
    only torch and the standard library, and ``schedulefree`` for a schedule-free optimizer.
    """
    optimizer = OptimizerSettings(**settings)
    resolved, info = optimizer.to_dict(), optimizer.info
    body = _TEMPLATE.format(settings=pprint.pformat(resolved, sort_dicts=False, width=96),
                            name=info.name, constructor=info.constructor)
    parts = [_IMPORTS, body]
    if info.schedule_free:
        parts = [parts[0], _SCHEDULE_FREE_HEADER, *parts[1:]]
    if info.uses_lookahead:
        from lrsearch.optimizers._lookahead import Lookahead

        source = textwrap.dedent(inspect.getsource(Lookahead)).strip() + "\n"
        parts = [parts[0], _LOOKAHEAD_HEADER, source, *parts[1:]]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"
