"""Fixtures for the training tests: tiny CIFAR-format data sets written on the fly."""

from __future__ import annotations

import hashlib
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lrsearch.train import DataSettings

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


def write_batch(path: Path, images: np.ndarray, labels: list[int], label_key: str = "labels",
                **extra) -> None:
    """One batch pickle in the official format (protocol 2, ``data`` rows of 3072 bytes)."""
    entry = {"batch_label": path.name, label_key: labels, "data": images,
             "filenames": [f"{i}.png" for i in range(len(labels))], **extra}
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def write_tiny_cifar10(root: Path, images_per_batch: int = 20, seed: int = 0) -> Path:
    """A CIFAR-10 folder ``root/cifar-10-batches-py`` with 5 train batches and a test batch."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in (*TRAIN_BATCHES, "test_batch"):
        images = rng.integers(0, 256, (images_per_batch, 3072), dtype=np.uint8)
        write_batch(folder / name, images, rng.integers(0, 10, images_per_batch).tolist())
    return folder


def write_tiny_cifar100(root: Path, train_images: int = 30, test_images: int = 10,
                        seed: int = 0) -> Path:
    """A CIFAR-100 folder ``root/cifar-100-python`` (``train``, ``test``, ``meta``), fine and
    coarse labels as the official one holds them."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, count in (("train", train_images), ("test", test_images)):
        images = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
        fine = rng.integers(0, 100, count).tolist()
        write_batch(folder / name, images, fine, label_key="fine_labels",
                    coarse_labels=[label // 5 for label in fine])
    with open(folder / "meta", "wb") as handle:
        pickle.dump({"fine_label_names": [f"class{i}" for i in range(100)],
                     "coarse_label_names": [f"super{i}" for i in range(20)]}, handle, protocol=2)
    return folder


def write_archive(folder: Path, archive_path: Path) -> str:
    """Pack ``folder`` as the official archive does (top-level folder inside); return its md5."""
    with tarfile.open(archive_path, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return hashlib.md5(archive_path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_cifar10(tmp_path: Path) -> Path:
    """A data directory holding a tiny CIFAR-10 (100 train, 20 test images)."""
    root = tmp_path / "data"
    write_tiny_cifar10(root)
    return root


@pytest.fixture
def fake_data() -> DataSettings:
    """Random images (nothing to learn): 256 train, 128 validation images."""
    return DataSettings(dataset="fake", val_size=128, train_subset=256)
