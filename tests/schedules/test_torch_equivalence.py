"""Each family with a "torch equivalent" (docs/schedules.md) equals it at every step.

Many random valid draws per family (peak LR, length, parameters), relative error <= 1e-6.

Equality is checked with ONE param group. With several groups lrsearch scales every level that
torch takes as one absolute value (CosineAnnealingLR's eta_min, CosineAnnealingWarmRestarts'
eta_min, CyclicLR's base_lr, ReduceLROnPlateau's min_lr) per group, so per-layer LR ratios hold
all the way down; torch given the same one value for all groups differs in the other groups.
Where torch takes per-group lists (CyclicLR base_lr/max_lr, ReduceLROnPlateau min_lr), torch
given those lists is equal again: see the multi-group tests at the end.
"""

from __future__ import annotations

import math
import random

import pytest
import torch
from torch.optim import lr_scheduler as sched

from lrsearch.schedules import ScheduleSpec, get_family
from tests.schedules._draw import draw_params, run_lrs

DRAWS = 60
REL_TOL = 1e-6


def first_cycle_steps(n: int, cycles: int, cycle_mult: int) -> int:
    """torch's T_0 for the spec's SGDR cycles: whole steps, the cycles ending at or after n."""
    return max(1, math.ceil(n / sum(cycle_mult ** i for i in range(cycles))))


def cycle_steps(n: int, cycles: int, up_frac: float) -> tuple[float, float]:
    """torch's (step_size_up, step_size_down) for the spec's cycles: fractional, filling n."""
    return up_frac * (n / cycles), n / cycles - up_frac * (n / cycles)


def _reference(family: str, p: dict, optimizer, n: int, peak: float):
    """The torch scheduler docs/schedules.md names, built with the equivalent arguments."""
    if family == "step":
        return sched.StepLR(optimizer, step_size=max(1, round(p["step_frac"] * n)),
                            gamma=p["gamma"])
    if family == "multistep":
        return sched.MultiStepLR(optimizer, [round(m * n) for m in p["milestones"]], p["gamma"])
    if family == "exponential":
        return sched.ExponentialLR(optimizer, gamma=p["final_ratio"] ** (1 / n))
    if family == "poly":
        return sched.PolynomialLR(optimizer, total_iters=n, power=p["power"])
    if family == "linear":
        return sched.LinearLR(optimizer, 1.0, p["final_ratio"], total_iters=n)
    if family == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=n, eta_min=p["final_ratio"] * peak)
    if family == "cosine_restarts":
        return sched.CosineAnnealingWarmRestarts(
            optimizer, T_0=first_cycle_steps(n, p["cycles"], p["cycle_mult"]),
            T_mult=p["cycle_mult"],
            eta_min=p["final_ratio"] * peak)
    if family == "onecycle":
        return sched.OneCycleLR(
            optimizer, max_lr=peak, total_steps=n, pct_start=p["pct_start"],
            anneal_strategy=p["anneal"], div_factor=p["div_factor"],
            final_div_factor=p["final_div_factor"], three_phase=p["three_phase"],
            cycle_momentum=False)
    if family == "cyclic":
        up, down = cycle_steps(n, p["cycles"], p["up_frac"])
        return sched.CyclicLR(
            optimizer, base_lr=p["base_ratio"] * peak, max_lr=peak, step_size_up=up,
            step_size_down=down, mode=p["mode"], gamma=p["gamma"], cycle_momentum=False)
    raise AssertionError(family)


def _torch_lrs(scheduler, optimizer, steps: int) -> list[float]:
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def _optimizer(peak: float):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak)


def _assert_close(ours: list[float], theirs: list[float], context: str, peak: float) -> None:
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-15 * peak), \
            f"{context}: step {step}: lrsearch {a!r} != torch {b!r}"


TORCH_FAMILIES = ["step", "multistep", "exponential", "poly", "linear", "cosine",
                  "cosine_restarts", "onecycle", "cyclic"]


