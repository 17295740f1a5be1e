"""Before a study is opened: load its data and build its model once, and say what they are.

A data set that cannot be read or a user's model that does not import, raises or returns the
wrong shape fails here, with its own message, before anything is stored. The two lines that
describe the model and the data are printed as a run's first lines and stored in the study
(by the first process that gets here), where the report's provenance shows them.
"""

from __future__ import annotations

import sys
from typing import Any

import optuna

from lrsearch.config import StudyConfig
from lrsearch.records import DATA_ATTR, MODEL_ATTR

__all__ = ["load_checked", "store_description"]


def load_checked(config: StudyConfig, say: bool = True) -> tuple[Any, dict[str, str]]:
    """The study's data (loaded once per process) and ``{model, data}`` descriptions.

    Raises:
        DataError: The data cannot be found or read.
        TrainingError: The model cannot be built, or does not fit the data.
    """
    from lrsearch.train import describe_model, load_data

    data = load_data(config.data, config.training.device, config.study_dir)
    model = describe_model(config.model, config.model_kwargs, config.study_dir,
                           tuple(data.train_x.shape[1:]), data.num_classes)
    described = {MODEL_ATTR: model, DATA_ATTR: data.describe()}
    if say:
        for key, line in described.items():
            print(f"{key}: {line}", file=sys.stderr, flush=True)
    return data, described


def store_description(study: optuna.Study, described: dict[str, str]) -> None:
    """Store the descriptions in ``study`` unless they are there already."""
    for key, line in described.items():
        if key not in study.user_attrs:
            study.set_user_attr(key, line)
