"""The progress bar of an LR range test, fed by a real ramp."""

from __future__ import annotations

from lrsearch.search import RangeTestProgress
from lrsearch.train import (
    DataSettings,
    OptimizerSettings,
    RangeTestSettings,
    TrainSettings,
    range_test,
)


def test_the_bar_follows_the_ramp_and_is_off_when_asked():
    data = DataSettings(dataset="fake", val_size=64, train_subset=256)
    settings = RangeTestSettings(start_lr=1e-4, end_lr=1.0, num_steps=12)
    with RangeTestProgress(12, "lr range test (sgd)", "bar") as bar:
        result = range_test(OptimizerSettings(), TrainSettings(batch_size=64, device="cpu"),
                            data, settings, on_step=bar.step)
    (task,) = bar._progress.tasks
    assert task.completed == len(result.lrs) == 12 and task.total == 12
    assert task.fields["status"] == f"lr {result.lrs[-1]:.2e} loss {result.smoothed[-1]:.4f}"
    with RangeTestProgress(12, "lr range test (sgd)", "off") as quiet:
        quiet.step(0, 1e-4, 2.3)
    assert quiet._progress is None
