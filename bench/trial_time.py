"""A whole trial's wall time per epoch against its training alone (used by throughput.py).

A study pays for a trial, not for its optimizer steps: after each epoch the trial evaluates the
validation split, runs the cooldown probe at the pruning points (the study defaults': a third
and two thirds of training, 10% of the steps so far), and keeps a checkpoint. ``time_trial``
runs ``lrsearch.train.train`` with all of that and returns the seconds per epoch of the whole
call and of its optimizer steps (what ``bench/throughput.py``'s loops time); goal: training
alone / whole trial >= 0.9. It runs one untimed warm-up trial first (cudnn autotuning,
compilation of the training and evaluation graphs).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from lrsearch.config import PrunerConfig, pruning_epochs
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import OptimizerSettings, ProbeSettings, TrainSettings, train

TRIAL_GOAL = 0.9  # training alone / whole trial, at least
SPEC = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
# The study's split: 5,000 validation images beside 45,000 training images.
VAL_PER_TRAIN = 5_000 / 45_000


def trial_data(data, train_images: int):
    """``data`` cut to ``train_images`` training images, with a validation split in the study's
    proportion to them, taken from the test split (only its size matters here)."""
    val = max(1, min(len(data.test_y), round(train_images * VAL_PER_TRAIN)))
    return dataclasses.replace(data, train_x=data.train_x[:train_images],
                               train_y=data.train_y[:train_images], val_x=data.test_x[:val],
                               val_y=data.test_y[:val])


def time_trial(data, training: TrainSettings, epochs: int, checkpoint_every_s: float,
               probes: bool = True) -> dict[str, float]:
    """Seconds per epoch of one whole trial and of its optimizer steps, and their ratio.

    ``probes``: at the study's pruning points, as a study with ``judge: probe`` (the default)
    runs them; by design they cost about ``probe_frac`` of the steps, 10%.
    """
    pruner = PrunerConfig(name="median")
    settings = training.model_copy(update={"epochs": epochs,
                                           "checkpoint_every_s": checkpoint_every_s})
    probe = ProbeSettings(epochs=pruning_epochs(pruner, epochs) if probes else (),
                          frac=pruner.probe_frac)
    with tempfile.TemporaryDirectory() as folder:
        for name in ("warm-up.pt", "trial.pt"):
            result = train(SPEC, OptimizerSettings(), settings, data, probe=probe,
                           checkpoint_path=Path(folder) / name)
    images = len(result.epochs) * result.steps_per_epoch * training.batch_size
    train_s = images / result.images_per_second
    return {"epochs": epochs, "checkpoint_every_s": checkpoint_every_s,
            "probe_epochs": list(probe.epochs), "val_images": len(data.val_y),
            "trial_s_per_epoch": result.seconds / epochs, "train_s_per_epoch": train_s / epochs,
            "train_over_trial": train_s / result.seconds}


def print_trials(trials: list[dict[str, float]]) -> None:
    """One line per timed trial: its seconds per epoch, training's, and their ratio."""
    print(f"{'whole trial':<68}{'s/epoch':>9}{'training':>10}{'ratio':>8}{'goal':>9}  met")
    for trial in trials:
        every = trial["checkpoint_every_s"]
        how = ("after every epoch, waited for" if every == 0 else
               f"every {every:g} s, in the background")
        probes = (f"probes {tuple(trial['probe_epochs'])}" if trial["probe_epochs"]
                  else "no probes")
        name = f"{trial['epochs']} epochs, {probes}, checkpoint {how}"
        met = "yes" if trial["train_over_trial"] >= TRIAL_GOAL else "NO"
        print(f"{name:<68}{trial['trial_s_per_epoch']:>9.3f}{trial['train_s_per_epoch']:>10.3f}"
              f"{trial['train_over_trial']:>7.2f}x{'>= ' + str(TRIAL_GOAL) + 'x':>9}  {met}")
