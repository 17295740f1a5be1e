"""The value types of a study file: strict models, searched numbers, ``auto`` and their rules.

A searched number is a fixed value or a :class:`Range`; its rule is the one declared with the
number itself (:mod:`lrsearch.schedules` for the spec's numbers, :mod:`lrsearch.optimizers`
for the optimizer's), so a study file and the code that uses the value check it alike.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Tag,
    ValidationInfo,
    field_validator,
)

from lrsearch.optimizers import GROUP_PARAMS, list_optimizers
from lrsearch.schedules import PEAK_LR, WARMUP_FRAC, WARMUP_START, ParamInfo

__all__ = ["AUTO", "MAX_BATCH_SIZE", "MAX_EPOCHS", "MAX_SEED", "MAX_TRIALS", "Number", "PeakLr",
           "Range", "Strict", "UNION_TAGS", "check_number", "number_info", "shape_tag"]

MAX_SEED = 2**31 - 1
"""Largest seed a study file takes: numpy's and Optuna's samplers take seeds below 2**32, and
workers add their offsets (1000 per worker index, plus the trials so far) to a sampler seed."""
MAX_EPOCHS = 10_000  # epochs per trial: past this a study file holds a typo, not a plan
MAX_TRIALS = 1_000_000  # trials per study: past this, Optuna's samplers cannot keep up
MAX_BATCH_SIZE = 1_048_576  # images per step: past this, a typo

AUTO = "auto"
"""``peak_lr: auto``: the search range is set from an LR range test at the start of the study."""

UNION_TAGS = ("mapping", "value", AUTO)
"""Tags of the union members (by the input's shape); error paths leave them out."""


class Strict(BaseModel):
    """A model that rejects unknown keys, and ``true``/``false`` where a number belongs
    (pydantic would read ``epochs: yes`` as 1 epoch)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_yes_no_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            kinds = _kinds(cls.model_fields[info.field_name].annotation)
            if kinds & {int, float} and not kinds & {bool, Any}:
                raise ValueError("must be a number, not true/false")
        return value


def _kinds(annotation: Any) -> set[Any]:
    """The plain types an annotation admits (through unions, ``Annotated`` and ``Optional``)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return set().union(*(_kinds(arg) for arg in get_args(annotation)))
    return {annotation}


class Range(Strict):
    """A searched number: sampled from ``[low, high]``, on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False

    @field_validator("high")
    @classmethod
    def _high_not_below_low(cls, high: float, info: ValidationInfo) -> float:
        low = info.data.get("low")
        if low is not None and high < low:
            raise ValueError(f"must be >= low ({low:g})")
        return high

    @field_validator("log")
    @classmethod
    def _log_needs_positive_low(cls, log: bool, info: ValidationInfo) -> bool:
        low = info.data.get("low")
        if log and low is not None and low <= 0:
            raise ValueError(f"a log scale needs low > 0 (low is {low:g})")
        return log


def shape_tag(value: Any) -> str:
    """Tag of a union member by the input's shape, so errors name one member only."""
    return "mapping" if isinstance(value, (dict, BaseModel)) else "value"


def _peak_shape(value: Any) -> str:
    """Like :func:`shape_tag`, with a third member for words (``auto``): a string that reads as a
    number (YAML reads ``1e-3`` as one) is still a number."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return AUTO
    return shape_tag(value)


def _auto_word(value: str) -> str:
    if value.strip().lower() != AUTO:
        raise ValueError("must be a number, a range {low, high, log} or 'auto'")
    return AUTO


Number = Annotated[Annotated[float, Tag("value")] | Annotated[Range, Tag("mapping")],
                   Discriminator(shape_tag)]
"""A fixed number or a :class:`Range` to search."""

PeakLr = Annotated[Annotated[float, Tag("value")] | Annotated[Range, Tag("mapping")]
                   | Annotated[str, AfterValidator(_auto_word), Tag(AUTO)],
                   Discriminator(_peak_shape)]
"""A fixed peak LR, a :class:`Range` to search, or ``auto`` (set by the LR range test)."""


def number_info(name: str) -> ParamInfo:
    """The declaration of the searched number ``name`` (its rule), wherever it is declared."""
    if name == PEAK_LR.name:
        return PEAK_LR
    declared = [WARMUP_FRAC, WARMUP_START, *GROUP_PARAMS,
                *(p for info in list_optimizers() for p in info.params)]
    return next(p for p in declared if p.name == name)


def check_number(value: Any, info: ValidationInfo) -> Any:
    """Check a field's fixed or searched number against the rule declared for it."""
    param = number_info(info.field_name)
    if isinstance(value, Range):
        bad = [key for key in ("low", "high") if param.check(getattr(value, key), "")[1]]
        if bad:
            raise ValueError(f"{' and '.join(bad)} {param.rule()}")
    elif value is not None and value != AUTO and param.check(value, "")[1]:
        raise ValueError(param.rule())
    return value
