"""Synthetic lrsearch studies: real Optuna storage, trials in the runner's exact attribute format.

``make_study`` writes thousands of trials in seconds with ``optuna.trial.create_trial`` and
``study.add_trials``. Each trial carries what ``lrsearch.search.Objective`` stores: ``schedule``,
``optimizer``, ``epochs``, ``lr_curve``, ``wall_seconds``, ``device_name``, ``fail_reason``
(not complete), ``baseline``; the study carries the resolved config and provenance. Trial 3
is the ``schedulefree`` preset baseline: a string in ``config["baselines"]``, no parameters.
"""

from __future__ import annotations

import random

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from lrsearch.records import set_study_record
from lrsearch.schedules import ScheduleSpec, get_family

FAMILIES = ("cosine", "linear", "step", "wsd", "onecycle", "plateau", "constant")
EPOCHS = 10
STEPS_PER_EPOCH = 50
_DISTRIBUTIONS = {
    "family": CategoricalDistribution(FAMILIES),
    "optimizer": CategoricalDistribution(("sgd", "ranger")),
    "sgd.peak_lr": FloatDistribution(0.01, 1.0, log=True),
    "ranger.peak_lr": FloatDistribution(1e-4, 1e-2, log=True),
    "warmup_frac": FloatDistribution(0.0, 0.2),
}
BASELINES = {"cosine": 0, "step-50-75": 1, "schedulefree": 3}
PRESET = "schedulefree"  # a ready-made baseline: a plain string in the config, no params


def _config(name: str, direction: str) -> dict:
    return {"name": name, "metric": "val_acc" if direction == "maximize" else "val_loss",
            "direction": direction, "model": "small_cnn", "n_trials": 100,
            "data": {"dataset": "fake", "val_size": 128},
            "training": {"epochs": EPOCHS, "batch_size": 64},
            "search_space": {"families": list(FAMILIES), "optimizers": ["sgd", "ranger"]},
            "baselines": [{"name": n, "family": "cosine" if i == 0 else "step"}
                          for n, i in BASELINES.items() if n != PRESET] + [PRESET]}


def _trial(number: int, rng: random.Random, direction: str):
    preset = number == BASELINES[PRESET]
    family = ("cosine" if number == 0 else "step" if number == 1 else "constant" if preset
              else rng.choice(FAMILIES))
    optimizer = "sgd_schedulefree" if preset else "ranger" if number % 7 == 3 else "sgd"
    peak_lr = 0.1 if number < 2 else (rng.uniform(0.01, 1.0) if optimizer == "sgd"
                                      else rng.uniform(1e-4, 1e-2))
    params = {p.name: p.default for p in get_family(family).params}
    spec = ScheduleSpec(family, peak_lr=peak_lr, total_steps=1000, warmup_frac=0.05,
                        params=params)
    total = EPOCHS * STEPS_PER_EPOCH
    state = TrialState.COMPLETE
    if number >= 2 and number % 5 == 4:
        state = TrialState.PRUNED
    elif number >= 2 and number % 37 == 36:
        state = TrialState.FAIL
    epochs_run = EPOCHS if state == TrialState.COMPLETE else rng.randint(1, EPOCHS - 1)
    quality = {"cosine": 0.8, "onecycle": 0.82, "wsd": 0.79, "step": 0.75}.get(family, 0.6)
    sign = 1 if direction == "maximize" else -1
    values = [sign * (quality * (1 - 0.5 ** (e / 2)) + rng.uniform(-0.03, 0.03))
              for e in range(1, epochs_run + 1)]
    real = spec.with_total_steps(total)
    lr_at = (lambda s: peak_lr * 0.5 ** (s // 200)) if real.info.metric_driven else real.lr
    attrs = {
        "schedule": spec.to_dict(),
        "optimizer": {"name": optimizer, "head_lr_mult": 1.0, "weight_decay": 5e-4},
        "epochs": [{"epoch": e, "step": e * STEPS_PER_EPOCH, "train_loss": 1.0 / e,
                    "train_acc": 0.5, "val_loss": 1.0 / e, "val_acc": abs(v), "lr": 0.1,
                    "seconds": 1.5} for e, v in enumerate(values, start=1)],
        "lr_curve": [[s, float(lr_at(s))] for s in range(0, epochs_run * STEPS_PER_EPOCH, 10)],
        "wall_seconds": 1.5 * epochs_run, "device_name": "cpu",
    }
    if number in BASELINES.values():
        attrs["baseline"] = next(n for n, i in BASELINES.items() if i == number)
    if state != TrialState.COMPLETE:
        attrs["fail_reason"] = "pruned after epoch" if state == TrialState.PRUNED else "boom"
    if number == 2:
        attrs["test_acc"] = [0.70, 0.72, 0.71]
    trial_params = {} if preset else {  # a preset runs outside the search space
        "family": family, "optimizer": optimizer, f"{optimizer}.peak_lr": peak_lr,
        "warmup_frac": 0.05}
    return create_trial(
        state=state, params=trial_params,
        distributions={k: _DISTRIBUTIONS[k] for k in trial_params},
        value=values[-1] if state == TrialState.COMPLETE else None,
        intermediate_values=dict(enumerate(values, start=1)), user_attrs=attrs)


def make_study(storage: str, name: str = "synthetic", n_trials: int = 60, *,
               direction: str = "maximize", seed: int = 0) -> optuna.Study:
    """A study of ``n_trials`` synthetic trials (baselines: trials 0, 1 and the preset 3)."""
    study = optuna.create_study(storage=storage, study_name=name, direction=direction)
    set_study_record(study, "config", _config(name, direction))
    for key, value in {"lrsearch_version": "0.1.0", "torch_version": "2.14.1",
                       "optuna_version": optuna.__version__, "git_sha": "abc123",
                       "device_name": "cpu", "search_space_fingerprint": "0123abcd"}.items():
        set_study_record(study, key, value)
    rng = random.Random(seed)
    study.add_trials([_trial(n, rng, direction) for n in range(n_trials)])
    return study
