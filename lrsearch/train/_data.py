"""The data of a run as uint8 tensors on the training device, loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lrsearch.train._cifar import ARCHIVES, default_data_dir, find_or_download, read_split
from lrsearch.train._device import resolve_device
from lrsearch.train._settings import DataSettings
from lrsearch.train._split import split_train_val

__all__ = ["CifarData", "load_data", "FAKE_TRAIN_SIZE", "FAKE_TEST_SIZE"]

# Per-channel mean and std of the training images, in units of full scale (0..1).
_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "fake": ((0.5, 0.5, 0.5), (0.2887, 0.2887, 0.2887)),  # uniform on 0..255
}
FAKE_TRAIN_SIZE = 10_000  # images in the fake training set (before the validation split)
FAKE_TEST_SIZE = 2_000
_CACHE: dict[tuple, CifarData] = {}


@dataclass(frozen=True, eq=False)
class CifarData:
    """Images (uint8 ``[N, 3, 32, 32]``) and labels (int64 ``[N]``) of each split, on ``device``.

    ``mean`` and ``std`` are per channel, in units of full scale (0..1), for normalisation.
    """

    dataset: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def device(self) -> torch.device:
        """Where the tensors live."""
        return self.train_x.device


def _fake(seed: int) -> tuple[torch.Tensor, ...]:
    """FakeData-like random images and labels (nothing to learn), seeded."""
    generator = torch.Generator().manual_seed(seed)
    tensors = []
    for size in (FAKE_TRAIN_SIZE, FAKE_TEST_SIZE):
        tensors.append(torch.randint(0, 256, (size, 3, 32, 32), dtype=torch.uint8,
                                     generator=generator))
        tensors.append(torch.randint(0, 10, (size,), generator=generator))
    return tuple(tensors)


def _read(settings: DataSettings, root: Path) -> tuple[torch.Tensor, ...]:
    folder = find_or_download(settings.dataset, root, settings.download)
    return (*read_split(folder, settings.dataset, train=True),
            *read_split(folder, settings.dataset, train=False))


def load_data(settings: DataSettings, device: str | torch.device = "cpu") -> CifarData:
    """Load, split and move ``settings``' data set to ``device``; cached per process.

    The same settings, data directory and device give the same object back, so a study's
    trials read the pickles once.

    Args:
        settings: Data set, data directory, split sizes and seed.
        device: Where the tensors go (``"auto"`` and ``"cuda:N"`` accepted).

    Raises:
        DataError: Data not found (saying where it looked), unreadable, or split sizes that do
            not fit.

    Example:
        >>> data = load_data(DataSettings(dataset="fake", val_size=100, train_subset=200))
        >>> data.train_x.shape, data.val_x.dtype, data.num_classes
        (torch.Size([200, 3, 32, 32]), torch.uint8, 10)
    """
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    root = Path(settings.data_dir).expanduser() if settings.data_dir else default_data_dir()
    key = (settings, str(root.resolve()), str(device))
    if key not in _CACHE:
        _CACHE[key] = _load(settings, root, device)
    return _CACHE[key]


def _load(settings: DataSettings, root: Path, device: torch.device) -> CifarData:
    if settings.dataset == "fake":
        train_x, train_y, test_x, test_y = _fake(settings.split_seed)
        num_classes = 10
    else:
        train_x, train_y, test_x, test_y = _read(settings, root)
        num_classes = ARCHIVES[settings.dataset].num_classes
    train_x, train_y, val_x, val_y = split_train_val(
        train_x, train_y, settings.val_size, settings.train_subset, settings.split_seed)
    mean, std = _STATS[settings.dataset]
    tensors = [t.to(device).contiguous() for t in
               (train_x, train_y, val_x, val_y, test_x, test_y)]
    return CifarData(settings.dataset, *tensors, num_classes=num_classes, mean=mean, std=std)
