"""The data of a run as uint8 tensors on the training device, loaded once per process.

CIFAR and the fake set are read here; a user's data (an ImageFolder, a function) by
:mod:`lrsearch.train._user_data`, normalised with its own training split's statistics.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch

from lrsearch.config import DATASETS, DataSettings
from lrsearch.errors import DataError
from lrsearch.text import counted
from lrsearch.train._cifar import ARCHIVES, default_data_dir, find_or_download, read_split
from lrsearch.train._device import canonical_device, resolve_device
from lrsearch.train._split import split_indices, split_train_val
from lrsearch.train._user_data import channel_stats, load_user_data

__all__ = ["CifarData", "load_data", "fake_images", "FAKE_TRAIN_SIZE", "FAKE_TEST_SIZE",
           "FAKE_SOURCE"]

# Per-channel mean and std of the training images, in units of full scale (0..1).
_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "fake": ((0.5, 0.5, 0.5), (0.2887, 0.2887, 0.2887)),  # FakeData's: about uniform on 0..255
}
FAKE_TRAIN_SIZE = 10_000  # images in the fake training set (before the validation split)
FAKE_TEST_SIZE = 2_000
FAKE_SOURCE = "torchvision FakeData"
_CACHE: dict[tuple, CifarData] = {}
_DEVICE_SHARE = 0.5  # at most this share of a GPU's free memory holds the data


@dataclass(frozen=True, eq=False)
class CifarData:
    """Images (uint8 ``[N, C, H, W]``; CIFAR's 3x32x32) and labels (int64 ``[N]``) of each
    split, on ``device``.

    ``mean`` and ``std`` are per channel, in units of full scale (0..1), for normalisation.
    ``split_seed`` is the seed of the validation split (and subset); ``source`` says where the
    images came from (the folder read, or ``"torchvision FakeData"``). ``streamed`` data stays
    in host memory and is streamed to the training device by a DataLoader with
    ``loader_workers`` worker processes. The tensors may be
    shared between callers (the data is cached): never modify them in place.
    """

    dataset: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    split_seed: int = 0
    source: str = ""
    streamed: bool = False
    loader_workers: int = 0

    @property
    def device(self) -> torch.device:
        """Where the tensors live."""
        return self.train_x.device

    def describe(self) -> str:
        """One line: the data set, where from, the splits, image shape, classes and device.

        Example:
            >>> data = load_data(DataSettings(dataset="fake", val_size=100, train_subset=200))
            >>> data.describe()
            'fake (torchvision FakeData): 200 train / 100 val / 2000 test images of 3x32x32, \
10 classes, 7.1 MB on cpu'
        """
        size = "x".join(str(n) for n in self.train_x.shape[1:])
        megabytes = sum(t.numel() * t.element_size() for t in (
            self.train_x, self.val_x, self.test_x)) / 1e6
        where = (f"in host memory, streamed to the training device by a DataLoader with "
                 f"{counted(self.loader_workers, 'worker')}" if self.streamed
                 else f"on {self.device}")
        return (f"{self.dataset} ({self.source}): {len(self.train_y)} train / "
                f"{len(self.val_y)} val / {len(self.test_y)} test images of {size}, "
                f"{self.num_classes} classes, {megabytes:.1f} MB {where}")


def fake_images(indices: torch.Tensor | range, random_offset: int,
                num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``indices`` of torchvision's ``FakeData`` as uint8 ``[N, 3, 32, 32]`` and labels.

    Bit-equal to reading ``FakeData(size, image_size=(3, 32, 32), num_classes=num_classes,
    random_offset=random_offset)[i]`` and turning the PIL image back into a CHW array (a test
    checks it), but drawn without PIL and without reseeding torch's global RNG: FakeData calls
    ``torch.manual_seed`` for every image, which on a CUDA build of torch costs about 1 ms (it
    queues a lazy CUDA seed with a stack trace): 13 s for 12,000 images on two CPU cores,
    against about 1 s here, by the same numbers drawn from a private CPU generator per image.

    Example:
        >>> x, y = fake_images(range(3), random_offset=0)
        >>> x.shape, x.dtype, y.tolist() == [int(v) for v in y]
        (torch.Size([3, 3, 32, 32]), torch.uint8, True)
    """
    images = torch.empty((len(indices), 3, 32, 32), dtype=torch.uint8)
    labels = torch.empty(len(indices), dtype=torch.int64)
    generator = torch.Generator()
    for row, index in enumerate(indices):
        generator.manual_seed(int(index) + random_offset)
        # FakeData's image: randn, then ToPILImage's float -> uint8 (x * 255, cast).
        images[row] = torch.randn((3, 32, 32), generator=generator).mul_(255).byte()
        labels[row] = torch.randint(0, num_classes, (1,), generator=generator)[0]
    return images, labels


@functools.lru_cache(maxsize=4)
def _fake_test(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    # The fake test set is the same for every split of one seed: drawn once per process.
    offset = seed * (FAKE_TRAIN_SIZE + FAKE_TEST_SIZE) + FAKE_TRAIN_SIZE
    return fake_images(range(FAKE_TEST_SIZE), offset)


def _fake(settings: DataSettings) -> tuple[torch.Tensor, ...]:
    """``(train_x, train_y, val_x, val_y, test_x, test_y)`` of the fake data set.

    One FakeData set of 12,000 images per seed (``random_offset = split_seed * 12,000``, so
    seeds never share an image): the first 10,000 are the training set, split as a real one
    is; the last 2,000 the test set. Only the images the split keeps are drawn.
    """
    train_index, val_index = split_indices(FAKE_TRAIN_SIZE, settings.val_size,
                                           settings.train_subset, settings.split_seed)
    offset = settings.split_seed * (FAKE_TRAIN_SIZE + FAKE_TEST_SIZE)
    return (*fake_images(train_index, offset), *fake_images(val_index, offset),
            *_fake_test(settings.split_seed))


def _read(settings: DataSettings, root: Path) -> tuple[tuple[torch.Tensor, ...], str]:
    folder = find_or_download(settings.dataset, root, settings.download)
    train_x, train_y = read_split(folder, settings.dataset, train=True)
    split = split_train_val(train_x, train_y, settings.val_size, settings.train_subset,
                            settings.split_seed)
    return (*split, *read_split(folder, settings.dataset, train=False)), str(folder.resolve())


def load_data(settings: DataSettings, device: str | torch.device = "cpu",
              study_dir: str | None = None) -> CifarData:
    """Load, split and move ``settings``' data set to ``device``; cached per process.

    The same settings, data directory, study folder and device give the same object back, so
    a study's trials read the files once.

    Args:
        settings: Data set, data directory, split sizes and seed.
        device: Where the tensors go (``"auto"`` and ``"cuda:N"`` accepted).
        study_dir: Where a relative ``root`` and a ``module:function`` data set's module are
            looked up first (None: the working directory).

    Raises:
        DataError: Data not found (saying where it looked), unreadable, or split sizes that do
            not fit.

    Example:
        >>> data = load_data(DataSettings(dataset="fake", val_size=100, train_subset=200))
        >>> data.train_x.shape, data.val_x.dtype, data.num_classes, data.source
        (torch.Size([200, 3, 32, 32]), torch.uint8, 10, 'torchvision FakeData')
    """
    device = resolve_device(device) if isinstance(device, str) else canonical_device(device)
    root = Path(settings.data_dir).expanduser() if settings.data_dir else default_data_dir()
    key = (settings, str(root.resolve()), study_dir, str(device))
    if key not in _CACHE:
        _CACHE[key] = _load(settings, root, device, study_dir)
    return _CACHE[key]


def _fits(tensors: list[torch.Tensor] | tuple[torch.Tensor, ...], device: torch.device) -> bool:
    """Whether the data takes at most half of a GPU's free memory (the rest is the model's,
    its activations' and the epoch's augmented copy); always on a CPU."""
    if device.type != "cuda":
        return True
    needed = sum(t.numel() * t.element_size() for t in tensors)
    return needed <= _DEVICE_SHARE * torch.cuda.mem_get_info(device)[0]


def _check_fits(tensors: list[torch.Tensor] | tuple[torch.Tensor, ...],
                device: torch.device) -> None:
    """Refuse ``placement: device`` data that does not :func:`_fits`."""
    if not _fits(tensors, device):
        needed = sum(t.numel() * t.element_size() for t in tensors)
        free = torch.cuda.mem_get_info(device)[0]
        raise DataError(f"data.placement: got 'device'; {needed / 1e9:.2f} GB of images and "
                        f"labels do not fit in {_DEVICE_SHARE:.0%} of {device}'s free memory "
                        f"({free / 1e9:.2f} GB): use placement auto or stream (streamed from "
                        f"host memory), or lower data.image_size or data.train_subset")


def _load(settings: DataSettings, root: Path, device: torch.device,
          study_dir: str | None) -> CifarData:
    problems = settings.problems()
    if problems:
        raise DataError("invalid data settings:\n" + "\n".join(f"  - {p}" for p in problems))
    if settings.dataset == "fake":
        tensors, source, num_classes = _fake(settings), FAKE_SOURCE, 10
    elif settings.dataset in DATASETS:
        tensors, source = _read(settings, root)
        num_classes = ARCHIVES[settings.dataset].num_classes
    else:
        tensors, source, num_classes = load_user_data(settings, study_dir)
    mean, std = _STATS.get(settings.dataset) or channel_stats(tensors[0])
    streamed = settings.placement == "stream" or (
        settings.placement == "auto" and not _fits(tensors, device))
    if not streamed:
        _check_fits(tensors, device)
    tensors = [t.to("cpu" if streamed else device).contiguous() for t in tensors]
    return CifarData(settings.dataset, *tensors, num_classes=num_classes, mean=mean, std=std,
                     split_seed=settings.split_seed, source=source, streamed=streamed,
                     loader_workers=settings.loader_workers if streamed else 0)
