"""Settings and result of an LR range test, as plain dataclasses.

The result goes into a study's user attributes and a JSON file, so :meth:`RangeTestResult.
to_dict` gives plain JSON types only, and :meth:`RangeTestResult.from_dict` reads them back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from lrsearch.errors import TrainingError
from lrsearch.train._lr_suggest import DEFAULT_RULE, RULES

__all__ = ["RangeTestSettings", "RangeTestResult", "RANGE_TEST_FORMAT"]

RANGE_TEST_FORMAT = "lrsearch.range_test/1"
_DIGITS = 6  # significant digits of the stored curve: a study keeps it in a text column


@dataclass(frozen=True)
class RangeTestSettings:
    """How the range test ramps the LR, smooths the loss, stops and suggests.

    The defaults differ from fastai's (100 steps from 1e-7): at 12.5 steps per decade the
    smoothing (``smooth_beta`` 0.98 averages about 50 steps) lags the LR by decades and a third
    of the ramp is spent where nothing moves; there the valley suggestion lay 1.5-53x below
    the best peak LR where we measured it, against 3.3-4.8x with 300 steps from 1e-6
    (see :mod:`lrsearch.train._lr_suggest`; measured with the valley one point later than
    fastai's, so up to 5.5% more against today's exact index). 300 steps cost about one short trial.

    Attributes:
        start_lr: Group 0's LR at the first step (the other param groups keep their ratio).
        end_lr: Group 0's LR at the last step; the LR grows by the same factor every step.
        num_steps: Optimizer steps of the whole ramp (one batch each).
        smooth_beta: Weight of the past in the exponential moving average of the loss
            (bias-corrected; 0.98 averages over about 50 steps).
        diverge_factor: Stop when the smoothed loss exceeds this many times its lowest value.
        rule: The suggestion rule whose LR is *the* suggestion: ``valley`` (default),
            ``steepest`` or ``min_over_10`` (see :mod:`lrsearch.train._lr_suggest`).
    """

    start_lr: float = 1e-6
    end_lr: float = 10.0
    num_steps: int = 300
    smooth_beta: float = 0.98
    diverge_factor: float = 4.0
    rule: str = DEFAULT_RULE

    def __post_init__(self) -> None:
        checks = [
            ("start_lr", self.start_lr > 0, "must be > 0"),
            ("end_lr", self.end_lr > self.start_lr, f"must be > start_lr ({self.start_lr:g})"),
            ("num_steps", isinstance(self.num_steps, int) and self.num_steps >= 10,
             "must be an integer >= 10"),
            ("smooth_beta", 0 <= self.smooth_beta < 1, "must be in [0, 1)"),
            ("diverge_factor", self.diverge_factor > 1, "must be > 1"),
            ("rule", self.rule in RULES, f"must be one of {list(RULES)}"),
        ]
        problems = [f"{name}: got {getattr(self, name)!r}; {rule}" for name, ok, rule in checks
                    if not ok]
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise TrainingError(f"invalid range test settings ({len(problems)} problem(s)):\n"
                                f"{lines}")

    def lr_at(self, step: int) -> float:
        """Group 0's LR at 0-based ``step``: exponential from ``start_lr`` to ``end_lr``.

        Example:
            >>> settings = RangeTestSettings(start_lr=1e-4, end_lr=1.0, num_steps=11)
            >>> [round(settings.lr_at(k), 6) for k in (0, 5, 10)]
            [0.0001, 0.01, 1.0]
        """
        return self.start_lr * (self.end_lr / self.start_lr) ** (step / (self.num_steps - 1))


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
