"""Batched augmentation and normalisation on the data's device (no per-image work, no workers).

Random crop with zero padding and horizontal flip (probability 1/2, drawn apart from the crop),
by one of two methods that draw the same
random numbers: ``"gather"`` (each image's offset and flip become the indices it is read with:
one kernel, no host sync; the GPU's method) and ``"slices"`` (the batch sorted by offset, so the
crop is a few slice copies; the CPU's, where gathers are slow). :func:`crop_method` picks by
device; passing a method explicitly runs the GPU's code on a CPU, as the tests do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["random_crop_flip", "augment_epoch", "crop_flip_draws", "crop_method", "Normalize"]

_EPOCH_CHUNK_IMAGES = 8192  # images augmented at once by augment_epoch: bounds its temp memory


def crop_method(device: torch.device) -> str:
    """The faster crop method on ``device``: ``"gather"`` on a GPU, ``"slices"`` on a CPU."""
    return "slices" if device.type == "cpu" else "gather"


def augment_epoch(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                  method: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A fresh random crop + flip of a whole training set, in chunks (as airbench does).

    Augmenting once per epoch instead of once per step takes a few large operations instead of
    many small ones out of the hot loop. The images may come back reordered; the labels follow.
    ``method`` is as in :func:`random_crop_flip`.
    """
    out_images, out_labels = torch.empty_like(images), torch.empty_like(labels)
    for begin in range(0, len(labels), _EPOCH_CHUNK_IMAGES):
        end = begin + _EPOCH_CHUNK_IMAGES
        out_images[begin:end], out_labels[begin:end] = random_crop_flip(
            images[begin:end], labels[begin:end], generator, method=method)
    return out_images, out_labels


def random_crop_flip(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                     padding_px: int = 4, method: str | None = None,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ``padding_px`` crop (zero padding) and random horizontal flip of a batch.

    Like torchvision's ``RandomCrop(32, padding=4)`` and ``RandomHorizontalFlip()``, applied to
    a whole ``[B, C, H, W]`` batch at once with randomness from ``generator`` (which must live
    on ``images.device``). ``method`` ``"gather"`` keeps the batch's order; ``"slices"`` returns
    it reordered (a batch is a set; the labels follow their images), which turns the crop into a
    few slice copies instead of a per-element gather. None: :func:`crop_method` of the device.

    Returns:
        ``(images, labels)``, the labels in the order of the returned images.

    Example:
        >>> images = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).view(2, 3, 8, 8)
        >>> out, labels = random_crop_flip(images, torch.tensor([0, 1]),
        ...                                torch.Generator().manual_seed(0), padding_px=2)
        >>> out.shape, sorted(labels.tolist())
        (torch.Size([2, 3, 8, 8]), [0, 1])
    """
    offset_y, offset_x, flip = crop_flip_draws(images.shape[0], padding_px, generator,
                                               images.device)
    padded = F.pad(images, (padding_px,) * 4)
    if (method or crop_method(images.device)) == "slices":
        return _crop_flip_by_slices(padded, labels, offset_y, offset_x, flip, images.shape)
    return _crop_flip_by_gather(padded, offset_y, offset_x, flip, images.shape), labels


def crop_flip_draws(batch: int, padding_px: int, generator: torch.Generator,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(offset_y, offset_x, flip)`` of ``batch`` images: offsets uniform in
    ``0..2 * padding_px``, and a flip (0 or 1) with probability 1/2, drawn on its own.

    Example:
        >>> _, _, flip = crop_flip_draws(10_000, 0, torch.Generator().manual_seed(0), "cpu")
        >>> 0.48 < flip.float().mean().item() < 0.52
        True
    """
    span = 2 * padding_px + 1
    offsets = torch.randint(0, span, (2, batch), device=device, generator=generator)
    flip = torch.randint(0, 2, (batch,), device=device, generator=generator)
    return offsets[0], offsets[1], flip


def _crop_flip_by_gather(padded, offset_y, offset_x, flip, shape) -> torch.Tensor:
    """One gather, no host sync: each image is read at its offset, columns mirrored if flipped."""
    batch, channels, height, width = shape
    device = padded.device
    rows = offset_y[:, None] + torch.arange(height, device=device)
    cols = offset_x[:, None] + torch.arange(width, device=device)
    cols = torch.where(flip[:, None].bool(), cols.flip(1), cols)
    batch_index = torch.arange(batch, device=device).view(batch, 1, 1, 1)
    channel_index = torch.arange(channels, device=device).view(1, channels, 1, 1)
    return padded[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]


def _crop_flip_by_slices(padded, labels, offset_y, offset_x, flip, shape):
    """Sort by row offset, crop rows by slices; sort by (flip, column offset), crop columns."""
    height, width = shape[2], shape[3]
    span = padded.shape[3] - width + 1
    # index_select, not padded[order]: on a CPU it copies whole images, over 10x faster.
    order = torch.argsort(offset_y, stable=True)
    padded, labels = padded.index_select(0, order), labels.index_select(0, order)
    offset_x, flip = offset_x.index_select(0, order), flip.index_select(0, order)
    cropped_rows = padded.new_empty((*padded.shape[:2], height, padded.shape[3]))
    start = 0
    for offset, count in enumerate(torch.bincount(offset_y, minlength=span).tolist()):
        cropped_rows[start:start + count] = padded[start:start + count, :, offset:offset + height]
        start += count
    key = flip * span + offset_x
    order = torch.argsort(key, stable=True)
    cropped_rows, labels = cropped_rows.index_select(0, order), labels.index_select(0, order)
    out = padded.new_empty(shape)
    start = 0
    for group, count in enumerate(torch.bincount(key, minlength=2 * span).tolist()):
        window = cropped_rows[start:start + count, :, :, group % span:group % span + width]
        out[start:start + count] = window.flip(-1) if group >= span else window
        start += count
    return out, labels


class Normalize:
    """uint8 images (0..255) to float32 ``(x / 255 - mean) / std``, optionally channels_last.

    Args:
        mean: Per-channel mean in units of full scale (0..1).
        std: Per-channel std in units of full scale.
        device: Where the images live.
        channels_last: Return the NHWC memory format (faster convolutions on GPUs).
    """

    def __init__(self, mean, std, device: torch.device, channels_last: bool = False) -> None:
        self.scale = (1.0 / (255.0 * torch.tensor(std, device=device))).view(1, -1, 1, 1)
        self.shift = (torch.tensor(mean, device=device) / torch.tensor(std, device=device)
                      ).view(1, -1, 1, 1)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        # One copy does both the cast and the layout change; the arithmetic is in place.
        out = images.to(dtype=torch.float32, memory_format=self.memory_format)
        return out.mul_(self.scale).sub_(self.shift)
