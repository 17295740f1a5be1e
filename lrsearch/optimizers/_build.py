"""Build a registered optimizer over param groups by evaluating its registry constructor."""

from __future__ import annotations

import importlib
from typing import Any

from lrsearch.errors import TrainingError
from lrsearch.optimizers._optimizer_settings import OptimizerSettings

__all__ = ["construct"]


def construct(settings: OptimizerSettings, groups: list[dict[str, Any]], peak_lr: float) -> Any:
    """The ``torch.optim.Optimizer`` of ``settings`` over ``groups`` (loads torch).

    Raises:
        TrainingError: The optimizer needs a package that is not installed.
    """
    import torch

    info = settings.info
    namespace: dict[str, Any] = {"torch": torch, "groups": groups, "peak_lr": peak_lr,
                                 "o": settings.to_dict()}
    if info.package is not None:
        try:
            namespace[info.package] = importlib.import_module(info.package)
        except ImportError:
            raise TrainingError(f"optimizer.name: got {info.name!r}; it needs the "
                                f"{info.package} package: pip install {info.package}") from None
    if info.uses_lookahead:
        from lrsearch.optimizers._lookahead import Lookahead

        namespace["Lookahead"] = Lookahead
    return eval(info.constructor, namespace)  # noqa: S307 (the registry's own constant)
