"""Finding, downloading, reading and splitting CIFAR data."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
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
from lrsearch.train._data import FAKE_TEST_SIZE, FAKE_TRAIN_SIZE
from lrsearch.train._split import split_indices, split_train_val
from tests.train.conftest import (
    write_archive,
    write_batch,
    write_tiny_cifar10,
    write_tiny_cifar100,
)


def test_reads_pickles_into_one_uint8_tensor(tiny_cifar10: Path) -> None:
    x, y = read_split(tiny_cifar10 / "cifar-10-batches-py", "cifar10", train=True)
    assert x.shape == (100, 3, 32, 32) and x.dtype == torch.uint8
    assert y.shape == (100,) and y.dtype == torch.int64
    with open(tiny_cifar10 / "cifar-10-batches-py" / "data_batch_1", "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    assert torch.equal(x[0].flatten(), torch.from_numpy(entry["data"][0]))  # CHW rows
    assert y[:20].tolist() == entry["labels"]


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_batch_saved_again_by_todays_numpy_reads_alike(tiny_cifar10: Path, protocol) -> None:
    """Re-saved with another pickle protocol (5 rebuilds arrays with numpy's _frombuffer), a
    batch reads as the official one does: the restricted unpickler admits each way."""
    folder = tiny_cifar10 / "cifar-10-batches-py"
    before = read_split(folder, "cifar10", train=False)
    with open(folder / "test_batch", "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    with open(folder / "test_batch", "wb") as handle:
        pickle.dump(entry, handle, protocol=protocol)
    after = read_split(folder, "cifar10", train=False)
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


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
    with pytest.raises(DataError,
                       match=r"dataset: got 'mnist'; must be one of \['cifar10', 'cifar100'"):
        DataSettings(dataset="mnist")


def test_fake_data_is_seeded() -> None:
    a = load_data(DataSettings(dataset="fake", val_size=10, train_subset=20, split_seed=1))
    b = load_data(DataSettings(dataset="fake", val_size=10, train_subset=20, split_seed=2))
    assert a.train_x.shape == (20, 3, 32, 32) and not torch.equal(a.train_x, b.train_x)
    assert not torch.equal(a.test_x, b.test_x)


def test_fake_data_is_torchvisions_fakedata_split_like_a_real_set() -> None:
    from torchvision.datasets import FakeData

    seed = 3
    data = load_data(DataSettings(dataset="fake", val_size=10, train_subset=20, split_seed=seed))
    train_index, val_index = split_indices(FAKE_TRAIN_SIZE, 10, 20, seed)
    size = FAKE_TRAIN_SIZE + FAKE_TEST_SIZE
    reference = FakeData(size, image_size=(3, 32, 32), num_classes=10,
                         random_offset=seed * size)
    pairs = [(data.train_x, data.train_y, row, int(train_index[row])) for row in (0, 19)]
    pairs += [(data.val_x, data.val_y, 9, int(val_index[9])),
              (data.test_x, data.test_y, FAKE_TEST_SIZE - 1, size - 1)]
    for images, labels, row, index in pairs:
        image, label = reference[index]
        assert torch.equal(images[row], torch.from_numpy(np.array(image)).permute(2, 0, 1))
        assert int(labels[row]) == label
    assert data.source == "torchvision FakeData" and data.split_seed == seed


def _serve(served: Path):
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def archive_server(tmp_path: Path):
    """A local HTTP server on 127.0.0.1 serving tiny ``cifar-10-python.tar.gz`` and
    ``cifar-100-python.tar.gz``; yields ``(base_url, {dataset: md5})``."""
    source = tmp_path / "source"
    served = tmp_path / "served"
    served.mkdir()
    md5s = {"cifar10": write_archive(write_tiny_cifar10(source, images_per_batch=8),
                                     served / "cifar-10-python.tar.gz"),
            "cifar100": write_archive(write_tiny_cifar100(source),
                                      served / "cifar-100-python.tar.gz")}
    server = _serve(served)
    yield f"http://127.0.0.1:{server.server_port}/", md5s
    server.shutdown()
    server.server_close()
    shutil.rmtree(source)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_download_extracts_the_archive_and_checks_md5(tmp_path: Path, archive_server) -> None:
    base_url, md5s = archive_server
    root = tmp_path / "downloaded"
    folder = find_or_download("cifar10", root, True, base_url=base_url, md5=md5s["cifar10"])
    assert folder == root / "cifar-10-batches-py"
    x, y = read_split(folder, "cifar10", train=True)
    assert x.shape == (40, 3, 32, 32)


def test_download_through_load_data_and_environment(tmp_path: Path, archive_server,
                                                    monkeypatch) -> None:
    base_url, md5s = archive_server
    monkeypatch.setenv("LRSEARCH_CIFAR_URL", base_url)
    _expect_md5(monkeypatch, "cifar10", md5s["cifar10"])
    data = load_data(DataSettings(data_dir=str(tmp_path / "fresh"), val_size=8))
    assert len(data.train_y) == 32 and len(data.test_y) == 8


def _expect_md5(monkeypatch, dataset: str, md5: str) -> None:
    """Make ``md5`` the official one of ``dataset`` (the served archive is a tiny stand-in)."""
    official = _cifar.ARCHIVES[dataset]
    monkeypatch.setitem(_cifar.ARCHIVES, dataset, dataclasses.replace(official, md5=md5))


def test_cifar100_downloads_checks_md5_and_loads_fine_labels(tmp_path: Path, archive_server,
                                                             monkeypatch) -> None:
    base_url, md5s = archive_server
    monkeypatch.setenv("LRSEARCH_CIFAR_URL", base_url)
    root = tmp_path / "fresh"
    _expect_md5(monkeypatch, "cifar100", "0" * 32)  # first the wrong md5: refused
    with pytest.raises(DataError, match=r"cifar-100-python.tar.gz: downloaded to .* md5 is not"):
        load_data(DataSettings(dataset="cifar100", data_dir=str(root), val_size=5))
    _expect_md5(monkeypatch, "cifar100", md5s["cifar100"])
    data = load_data(DataSettings(dataset="cifar100", data_dir=str(root), val_size=5))
    assert (root / "cifar-100-python" / "meta").is_file()
    assert data.num_classes == 100 and (len(data.train_y), len(data.test_y)) == (25, 10)
    with open(root / "cifar-100-python" / "test", "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    assert data.test_y.tolist() == entry["fine_labels"]  # not the coarse ones
    assert max(entry["fine_labels"]) >= 20 and data.test_y.max() >= 20


def _file_mirror(tmp_path: Path, content: bytes | None = None) -> tuple[str, str]:
    """A folder holding a tiny ``cifar-10-python.tar.gz`` (or ``content`` under that name);
    return its ``file://`` URL and the archive's md5."""
    mirror = tmp_path / "mirror dir"  # a space: the URL must be quoted and unquoted
    mirror.mkdir()
    archive = mirror / "cifar-10-python.tar.gz"
    md5 = write_archive(write_tiny_cifar10(tmp_path / "source", images_per_batch=4), archive)
    if content is not None:
        archive.write_bytes(content)
        md5 = hashlib.md5(content).hexdigest()
    return mirror.as_uri() + "/", md5


def test_file_url_mirror_is_copied_md5_checked_and_extracted(tmp_path: Path,
                                                             monkeypatch) -> None:
    url, md5 = _file_mirror(tmp_path)
    monkeypatch.setenv("LRSEARCH_CIFAR_URL", url)
    _expect_md5(monkeypatch, "cifar10", md5)
    data = load_data(DataSettings(data_dir=str(tmp_path / "data"), val_size=4))
    assert (len(data.train_y), len(data.test_y)) == (16, 4)
    assert (tmp_path / "data" / "cifar-10-python.tar.gz").is_file()
    with pytest.raises(DataError, match=r"md5 is not f{32}"):
        find_or_download("cifar10", tmp_path / "other", True, base_url=url, md5="f" * 32)


def _watch_final_paths(monkeypatch, root: Path) -> list[str]:
    """Record, as each copy, download and extraction ends, whether the archive or a pickle
    already stood under its final name (another worker could have read it half-written)."""
    import torchvision.datasets.utils as tv

    final_archive = root / "cifar-10-python.tar.gz"
    final_batch = root / "cifar-10-batches-py" / "test_batch"
    seen: list[str] = []

    def watched(real, what):
        def call(*args, **kwargs):
            result = real(*args, **kwargs)
            seen.append(f"{what}: archive {final_archive.exists()}, "
                        f"batch {final_batch.exists()}")
            return result
        return call

    monkeypatch.setattr(shutil, "copyfile", watched(shutil.copyfile, "copied"))
    monkeypatch.setattr(tv, "download_url", watched(tv.download_url, "downloaded"))
    monkeypatch.setattr(tv, "extract_archive", watched(tv.extract_archive, "extracted"))
    return seen


def test_a_file_mirror_copy_appears_whole_or_not_at_all(tmp_path: Path, monkeypatch) -> None:
    url, md5 = _file_mirror(tmp_path)
    root = tmp_path / "data"
    seen = _watch_final_paths(monkeypatch, root)
    find_or_download("cifar10", root, True, base_url=url, md5=md5)
    assert seen == ["copied: archive False, batch False", "extracted: archive True, batch False"]
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py",
                                                      "cifar-10-python.tar.gz"]  # no staging


