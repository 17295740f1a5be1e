"""Device and precision resolution."""

from __future__ import annotations

import torch

from lrsearch.errors import TrainingError

__all__ = ["resolve_device", "canonical_device", "same_device", "autocast_dtype", "device_name"]


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
        raise TrainingError(f"device: got {name!r}; must be 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError(f"device: got {name!r}; torch sees no CUDA device here "
                                f"(use 'cpu' or 'auto')")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise TrainingError(f"device: got {name!r}; only {torch.cuda.device_count()} CUDA "
                                f"device(s) here")
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
