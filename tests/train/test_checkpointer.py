"""Background checkpoints: written when due, whole on disk, and resumed bit for bit on a CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

from lrsearch.schedules import ScheduleSpec
from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, train
from lrsearch.train._checkpoint_writer import Checkpointer

from .test_checkpoint import COSINE, _without_timings

REPO = Path(__file__).resolve().parents[2]
HOUR_S = 3600.0  # an interval no test run reaches: only the end, Ctrl-C and errors write


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def _epochs_on_disk(path: Path) -> list[int]:
    return [e["epoch"] for e in torch.load(path, weights_only=True)["epochs"]]


def test_writes_only_when_the_interval_has_passed_and_at_flush(tmp_path: Path) -> None:
    path, clock = tmp_path / "trial.pt", Clock()
    checkpointer = Checkpointer(path, every_s=10.0, device=torch.device("cpu"), clock=clock)
    weights = torch.zeros(3)

    def done(epoch: int, at_s: float, last: bool = False) -> None:
        clock.now_s = at_s
        weights.fill_(epoch)  # the run goes on changing its tensors after each epoch
        checkpointer.epoch_done(epoch, {"w": weights, "epochs": [{"epoch": epoch}]}, last=last)
        checkpointer.wait()

    done(1, at_s=4.0)  # (each done() waits for its write here, to look at the file)
    assert not path.exists()  # 4 s since the start: not due
    done(2, at_s=11.0)
    assert _epochs_on_disk(path) == [2] and checkpointer.writes == 1
    done(3, at_s=15.0)  # 4 s since the last write began
    assert _epochs_on_disk(path) == [2]
    checkpointer.flush()  # Ctrl-C or the end: the latest epoch, as it was after that epoch
    saved = torch.load(path, weights_only=True)
    assert saved["epochs"] == [{"epoch": 3}] and saved["w"].tolist() == [3.0, 3.0, 3.0]
    checkpointer.flush()  # nothing newer: no second write of the same epoch
    assert checkpointer.writes == 2
    done(4, at_s=16.0, last=True)  # the last epoch is written whenever it comes
    assert _epochs_on_disk(path) == [4] and checkpointer.writes == 3
    assert [p.name for p in tmp_path.iterdir()] == ["trial.pt"]


def test_a_failed_background_write_is_raised_by_the_run(tmp_path: Path, fake_data) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the checkpoint folder should be")
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    with pytest.raises(OSError):
        train(COSINE, OptimizerSettings(), settings, fake_data,
              checkpoint_path=blocker / "trial.pt")


SLOW = TrainSettings(epochs=3, batch_size=64, device="cpu", lr_record_every=3,
                     checkpoint_every_s=HOUR_S)


def test_ctrl_c_writes_the_last_epoch_and_the_resume_is_exact(tmp_path: Path,
                                                             fake_data) -> None:
    uninterrupted = train(COSINE, OptimizerSettings(), SLOW, fake_data)
    path = tmp_path / "trial.pt"

    def ctrl_c_after_2(result) -> None:
        assert not path.exists() or result.epoch == 2  # epoch 1 was not due
        if result.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(COSINE, OptimizerSettings(), SLOW, fake_data, checkpoint_path=path,
              on_epoch=ctrl_c_after_2)
    assert _epochs_on_disk(path) == [1, 2]
    resumed = train(COSINE, OptimizerSettings(), SLOW, fake_data, checkpoint_path=path)
    assert _without_timings(resumed) == _without_timings(uninterrupted)
    assert not [t for t in threading.enumerate() if t.name.startswith("checkpoint ")]


def test_a_pruned_run_writes_the_epoch_it_stopped_at(tmp_path: Path, fake_data) -> None:
    path = tmp_path / "trial.pt"
    result = train(COSINE, OptimizerSettings(), SLOW, fake_data, checkpoint_path=path,
                   on_epoch=lambda r: "pruned" if r.epoch == 1 else None)
    assert result.stopped == "pruned" and _epochs_on_disk(path) == [1]


_CHILD = textwrap.dedent("""
    import glob, os, signal, sys
    from lrsearch.schedules import ScheduleSpec
    from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, train

    path, every_s = sys.argv[1], float(sys.argv[2])
    spec = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, warmup_frac=0.1,
                        params={"final_ratio": 0.0})
    settings = TrainSettings(epochs=3, batch_size=64, device="cpu", lr_record_every=3,
                             checkpoint_every_s=every_s)

    def kill_after_2(result):
        if result.epoch == 2:
            # Kill while epoch 2's write is in flight when we catch it: never a torn file.
            for _ in range(2000):
                if glob.glob(glob.escape(path) + ".*.tmp"):
                    break
            os.kill(os.getpid(), signal.SIGKILL)

    train(spec, OptimizerSettings(), settings,
          DataSettings(dataset="fake", val_size=128, train_subset=256),
          checkpoint_path=path, on_epoch=kill_after_2)
""")


@pytest.mark.parametrize("every_s", [0.0, 1e-9, HOUR_S],
                         ids=["every-epoch-waited", "every-epoch-background", "hourly"])
def test_a_sigkilled_run_resumes_from_a_whole_checkpoint_bit_for_bit(tmp_path: Path, fake_data,
                                                                    every_s) -> None:
    path = tmp_path / "trial.pt"
    # The same thread count as this process: a CPU run is bit for bit only at equal threads.
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(torch.get_num_threads())}
    child = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(every_s)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    if every_s == HOUR_S:
        assert not path.exists()  # nothing was due: the retry starts afresh
    elif every_s == 0:
        assert _epochs_on_disk(path) == [1, 2]  # written before epoch 2 was reported
    else:
        assert _epochs_on_disk(path) in ([1], [1, 2])  # the last whole write, never a torn one
    settings = TrainSettings(epochs=3, batch_size=64, device="cpu", lr_record_every=3,
                             checkpoint_every_s=every_s)
    resumed = train(COSINE, OptimizerSettings(), settings, fake_data, checkpoint_path=path)
    assert _without_timings(resumed) == _without_timings(
        train(COSINE, OptimizerSettings(), settings, fake_data))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.pt"]  # stale temp removed


def test_deterministic_mode_changes_nothing_on_a_cpu_and_is_restored(fake_data) -> None:
    spec = ScheduleSpec("linear", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    before = torch.are_deterministic_algorithms_enabled()
    plain = train(spec, OptimizerSettings(), settings, fake_data)
    strict = train(spec, OptimizerSettings(),
                   settings.model_copy(update={"deterministic": True}), fake_data)
    assert _without_timings(strict) == _without_timings(plain)
    assert torch.are_deterministic_algorithms_enabled() == before


def test_settings_refuse_a_negative_interval() -> None:
    from lrsearch.errors import TrainingError

    with pytest.raises(TrainingError, match=r"checkpoint_every_s.*greater than or equal to 0"):
        TrainSettings(checkpoint_every_s=-1)


def test_fake_data_fixture_is_what_the_child_uses(fake_data: DataSettings) -> None:
    assert fake_data == DataSettings(dataset="fake", val_size=128, train_subset=256)
