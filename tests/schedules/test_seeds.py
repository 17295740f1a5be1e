"""The worked examples of the seed posts (../shared/seeds/), expressed as specs.

Each example is checked against torch itself. Where a post's printed numbers disagree with torch,
torch is right, and the test pins down the disagreement so it is documented, not hidden:
- StepLR(step_size=3, gamma=0.1) over 10 epochs: the post says epochs 6-9 run at 0.001; torch
  (and lrsearch) drop again at epoch 9 to 0.0001.
- CosineAnnealingLR(T_max=5, eta_min=0.01) over 10 epochs: the post says epochs 5-9 restart from
  0.1; torch rises back along the cosine instead (epoch 5 is 0.01). A restart is
  CosineAnnealingWarmRestarts, lrsearch's ``cosine_restarts``.
- ReduceLROnPlateau(patience=2) on losses [2.0, 1.5, 1.4, 1.4, 1.4, 1.4]: the post says the LR
  drops at epoch 4; torch needs patience + 1 = 3 bad epochs, so it drops after epoch 5.
- LinearLR(start_factor=0.1, total_iters=5): the post says epoch 4 reaches 0.1; torch reaches it
  at epoch 5 (epoch 4 is 0.082).
- CyclicLR(step_size_up=5): the post says batches 0-4 rise to 0.1; torch peaks at batch 5.
- Seed 002 section 3.1.1: the hand-written loop ``if i % 50 == 0: lr *= 0.99`` is shown as the
  same thing as StepLR(step_size=50, gamma=0.99) (3.2.1); it is off by one: it decays right
  after update 0, so each decay lands 49 updates before StepLR's.
"""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as sched

from lrsearch.schedules import ScheduleSpec


def _optimizer(lr: float):
    return torch.optim.SGD(torch.nn.Linear(10, 2).parameters(), lr=lr)


def _torch_lrs(make, lr: float, epochs: int) -> list[float]:
    optimizer = _optimizer(lr)
    scheduler = make(optimizer)
    lrs = []
    for _ in range(epochs):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return lrs


def _spec_lrs(spec: ScheduleSpec, epochs: int) -> list[float]:
    return [spec.lr(epoch) for epoch in range(epochs)]


def test_step_lr_example_and_where_the_post_is_wrong():
    spec = ScheduleSpec("step", peak_lr=0.1, total_steps=10, params={"step_frac": 0.3,
                                                                     "gamma": 0.1})
    ours = _spec_lrs(spec, 10)
    assert ours == pytest.approx(_torch_lrs(lambda o: sched.StepLR(o, 3, 0.1), 0.1, 10))
    assert ours[:9] == pytest.approx([0.1] * 3 + [0.01] * 3 + [0.001] * 3)
    assert ours[9] == pytest.approx(0.0001)  # the post prints 0.001 here


def test_multistep_lr_example():
    spec = ScheduleSpec("multistep", peak_lr=0.1, total_steps=10,
                        params={"milestones": [0.3, 0.7], "gamma": 0.1})
    ours = _spec_lrs(spec, 10)
    assert ours == pytest.approx(_torch_lrs(lambda o: sched.MultiStepLR(o, [3, 7], 0.1), 0.1, 10))
    assert ours == pytest.approx([0.1] * 3 + [0.01] * 4 + [0.001] * 3)


def test_exponential_lr_example():
    spec = ScheduleSpec("exponential", peak_lr=0.1, total_steps=10,
                        params={"final_ratio": 0.9 ** 10})
    ours = _spec_lrs(spec, 10)
    assert ours == pytest.approx(_torch_lrs(lambda o: sched.ExponentialLR(o, 0.9), 0.1, 10))
    assert ours[:3] == pytest.approx([0.1, 0.09, 0.081])


def test_cosine_annealing_example_rises_back_in_torch_and_restarts_only_with_restarts():
    cosine = ScheduleSpec("cosine", peak_lr=0.1, total_steps=5, params={"final_ratio": 0.1})
    torch_lrs = _torch_lrs(lambda o: sched.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 0.1, 10)
    assert _spec_lrs(cosine, 6) == pytest.approx(torch_lrs[:6])
    assert torch_lrs[5] == pytest.approx(0.01)  # no restart at epoch 5, as the post claims
    assert torch_lrs[6] < 0.05
    restarts = ScheduleSpec("cosine_restarts", peak_lr=0.1, total_steps=10, params={
        "cycles": 2, "cycle_mult": 1, "final_ratio": 0.1})  # T_0 = 10 / 2
    ours = _spec_lrs(restarts, 10)
    assert ours[5] == pytest.approx(0.1)  # what the post describes: a restart
    assert ours[5:] == pytest.approx(ours[:5])
    assert ours == pytest.approx(_torch_lrs(
        lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.01), 0.1, 10))


