"""Random valid schedule specs drawn from the registry's declared ranges (not the search ranges).

Edges are drawn on purpose (about one value in six) because that is where off-by-one and
division-by-zero bugs live.
"""

from __future__ import annotations

import math
import random

from lrsearch.schedules import FamilyInfo, ParamInfo, ScheduleSpec, get_family


def _bounded_high(param: ParamInfo) -> float:
    if math.isfinite(param.high):
        return param.high
    return max((param.search.high or 1.0) * 4, param.low + 1.0)


def draw_value(param: ParamInfo, rng: random.Random):
    if param.kind == "choice":
        return rng.choice(param.choices)
    if param.kind == "bool":
        return rng.random() < 0.5
    if param.kind == "fractions":
        count = rng.randint(1, 4)
        return sorted({round(rng.uniform(0.01, 0.99), 4) for _ in range(count)})
    if param.kind == "knots":
        inner = sorted({round(rng.uniform(0.01, 0.99), 4) for _ in range(rng.randint(0, 4))})
        levels = [rng.choice([0.0, rng.uniform(0, 1.5)]) for _ in range(len(inner) + 2)]
        return [[p, m] for p, m in zip([0.0, *inner, 1.0], levels)]
    low, high = param.low, _bounded_high(param)
    if param.kind == "int":
        return rng.randint(int(low), int(min(high, 10)))
    while True:
        edge = rng.random()
        if edge < 0.08 and not param.low_open:
            value = low
        elif edge < 0.16 and not param.high_open and math.isfinite(param.high):
            value = high
        else:
            value = rng.uniform(low, high)
        if (value > low or not param.low_open) and (value < high or not param.high_open):
            return value


def draw_params(info: FamilyInfo, rng: random.Random) -> dict:
    params = {p.name: draw_value(p, rng) for p in info.params}
    if info.name == "onecycle" and params["three_phase"]:
        params["pct_start"] = min(params["pct_start"], rng.uniform(0.01, 0.49))
    return params


def draw_spec(family: str, rng: random.Random, *, warmup: bool = True,
              max_steps: int = 400) -> ScheduleSpec:
    info = get_family(family)
    total_steps = rng.choice([1, 2, 3, rng.randint(1, 50), rng.randint(1, max_steps),
                              rng.randint(1, max_steps)])
    warmup_frac = 0.0
    if warmup and rng.random() < 0.6:
        warmup_frac = rng.uniform(0.0, 0.5)
        if round(warmup_frac * total_steps) >= total_steps:
            warmup_frac = 0.0
    return ScheduleSpec(family, peak_lr=10 ** rng.uniform(-5, 1), total_steps=total_steps,
                        warmup_frac=warmup_frac, warmup_start=rng.choice([0.0, rng.random()]),
                        params=draw_params(info, rng))


def run_lrs(scheduler, optimizer, steps: int) -> list[list[float]]:
    """LRs of every group for steps 0..steps, stepping as a training loop does."""
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
    return lrs
