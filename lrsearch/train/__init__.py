"""Training: GPU-resident CIFAR data, models, optimizers and the loop that reports per epoch.

The objective of a study: :func:`train` fits one model with one schedule spec and calls back
after each epoch with the validation accuracy, so the search can prune. :func:`range_test`
runs Smith's LR range test on the same model and data and suggests a peak LR. The settings
it takes are declared in :mod:`lrsearch.config` and :mod:`lrsearch.optimizers` (torch-free)
and re-exported here.

Example:
    >>> from lrsearch.schedules import ScheduleSpec
    >>> from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, train
    >>> spec = ScheduleSpec("linear", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
    >>> result = train(spec, OptimizerSettings(), TrainSettings(epochs=2, batch_size=64),
    ...                DataSettings(dataset="fake", val_size=64, train_subset=128))
    >>> [e.epoch for e in result.epochs], result.total_steps, result.steps_per_epoch
    ([1, 2], 4, 2)
"""

from lrsearch.config import DataSettings, RangeTestSettings, TrainSettings
from lrsearch.optimizers import Lookahead, OptimizerSettings
from lrsearch.train._data import CifarData, load_data
from lrsearch.train._device import resolve_device
from lrsearch.train._loop import train
from lrsearch.train._lr_range_result import RangeTestResult
from lrsearch.train._lr_range_rules import RULES, suggest
from lrsearch.train._lr_range_test import ramp, range_test
from lrsearch.train._networks import build_model, describe_model, model_names
from lrsearch.train._optim import build_optimizer, param_group_code
from lrsearch.train._probe import ProbeResult, ProbeSettings, cooldown_probe, probe_steps
from lrsearch.train._results import EpochResult, TrainResult
from lrsearch.train._user_probe import user_cooldown_probe

__all__ = [
    "RULES",
    "CifarData",
    "DataSettings",
    "EpochResult",
    "Lookahead",
    "OptimizerSettings",
    "ProbeResult",
    "ProbeSettings",
    "RangeTestResult",
    "RangeTestSettings",
    "TrainResult",
    "TrainSettings",
    "build_model",
    "build_optimizer",
    "param_group_code",
    "user_cooldown_probe",
    "describe_model",
    "cooldown_probe",
    "load_data",
    "model_names",
    "probe_steps",
    "ramp",
    "range_test",
    "resolve_device",
    "suggest",
    "train",
]
