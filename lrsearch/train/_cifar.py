"""Find, download and read CIFAR-10 / CIFAR-100 in the official python-pickle format.

The pickles are read straight into one uint8 tensor per split (no per-image PIL), with their
shapes and labels checked rather than their md5s: copies re-encoded elsewhere (such as the
project's JPEG-derived CIFAR-10) are accepted. Downloads go through torchvision's own
``download_url`` (which checks the archive's md5) and ``extract_archive``; a ``file://`` mirror
(which torchvision's downloader cannot read) is copied, then md5-checked with torchvision's
``check_integrity`` and extracted the same way.

Several processes (the workers of ``--workers K``) may fetch one data set into one folder at
once, so nothing appears half-written under its final name: the archive is downloaded or
copied into a hidden staging folder next to it and moved into place (``os.replace``) once its
md5 matches, and it is extracted into a staging folder whose files are then moved into place
one by one, each whole.
"""

from __future__ import annotations

import http.client
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lrsearch.errors import DataError

__all__ = ["ARCHIVES", "CifarArchive", "default_data_dir", "find_or_download", "read_split"]

DEFAULT_URL = "https://www.cs.toronto.edu/~kriz/"
URL_ENV = "LRSEARCH_CIFAR_URL"
DATA_DIR_ENV = "LRSEARCH_DATA_DIR"


@dataclass(frozen=True)
class CifarArchive:
    """Where one data set comes from and how its folder is laid out."""

    filename: str
    md5: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: str
    num_classes: int


ARCHIVES = {
    "cifar10": CifarArchive("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                            "cifar-10-batches-py",
                            tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                            "labels", 10),
    "cifar100": CifarArchive("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85",
                             "cifar-100-python", ("train",), ("test",), "fine_labels", 100),
}


def default_data_dir() -> Path:
    """``$LRSEARCH_DATA_DIR`` if set, else ``~/.cache/lrsearch/data``."""
    return Path(os.environ.get(DATA_DIR_ENV) or Path.home() / ".cache" / "lrsearch" / "data")


def _candidates(root: Path, archive: CifarArchive) -> list[Path]:
    # The root may be the data folder itself or the folder that holds it.
    return [root / archive.folder, root] if root.name != archive.folder else [root]


def _complete(folder: Path, archive: CifarArchive) -> bool:
    return all((folder / name).is_file() for name in archive.train_files + archive.test_files)


def find_or_download(dataset: str, root: Path, download: bool, *, base_url: str | None = None,
                     md5: str | None = None) -> Path:
    """The folder holding ``dataset``'s pickles, downloading the archive into ``root`` if needed.

    Args:
        dataset: ``"cifar10"`` or ``"cifar100"``.
        root: The data directory (or the data folder itself, e.g. ``.../cifar-10-batches-py``).
        download: Download when not found.
        base_url: Where the archive lives (default ``$LRSEARCH_CIFAR_URL``, else the official
            site); the file name is appended.
        md5: The archive's expected md5 (default: the official one).

    Raises:
        DataError: Not found and not downloadable, saying where it looked and how to supply it.
    """
    archive = ARCHIVES[dataset]
    for folder in _candidates(root, archive):
        if _complete(folder, archive):
            return folder
    names = archive.train_files + archive.test_files
    for folder in _candidates(root, archive):  # a folder of the data set, but not all of it
        if folder.is_dir() and any((folder / name).exists() for name in names):
            missing = [name for name in names if not (folder / name).is_file()]
            raise DataError(f"{dataset}: {folder} lacks {missing} (missing, or not a file); "
                            f"restore them from the official {archive.filename}")
    looked = ", ".join(str(f) for f in _candidates(root, archive))
    if not download:
        raise DataError(f"{dataset}: not found (looked in {looked}); {_how_to_supply(archive)}")
    _download(archive, root, base_url, md5)
    if not _complete(root / archive.folder, archive):
        raise DataError(f"{dataset}: the archive {archive.filename} did not contain "
                        f"{archive.folder}/ with {list(archive.train_files + archive.test_files)}")
    return root / archive.folder


def _how_to_supply(archive: CifarArchive) -> str:
    return (f"supply it by putting an existing {archive.folder}/ folder in the data directory "
            f"(--data-dir or ${DATA_DIR_ENV}), or by allowing the download of {archive.filename} "
            f"(network access to {DEFAULT_URL} or a mirror in ${URL_ENV})")


def _download(archive: CifarArchive, root: Path, base_url: str | None, md5: str | None) -> None:
    base = base_url or os.environ.get(URL_ENV) or DEFAULT_URL
    url = base.rstrip("/") + "/" + archive.filename
    path = root / archive.filename
    _fetch(url, path, md5 or archive.md5, archive)
    _extract(url, path, archive)


