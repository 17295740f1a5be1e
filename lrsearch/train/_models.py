"""Models for 32x32 images, selected by name.

* ``small_cnn``: three conv-BN-ReLU-maxpool stages (32-64-128 channels, the first conv with
  stride 2), global average pool and a linear head: fast enough for CPU studies and tests
  (docs/training.md).
* ``resnet20`` / ``resnet56``: the classic CIFAR ResNets of He et al. (2015), 3 stages of
  16-32-64 channels, identity shortcuts with zero-padded channels ("option A").
* ``resnet18``: torchvision's ResNet-18 with the CIFAR stem (3x3 conv, stride 1, no max-pool).

Every model ends in one ``nn.Linear``: the *classifier head* is the last ``nn.Linear`` in
``model.modules()`` (see :func:`head_parameters`), which is how per-layer LRs find it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lrsearch.errors import TrainingError

__all__ = ["build_model", "model_names", "head_module"]


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


def build_model(name: str, num_classes: int) -> nn.Module:
    """A freshly initialised model for 3x32x32 images (uses the global torch RNG).

    Args:
        name: One of :func:`model_names`.
        num_classes: Outputs of the classifier head.

    Raises:
        TrainingError: For an unknown name, listing the known ones.

    Example:
        >>> model = build_model("small_cnn", num_classes=10)
        >>> model(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    if name not in _BUILDERS:
        raise TrainingError(f"model: got {name!r}; must be one of {model_names()}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise TrainingError(f"num_classes: got {num_classes!r}; must be an integer >= 2")
    return _BUILDERS[name](num_classes)


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
