"""The cooldown probe of a training loop of the user's own (``lrsearch.optimize``).

As :mod:`lrsearch.train._probe` does for lrsearch's own loop: every param group's LR decays
linearly from its current value to zero over ``frac`` of the steps done so far, the user's
``evaluate`` scores the cooled model, and the weights, the optimizer's state (its LRs
included), the train/eval mode and torch's global RNG are put back. The user's
``train_step()`` does one optimizer step on the next batch (without stepping the scheduler);
the batches it draws are the user's to give: the run after the probe sees the ones after them
unless the loop draws the probe's from a source of its own.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import torch

from lrsearch.train._probe import probe_steps

__all__ = ["user_cooldown_probe"]


def user_cooldown_probe(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        train_step: Callable[[], Any], evaluate: Callable[[Any], Any],
                        frac: float, steps_done: int) -> tuple[Any, int, float]:
    """Cool down, evaluate and restore; ``(what evaluate returned, steps, seconds)``.

    Example:
        >>> model = torch.nn.Linear(2, 2)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        >>> def train_step():
        ...     optimizer.zero_grad(); model(torch.ones(1, 2)).sum().backward(); optimizer.step()
        >>> before = model.weight.clone()
        >>> value, steps, _ = user_cooldown_probe(model, optimizer, train_step,
        ...                                       lambda m: float(m.weight.detach().sum()), 0.5, 4)
        >>> steps, torch.equal(before, model.weight), value != float(before.detach().sum())
        (2, True, True)
    """
    start = time.perf_counter()
    steps = probe_steps(frac, steps_done)
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    groups = optimizer.param_groups
    start_lrs = [float(group["lr"]) for group in groups]
    devices = [p.device for p in model.parameters() if p.device.type == "cuda"][:1]
    try:
        with torch.random.fork_rng(devices=devices):
            model.train()
            for done in range(steps):
                for group, lr in zip(groups, start_lrs):
                    group["lr"] = lr * (1 - done / steps)
                train_step()
            value = evaluate(model)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad(set_to_none=True)
        model.train(was_training)
    return value, steps, time.perf_counter() - start