def test_a_download_appears_whole_or_not_at_all(tmp_path: Path, archive_server,
                                                monkeypatch) -> None:
    base_url, md5s = archive_server
    root = tmp_path / "data"
    seen = _watch_final_paths(monkeypatch, root)
    find_or_download("cifar10", root, True, base_url=base_url, md5=md5s["cifar10"])
    assert seen == ["downloaded: archive False, batch False",
                    "extracted: archive True, batch False"]
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py",
                                                      "cifar-10-python.tar.gz"]


def test_missing_file_url_archive_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"download failed .*--data-dir"):
        find_or_download("cifar10", tmp_path / "data", True, base_url=tmp_path.as_uri())


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_archive_with_matching_md5_is_a_data_error(tmp_path: Path, kind) -> None:
    url, _ = _file_mirror(tmp_path)
    whole = (tmp_path / "mirror dir" / "cifar-10-python.tar.gz").read_bytes()
    content = b"not a tar archive" * 100 if kind == "garbage" else whole[:len(whole) // 2]
    shutil.rmtree(tmp_path / "mirror dir")
    shutil.rmtree(tmp_path / "source")
    url, md5 = _file_mirror(tmp_path, content)
    with pytest.raises(DataError, match=r"cannot extract the archive .*corrupt or not a"):
        find_or_download("cifar10", tmp_path / "data", True, base_url=url, md5=md5)


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
