"""Standalone code that rebuilds a trial's optimizer with plain torch: ``build_optimizer``.

It is ``lrsearch.train.build_optimizer``'s own code: the param-group rule copied from
:mod:`lrsearch.train._param_groups` (weight decay off normalisation and bias parameters, the
classifier head at ``head_lr_mult`` times the schedule's LR) and the optimizer's constructor
line from the optimizer registry (the very line lrsearch evaluates to train). Ranger is RAdam
inside a copy of lrsearch's Lookahead class.
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

{param_groups}


def build_optimizer(model_or_params, peak_lr=PEAK_LR):
    """The trial's {name} optimizer over a model (or an iterable of parameters: one group,
    weight decay on everything)."""
    o = OPTIMIZER
    if isinstance(model_or_params, nn.Module):
        groups = param_groups(model_or_params, peak_lr, o["weight_decay"], o["head_lr_mult"])
    else:
        groups = [{{"params": list(model_or_params), "lr": peak_lr,
                   "weight_decay": o["weight_decay"], "name": "all"}}]
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
    from lrsearch.train import param_group_code

    optimizer = OptimizerSettings(**settings)
    resolved, info = optimizer.to_dict(), optimizer.info
    body = _TEMPLATE.format(settings=pprint.pformat(resolved, sort_dicts=False, width=96),
                            param_groups=param_group_code(), name=info.name,
                            constructor=info.constructor)
    parts = [_IMPORTS, body]
    if info.schedule_free:
        parts = [parts[0], _SCHEDULE_FREE_HEADER, *parts[1:]]
    if info.uses_lookahead:
        from lrsearch.optimizers import Lookahead

        source = textwrap.dedent(inspect.getsource(Lookahead)).strip() + "\n"
        parts = [parts[0], _LOOKAHEAD_HEADER, source, *parts[1:]]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"
