"""The settings of one optimizer: its name and every hyperparameter, checked and resolved.

Settings a caller leaves out take the registry's defaults; a setting the optimizer does not
take is refused, so a trial's stored optimizer (and the export) lists only what it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lrsearch.errors import TrainingError
from lrsearch.optimizers._hyperparams import GROUP_PARAMS
from lrsearch.optimizers._registry import OptimizerInfo, get_optimizer, optimizer_names
from lrsearch.text import counted

__all__ = ["OptimizerSettings", "optimizer_problems"]


def optimizer_problems(name: Any, values: Mapping[str, Any]
                       ) -> tuple[dict[str, Any], list[str]]:
    """``(resolved values, problems)`` of optimizer ``name`` given ``values``.

    Each problem names the setting, the value and the rule; the resolved values hold every
    setting of the optimizer, defaults filled in.
    """
    info = get_optimizer(name) if isinstance(name, str) else None
    problems = [] if info is not None else [
        f"name: got {name!r}; must be one of {list(optimizer_names())}"]
    params = info.all_params if info is not None else GROUP_PARAMS
    known = {p.name for p in params}
    if info is not None:
        problems += [f"{key}: got {value!r}; {name!r} takes no {key}; its settings are "
                     f"{sorted(known)}" for key, value in values.items() if key not in known]
    resolved = {}
    for param in params:
        value, found = param.check(values.get(param.name, param.default), param.name)
        problems += found
        if not found:
            resolved[param.name] = value
    if info is not None and info.cross_check is not None and not problems:
        problems += info.cross_check(resolved)
    return resolved, problems


class OptimizerSettings:
    """An optimizer and its hyperparameters (the peak LR comes from the schedule spec).

    Settings are read as attributes (``settings.momentum``); :meth:`to_dict` gives plain data.

    Example:
        >>> settings = OptimizerSettings("sgd", momentum=0.8)
        >>> settings.momentum, list(settings.to_dict())
        (0.8, ['name', 'weight_decay', 'head_lr_mult', 'momentum', 'nesterov'])

    Raises:
        TrainingError: Listing every bad, unknown or conflicting setting.
    """

    __slots__ = ("name", "_values")

    def __init__(self, name: str = "sgd", **values: Any) -> None:
        resolved, problems = optimizer_problems(name, values)
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise TrainingError(f"invalid optimizer settings "
                                f"({counted(len(problems), 'problem')}):\n{lines}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_values", MappingProxyType(resolved))

    @property
    def info(self) -> OptimizerInfo:
        """The optimizer's registry entry."""
        return get_optimizer(self.name)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"optimizer {self.name!r} has no setting {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("OptimizerSettings is immutable")

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., setting: value, ...}`` in plain JSON types."""
        return {"name": self.name, **self._values}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptimizerSettings) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"OptimizerSettings({self.name!r}, {values})"
