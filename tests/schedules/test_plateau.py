"""The plateau adapter: torch's ReduceLROnPlateau after the spec's warm-up, per-group floors."""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as sched

from lrsearch.schedules import ScheduleSpec

PARAMS = {"factor": 0.1, "patience": 0, "threshold": 1e-4, "threshold_mode": "rel",
          "cooldown": 0, "min_ratio": 0.0, "mode": "min"}


def _optimizer(*lrs: float):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}
                            for lr in lrs], lr=lrs[0])


def _lrs(optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


def test_a_metric_during_the_last_warmup_step_is_ignored_and_the_next_one_counts():
    spec = ScheduleSpec("plateau", peak_lr=0.2, total_steps=20, warmup_frac=0.2, params=PARAMS)
    assert spec.warmup_steps == 4
    optimizer = _optimizer(1.0)
    scheduler = spec.to_torch(optimizer)
    for _ in range(3):  # 3 of the 4 warm-up steps done: the warm-up still owns the LR
        optimizer.step()
        scheduler.step()
    warming = _lrs(optimizer)
    scheduler.step(1.0)
    assert _lrs(optimizer) == warming and scheduler.best == float("inf")  # ignored
    optimizer.step()
    scheduler.step()  # the warm-up is over: the peak, and metrics count from here
    assert _lrs(optimizer) == [pytest.approx(0.2)]
    scheduler.step(1.0)  # the first metric seen: an improvement on inf, no reduction
    assert scheduler.best == 1.0 and _lrs(optimizer) == [pytest.approx(0.2)]
    scheduler.step(2.0)  # worse, patience 0: reduce
    assert _lrs(optimizer) == [pytest.approx(0.02)]


def test_min_lr_is_min_ratio_times_each_groups_peak():
    params = {**PARAMS, "min_ratio": 0.05}
    spec = ScheduleSpec("plateau", peak_lr=0.1, total_steps=10, params=params)
    optimizer = _optimizer(0.1, 1.0)  # the head at 10x the backbone
    scheduler = spec.to_torch(optimizer)
    torch_opt = _optimizer(0.1, 1.0)
    theirs = sched.ReduceLROnPlateau(torch_opt, factor=0.1, patience=0, min_lr=[0.005, 0.05])
    history = []
    for metric in [1.0, 2.0, 2.0, 2.0, 2.0]:
        scheduler.step(metric)
        theirs.step(metric)
        history.append(_lrs(optimizer))
        assert _lrs(optimizer) == pytest.approx(_lrs(torch_opt))
    assert history[1] == pytest.approx([0.01, 0.1])
    assert history[-1] == pytest.approx([0.005, 0.05])  # each floored at 5% of its own peak
