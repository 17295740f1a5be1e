"""Models, augmentation, optimizers with per-layer LRs, and the Lookahead wrapper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrsearch.errors import TrainingError
from lrsearch.optimizers import optimizer_names
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import Lookahead, OptimizerSettings, build_model, build_optimizer
from lrsearch.train._augment import (
    Normalize,
    augment_epoch,
    crop_flip_draws,
    crop_method,
    random_crop_flip,
)
from lrsearch.train._networks import head_module


@pytest.mark.parametrize("name", ["small_cnn", "resnet20", "resnet56", "resnet18"])
def test_models_map_cifar_images_to_class_scores(name: str) -> None:
    model = build_model(name, num_classes=100)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
    assert head_module(model).out_features == 100


def test_resnets_have_their_classic_shapes() -> None:
    count = sum(p.numel() for p in build_model("resnet20", 10).parameters())
    assert 0.26e6 < count < 0.28e6  # He et al.: 0.27M
    resnet18 = build_model("resnet18", 10)
    assert resnet18.conv1.kernel_size == (3, 3) and resnet18.conv1.stride == (1, 1)
    assert isinstance(resnet18.maxpool, nn.Identity)


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(TrainingError, match=r"model: got 'vgg'; must be one of \['small_cnn'"):
        build_model("vgg", 10)


@pytest.mark.parametrize("method", ["slices", "gather"])  # gather: the GPU's, run on a CPU
def test_crop_flip_reads_each_image_as_a_shifted_or_mirrored_window(method) -> None:
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out, labels = random_crop_flip(images, torch.arange(64), torch.Generator().manual_seed(0),
                                   padding_px=2, method=method)
    assert sorted(labels.tolist()) == list(range(64))
    padded = nn.functional.pad(images, (2, 2, 2, 2))
    shifts, flips = set(), 0
    for index, label in enumerate(labels.tolist()):
        windows = [(y, x, f) for y in range(5) for x in range(5) for f in (0, 1)
                   if torch.equal(out[index], padded[label, :, y:y + 8, x:x + 8].flip(-1)
                                  if f else padded[label, :, y:y + 8, x:x + 8])]
        assert windows, f"image {index} is no window of image {label}"
        shifts.add(windows[0][:2])
        flips += windows[0][2]
    assert len(shifts) > 10 and 10 < flips < 54  # offsets and flips are random


@pytest.mark.parametrize("padding_px", [0, 4])
def test_flip_has_probability_one_half_whatever_the_padding(padding_px) -> None:
    offset_y, offset_x, flip = crop_flip_draws(40_000, padding_px,
                                               torch.Generator().manual_seed(1), "cpu")
    # 40,000 fair draws: the standard deviation of the rate is 0.0025, so 0.49..0.51 is 4 sigma
    # (the rate was 4/9 once: flip was drawn as offset % 2 over 9 offsets).
    assert 0.49 < flip.float().mean().item() < 0.51
    assert set(flip.tolist()) == {0, 1} and int(offset_x.max()) == 2 * padding_px
    if padding_px:  # drawn apart from the crop: as likely at every column offset
        for offset in range(2 * padding_px + 1):
            assert 0.46 < flip[offset_x == offset].float().mean().item() < 0.54


@pytest.mark.parametrize("method", ["slices", "gather"])
def test_without_padding_about_half_the_images_are_mirrored(method) -> None:
    images = torch.randint(0, 256, (400, 3, 8, 8), dtype=torch.uint8)
    out, labels = random_crop_flip(images, torch.arange(400), torch.Generator().manual_seed(2),
                                   padding_px=0, method=method)
    mirrored = [torch.equal(out[i], images[label].flip(-1)) for i, label in enumerate(labels)]
    kept = [torch.equal(out[i], images[label]) for i, label in enumerate(labels)]
    assert all(m != k for m, k in zip(mirrored, kept))  # each image is one or the other
    assert 160 < sum(mirrored) < 240  # 400 fair flips: 200 +- 40 is 4 sigma (it was 0 once)


def test_both_crop_methods_make_the_same_images_from_the_same_draws() -> None:
    images = torch.randint(0, 256, (300, 3, 8, 8), dtype=torch.uint8)
    labels = torch.arange(300)
    out = {method: augment_epoch(images, labels, torch.Generator().manual_seed(5), method)
           for method in ("gather", "slices")}
    gathered, sliced = out["gather"], out["slices"]
    assert torch.equal(gathered[1], labels)  # gather keeps the order
    order = sliced[1].argsort()  # slices reorders; put its images back in label order
    assert torch.equal(sliced[0][order], gathered[0])
    assert crop_method(torch.device("cpu")) == "slices"
    assert crop_method(torch.device("cuda", 0)) == "gather"


def test_normalize_scales_to_mean_zero_std_one() -> None:
    normalize = Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), torch.device("cpu"))
    out = normalize(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8))
    assert torch.allclose(out, torch.full_like(out, 2.0))


def test_param_groups_put_backbone_first_and_keep_decay_off_norms_and_biases() -> None:
    model = build_model("resnet20", 10)
    opt = build_optimizer(model, OptimizerSettings(weight_decay=1e-3, head_lr_mult=3.0), 0.1)
    names = [g["name"] for g in opt.param_groups]
    assert names == ["backbone", "backbone_no_decay", "head", "head_no_decay"]
    decay = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if isinstance(module, nn.BatchNorm2d) or name == "bias":
                assert id(param) not in decay
    assert {id(p) for p in opt.param_groups[2]["params"]} == {id(model.fc.weight)}
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.1, 0.3, 0.3])
    total = sum(len(g["params"]) for g in opt.param_groups)
    assert total == len(list(model.parameters()))


@pytest.mark.parametrize("name", optimizer_names())
def test_every_optimizer_trains_under_a_spec_scheduler(name: str) -> None:
    torch.manual_seed(0)
    model = build_model("small_cnn", 10)
    opt = build_optimizer(model, OptimizerSettings(name=name, head_lr_mult=2.0), peak_lr=0.01)
    spec = ScheduleSpec("linear", peak_lr=0.01, total_steps=4, params={"final_ratio": 0.0})
    scheduler = spec.to_torch(opt)
    if name.endswith("_schedulefree"):
        opt.train()  # their protocol: train mode before stepping
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(4):
        assert opt.param_groups[0]["lr"] == pytest.approx(spec.lr(step))
        assert opt.param_groups[2]["lr"] == pytest.approx(2 * spec.lr(step))
        loss = model(torch.randn(4, 3, 32, 32)).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        scheduler.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_optimizer_settings_name_field_value_and_rule() -> None:
    with pytest.raises(TrainingError, match=r"name: got 'lion'; must be one of") as info:
        OptimizerSettings(name="lion", head_lr_mult=0)
    assert "head_lr_mult: got 0; must be a number > 0" in str(info.value)


def _sgd_pair(k: int, alpha: float):
    param = nn.Parameter(torch.tensor([1.0]))
    return param, Lookahead(torch.optim.SGD([param], lr=0.1), k=k, alpha=alpha)


def test_lookahead_pulls_fast_weights_back_every_k_steps() -> None:
    param, opt = _sgd_pair(k=2, alpha=0.5)
    for _ in range(2):  # gradient of p is 1: each SGD step subtracts lr = 0.1
        param.grad = torch.ones(1)
        opt.step()
    # fast: 1 - 0.2 = 0.8; slow: 1 + 0.5 * (0.8 - 1) = 0.9, and the fast weights restart there
    assert param.item() == pytest.approx(0.9)


def test_lookahead_shares_groups_with_schedulers_and_round_trips() -> None:
    param, opt = _sgd_pair(k=3, alpha=0.5)
    assert isinstance(opt, torch.optim.Optimizer) and opt.param_groups is opt.inner.param_groups
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        param.grad = torch.ones(1)
        opt.step()
        scheduler.step()
    assert opt.inner.param_groups[0]["lr"] == pytest.approx(0.025)
    state = opt.state_dict()
    copy_param, copy = _sgd_pair(k=1, alpha=1.0)
    copy.load_state_dict(state)
    assert copy.param_groups is copy.inner.param_groups
    assert (copy.k, copy.alpha, copy.inner_steps) == (3, 0.5, 2)
    assert copy.param_groups[0]["lr"] == pytest.approx(0.025)
    assert torch.equal(copy.state[copy_param]["slow_param"], torch.tensor([1.0]))


def test_an_optimizer_takes_only_its_own_settings() -> None:
    assert set(OptimizerSettings(name="sgd").to_dict()) == {
        "name", "weight_decay", "head_lr_mult", "momentum", "nesterov"}
    with pytest.raises(TrainingError, match=r"beta1: got 0.8; 'sgd' takes no beta1"):
        OptimizerSettings(name="sgd", beta1=0.8)
    with pytest.raises(TrainingError, match=r"momentum: got 0.0; must be a number in \(0, 1\)"):
        OptimizerSettings(name="sgd_schedulefree", momentum=0.0)
