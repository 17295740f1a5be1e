"""Validation of a spec at the boundary: every problem found, each naming field, value and rule.

Checks return problem strings instead of raising, so :class:`~lrsearch.schedules.ScheduleSpec`
reports all of them at once: unknown fields, the format, missing fields, out-of-range values,
the family's parameters and the rules that tie parameters together.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lrsearch.schedules._fields import (
    FIELDS,
    FORMAT,
    PEAK_LR,
    TOTAL_STEPS,
    WARMUP_FRAC,
    WARMUP_START,
)
from lrsearch.schedules._registry import FamilyInfo, family_names, get_family

__all__ = ["check_dict", "check_fields"]

_REQUIRED = ("family", "peak_lr", "total_steps")
_NUMBERS = (PEAK_LR, TOTAL_STEPS, WARMUP_FRAC, WARMUP_START)


def check_dict(data: Any) -> tuple[dict[str, Any], list[str]]:
    """Check a spec's dict form; return ``(normalised fields, problems)``.

    Structural problems (not an object, unknown or missing fields, another format) and the
    values of the fields that are present are all reported together.

    Example:
        >>> values, problems = check_dict({"family": "cosin", "peak_lr": 0, "format": "x"})
        >>> [p.split(":")[0] for p in problems]
        ['format', 'total_steps', 'peak_lr', 'family']
    """
    if not isinstance(data, Mapping):
        return {}, [f"spec: got {type(data).__name__}; must be a JSON object"]
    problems = [f"{key}: got {value!r}; unknown field, the fields of a spec are {list(FIELDS)}"
                for key, value in data.items() if key not in FIELDS]
    if data.get("format", FORMAT) != FORMAT:
        problems.append(f"format: got {data['format']!r}; must be {FORMAT!r}")
    problems += [f"{key}: missing; a spec needs {key}" for key in _REQUIRED if key not in data]
    fields = {key: data[key] for key in FIELDS if key in data and key != "format"}
    values, value_problems = check_fields(fields)
    return values, problems + value_problems


def check_fields(fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Check and normalise the fields present in ``fields``; return ``(values, problems)``.

    Absent fields are not checked (the caller reports them or fills in defaults); ``params``
    is checked only when ``family`` is known.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for info in _NUMBERS:
        if info.name in fields:
            value, found = info.check(fields[info.name], info.name)
            problems += found
            if not found:
                values[info.name] = value
    problems += _warmup_leaves_a_step(values, fields.get("warmup_frac"))
    if "family" in fields:
        family = fields["family"]
        info = get_family(family) if isinstance(family, str) else None
        if info is None:
            problems.append(f"family: got {family!r}; must be one of {family_names()}")
        else:
            values["family"] = family
            params, param_problems = _check_params(info, fields.get("params", {}))
            problems += param_problems
            values["params"] = MappingProxyType(params)
    return values, problems


def _warmup_leaves_a_step(values: dict[str, Any], warmup_frac: Any) -> list[str]:
    if "total_steps" not in values or "warmup_frac" not in values:
        return []
    total_steps = values["total_steps"]
    warmup_steps = round(values["warmup_frac"] * total_steps)
    if warmup_steps < total_steps:
        return []
    return [f"warmup_frac: got {warmup_frac!r}; round(warmup_frac * total_steps) = "
            f"{warmup_steps} must leave at least one step of the family "
            f"(total_steps = {total_steps})"]


def _check_params(info: FamilyInfo, params: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(params, Mapping):
        return {}, [f"params: got {params!r}; must be an object of {info.name}'s parameters"]
    known = [p.name for p in info.params]
    problems = [f"params.{key}: got {value!r}; unknown parameter of {info.name!r}, its "
                f"parameters are {known}" for key, value in params.items() if key not in known]
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
    if info.cross_check is not None:
        problems += info.cross_check(normalised)
    return normalised, problems
