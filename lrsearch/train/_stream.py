"""Training batches streamed from host memory to the device, for data too large to live there.

The images stay in host memory as one uint8 tensor; each epoch's order is drawn as the
device-resident path draws it (by the run's generator), a ``DataLoader`` with worker processes
gathers each batch (and pins it, for a GPU), and the crop, flip and normalisation run on the
device per batch, with the run's generator: the run stays a pure function of its seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from lrsearch.train._augment import random_crop_flip

__all__ = ["streamed_batches"]


class _Rows(Dataset):
    """A batch of rows of ``(images, labels)`` per index: the index is the rows' tensor."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images.index_select(0, rows), self.labels.index_select(0, rows)


def streamed_batches(run: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``run``'s ``steps_per_epoch`` normalised, augmented batches of one epoch, on its device."""
    data, batch = run.data, run.training.batch_size
    order = torch.randperm(len(data.train_y), device=run.device, generator=run.generator).cpu()
    rows = [order[i * batch:(i + 1) * batch] for i in range(run.steps_per_epoch)]
    loader = DataLoader(_Rows(data.train_x, data.train_y), batch_size=None, sampler=rows,
                        num_workers=data.loader_workers, pin_memory=run.device.type == "cuda")
    for images, labels in loader:
        images = images.to(run.device, non_blocking=True)
        labels = labels.to(run.device, non_blocking=True)
        images, labels = random_crop_flip(images, labels, run.generator,
                                          method=run.augment_method)
        yield run.normalize(images), labels
