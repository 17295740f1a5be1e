"""The fixed, seeded validation split (and optional subset) of a training set."""

from __future__ import annotations

import torch

from lrsearch.errors import DataError

__all__ = ["split_indices", "split_train_val"]


def split_indices(total: int, val_size: int, train_subset: int | None,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train_index, val_index)`` of a training set of ``total`` images, each sorted.

    One seeded permutation: its first ``val_size`` indices are the validation split; the
    training split is the rest, or its first ``train_subset`` indices. The same seed and sizes
    give the same split on every machine (the permutation is drawn on the CPU).

    Raises:
        DataError: When the sizes do not fit the data.

    Example:
        >>> train_index, val_index = split_indices(10, 3, 4, seed=0)
        >>> len(train_index), len(val_index), set(train_index.tolist()) & set(val_index.tolist())
        (4, 3, set())
    """
    if val_size >= total:
        raise DataError(f"val_size: got {val_size}; must be less than the {total} training "
                        f"images, leaving some to train on")
    available = total - val_size
    if train_subset is not None and train_subset > available:
        raise DataError(f"train_subset: got {train_subset}; must be at most {available} "
                        f"(the {total} training images less val_size = {val_size})")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(total, generator=generator)
    val_index = order[:val_size]
    train_index = order[val_size:val_size + (train_subset or available)]
    # Sorted indices keep the original order within each split: reading stays sequential.
    return train_index.sort().values, val_index.sort().values


def split_train_val(x: torch.Tensor, y: torch.Tensor, val_size: int, train_subset: int | None,
                    seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split ``(x, y)`` into ``(train_x, train_y, val_x, val_y)`` by :func:`split_indices`.

    Raises:
        DataError: When the sizes do not fit the data.

    Example:
        >>> x, y = torch.arange(10).view(10, 1), torch.arange(10)
        >>> train_x, train_y, val_x, val_y = split_train_val(x, y, 3, 4, seed=0)
        >>> len(train_y), len(val_y), set(train_y.tolist()) & set(val_y.tolist())
        (4, 3, set())
    """
    train_index, val_index = split_indices(len(y), val_size, train_subset, seed)
    return x[train_index], y[train_index], x[val_index], y[val_index]
