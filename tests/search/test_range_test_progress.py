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


def _range_test_study():
    from lrsearch.config import parse_study
    from lrsearch.search import SearchSpace

    config = parse_study({"name": "lines", "model": "small_cnn",
                          "data": {"dataset": "fake", "val_size": 64, "train_subset": 256},
                          "training": {"batch_size": 64, "device": "cpu", "seed": 0},
                          "lr_range_test": {"start_lr": 1e-4, "end_lr": 1.0, "num_steps": 20},
                          "search_space": {"peak_lr": "auto"}})
    return config, SearchSpace.from_config(config)


def test_outside_a_terminal_the_range_test_prints_plain_lines_unless_quiet(capsys):
    from lrsearch.search import run_range_test

    config, space = _range_test_study()
    result = run_range_test(config, space, "sgd")  # capsys: stderr is no terminal
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" lr ")[0] for line in lines] == [
        f"lr range test (sgd): step {step}/20" for step in (1, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                                             20)]
    assert lines[-1] == (f"lr range test (sgd): step 20/20 lr {result.lrs[-1]:.2e} loss "
                         f"{result.smoothed[-1]:.4f}")
    run_range_test(config, space, "sgd", progress="off")
    assert capsys.readouterr().err == ""
