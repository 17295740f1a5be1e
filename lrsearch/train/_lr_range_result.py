"""The result of an LR range test, as a plain dataclass (its settings: lrsearch.config).

The result goes into a study's user attributes and a JSON file, so :meth:`RangeTestResult.
to_dict` gives plain JSON types only, and :meth:`RangeTestResult.from_dict` reads them back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from lrsearch.config import RangeTestSettings

__all__ = ["RangeTestResult", "RANGE_TEST_FORMAT"]

RANGE_TEST_FORMAT = "lrsearch.range_test/1"
_DIGITS = 6  # significant digits of the stored curve: a study keeps it in a text column


@dataclass
class RangeTestResult:
    """The curve of one range test and what the rules read off it.

    Attributes:
        settings: How it ran.
        lrs: Group 0's LR of each step.
        losses: Training loss of each step's batch, before that step's update.
        smoothed: Bias-corrected exponential moving average of ``losses``.
        suggestions: Each rule's LR, read off ``smoothed`` (see ``suggest``).
        stopped: Why the ramp ended before ``num_steps``, or None when it ran them all.
        model: The model's name.
        optimizer: The optimizer settings (plain data).
        device_name: Where it ran.
        seconds: Wall time of the ramp.
    """

    settings: RangeTestSettings
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestions: dict[str, float]
    stopped: str | None
    model: str
    optimizer: dict[str, Any] = field(default_factory=dict)
    device_name: str = "cpu"
    seconds: float = 0.0

    @property
    def suggested_lr(self) -> float:
        """The suggestion of ``settings.rule``."""
        return self.suggestions[self.settings.rule]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only; the curve rounded to 6 significant digits."""
        data = asdict(self)
        data["settings"] = self.settings.model_dump()
        for key in ("lrs", "losses", "smoothed"):
            data[key] = [_round(v) for v in data[key]]
        data["suggestions"] = {k: float(v) for k, v in self.suggestions.items()}
        return {"format": RANGE_TEST_FORMAT, **data, "suggested_lr": float(self.suggested_lr)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """Read what :meth:`to_dict` wrote."""
        values = {k: v for k, v in data.items() if k not in ("format", "suggested_lr")}
        values["settings"] = RangeTestSettings(**values["settings"])
        return cls(**values)


def _round(value: float) -> float:
    return float(f"{value:.{_DIGITS}g}") if math.isfinite(value) else float(value)
