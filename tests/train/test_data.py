"""Finding, downloading, reading and splitting CIFAR data."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import pickle
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from lrsearch.errors import DataError
from lrsearch.train import DataSettings, _cifar, load_data
from lrsearch.train._cifar import find_or_download, read_split
from lrsearch.train._split import split_train_val
from tests.train.conftest import write_archive, write_batch, write_tiny_cifar10


def test_reads_pickles_into_one_uint8_tensor(tiny_cifar10: Path) -> None:
    x, y = read_split(tiny_cifar10 / "cifar-10-batches-py", "cifar10", train=True)
    assert x.shape == (100, 3, 32, 32) and x.dtype == torch.uint8
    assert y.shape == (100,) and y.dtype == torch.int64
    with open(tiny_cifar10 / "cifar-10-batches-py" / "data_batch_1", "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    assert torch.equal(x[0].flatten(), torch.from_numpy(entry["data"][0]))  # CHW rows
    assert y[:20].tolist() == entry["labels"]


def test_load_data_splits_and_caches(tiny_cifar10: Path) -> None:
    settings = DataSettings(data_dir=str(tiny_cifar10), val_size=30, train_subset=50)
    data = load_data(settings)
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (50, 30, 20)
    assert data.num_classes == 10 and data.train_x.dtype == torch.uint8
    assert load_data(settings) is data


def test_data_dir_may_be_the_batches_folder_itself(tiny_cifar10: Path) -> None:
    folder = find_or_download("cifar10", tiny_cifar10 / "cifar-10-batches-py", download=False)
    assert folder == tiny_cifar10 / "cifar-10-batches-py"


def test_data_dir_defaults_to_environment_variable(tiny_cifar10: Path, monkeypatch) -> None:
    monkeypatch.setenv("LRSEARCH_DATA_DIR", str(tiny_cifar10))
    data = load_data(DataSettings(val_size=10, download=False))
    assert len(data.train_y) == 90


def test_missing_data_without_download_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_data(DataSettings(data_dir=str(tmp_path), download=False))
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "--data-dir" in message and "LRSEARCH_DATA_DIR" in message


def test_unreachable_server_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LRSEARCH_CIFAR_URL", "http://127.0.0.1:9/")  # discard port: refused
    with pytest.raises(DataError) as info:
        load_data(DataSettings(data_dir=str(tmp_path / "data")))
    message = str(info.value)
    assert "download failed" in message and "cifar-10-python.tar.gz" in message
    assert "--data-dir" in message


def test_bad_shapes_and_labels_are_data_errors(tiny_cifar10: Path) -> None:
    folder = tiny_cifar10 / "cifar-10-batches-py"
    write_batch(folder / "test_batch", np.zeros((4, 100), np.uint8), [0, 1, 2, 3])
    with pytest.raises(DataError, match=r"shape \(4, 100\); must be uint8 with shape"):
        read_split(folder, "cifar10", train=False)
    write_batch(folder / "test_batch", np.zeros((4, 3072), np.uint8), [0, 1, 2, 10])
    with pytest.raises(DataError, match=r"labels range over \[0, 10\]"):
        read_split(folder, "cifar10", train=False)
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a CIFAR batch pickle"):
        read_split(folder, "cifar10", train=False)


def test_split_is_seeded_and_disjoint() -> None:
    x, y = torch.arange(100).view(100, 1), torch.arange(100)
    first = split_train_val(x, y, 20, 50, seed=3)
    again = split_train_val(x, y, 20, 50, seed=3)
    other = split_train_val(x, y, 20, 50, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[3], other[3])
    assert not set(first[1].tolist()) & set(first[3].tolist())
    assert (len(first[1]), len(first[3])) == (50, 20)


@pytest.mark.parametrize(("val_size", "subset", "field"), [(100, None, "val_size"),
                                                           (20, 81, "train_subset")])
def test_split_sizes_that_do_not_fit(val_size, subset, field) -> None:
    with pytest.raises(DataError, match=f"^{field}: got"):
        split_train_val(torch.zeros(100, 1), torch.zeros(100), val_size, subset, seed=0)


def test_settings_name_field_value_and_rule() -> None:
    with pytest.raises(DataError, match=r"dataset: got 'mnist'; must be one of"):
        DataSettings(dataset="mnist")


def test_fake_data_is_seeded() -> None:
    a = load_data(DataSettings(dataset="fake", val_size=10, train_subset=20, split_seed=1))
    b = load_data(DataSettings(dataset="fake", val_size=10, train_subset=20, split_seed=2))
    assert a.train_x.shape == (20, 3, 32, 32) and not torch.equal(a.train_x, b.train_x)


@pytest.fixture
def archive_server(tmp_path: Path):
    """A local HTTP server on 127.0.0.1 serving a tiny ``cifar-10-python.tar.gz``; yields
    ``(base_url, md5)``."""
    source = tmp_path / "source"
    folder = write_tiny_cifar10(source, images_per_batch=8)
    served = tmp_path / "served"
    served.mkdir()
    md5 = write_archive(folder, served / "cifar-10-python.tar.gz")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", md5
    server.shutdown()
    server.server_close()
    shutil.rmtree(source)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_download_extracts_the_archive_and_checks_md5(tmp_path: Path, archive_server) -> None:
    base_url, md5 = archive_server
    root = tmp_path / "downloaded"
    folder = find_or_download("cifar10", root, True, base_url=base_url, md5=md5)
    assert folder == root / "cifar-10-batches-py"
    x, y = read_split(folder, "cifar10", train=True)
    assert x.shape == (40, 3, 32, 32)


def test_download_through_load_data_and_environment(tmp_path: Path, archive_server,
                                                    monkeypatch) -> None:
    base_url, md5 = archive_server
    monkeypatch.setenv("LRSEARCH_CIFAR_URL", base_url)
    official = _cifar.ARCHIVES["cifar10"]
    monkeypatch.setitem(_cifar.ARCHIVES, "cifar10", dataclasses.replace(official, md5=md5))
    data = load_data(DataSettings(data_dir=str(tmp_path / "fresh"), val_size=8))
    assert len(data.train_y) == 32 and len(data.test_y) == 8


def test_download_with_wrong_md5_fails_clearly(tmp_path: Path, archive_server) -> None:
    base_url, _ = archive_server
    with pytest.raises(DataError, match=r"md5 is not 0{32}"):
        find_or_download("cifar10", tmp_path / "d", True, base_url=base_url, md5="0" * 32)
    assert not (tmp_path / "d" / "cifar-10-batches-py").exists()  # nothing extracted


def test_shared_copy_with_unofficial_md5s_is_accepted(shared_cifar10: Path) -> None:
    data = load_data(DataSettings(data_dir=str(shared_cifar10), val_size=5000))
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (45000, 5000, 10000)
    assert torch.bincount(data.test_y).tolist() == [1000] * 10


def test_reads_cifar100_fine_labels(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, count in (("train", 30), ("test", 10)):
        images = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
        write_batch(folder / name, images, rng.integers(0, 100, count).tolist(),
                    label_key="fine_labels", coarse_labels=[0] * count)
    data = load_data(DataSettings(dataset="cifar100", data_dir=str(tmp_path), val_size=5,
                                  download=False))
    assert data.num_classes == 100 and (len(data.train_y), len(data.test_y)) == (25, 10)
