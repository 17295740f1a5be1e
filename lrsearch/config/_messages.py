"""Pydantic's validation errors reworded as lrsearch's problem lines.

Every problem reads ``dotted.path: got VALUE; RULE``, like the checks that pydantic's types
cannot express, so a study file and a settings object report problems alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from lrsearch.config._types import UNION_TAGS
from lrsearch.urls import is_secret_name

__all__ = ["describe", "problems_of", "shown"]

_MAX_SHOWN_CHARS = 80  # of a value echoed in a problem line


def shown(value: Any) -> str:
    """``repr(value)``, cut to a readable length: a problem line echoes what it got.

    Example:
        >>> shown("x" * 200)[-30:]
        'xxxxxxxxxx... (202 characters)'
    """
    return _cut(repr(value))


def _cut(text: str) -> str:
    if len(text) <= _MAX_SHOWN_CHARS:
        return text
    return f"{text[:_MAX_SHOWN_CHARS - 20]}... ({len(text):,} characters)"


def problems_of(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per error of ``exc``, paths relative to the model ``root``."""
    return [describe(error, root) for error in exc.errors()]


def describe(error: dict[str, Any], root: type[BaseModel]) -> str:
    """One pydantic error as ``path: got VALUE; RULE``."""
    loc = [str(part) for part in error["loc"] if part not in UNION_TAGS]
    key_error = bool(loc) and loc[-1] == "[key]"
    if key_error:
        loc.pop()
    path = _cut(".".join(loc) or "(top level)")
    message = error["msg"].removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    if error["type"] == "extra_forbidden":
        known = _known_keys(root, error["loc"][:-1])
        got = "a value, not shown" if is_secret_name(loc[-1]) else shown(error.get("input"))
        return f"{path}: unknown key (got {got}); known keys here are {known}"
    if error["type"] == "missing":
        return f"{path}: missing; this key is required"
    what = "got key" if key_error else "got"
    return f"{path}: {what} {shown(error.get('input'))}; {message[:1].lower()}{message[1:]}"


def _known_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The fields of the model at ``loc`` (walking ``root``'s fields), for extra keys."""
    model: Any = root
    for part in loc:
        if part in UNION_TAGS or isinstance(part, int):
            continue
        field = model.model_fields.get(part) if _is_model(model) else None
        if field is None:
            return []
        model = _model_in(field.annotation)
    return list(model.model_fields) if _is_model(model) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation like ``Foo``, ``Foo | None``, ``list[Foo]``."""
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
