"""Find a stored value that is not JSON, and name it, instead of Optuna's traceback.

Optuna keeps every attribute as JSON text and parses all of a study's attributes whenever it
reads its trials, so one damaged value (a disk fault SQLite's quick_check does not see, a hand
edit) stops every command with ``JSONDecodeError`` and no word of where. :func:`check_readable`
reads the study once; when that fails it looks through the attribute tables for the value and
names its trial, its attribute and the SQL that removes it.
"""

from __future__ import annotations

import json

import optuna
from sqlalchemy import text

from lrsearch.errors import StudyError

__all__ = ["check_readable"]

# Optuna's attribute tables: (table, its id column, its owner's id column).
_TABLES = (("study_user_attributes", "study_user_attribute_id", "study_id"),
           ("study_system_attributes", "study_system_attribute_id", "study_id"),
           ("trial_user_attributes", "trial_user_attribute_id", "trial_id"),
           ("trial_system_attributes", "trial_system_attribute_id", "trial_id"))


def check_readable(study: optuna.Study, where: str) -> None:
    """Read every attribute of ``study`` once (``where`` names it in messages).

    Raises:
        StudyError: A stored value is not JSON: which trial (or the study), which attribute,
            and how to remove it.
    """
    try:
        study.user_attrs  # noqa: B018 -- read for the check
        study._storage.get_study_system_attrs(study._study_id)
        study.get_trials(deepcopy=False)
    except ValueError as exc:  # json.JSONDecodeError
        found = _damaged(study)
        if found is None:
            raise
        owner, key, table, id_column, row = found
        raise StudyError(f"{where}: the attribute {key!r} of {owner} is not valid JSON "
                         f"({exc}); the database was damaged or edited. Restore it from a "
                         f"backup, or remove that one value (the trial then lacks it): "
                         f"DELETE FROM {table} WHERE {id_column} = {row};") from None


def _damaged(study: optuna.Study) -> tuple[str, str, str, str, int] | None:
    """``(owner, key, table, id column, row id)`` of the first value that is not JSON."""
    storage = getattr(study._storage, "_backend", study._storage)
    engine = getattr(storage, "engine", None)
    if engine is None:
        return None
    study_id = study._study_id
    with engine.connect() as connection:
        numbers = {trial_id: number for trial_id, number in connection.execute(
            text("SELECT trial_id, number FROM trials WHERE study_id = :s"), {"s": study_id})}
        for table, id_column, owner_column in _TABLES:
            rows = connection.execute(text(
                f"SELECT {id_column}, {owner_column}, key, value_json FROM {table}"))
            for row_id, owner_id, key, value in rows:
                is_trial = owner_column == "trial_id"
                if (owner_id not in numbers) if is_trial else owner_id != study_id:
                    continue
                try:
                    json.loads(value)
                except ValueError:
                    owner = f"trial {numbers[owner_id]}" if is_trial else "the study"
                    return owner, key, table, id_column, row_id
    return None
