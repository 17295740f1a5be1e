"""Device and precision resolution, and the kernel mode (fast or deterministic) of a run."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from lrsearch.config import usable_cores
from lrsearch.errors import TrainingError
from lrsearch.text import counted

__all__ = ["resolve_device", "canonical_device", "same_device", "autocast_dtype", "device_name",
           "kernel_mode", "cpu_threads"]


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (cuda if available, else cpu), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    A CUDA device always comes back indexed (``cuda:N``, ``"cuda"`` and ``"auto"`` meaning the
    current one), as tensors report their device, so it compares equal to theirs.

    Raises:
        TrainingError: For another name, or cuda asked for where there is none.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise TrainingError(f"training.device: got {name!r}; must be 'auto', 'cpu', 'cuda' or "
                            f"'cuda:N'")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError(f"training.device: got {name!r}; torch sees no CUDA device here "
                                f"(use 'cpu' or 'auto')")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise TrainingError(f"training.device: got {name!r}; only "
                                f"{counted(torch.cuda.device_count(), 'CUDA device')} here")
    return canonical_device(device)


def canonical_device(device: str | torch.device) -> torch.device:
    """The device as tensors on it report theirs: ``cuda`` -> ``cuda:N``, ``cpu:0`` -> ``cpu``.

    Example:
        >>> canonical_device("cpu:0")
        device(type='cpu')
    """
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    if device.type == "cpu":
        return torch.device("cpu")  # CPU tensors report no index, whatever they were given
    return device


def same_device(first: str | torch.device, second: str | torch.device) -> bool:
    """Whether two names mean one device (``cuda`` is the current ``cuda:N``).

    Example:
        >>> same_device("cpu", torch.device("cpu", 0)), same_device("cpu", "meta")
        (True, False)
    """
    return canonical_device(first) == canonical_device(second)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain fp32."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def device_name(device: torch.device) -> str:
    """A human-readable name, e.g. ``"NVIDIA H100 80GB HBM3"`` or ``"cpu"``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "cpu"


# cuBLAS needs a fixed workspace to be deterministic (CUDA >= 10.2); ":4096:8" is the setting
# torch's reproducibility notes give, about 24 MiB of GPU memory more.
_CUBLAS_WORKSPACE = ":4096:8"


@contextlib.contextmanager
def kernel_mode(deterministic: bool, device: torch.device) -> Iterator[None]:
    """Within: deterministic kernels on a GPU, or its fastest (cuDNN autotuning); restored after.

    Deterministic on CUDA: ``torch.use_deterministic_algorithms(True, warn_only=True)`` (an op
    with no deterministic kernel warns instead of failing), cuDNN autotuning off and its
    deterministic algorithms on, and ``CUBLAS_WORKSPACE_CONFIG`` set when unset. Otherwise, on
    a GPU, cuDNN autotuning is on: the shapes are fixed, so the fastest kernels are picked
    once, and they may differ from run to run. A CPU run is deterministic either way, and is
    left alone: torch's deterministic mode only slows it (2-4x measured on small_cnn).

    Example:
        >>> with kernel_mode(True, torch.device("cpu")):
        ...     torch.are_deterministic_algorithms_enabled()
        False
    """
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    if deterministic and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", _CUBLAS_WORKSPACE)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2:]


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[int]:
    """Train with ``threads`` CPU threads (None: torch's own choice), never more than the
    cores this process may use (torch counts the machine's, so a 2-core container or a
    ``taskset`` would otherwise run one thread per host core, each preempting the others);
    the count before is restored after. Yields the count used."""
    before = torch.get_num_threads()
    used = min(threads or before, usable_cores())
    if used != before:
        torch.set_num_threads(used)
    try:
        yield used
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
