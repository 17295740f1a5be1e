"""The param-group rule of every trial, standalone: ``lrsearch export`` copies this module's
code (below its imports) into ``best_schedule.py``, so the exported optimizer groups the
parameters exactly as training did. It may use nothing but ``torch.nn``.

Groups, in this order (empty ones left out): ``backbone`` (weights, with weight decay; group 0
is the schedule's reference LR), ``backbone_no_decay`` (biases and normalisation parameters),
``head`` (the classifier head's weight: the model's last ``nn.Linear``, at ``head_lr_mult``
times the LR) and ``head_no_decay`` (its bias).
"""

from torch import nn

NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm,
              nn.modules.instancenorm._InstanceNorm)


def param_groups(model, peak_lr, weight_decay, head_lr_mult):
    """Param groups: decay / no decay (norm layers, biases); the head (the model's last
    nn.Linear) at head_lr_mult times peak_lr. Each group has a "name"."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    head_ids = {id(p) for p in linears[-1].parameters()} if linears else set()
    no_decay = {id(p) for m in model.modules() for name, p in m.named_parameters(recurse=False)
                if isinstance(m, NORM_TYPES) or name == "bias"}
    buckets = {"backbone": [], "backbone_no_decay": [], "head": [], "head_no_decay": []}
    for p in model.parameters():
        if p.requires_grad:
            part = "head" if id(p) in head_ids else "backbone"
            buckets[part + ("_no_decay" if id(p) in no_decay else "")].append(p)
    groups = []
    for name, params in buckets.items():
        if params:
            mult = head_lr_mult if name.startswith("head") else 1.0
            decay = 0.0 if name.endswith("no_decay") else weight_decay
            groups.append({"params": params, "lr": peak_lr * mult, "weight_decay": decay,
                           "name": name})
    return groups