def test_reduce_lr_on_plateau_example():
    params = {"factor": 0.1, "patience": 2, "threshold": 1e-4, "threshold_mode": "rel",
              "cooldown": 0, "min_ratio": 0.01, "mode": "min"}
    spec = ScheduleSpec("plateau", peak_lr=0.1, total_steps=6, params=params)
    optimizer = _optimizer(0.1)
    scheduler = spec.to_torch(optimizer)
    losses = [2.0, 1.5, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4, 1.4]
    printed = []
    for loss in losses:
        printed.append(optimizer.param_groups[0]["lr"])
        scheduler.step(loss)
    # torch: three bad epochs (3, 4, 5) > patience 2, so the drop shows from epoch 6 on
    assert printed[:6] == pytest.approx([0.1] * 6)  # the post says epoch 4 prints 0.01
    assert printed[6] == pytest.approx(0.01)
    assert printed[9] == pytest.approx(0.001)  # floored at min_lr = 0.001


def test_lambda_lr_example_is_a_piecewise_spec():
    spec = ScheduleSpec("piecewise", peak_lr=0.1, total_steps=10,
                        params={"knots": [[0.0, 1.0], [0.5, 1.0], [1.0, 0.5]]})
    lam = lambda epoch: 1.0 if epoch < 5 else (1.0 - 0.1 * (epoch - 5))  # noqa: E731
    assert _spec_lrs(spec, 10) == pytest.approx(
        _torch_lrs(lambda o: sched.LambdaLR(o, lam), 0.1, 10))


def test_cyclic_lr_example_peaks_at_batch_5():
    spec = ScheduleSpec("cyclic", peak_lr=0.1, total_steps=20, params={
        "base_ratio": 0.01, "cycles": 2, "up_frac": 0.5, "mode": "triangular",
        "gamma": 1.0})  # step_size_up = step_size_down = 20 / 2 * 0.5
    ours = _spec_lrs(spec, 20)
    assert ours == pytest.approx(_torch_lrs(
        lambda o: sched.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=5,
                                 cycle_momentum=False), 0.01, 20))
    assert ours[0] == pytest.approx(0.001) and ours[5] == pytest.approx(0.1)
    assert ours[4] < 0.1 and ours[10] == pytest.approx(0.001)


def test_linear_lr_warmup_example():
    spec = ScheduleSpec("constant", peak_lr=0.1, total_steps=10, warmup_frac=0.5,
                        warmup_start=0.1)
    ours = _spec_lrs(spec, 10)
    assert ours == pytest.approx(_torch_lrs(
        lambda o: sched.LinearLR(o, start_factor=0.1, total_iters=5), 0.1, 10))
    assert ours[1] == pytest.approx(0.028)
    assert ours[4] == pytest.approx(0.082)  # the post says 0.1 here
    assert ours[5:] == pytest.approx([0.1] * 5)


