"""``ScheduleSpec``: a learning-rate schedule as frozen, JSON-serialisable data.

Positions are fractions of training and levels are ratios of ``peak_lr``, so a spec found at 10
epochs can be laid onto 300 with :meth:`ScheduleSpec.with_total_steps`. The format is the public
contract ``lrsearch.schedule/1`` described in the README.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lrsearch.errors import LrsearchError, SpecError
from lrsearch.schedules._compose import schedule_multiplier
from lrsearch.schedules._params import to_plain
from lrsearch.schedules._registry import FamilyInfo, family_names, get_family

__all__ = ["ScheduleSpec", "load_spec", "FORMAT"]

FORMAT = "lrsearch.schedule/1"
_FIELDS = ("format", "family", "peak_lr", "total_steps", "warmup_frac", "warmup_start", "params")


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
    warmup_frac: float = 0.0
    warmup_start: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values, problems = _validate(self.family, self.peak_lr, self.total_steps,
                                     self.warmup_frac, self.warmup_start, self.params)
        if problems:
            raise SpecError(problems)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # -- construction and serialisation -------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleSpec:
        """Build a spec from its dict form (as written by :meth:`to_dict`), checking everything.

        Example:
            >>> ScheduleSpec.from_dict({"family": "step", "peak_lr": 0.1, "total_steps": 90,
            ...     "params": {"step_frac": 0.34, "gamma": 0.1}}).lr(31)
            0.010000000000000002
        """
        if not isinstance(data, Mapping):
            raise SpecError([f"spec: got {type(data).__name__}; must be a JSON object"])
        problems = [f"{key}: unknown field; known fields are {list(_FIELDS)}"
                    for key in data if key not in _FIELDS]
        if data.get("format", FORMAT) != FORMAT:
            problems.append(f"format: got {data['format']!r}; must be {FORMAT!r}")
        for key in ("family", "peak_lr", "total_steps"):
            if key not in data:
                problems.append(f"{key}: missing; a spec needs {key}")
        if problems:
            raise SpecError(problems)
        return cls(family=data["family"], peak_lr=data["peak_lr"],
                   total_steps=data["total_steps"], warmup_frac=data.get("warmup_frac", 0.0),
                   warmup_start=data.get("warmup_start", 0.0), params=data.get("params", {}))

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON types (``from_dict(spec.to_dict()) == spec``)."""
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
        """The same shape laid onto ``total_steps`` steps."""
        return replace(self, total_steps=total_steps)

    # -- evaluation -----------------------------------------------------------------------------

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

        Raises:
            SpecError: For a negative or non-integer step, or a metric-driven family
                (``plateau``), whose LR after warm-up follows the metric, not the step.
        """
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise SpecError([f"step: got {step!r}; must be an integer >= 0"])
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

    # -- export ----------------------------------------------------------------------------------

    def to_torch(self, optimizer: Any, total_steps: int | None = None) -> Any:
        """A torch LR scheduler that reproduces :meth:`lr`; call ``step()`` after each update.

        Sets both ``lr`` and ``initial_lr`` of every param group (group 0 gets ``peak_lr``; the
        other groups keep their ratio to group 0). ``state_dict()`` holds plain data only. For
        ``plateau`` it is a ``ReduceLROnPlateau``: ``step()`` after each update runs the
        warm-up, ``step(metric)`` after each evaluation.

        Args:
            optimizer: A ``torch.optim.Optimizer``.
            total_steps: Lay the spec onto this many steps first (default: ``self.total_steps``).
        """
        from lrsearch.schedules import _torch_adapter  # torch is loaded here, lazily

        spec = self if total_steps is None else self.with_total_steps(total_steps)
        return _torch_adapter.build_scheduler(spec, optimizer)

    def to_torch_code(self) -> str:
        """Standalone Python source defining ``build_scheduler(optimizer, total_steps)``.

        The code imports only torch and the standard library and gives exactly this spec's LRs.
        """
        from lrsearch.schedules._codegen import torch_code

        return torch_code(self)


def _validate(family, peak_lr, total_steps, warmup_frac, warmup_start, params):
    """Check and normalise every field; return ``(values, problems)``."""
    problems: list[str] = []
    values: dict[str, Any] = {}

    def number(name, value, ok, rule, cast=float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            problems.append(f"{name}: got {value!r}; {rule}")
        else:
            values[name] = cast(value)

    number("peak_lr", peak_lr, lambda v: math.isfinite(v) and v > 0, "must be a number > 0")
    number("total_steps", total_steps, lambda v: math.isfinite(v) and v == int(v) and v >= 1,
           "must be an integer >= 1", cast=int)
    number("warmup_frac", warmup_frac, lambda v: 0 <= v < 1, "must be a number in [0, 1)")
    number("warmup_start", warmup_start, lambda v: 0 <= v <= 1, "must be a number in [0, 1]")
    if "total_steps" in values and "warmup_frac" in values:
        warmup_steps = round(values["warmup_frac"] * values["total_steps"])
        if warmup_steps >= values["total_steps"]:
            problems.append(f"warmup_frac: got {warmup_frac!r}; round(warmup_frac * total_steps)"
                            f" = {warmup_steps} must leave at least one step of the family "
                            f"(total_steps = {values['total_steps']})")
    info = get_family(family) if isinstance(family, str) else None
    if info is None:
        problems.append(f"family: got {family!r}; must be one of {family_names()}")
    else:
        values["family"] = family
        normalised, param_problems = _validate_params(info, params)
        problems += param_problems
        values["params"] = MappingProxyType(normalised)
    return values, problems


def _validate_params(info: FamilyInfo, params: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(params, Mapping):
        return {}, [f"params: got {params!r}; must be an object of {info.name}'s parameters"]
    known = [p.name for p in info.params]
    problems = [f"params.{key}: unknown parameter of {info.name!r}; its parameters are {known}"
                for key in params if key not in known]
    normalised: dict[str, Any] = {}
    for param in info.params:
        if param.name not in params:
            problems.append(f"params.{param.name}: missing; {info.name!r} needs {param.name} "
                            f"({param.help}), which {param.rule()}")
            continue
        value, found = param.check(params[param.name], f"params.{param.name}")
        problems += found
        if not found:
            normalised[param.name] = value
    # Rules across parameters.
    if info.name == "onecycle" and normalised.get("three_phase") and \
            normalised.get("pct_start", 0.0) >= 0.5:
        problems.append(f"params.pct_start: got {normalised['pct_start']!r}; must be < 0.5 when "
                        f"three_phase is true (the first two phases take 2 * pct_start)")
    return normalised, problems


def load_spec(path: str | Path) -> ScheduleSpec:
    """Read a spec from a JSON file: a spec itself, or an export with a ``schedule`` key.

    Example:
        >>> import tempfile, os
        >>> spec = ScheduleSpec("linear", peak_lr=0.05, total_steps=10, params={"final_ratio": 0})
        >>> path = os.path.join(tempfile.mkdtemp(), "spec.json"); spec.save(path)
        >>> load_spec(path) == spec
        True
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LrsearchError(f"{path}: no such file; expected a schedule spec JSON") from None
    except json.JSONDecodeError as exc:
        raise LrsearchError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and "schedule" in data and "family" not in data:
        data = data["schedule"]
    try:
        return ScheduleSpec.from_dict(data)
    except SpecError as exc:
        raise SpecError(exc.problems, prefix=f"{path}: ") from None
