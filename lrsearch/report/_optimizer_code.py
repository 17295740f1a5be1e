"""Standalone code that rebuilds a trial's optimizer with plain torch: ``build_optimizer``.

It mirrors ``lrsearch.train.build_optimizer``: weight decay off normalisation and bias
parameters, the classifier head (the model's last ``nn.Linear``) at ``head_lr_mult`` times the
schedule's LR. Ranger is RAdam inside a copy of lrsearch's own Lookahead class.
"""

from __future__ import annotations

import inspect
import pprint
import textwrap
from dataclasses import asdict
from typing import Any

__all__ = ["optimizer_code", "resolve_optimizer"]

_ADAM_ARGS = "betas=(o['beta1'], o['beta2']), eps=o['eps']"
_CONSTRUCTORS = {
    "sgd": "torch.optim.SGD(groups, lr=peak_lr, momentum=o['momentum'], "
           "nesterov=o['nesterov'])",
    "adam": f"torch.optim.Adam(groups, lr=peak_lr, {_ADAM_ARGS})",
    "amsgrad": f"torch.optim.Adam(groups, lr=peak_lr, {_ADAM_ARGS}, amsgrad=True)",
    "adamw": f"torch.optim.AdamW(groups, lr=peak_lr, {_ADAM_ARGS})",
    "adamax": f"torch.optim.Adamax(groups, lr=peak_lr, {_ADAM_ARGS})",
    "radam": f"torch.optim.RAdam(groups, lr=peak_lr, {_ADAM_ARGS})",
    "ranger": f"Lookahead(torch.optim.RAdam(groups, lr=peak_lr, {_ADAM_ARGS}),\n"
              "                     k=o['lookahead_steps'], alpha=o['lookahead_alpha'])",
    # The one exception to "torch only": a schedule-free trial needs its optimizer package.
    "sgd_schedulefree": "schedulefree.SGDScheduleFree(groups, lr=peak_lr, "
                        "momentum=o['momentum'])",
    "adamw_schedulefree": "schedulefree.AdamWScheduleFree(groups, lr=peak_lr, "
                          "betas=(o['beta1'], o['beta2']), eps=o['eps'])",
}

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

TrainingError = ValueError  # lrsearch raises its own error type here
'''


def resolve_optimizer(settings: dict[str, Any]) -> dict[str, Any]:
    """Every optimizer setting, the ones a trial did not store at lrsearch's defaults.

    Example:
        >>> resolve_optimizer({"name": "sgd", "weight_decay": 0.0})["momentum"]
        0.9
    """
    from lrsearch.train import OptimizerSettings

    return asdict(OptimizerSettings(**settings))


def optimizer_code(settings: dict[str, Any]) -> str:
    """Source defining ``OPTIMIZER``, ``param_groups`` and ``build_optimizer(model_or_params)``.

    Appended to ``ScheduleSpec.to_torch_code()`` (it uses that code's ``PEAK_LR``); imports
    only torch and the standard library, and ``schedulefree`` for a schedule-free optimizer.
    """
    resolved = resolve_optimizer(settings)
    body = _TEMPLATE.format(settings=pprint.pformat(resolved, sort_dicts=False, width=96),
                            name=resolved["name"], constructor=_CONSTRUCTORS[resolved["name"]])
    parts = [_IMPORTS, body]
    if resolved["name"].endswith("_schedulefree"):
        parts = [parts[0], _SCHEDULE_FREE_HEADER, *parts[1:]]
    if resolved["name"] == "ranger":
        from lrsearch.train._lookahead import Lookahead

        source = textwrap.dedent(inspect.getsource(Lookahead)).strip() + "\n"
        parts = [parts[0], _LOOKAHEAD_HEADER, source, *parts[1:]]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"