@pytest.mark.parametrize("family", TORCH_FAMILIES)
def test_family_equals_torch_on_random_draws(family):
    rng = random.Random(f"torch-{family}")
    for draw in range(DRAWS):
        n = rng.choice([1, 2, 5, rng.randint(1, 60), rng.randint(60, 1500)])
        params = draw_params(get_family(family), rng)
        if family == "poly":
            params["final_ratio"] = 0.0  # the spec contract: PolynomialLR when final_ratio == 0
        if family == "onecycle":
            n = max(n, 2)
            if params["pct_start"] * n == 1.0:  # torch divides by zero there
                continue
        peak = 10 ** rng.uniform(-5, 1)
        spec = ScheduleSpec(family, peak_lr=peak, total_steps=n, params=params)
        optimizer = _optimizer(peak)
        reference = _reference(family, params, optimizer, n, peak)
        # torch's OneCycleLR ends at step n - 1 (step n + 1 raises); the others run to n.
        last = n - 1 if family == "onecycle" else n
        context = f"{family} draw {draw}: n={n} peak={peak!r} params={params}"
        _assert_close([spec.lr(k) for k in range(last + 1)],
                      _torch_lrs(reference, optimizer, last), context, peak)


def test_every_family_marked_same_as_torch_is_checked():
    from lrsearch.schedules import list_families

    marked = {f.name for f in list_families() if f.torch_equivalent and not f.metric_driven}
    assert marked == set(TORCH_FAMILIES)


@pytest.mark.parametrize("family", ["cosine", "constant", "wsd"])
def test_warmup_equals_torch_linear_lr(family):
    rng = random.Random(f"warmup-{family}")
    for draw in range(DRAWS):
        total = rng.randint(2, 800)
        warmup_frac = rng.uniform(0.01, 0.6)
        warmup_steps = round(warmup_frac * total)
        if not 0 < warmup_steps < total:
            continue
        start = rng.choice([1.0, rng.uniform(1e-4, 1.0)])  # torch wants start_factor > 0
        peak = 10 ** rng.uniform(-4, 0)
        spec = ScheduleSpec(family, peak_lr=peak, total_steps=total, warmup_frac=warmup_frac,
                            warmup_start=start, params=draw_params(get_family(family), rng))
        optimizer = _optimizer(peak)
        reference = sched.LinearLR(optimizer, start_factor=start, total_iters=warmup_steps)
        theirs = _torch_lrs(reference, optimizer, warmup_steps)
        _assert_close([spec.lr(s) for s in range(warmup_steps + 1)], theirs,
                      f"warm-up draw {draw}", peak)


@pytest.mark.parametrize("family", ["cosine", "step", "onecycle"])
def test_family_after_warmup_is_the_torch_scheduler_shifted(family):
    rng = random.Random(f"shift-{family}")
    for _ in range(20):
        total = rng.randint(20, 600)
        spec = ScheduleSpec(family, peak_lr=0.3, total_steps=total, warmup_frac=0.2,
                            warmup_start=0.1, params=draw_params(get_family(family), rng))
        n = total - spec.warmup_steps
        if family == "onecycle" and spec.params["pct_start"] * n == 1.0:
            continue
        optimizer = _optimizer(0.3)
        reference = _reference(family, dict(spec.params), optimizer, n, 0.3)
        last = n - 1 if family == "onecycle" else n
        _assert_close([spec.lr(spec.warmup_steps + k) for k in range(last + 1)],
                      _torch_lrs(reference, optimizer, last), family, 0.3)


def test_plateau_adapter_equals_torch_reduce_lr_on_plateau():
    rng = random.Random("plateau")
    for _ in range(DRAWS):
        params = draw_params(get_family("plateau"), rng)
        peak = 10 ** rng.uniform(-4, 0)
        spec = ScheduleSpec("plateau", peak_lr=peak, total_steps=100, params=params)
        ours_opt, torch_opt = _optimizer(1.0), _optimizer(peak)
        ours = spec.to_torch(ours_opt)
        theirs = sched.ReduceLROnPlateau(
            torch_opt, mode=params["mode"], factor=params["factor"], patience=params["patience"],
            threshold=params["threshold"], threshold_mode=params["threshold_mode"],
            cooldown=params["cooldown"], min_lr=params["min_ratio"] * peak)
        assert isinstance(ours, sched.ReduceLROnPlateau)
        metric = 1.0
        for epoch in range(40):
            # a metric that improves, stalls and wobbles
            metric += rng.choice([-0.1, 0.0, 0.0, 1e-5, 0.05])
            ours.step(metric)
            theirs.step(metric)
            a, b = ours_opt.param_groups[0]["lr"], torch_opt.param_groups[0]["lr"]
            assert math.isclose(a, b, rel_tol=REL_TOL), f"epoch {epoch}: {a} != {b}"