def _fetch(url: str, path: Path, md5: str, archive: CifarArchive) -> None:
    """Put the archive at ``path`` (unless a file with that md5 is there), md5 checked."""
    from torchvision.datasets.utils import check_integrity

    try:
        matches = check_integrity(path, md5) or _fetch_into_place(url, path, md5)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # URLError, socket errors, a missing file:// source; ValueError: a bad URL
        raise DataError(f"{url}: download failed ({exc}); no {archive.folder}/ found in "
                        f"{path.parent}; {_how_to_supply(archive)}") from None
    if not matches:
        raise DataError(f"{url}: downloaded to {path.parent} but its md5 is not {md5} (the "
                        f"download was not kept); check the mirror and retry, or "
                        f"{_how_to_supply(archive)}")


def _fetch_into_place(url: str, path: Path, md5: str) -> bool:
    """Download or copy ``url`` into a staging folder next to ``path``, then move it to
    ``path`` if its md5 is ``md5``; whether it was."""
    from torchvision.datasets.utils import check_integrity, download_url

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}-") as staging:
        part = Path(staging) / path.name
        if urllib.parse.urlsplit(url).scheme == "file":
            shutil.copyfile(urllib.request.url2pathname(urllib.parse.urlsplit(url).path), part)
        else:
            try:
                download_url(url, staging, filename=path.name, md5=md5)
            except RuntimeError:  # torchvision's md5 check: "File not found or corrupted."
                return False
        if not check_integrity(part, md5):
            return False
        os.replace(part, path)
    return True


def _extract(url: str, path: Path, archive: CifarArchive) -> None:
    """Extract the archive into a staging folder next to it, then move each file into place."""
    from torchvision.datasets.utils import extract_archive

    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{archive.folder}-") as staging:
        try:
            extract_archive(str(path), staging)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path} (from {url}): cannot extract the archive "
                            f"({type(exc).__name__}: {exc}); it is corrupt or not a .tar.gz; "
                            f"delete it and retry, or {_how_to_supply(archive)}") from None
        for source in sorted(Path(staging).rglob("*")):
            if source.is_file():
                target = path.parent / source.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles what a CIFAR batch holds (dicts, lists, bytes, numbers and numpy arrays) and
    nothing else: a pickle naming any other global (how a pickle runs code) is refused."""

    # Protocol-2 pickles written by Python 3 (CIFAR's own are Python 2's) store an array's bytes
    # as _codecs.encode(text, "latin1"): harmless, and it returns bytes only. Protocol 5 (a
    # batch re-saved by today's numpy) rebuilds an array with _frombuffer, which takes bytes,
    # a dtype and a shape, and refuses object arrays.
    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR batch never "
                                         f"does (refused: loading it could run code)")
        return super().find_class(module, name)


def _read_pickle(path: Path, label_key: str) -> tuple[np.ndarray, list[int]]:
    try:
        with open(path, "rb") as handle:
            entry = _BatchUnpickler(handle, encoding="latin1").load()
        return entry["data"], entry[label_key]
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any malformed file: one clear line
        reason = str(exc)[:200]
        raise DataError(f"{path}: not a CIFAR batch pickle with 'data' and {label_key!r} "
                        f"({type(exc).__name__}: {reason}); replace it with the official "
                        f"file") from None


def read_split(folder: Path, dataset: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as ``(images uint8 [N, 3, 32, 32], labels int64 [N])``, shapes checked."""
    archive = ARCHIVES[dataset]
    images, labels = [], []
    for name in archive.train_files if train else archive.test_files:
        data, batch_labels = _read_pickle(folder / name, archive.label_key)
        data = np.asarray(data)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise DataError(f"{folder / name}: data has dtype {data.dtype} and shape "
                            f"{data.shape}; must be uint8 with shape (N, 3072)")
        try:
            given = np.asarray(batch_labels)
            if given.size and given.dtype.kind not in "iu":  # 0.5 would become class 0
                raise TypeError(given.dtype)
            batch_y = torch.as_tensor(given, dtype=torch.int64).reshape(-1)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise DataError(f"{folder / name}: its labels are {type(batch_labels).__name__}; "
                            f"must be a list of integers, one per image") from None
        if len(batch_y) != data.shape[0]:
            raise DataError(f"{folder / name}: {len(batch_y)} labels for "
                            f"{data.shape[0]} images; must be one label per image")
        images.append(torch.from_numpy(data.reshape(-1, 3, 32, 32)))
        labels.append(batch_y)
    x, y = torch.cat(images), torch.cat(labels)
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= archive.num_classes):
        raise DataError(f"{folder}: labels range over [{int(y.min())}, {int(y.max())}]; "
                        f"{dataset} labels must be in [0, {archive.num_classes - 1}]")
    return x, y
