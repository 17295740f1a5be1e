"""Per-trial checkpoints: written atomically, read back only for the same run.

A checkpoint holds plain data and tensors only, so it loads with ``torch.load(weights_only=True)``.
Its ``fingerprint`` (spec, settings, the data's split seed, sizes and labels) must match the run
that resumes it: a changed run must not silently continue someone else's weights.
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from lrsearch.errors import TrainingError

__all__ = ["save_checkpoint", "load_checkpoint", "remove_stale_temp_files"]


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    writer = None
    try:
        with os.fdopen(handle, "wb") as file:
            writer = _Writes(file)
            torch.save(state, writer)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException as exc:
        Path(temp_name).unlink(missing_ok=True)
        failed = getattr(writer, "error", None)
        if failed is not None and failed is not exc:  # torch says "unexpected pos 704 vs 598"
            raise OSError(failed.errno, failed.strerror, str(path)) from None
        raise
    _fsync_folder(path.parent)  # the rename itself survives a power cut


class _Writes:
    """A file that remembers the ``OSError`` its write raised: torch turns a full disk into a
    RuntimeError that does not say so."""

    def __init__(self, file) -> None:
        self.file, self.error = file, None

    def write(self, data) -> int:
        try:
            return self.file.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.file.flush()


def remove_stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Delete the temp files a process killed while writing ``path`` left; return them."""
    path = Path(path)
    stale = sorted(path.parent.glob(f"{glob.escape(path.name)}.*.tmp"))
    for temp in stale:
        temp.unlink(missing_ok=True)
    return stale


def _fsync_folder(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # not on this platform (Windows): the rename is as durable as it gets
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def load_checkpoint(path: str | os.PathLike, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The state saved at ``path``, or None when there is no file.

    Raises:
        TrainingError: The file is unreadable, or was written by a run with another
            fingerprint (named field by field).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, do not guess
        raise TrainingError(f"checkpoint {path}: unreadable ({type(exc).__name__}: {exc}); "
                            f"delete it to start the run afresh") from None
    saved = state.get("fingerprint", {}) if isinstance(state, dict) else {}
    changed = [key for key in sorted(set(saved) | set(fingerprint))
               if saved.get(key) != fingerprint.get(key)]
    if changed:
        details = "; ".join(f"{key}: saved {saved.get(key)!r}, now {fingerprint.get(key)!r}"
                            for key in changed)
        raise TrainingError(f"checkpoint {path}: written by a different run ({details}); "
                            f"delete it or use another checkpoint path")
    return state
