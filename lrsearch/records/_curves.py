"""A trial's curves (its rows per epoch, its LR curve), kept out of its user attributes.

They grow with the epochs: as user attributes they made ``optuna trials`` tables thousands of
characters wide and gave ``trials_dataframe()`` columns of whole curves. They are the trial's
system attributes ``lrsearch:<name>`` instead (Optuna copies them to a retried trial, as it
does user attributes). A trial made by hand (``optuna.trial.create_trial``) may hold them as
user attributes: those are read too.
"""

from __future__ import annotations

from typing import Any

import optuna

__all__ = ["CURVE_PREFIX", "curve", "set_curve"]

CURVE_PREFIX = "lrsearch:"


def set_curve(trial: optuna.Trial, name: str, value: Any) -> None:
    """Store curve ``name`` (``EPOCHS_ATTR`` or ``LR_CURVE_ATTR``) of a running trial."""
    trial.storage.set_trial_system_attr(trial._trial_id, CURVE_PREFIX + name, value)


def curve(trial: Any, name: str) -> Any:
    """Curve ``name`` of a trial (running or frozen), or None when it has none.

    Example:
        >>> from types import SimpleNamespace
        >>> curve(SimpleNamespace(system_attrs={"lrsearch:epochs": [1]}, user_attrs={}),
        ...       "epochs"), curve(SimpleNamespace(user_attrs={"epochs": [2]}), "epochs")
        ([1], [2])
    """
    if isinstance(trial, optuna.Trial):
        system = trial.storage.get_trial_system_attrs(trial._trial_id)
    else:
        system = getattr(trial, "system_attrs", None) or {}
    found = system.get(CURVE_PREFIX + name)
    return found if found is not None else trial.user_attrs.get(name)