def test_tensorflow_style_formulas_from_the_second_post():
    eta, gamma, max_epoch = 0.01, 0.9, 20
    step = ScheduleSpec("step", peak_lr=eta, total_steps=max_epoch,
                        params={"step_frac": 0.25, "gamma": gamma})
    assert _spec_lrs(step, max_epoch) == pytest.approx(
        [eta * gamma ** (e // 5) for e in range(max_epoch)])
    exp = ScheduleSpec("exponential", peak_lr=eta, total_steps=max_epoch,
                       params={"final_ratio": gamma ** max_epoch})
    assert _spec_lrs(exp, max_epoch) == pytest.approx([eta * gamma ** e for e in range(20)])
    poly = ScheduleSpec("poly", peak_lr=eta, total_steps=max_epoch,
                        params={"power": 2.0, "final_ratio": 0.0})
    assert _spec_lrs(poly, 21) == pytest.approx(
        [eta * (1 - e / max_epoch) ** 2 for e in range(21)])
    fixed = ScheduleSpec("constant", peak_lr=eta, total_steps=max_epoch)
    assert _spec_lrs(fixed, max_epoch) == [eta] * max_epoch


def test_tensorflow_style_cosine_with_warmup():
    import math

    alpha, eta, warm, max_epoch = 0.001, 0.1, 5, 50
    spec = ScheduleSpec("cosine", peak_lr=eta, total_steps=max_epoch, warmup_frac=warm / 50,
                        warmup_start=alpha / eta, params={"final_ratio": 0.0})

    def post(epoch):
        if epoch <= warm:
            return epoch * (eta - alpha) / warm + alpha
        return 0.5 * eta * (1 + math.cos(math.pi * (epoch - warm) / (max_epoch - warm)))

    assert _spec_lrs(spec, max_epoch + 1) == pytest.approx([post(e) for e in range(51)])


def test_step_lr_and_multistep_from_the_optimizer_post():
    step = ScheduleSpec("step", peak_lr=0.01, total_steps=1000,
                        params={"step_frac": 0.05, "gamma": 0.99})
    assert _spec_lrs(step, 1000) == pytest.approx(
        _torch_lrs(lambda o: sched.StepLR(o, 50, 0.99), 0.01, 1000))
    multi = ScheduleSpec("multistep", peak_lr=0.01, total_steps=1000,
                         params={"milestones": [0.2, 0.7, 0.9], "gamma": 0.99})
    assert _spec_lrs(multi, 1000) == pytest.approx(
        _torch_lrs(lambda o: sched.MultiStepLR(o, [200, 700, 900], 0.99), 0.01, 1000))


def test_plateau_abs_threshold_example_from_the_optimizer_post():
    params = {"factor": 0.5, "patience": 5, "threshold": 0.001, "threshold_mode": "abs",
              "cooldown": 0, "min_ratio": 0.0, "mode": "min"}
    spec = ScheduleSpec("plateau", peak_lr=0.01, total_steps=100, params=params)
    ours_opt, torch_opt = _optimizer(1.0), _optimizer(0.01)
    ours = spec.to_torch(ours_opt)
    theirs = sched.ReduceLROnPlateau(torch_opt, mode="min", factor=0.5, patience=5,
                                     threshold=0.001, threshold_mode="abs", min_lr=0)
    losses = [1.0 - 0.05 * min(i, 10) + 0.0005 * (i % 2) for i in range(60)]
    for loss in losses:
        ours.step(loss)
        theirs.step(loss)
        assert ours_opt.param_groups[0]["lr"] == pytest.approx(torch_opt.param_groups[0]["lr"])
    assert ours_opt.param_groups[0]["lr"] < 0.01 / 100


def test_hand_written_decay_loop_of_the_optimizer_post_is_off_by_one():
    # Seed 002, 3.1.1 decays by hand after each optimizer.step() of update i (0-based):
    #     if i % 50 == 0:  for p in optimizer.param_groups: p['lr'] = p['lr'] * 0.99
    #     lr_list.append(optimizer.state_dict()['param_groups'][0]['lr'])
    # and 3.2.1 swaps in StepLR(step_size=50, gamma=0.99) + scheduler.step() as the same thing.
    # The post is wrong: 0 % 50 == 0, so its loop decays right after update 0 (update 1 already
    # runs at 0.0099) and every decay comes 49 updates before StepLR's (updates 1, 51, 101, ...
    # instead of 50, 100, 150, ...). The loop that equals StepLR tests (i + 1) % 50 == 0.
    def hand_loop(decays_after) -> list[float]:
        lr, lr_list = 0.01, []
        for i in range(1000):
            # optimizer.step() runs at lr here
            if decays_after(i):
                lr *= 0.99
            lr_list.append(lr)
        return lr_list

    post = hand_loop(lambda i: i % 50 == 0)
    fixed = hand_loop(lambda i: (i + 1) % 50 == 0)
    optimizer = _optimizer(0.01)
    scheduler = sched.StepLR(optimizer, step_size=50, gamma=0.99)
    torch_list = []
    for _ in range(1000):
        optimizer.step()
        scheduler.step()
        torch_list.append(optimizer.param_groups[0]["lr"])
    spec = ScheduleSpec("step", peak_lr=0.01, total_steps=1000,
                        params={"step_frac": 0.05, "gamma": 0.99})
    assert torch_list == pytest.approx(fixed, rel=1e-12)
    assert torch_list == pytest.approx([spec.lr(i + 1) for i in range(1000)], rel=1e-12)
    assert post[:3] == pytest.approx([0.0099] * 3)  # the post: decayed after update 0
    assert torch_list[:49] == pytest.approx([0.01] * 49) and torch_list[49] == pytest.approx(0.0099)
    # they agree only at i % 50 == 49, where both have made the same number of decays
    agree = [i for i in range(1000) if post[i] == pytest.approx(torch_list[i], rel=1e-12)]
    assert agree == list(range(49, 1000, 50))
