"""Read a folder in torchvision's ImageFolder layout into one uint8 tensor, resized and cropped.

One subfolder per class (sorted names are the classes, as ImageFolder numbers them), images
of the extensions ImageFolder accepts. Each image is converted to RGB, its shorter side
resized to ``image_size`` (bilinear) and its centre cropped square, so the whole folder is
one ``[N, 3, S, S]`` tensor that lives on the training device like CIFAR does. Decoding runs
in threads (PIL releases the GIL while it decodes).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from lrsearch.errors import DataError

__all__ = ["read_image_folder"]

_MAX_NAMED = 5  # unreadable images named in the message (then a count)


def read_image_folder(root: Path, image_size: int, field: str = "data.root",
                      classes: list[str] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """``(images uint8 [N, 3, S, S], labels int64 [N], classes)`` of the folder ``root``.

    Args:
        root: The folder of class subfolders.
        image_size: The side ``S`` the images are resized and cropped to.
        field: The study file's key that named the folder, for messages.
        classes: The classes ``root`` must hold (a test folder: those of the training one).

    Raises:
        DataError: Not a folder, fewer than 2 classes, other classes than ``classes``, a
            class without images, or unreadable images (naming them).
    """
    from torchvision.datasets import ImageFolder

    if not root.is_dir():
        raise DataError(f"{field}: got {str(root)!r}; not a folder (a relative root starts "
                        f"at the study file's folder)")
    found = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if len(found) < 2:
        raise DataError(f"{field}: {str(root)!r} holds {len(found)} class folder(s) {found}; "
                        f"an image folder needs at least 2, one subfolder of images per class")
    if classes is not None and found != classes:
        raise DataError(f"{field}: {str(root)!r} holds the classes {found}; must hold those "
                        f"of data.root, {classes}")
    try:
        samples = ImageFolder(str(root), loader=lambda path: path).samples
    except (FileNotFoundError, OSError) as exc:  # a class folder without a single image
        raise DataError(f"{field}: {exc}") from None
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        images = list(pool.map(lambda sample: _read(sample[0], image_size), samples))
    bad = [(path, image) for (path, _), image in zip(samples, images) if isinstance(image, str)]
    if bad:
        named = "; ".join(f"{path}: {why}" for path, why in bad[:_MAX_NAMED])
        more = f" (and {len(bad) - _MAX_NAMED} more)" if len(bad) > _MAX_NAMED else ""
        raise DataError(f"{field}: {len(bad)} of {len(samples)} images cannot be read: "
                        f"{named}{more}")
    labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
    return torch.stack(images), labels, found


def _read(path: str, size: int) -> torch.Tensor | str:
    """One image as uint8 ``[3, size, size]``, or why it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            width, height = image.size
            scale = size / min(width, height)
            resized = (max(size, round(width * scale)), max(size, round(height * scale)))
            image = image.resize(resized, Image.Resampling.BILINEAR)
            left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
            array = np.asarray(image.crop((left, top, left + size, top + size)))
    except Exception as exc:  # PIL raises many kinds for a broken file
        return f"{type(exc).__name__}: {exc}"
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()
