"""A user's data: an ImageFolder (``dataset: imagefolder``) or a function (``module:function``).

Both end as CIFAR does: uint8 ``[N, C, H, W]`` images and int64 labels per split, on the
training device, normalised with the training split's own per-channel mean and std. The test
split is held out before the validation split is drawn, so the search never sees it: an
ImageFolder's ``test_root``, else a seeded ``test_frac`` of ``root``; a function's own test
data. A function is called as ``function(root=ROOT)`` when ``data.root`` is given (the root
made absolute), else ``function()``, and returns ``(train, test)``, each ``(images, labels)``
tensors or a ``torch.utils.data.Dataset`` of ``(image, label)`` pairs; images are uint8
(0..255) or floats in [0, 1], ``[C, H, W]``, all of one shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from lrsearch.config import IMAGEFOLDER, DataSettings
from lrsearch.errors import DataError
from lrsearch.train._imagefolder import read_image_folder
from lrsearch.train._split import split_indices, split_train_val
from lrsearch.user_code import load_factory, search_folder

__all__ = ["channel_stats", "load_user_data"]

Tensors = tuple[torch.Tensor, torch.Tensor]


def load_user_data(settings: DataSettings, study_dir: str | None
                   ) -> tuple[tuple[torch.Tensor, ...], str, int]:
    """``((train_x, train_y, val_x, val_y, test_x, test_y), source, num_classes)``.

    Raises:
        DataError: Naming the key, the value and what is wrong with the data.
    """
    if settings.dataset == IMAGEFOLDER:
        (train, test), source, num_classes = _image_folder(settings, study_dir)
    else:
        (train, test), source = _from_function(settings, study_dir)
        num_classes = int(max(train[1].max(), test[1].max() if len(test[1]) else 0)) + 1
        if num_classes < 2 or int(train[1].min()) < 0:
            raise DataError(f"data.dataset: {settings.dataset} returned labels in "
                            f"[{int(train[1].min())}, {num_classes - 1}]; labels must be class "
                            f"numbers 0..K-1 with K >= 2")
    split = split_train_val(*train, settings.val_size, settings.train_subset,
                            settings.split_seed)
    return (*split, *test), source, num_classes


def _resolve(folder: str, study_dir: str | None) -> Path:
    path = Path(folder).expanduser()
    return path if path.is_absolute() else search_folder(study_dir) / path


def _image_folder(settings: DataSettings, study_dir: str | None
                  ) -> tuple[tuple[Tensors, Tensors], str, int]:
    root = _resolve(settings.root, study_dir)
    images, labels, classes = read_image_folder(root, settings.image_size)
    if settings.test_root is not None:
        test_root = _resolve(settings.test_root, study_dir)
        test = read_image_folder(test_root, settings.image_size, "data.test_root", classes)[:2]
        source = f"{root.resolve()} (test: {test_root.resolve()})"
    else:  # a seeded share of root, split off before the validation split is drawn
        held = max(1, round(settings.test_frac * len(labels)))
        keep, test_index = split_indices(len(labels), held, None, settings.split_seed)
        test = images[test_index], labels[test_index]
        images, labels = images[keep], labels[keep]
        source = f"{root.resolve()} (test: {held} of its images, seed {settings.split_seed})"
    return ((images, labels), test), source, len(classes)


def _from_function(settings: DataSettings, study_dir: str | None
                   ) -> tuple[tuple[Tensors, Tensors], str]:
    function = load_factory(settings.dataset, study_dir, "data.dataset", DataError)
    kwargs = {} if settings.root is None else {"root": str(_resolve(settings.root, study_dir))}
    call = f"{settings.dataset}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    try:
        returned = function(**kwargs)
    except Exception as exc:  # the user's code: any error is its own
        raise DataError(f"data.dataset: {call} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(returned, (tuple, list)) or len(returned) != 2:
        raise DataError(f"data.dataset: {call} returned a {type(returned).__name__}; must "
                        f"return (train, test), each (images, labels) or a Dataset")
    train, test = (_as_tensors(part, f"{call}'s {name}")
                   for part, name in zip(returned, ("train", "test")))
    if train[0].shape[1:] != test[0].shape[1:]:
        raise DataError(f"data.dataset: {call} returned train images of shape "
                        f"{list(train[0].shape[1:])} and test images of "
                        f"{list(test[0].shape[1:])}; must be one shape")
    return (train, test), call


def _as_tensors(part: Any, what: str) -> Tensors:
    """``(uint8 [N, C, H, W], int64 [N])`` of ``(images, labels)`` or a Dataset."""
    if isinstance(part, (tuple, list)) and len(part) == 2:
        images, labels = (torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor)
                          else v for v in part)
    elif hasattr(part, "__getitem__") and hasattr(part, "__len__"):
        pairs = [part[i] for i in range(len(part))]
        if not pairs:
            raise DataError(f"data.dataset: {what} is empty")
        images = torch.stack([torch.as_tensor(np.asarray(image)) if not isinstance(
            image, torch.Tensor) else image for image, _ in pairs])
        labels = torch.tensor([int(label) for _, label in pairs])
    else:
        raise DataError(f"data.dataset: {what} is a {type(part).__name__}; must be (images, "
                        f"labels) or a Dataset of (image, label) pairs")
    if images.dim() != 4 or labels.dim() != 1 or len(images) != len(labels):
        raise DataError(f"data.dataset: {what} has images of shape {list(images.shape)} and "
                        f"labels of shape {list(labels.shape)}; must be [N, C, H, W] and [N]")
    if images.is_floating_point():
        if images.numel() and not (0.0 <= float(images.min()) and float(images.max()) <= 1.0):
            raise DataError(f"data.dataset: {what} has float images in [{float(images.min()):g}"
                            f", {float(images.max()):g}]; floats must be in [0, 1] (or uint8)")
        images = images.mul(255).round().to(torch.uint8)
    elif images.dtype != torch.uint8:
        raise DataError(f"data.dataset: {what} has images of dtype {images.dtype}; must be "
                        f"uint8 (0..255) or floats in [0, 1]")
    return images.contiguous(), labels.to(torch.int64)


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 ``images``, in units of full scale (0..1).

    Example:
        >>> images = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1)
        >>> channel_stats(images)
        ((0.5,), (0.5,))
    """
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for begin in range(0, len(images), 4096):  # chunks: no float copy of the whole set
        chunk = images[begin:begin + 4096].to(torch.float64) / 255.0
        total += chunk.sum(dim=(0, 2, 3))
        squares += chunk.square().sum(dim=(0, 2, 3))
    count = max(1, images.numel() // images.shape[1])
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(1e-12).sqrt()
    return tuple(float(m) for m in mean), tuple(max(float(s), 1e-3) for s in std)
