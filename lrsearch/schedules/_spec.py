"""``ScheduleSpec``: a learning-rate schedule as frozen, JSON-serialisable data.

Positions are fractions of training and levels are ratios of ``peak_lr``, so a spec found at 10
epochs can be laid onto 300 with :meth:`ScheduleSpec.with_total_steps`. The format is the public
contract ``lrsearch.schedule/1`` described in docs/schedules.md.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lrsearch.errors import SpecError
from lrsearch.schedules._compose import schedule_multiplier
from lrsearch.schedules._fields import FORMAT, WARMUP_FRAC_DEFAULT, WARMUP_START_DEFAULT
from lrsearch.schedules._params import to_plain
from lrsearch.schedules._registry import FamilyInfo, get_family
from lrsearch.schedules._validate import check_dict, check_fields

__all__ = ["ScheduleSpec"]


@dataclass(frozen=True)
class ScheduleSpec:
    """A learning-rate schedule: a family, its parameters, a peak LR and a linear warm-up.

    The LR after ``step`` optimizer steps is ``peak_lr * multiplier(step)``. The first
    ``round(warmup_frac * total_steps)`` steps ramp linearly from ``warmup_start`` to 1; the
    family runs over the remaining steps and holds its last value past the end.

    Args:
        family: A name from :func:`list_families`.
        peak_lr: The LR at multiplier 1 (for the optimizer's first param group; other groups
            keep their ratio to it).
        total_steps: Optimizer steps in all of training.
        warmup_frac: Fraction of ``total_steps`` spent warming up, in [0, 1).
        warmup_start: Multiplier at step 0 of the warm-up, in [0, 1].
        params: The family's parameters (all required).

    Raises:
        SpecError: Listing every problem, each with the field, the value and the rule.

    Example:
        >>> spec = ScheduleSpec("cosine", peak_lr=0.1, total_steps=100, warmup_frac=0.1,
        ...                     params={"final_ratio": 0.0})
        >>> spec.lr(0), spec.lr(10), round(spec.lr(55), 6), spec.lr(100)
        (0.0, 0.1, 0.05, 0.0)
        >>> spec.with_total_steps(1000).lr(550) == spec.lr(55)
        True
    """

    family: str
    peak_lr: float
    total_steps: int
    warmup_frac: float = WARMUP_FRAC_DEFAULT
    warmup_start: float = WARMUP_START_DEFAULT
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values, problems = check_fields({
            "family": self.family, "peak_lr": self.peak_lr, "total_steps": self.total_steps,
            "warmup_frac": self.warmup_frac, "warmup_start": self.warmup_start,
            "params": self.params})
        if problems:
            raise SpecError(problems)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        # Over the normalised values (params as sorted items), so equal specs hash equal; the
        # params mapping itself (a read-only proxy) is unhashable.
        return hash((self.family, self.peak_lr, self.total_steps, self.warmup_frac,
                     self.warmup_start, tuple(sorted(self.params.items()))))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and deepcopy go through the dict form (the read-only params proxy cannot).
        return (ScheduleSpec.from_dict, (self.to_dict(),))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleSpec:
        """Build a spec from its dict form (as written by :meth:`to_dict`), checking everything.

        Every problem is reported at once: unknown and missing fields, another format, and each
        out-of-range value, parameters included.

        Raises:
            SpecError: Listing every problem, each with the field, the value and the rule.

        Example:
            >>> ScheduleSpec.from_dict({"family": "step", "peak_lr": 0.1, "total_steps": 90,
            ...     "params": {"step_frac": 0.34, "gamma": 0.1}}).lr(31)
            0.010000000000000002
            >>> try:
            ...     ScheduleSpec.from_dict({"family": "cosine", "peak_lr": -1, "total_steps": 0,
            ...                             "params": {"final_ratio": 2}, "bogus": 1})
            ... except SpecError as exc:
            ...     [p.split(":")[0] for p in exc.problems]
            ['bogus', 'peak_lr', 'total_steps', 'params.final_ratio']
        """
        values, problems = check_dict(data)
        if problems:
            raise SpecError(problems)
        return cls(**values)  # absent warm-up fields take the dataclass defaults

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON types (``from_dict(spec.to_dict()) == spec``).

        Example:
            >>> ScheduleSpec("linear", peak_lr=0.1, total_steps=50,
            ...              params={"final_ratio": 0}).to_dict()  # doctest: +NORMALIZE_WHITESPACE
            {'format': 'lrsearch.schedule/1', 'family': 'linear', 'peak_lr': 0.1,
             'total_steps': 50, 'warmup_frac': 0.0, 'warmup_start': 0.0,
             'params': {'final_ratio': 0.0}}
        """
        return {
            "format": FORMAT,
            "family": self.family,
            "peak_lr": self.peak_lr,
            "total_steps": self.total_steps,
            "warmup_frac": self.warmup_frac,
            "warmup_start": self.warmup_start,
            "params": {name: to_plain(value) for name, value in self.params.items()},
        }

    def to_json(self) -> str:
        """The spec as a JSON document."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the spec to ``path`` as JSON."""
        Path(path).write_text(self.to_json())

    def with_total_steps(self, total_steps: int) -> ScheduleSpec:
        """The same shape laid onto ``total_steps`` steps (a new spec; this one is frozen).

        Example:
            >>> spec = ScheduleSpec("step", peak_lr=1.0, total_steps=10,
            ...                     params={"step_frac": 0.5, "gamma": 0.1})
            >>> longer = spec.with_total_steps(100)
            >>> longer.total_steps, spec.lr(5), longer.lr(50), longer.lr(49)
            (100, 0.1, 0.1, 1.0)
        """
        return replace(self, total_steps=total_steps)

    @property
    def info(self) -> FamilyInfo:
        """The registry entry of this spec's family."""
        return get_family(self.family)

    @property
    def warmup_steps(self) -> int:
        """Steps of linear warm-up: ``round(warmup_frac * total_steps)``."""
        return round(self.warmup_frac * self.total_steps)

    def multiplier(self, step: int) -> float:
        """Multiplier of ``peak_lr`` after ``step`` optimizer steps (0-based).

        Any ``numbers.Integral`` is a step (numpy integers too).

        Raises:
            SpecError: For a negative or non-integer step, or a metric-driven family
                (``plateau``), whose LR after warm-up follows the metric, not the step.

        Example:
            >>> spec = ScheduleSpec("linear", peak_lr=0.2, total_steps=10, warmup_frac=0.2,
            ...                     params={"final_ratio": 0.0})
            >>> [spec.multiplier(s) for s in (0, 1, 2, 6, 10, 11)]
            [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise SpecError([f"step: got {step!r}; must be an integer >= 0"])
        step = int(step)
        if self.info.metric_driven:
            if step < self.warmup_steps:
                return schedule_multiplier(step, self.total_steps, self.warmup_frac,
                                           self.warmup_start, None, {})
            raise SpecError([f"family: {self.family!r} follows the validation metric, so its "
                             f"LR after warm-up is no function of the step; use "
                             f"spec.to_torch(optimizer) and scheduler.step(metric)"])
        return schedule_multiplier(step, self.total_steps, self.warmup_frac, self.warmup_start,
                                   self.info.function, self.params)

    def lr(self, step: int) -> float:
        """The learning rate after ``step`` optimizer steps: ``peak_lr * multiplier(step)``."""
        return self.peak_lr * self.multiplier(step)

    def curve(self, points: int = 200) -> tuple[list[float], list[float]]:
        """``(progress, lr)`` sampled at up to ``points`` evenly spaced steps, for plots."""
        count = min(points, self.total_steps + 1)
        steps = sorted({round(i * self.total_steps / max(1, count - 1)) for i in range(count)})
        return [s / self.total_steps for s in steps], [self.lr(s) for s in steps]

    def to_torch(self, optimizer: Any, total_steps: int | None = None) -> Any:
        """A torch LR scheduler that reproduces :meth:`lr`; call ``step()`` after each update.

        Sets both ``lr`` and ``initial_lr`` of every param group (group 0 gets ``peak_lr``; the
        other groups keep their ratio to group 0). ``state_dict()`` holds plain data only. For
        ``plateau`` it is a ``ReduceLROnPlateau``: ``step()`` after each update runs the
        warm-up, ``step(metric)`` after each evaluation.

        Args:
            optimizer: A ``torch.optim.Optimizer``.
            total_steps: Lay the spec onto this many steps first (default: ``self.total_steps``).

        Raises:
            SpecError: When the first param group's LR is not > 0 (the other groups' LRs are
                taken relative to it).

        Example:
            >>> import torch
            >>> spec = ScheduleSpec("cosine", peak_lr=0.1, total_steps=100,
            ...                     params={"final_ratio": 0.0})
            >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1.0)
            >>> scheduler = spec.to_torch(optimizer, total_steps=4)
            >>> lrs = [optimizer.param_groups[0]["lr"]]
            >>> for _ in range(4):
            ...     optimizer.step(); scheduler.step()
            ...     lrs.append(optimizer.param_groups[0]["lr"])
            >>> [round(lr, 6) for lr in lrs]
            [0.1, 0.085355, 0.05, 0.014645, 0.0]
        """
        from lrsearch.schedules import _torch_adapter  # torch is loaded here, lazily

        spec = self if total_steps is None else self.with_total_steps(total_steps)
        return _torch_adapter.build_scheduler(spec, optimizer)

    def to_torch_code(self) -> str:
        """Standalone Python source defining ``build_scheduler(optimizer, total_steps)``.

        The code imports only torch and the standard library and gives exactly this spec's LRs.

        Example:
            >>> import torch
            >>> spec = ScheduleSpec("exponential", peak_lr=0.1, total_steps=10,
            ...                     params={"final_ratio": 0.01})
            >>> namespace = {}
            >>> exec(spec.to_torch_code(), namespace)
            >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1.0)
            >>> scheduler = namespace["build_scheduler"](optimizer, total_steps=10)
            >>> for _ in range(5):
            ...     optimizer.step(); scheduler.step()
            >>> optimizer.param_groups[0]["lr"] == spec.lr(5)
            True
        """
        from lrsearch.schedules._codegen import torch_code

        return torch_code(self)
