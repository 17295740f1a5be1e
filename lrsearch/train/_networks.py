"""Models for 32x32 images, selected by name.

* ``small_cnn``: three conv-BN-ReLU-maxpool stages (32-64-128 channels, the first conv with
  stride 2), global average pool and a linear head: fast enough for CPU studies and tests
  (docs/training.md).
* ``resnet20`` / ``resnet56``: the classic CIFAR ResNets of He et al. (2015), 3 stages of
  16-32-64 channels, identity shortcuts with zero-padded channels ("option A").
* ``resnet18``: torchvision's ResNet-18 with the CIFAR stem (3x3 conv, stride 1, no max-pool).

A user's model is ``module:function``, called as ``function(num_classes=N, **kwargs)``
(:mod:`lrsearch.user_code` imports it); :func:`check_outputs` runs it once on a small batch so
a model of the wrong shape fails before any trial does.

Every model ends in one ``nn.Linear``: the *classifier head* is the last ``nn.Linear`` in
``model.modules()`` (see :func:`head_parameters`), which is how per-layer LRs find it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lrsearch.config import is_factory
from lrsearch.errors import TrainingError
from lrsearch.user_code import load_factory

__all__ = ["build_model", "check_outputs", "describe_model", "model_names", "head_module"]


def _conv_bn(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """Three conv stages (32-64-128 channels) and a linear head.

    The first conv has stride 2 and each stage ends in a 2x2 max-pool (32 -> 8 -> 4 -> 2 px),
    so a CPU study's few epochs stay short.
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for index, width in enumerate(widths):
            layers += [*_conv_bn(in_channels, width, stride=2 if index == 0 else 1),
                       nn.MaxPool2d(2)]
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class _BasicBlock(nn.Module):
    """Two 3x3 convs; the shortcut subsamples and zero-pads channels when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        self.pad_channels = out_channels - in_channels

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.pad_channels == 0:
            return x
        x = x[:, :, ::self.stride, ::self.stride]
        half = self.pad_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.pad_channels - half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet of depth ``6 * blocks_per_stage + 2`` (20, 56, ...)."""

    def __init__(self, blocks_per_stage: int, num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks: list[nn.Module] = []
        in_channels = 16
        for stage, width in enumerate((16, 32, 64)):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(_BasicBlock(in_channels, width, stride))
                in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def _resnet18(num_classes: int) -> nn.Module:
    from torchvision.models import resnet18

    model = resnet18(weights=None, num_classes=num_classes)
    # CIFAR stem: 32x32 inputs keep their resolution into the first stage.
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


_BUILDERS: dict[str, Callable[[int], nn.Module]] = {
    "small_cnn": SmallCNN,
    "resnet20": lambda num_classes: CifarResNet(3, num_classes),
    "resnet56": lambda num_classes: CifarResNet(9, num_classes),
    "resnet18": _resnet18,
}


def model_names() -> list[str]:
    """Names :func:`build_model` knows."""
    return list(_BUILDERS)


def build_model(name: str, num_classes: int, kwargs: dict[str, Any] | None = None,
                study_dir: str | None = None) -> nn.Module:
    """A freshly initialised model (uses the global torch RNG).

    Args:
        name: One of :func:`model_names` (for 3x32x32 images), or ``module:function``.
        num_classes: Outputs of the classifier head.
        kwargs: More keyword arguments of a ``module:function`` model.
        study_dir: The folder searched first for its module (None: the working directory).

    Raises:
        TrainingError: For an unknown name (listing the known ones), a factory that does not
            import, raises, or returns something that is not an ``nn.Module``.

    Example:
        >>> model = build_model("small_cnn", num_classes=10)
        >>> model(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    if name not in _BUILDERS and not is_factory(name):
        raise TrainingError(f"model: got {name!r}; must be one of {model_names()} or "
                            f"'module:function'")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise TrainingError(f"num_classes: got {num_classes!r}; must be an integer >= 2")
    if name in _BUILDERS:
        return _BUILDERS[name](num_classes)
    function = load_factory(name, study_dir, "model", TrainingError)
    call = ", ".join([f"num_classes={num_classes}",
                      *(f"{key}={value!r}" for key, value in (kwargs or {}).items())])
    try:
        model = function(num_classes=num_classes, **(kwargs or {}))
    except Exception as exc:  # the user's code: any error is its own
        raise TrainingError(f"model: {name}({call}) raised {type(exc).__name__}: {exc}"
                            ) from exc
    if not isinstance(model, nn.Module):
        raise TrainingError(f"model: {name}({call}) returned a {type(model).__name__}; must "
                            f"return a torch.nn.Module")
    return model


def check_outputs(model: nn.Module, name: str, image_shape: tuple[int, ...],
                  num_classes: int, device: torch.device) -> None:
    """Run ``model`` (in eval mode, no gradients) on 2 blank images: it must return logits of
    shape ``[2, num_classes]``. Nothing of the model changes.

    Raises:
        TrainingError: It fails on such images, or returns another shape or type.

    Example:
        >>> check_outputs(build_model("small_cnn", 10), "small_cnn", (3, 32, 32), 3, "cpu")
        Traceback (most recent call last):
        ...
        lrsearch.errors.TrainingError: model: small_cnn returns outputs of shape [2, 10] for 2 \
images of 3x32x32; must return [2, 3] (one logit per class; the data has 3 classes)
    """
    size = "x".join(str(n) for n in image_shape)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros((2, *image_shape), device=device))
    except Exception as exc:  # the user's code: any error is its own
        raise TrainingError(f"model: {name} failed on a batch of 2 images of {size}: "
                            f"{type(exc).__name__}: {exc}") from exc
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise TrainingError(f"model: {name} returns a {type(out).__name__} for a batch of "
                            f"images; must return one tensor of logits [batch, {num_classes}]")
    if tuple(out.shape) != (2, num_classes):
        raise TrainingError(f"model: {name} returns outputs of shape {list(out.shape)} for 2 "
                            f"images of {size}; must return [2, {num_classes}] (one logit per "
                            f"class; the data has {num_classes} classes)")


def describe_model(name: str, kwargs: dict[str, Any], study_dir: str | None,
                   image_shape: tuple[int, ...], num_classes: int) -> str:
    """Build the model once (the caller's RNG untouched), check its outputs (a user's model)
    and its head; one line naming it and its size.

    Raises:
        TrainingError: As :func:`build_model`, :func:`check_outputs` and :func:`head_module`.

    Example:
        >>> describe_model("small_cnn", {}, None, (3, 32, 32), 10)
        'small_cnn (94,762 parameters)'
    """
    with torch.random.fork_rng(devices=[]):
        model = build_model(name, num_classes, kwargs, study_dir)
    if is_factory(name):
        check_outputs(model, name, image_shape, num_classes, torch.device("cpu"))
    head_module(model)
    call = "" if not is_factory(name) else "(" + ", ".join(
        [f"num_classes={num_classes}", *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"
    count = sum(p.numel() for p in model.parameters())
    return f"{name}{call} ({count:,} parameters)"


def head_module(model: nn.Module) -> nn.Linear:
    """The classifier head: the last ``nn.Linear`` in ``model.modules()``.

    Raises:
        TrainingError: When the model has no ``nn.Linear``.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TrainingError(f"model: {type(model).__name__} has no nn.Linear; the classifier "
                            f"head is found as the last nn.Linear")
    return linears[-1]
