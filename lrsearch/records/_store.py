"""Where lrsearch keeps its records in an Optuna study: out of the tables Optuna prints.

Optuna's tools print every user attribute of a study (``optuna studies``) and every user and
system attribute of a trial (``trials_dataframe()``, ``optuna trials``), so a resolved config or
a curve per epoch there makes tables thousands of characters wide. lrsearch's study records
(config, search space, range tests, claims, confirmations, provenance) and each trial's curves
(its rows per epoch, its LR curve) are the study's *system* attributes instead, which no Optuna
table prints: ``lrsearch:<name>`` and ``lrsearch:curve:<trial number>:<name>``. The study's
user attributes hold a short face for Optuna's tools (:data:`FACE_ATTRS`). A trial's own small
attributes (spec, optimizer, reasons) stay its user attributes, where filtering a frame needs
them. This module is the one place that reads and writes these keys.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from lrsearch.records._optuna import (
    set_study_system_attr,
    stored_trial,
    study_system_attrs,
    trial_id,
)

__all__ = ["RECORD_PREFIX", "CONFIG_DIGEST_ATTR", "FACE_ATTRS", "study_records",
           "set_study_record", "set_study_face", "config_digest", "set_curve",
           "inherited_curve", "with_curves", "curve"]

RECORD_PREFIX = "lrsearch:"
_CURVE_PREFIX = RECORD_PREFIX + "curve:"  # + "<trial number>:<name>"

CONFIG_DIGEST_ATTR = "lrsearch_config"  # a study user attribute: the config's short digest
FACE_ATTRS = (CONFIG_DIGEST_ATTR,)
"""The study user attributes lrsearch writes (``optuna studies`` prints them): the digest of
the resolved config, which also marks a study as lrsearch's; equal configs, equal digests."""


def study_records(study: optuna.Study) -> dict[str, Any]:
    """lrsearch's records of ``study`` by name (``CONFIG_ATTR``, ...), read in one query.

    Every call reads the storage: read once per decision, pass the dict on.
    """
    stored = study_system_attrs(study)
    return {key[len(RECORD_PREFIX):]: value for key, value in stored.items()
            if key.startswith(RECORD_PREFIX) and not key.startswith(_CURVE_PREFIX)}


def set_study_record(study: optuna.Study, name: str, value: Any) -> None:
    """Store record ``name`` of ``study`` (plain JSON: Optuna stores it with ``json.dumps``)."""
    set_study_system_attr(study, RECORD_PREFIX + name, value)


def config_digest(config: dict[str, Any]) -> str:
    """A short digest of a stored config: equal configs, equal digests.

    Example:
        >>> config_digest({"name": "a"}) == config_digest({"name": "a"}), len(config_digest({}))
        (True, 12)
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def set_study_face(study: optuna.Study, config: dict[str, Any]) -> None:
    """Write the study's user attributes for Optuna's tools (:data:`FACE_ATTRS`)."""
    study.set_user_attr(CONFIG_DIGEST_ATTR, config_digest(config))


def set_curve(trial: optuna.Trial, name: str, value: Any) -> None:
    """Store curve ``name`` (``EPOCHS_ATTR`` or ``LR_CURVE_ATTR``) of a running trial."""
    set_study_system_attr(trial.study, f"{_CURVE_PREFIX}{trial.number}:{name}", value)


def inherited_curve(trial: optuna.Trial, name: str) -> Any:
    """Curve ``name`` of the trial a running retry continues (Optuna's ``retry_history``
    names it last), or None when ``trial`` is no retry or its predecessor stored none."""
    history = stored_trial(trial.study, trial_id(trial)).system_attrs.get("retry_history") or []
    if not history:
        return None
    return study_system_attrs(trial.study).get(f"{_CURVE_PREFIX}{history[-1]}:{name}")


def with_curves(study: optuna.Study, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """``trials`` with their curves laid onto copies (read in one query), for the readers
    :func:`curve`, ``trial_epochs`` and ``trial_lr_curve``; the storage's trials are not
    touched."""
    curves: dict[int, dict[str, Any]] = {}
    for key, value in study_system_attrs(study).items():
        if key.startswith(_CURVE_PREFIX):
            number, name = key[len(_CURVE_PREFIX):].split(":", 1)
            curves.setdefault(int(number), {})[RECORD_PREFIX + name] = value
    laid = []
    for trial in trials:
        if trial.number in curves:
            trial = copy.copy(trial)
            trial.system_attrs = {**trial.system_attrs, **curves[trial.number]}
        laid.append(trial)
    return laid


def curve(trial: Any, name: str) -> Any:
    """Curve ``name`` of a trial read through :func:`with_curves`, or None when it has none.

    A trial made by hand (``optuna.trial.create_trial``) may hold it as a user attribute.

    Example:
        >>> from types import SimpleNamespace
        >>> curve(SimpleNamespace(system_attrs={"lrsearch:epochs": [1]}, user_attrs={}),
        ...       "epochs"), curve(SimpleNamespace(user_attrs={"epochs": [2]}), "epochs")
        ([1], [2])
    """
    system = getattr(trial, "system_attrs", None) or {}
    found = system.get(RECORD_PREFIX + name)
    return found if found is not None else trial.user_attrs.get(name)