@pytest.mark.parametrize("n", [50, 97, 1000])
@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
@pytest.mark.parametrize("cycles, up_frac", [(1, 0.5), (3, 0.3), (7, 0.8)])
def test_cyclic_cycles_fill_the_horizon_exactly(n, mode, cycles, up_frac):
    """The horizon is a cycle's low point: a trial is never judged mid-cycle."""
    params = {"base_ratio": 0.1, "cycles": cycles, "up_frac": up_frac, "mode": mode,
              "gamma": 1.0}
    spec = ScheduleSpec("cyclic", peak_lr=1.0, total_steps=n, params=params)
    assert spec.lr(n) == pytest.approx(0.1, abs=1e-9)
    assert spec.lr(n - 1) < spec.lr(n - 2)  # the last update is on the way down


@pytest.mark.parametrize("n", [50, 97, 1000])
@pytest.mark.parametrize("cycles, cycle_mult", [(1, 1), (4, 1), (3, 2), (2, 3)])
def test_sgdr_cycles_end_at_the_horizon_never_after_a_restart(n, cycles, cycle_mult):
    first = first_cycle_steps(n, cycles, cycle_mult)
    length = first * sum(cycle_mult ** i for i in range(cycles))  # steps of all the cycles
    assert n <= length < n + sum(cycle_mult ** i for i in range(cycles))  # whole steps only
    spec = ScheduleSpec("cosine_restarts", peak_lr=1.0, total_steps=n,
                        params={"cycles": cycles, "cycle_mult": cycle_mult, "final_ratio": 0.0})
    lrs = [spec.lr(k) for k in range(n)]
    assert all(b < a for a, b in zip(lrs[-(first // 2):], lrs[-(first // 2) + 1:]))
    assert lrs[-1] <= 0.5 * (1 - math.cos(math.pi * (length - n + 1) / first)) + 1e-12


def _two_groups(lrs: tuple[float, float]):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}
                            for lr in lrs], lr=lrs[0])


def test_multi_group_levels_scale_per_group_unlike_torchs_one_absolute_value():
    """cosine's floor is final_ratio * each group's peak; torch's eta_min is one value."""
    peaks, n = (0.1, 1.0), 20
    spec = ScheduleSpec("cosine", peak_lr=peaks[0], total_steps=n, params={"final_ratio": 0.1})
    ours_opt = _two_groups(peaks)
    ours = run_lrs(spec.to_torch(ours_opt), ours_opt, n)
    torch_opt = _two_groups(peaks)
    theirs = run_lrs(sched.CosineAnnealingLR(torch_opt, T_max=n, eta_min=0.1 * peaks[0]),
                         torch_opt, n)
    _assert_close([row[0] for row in ours], [row[0] for row in theirs], "group 0", peaks[0])
    assert ours[-1] == pytest.approx([0.01, 0.1])  # each group ends at 10% of its own peak
    assert theirs[-1] == pytest.approx([0.01, 0.01])  # torch: one eta_min for every group


def test_multi_group_cyclic_equals_torch_given_per_group_lists():
    peaks, n = (0.05, 0.5), 60
    params = {"base_ratio": 0.2, "cycles": 4, "up_frac": 0.4, "mode": "exp_range",
              "gamma": 0.99}
    spec = ScheduleSpec("cyclic", peak_lr=peaks[0], total_steps=n, params=params)
    ours_opt = _two_groups(peaks)
    ours = run_lrs(spec.to_torch(ours_opt), ours_opt, n)
    torch_opt = _two_groups(peaks)
    reference = sched.CyclicLR(torch_opt, base_lr=[0.2 * p for p in peaks], max_lr=list(peaks),
                               step_size_up=6.0, step_size_down=9.0, mode="exp_range",
                               gamma=0.99,
                               cycle_momentum=False)
    theirs = run_lrs(reference, torch_opt, n)
    for group, peak in enumerate(peaks):
        _assert_close([row[group] for row in ours], [row[group] for row in theirs],
                      f"group {group}", peak)


def test_warmup_from_zero_is_linear_lr_formula_that_torch_refuses():
    """warmup_start=0 is allowed: the same formula as LinearLR, whose start_factor must be > 0."""
    with pytest.raises(ValueError):
        sched.LinearLR(_optimizer(0.1), start_factor=0.0, total_iters=4)
    spec = ScheduleSpec("constant", peak_lr=0.1, total_steps=10, warmup_frac=0.4,
                        warmup_start=0.0)
    assert [spec.lr(s) for s in range(6)] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1])
    tiny = 1e-12  # torch's nearest start: equal to within tiny * peak
    optimizer = _optimizer(0.1)
    reference = sched.LinearLR(optimizer, start_factor=tiny, total_iters=4)
    theirs = _torch_lrs(reference, optimizer, 5)
    assert [spec.lr(s) for s in range(6)] == pytest.approx(theirs, abs=1e-12)
