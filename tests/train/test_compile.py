"""``compile: true``: the model runs under ``torch.compile`` (Inductor, on the CPU here), learns
what the eager model learns, and its checkpoints resume without it (and the other way round)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from lrsearch.schedules import ScheduleSpec
from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, train
from tests.conftest import unavailable

pytestmark = pytest.mark.slow

EAGER = TrainSettings(epochs=2, batch_size=64, device="cpu", seed=0)
COMPILED = EAGER.model_copy(update={"compile": True})
SPEC = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, warmup_frac=0.1,
                    params={"final_ratio": 0.0})
SGD = OptimizerSettings()


class Crash(Exception):
    """Stands in for a killed worker."""


def _record_then_crash(seen: list):
    def on_epoch(result) -> None:
        seen.append(result)
        raise Crash(f"crashed after epoch {result.epoch}")
    return on_epoch


@pytest.fixture(scope="module", autouse=True)
def _compiler():
    if shutil.which("c++") is None and shutil.which("g++") is None:
        unavailable("no C++ compiler: torch.compile's CPU backend (Inductor) needs one")


def test_compiled_training_follows_the_eager_one(fake_data: DataSettings):
    eager = train(SPEC, SGD, EAGER, fake_data)
    compiled = train(SPEC, SGD, COMPILED, fake_data)
    assert compiled.lr_curve == eager.lr_curve  # the schedule does not see the compiler
    for ours, theirs in zip(compiled.epochs, eager.epochs, strict=True):
        # Fused kernels round differently: about 1e-6 apart after two epochs here.
        assert math.isclose(ours.train_loss, theirs.train_loss, rel_tol=1e-4)
        assert math.isclose(ours.val_loss, theirs.val_loss, rel_tol=1e-4)


@pytest.mark.parametrize(("first", "then"), [(COMPILED, EAGER), (EAGER, COMPILED)],
                         ids=["compiled-then-eager", "eager-then-compiled"])
def test_a_checkpoint_resumes_with_compile_switched(tmp_path: Path, fake_data: DataSettings,
                                                    first, then):
    path, before = tmp_path / "trial-0.pt", []
    with pytest.raises(Crash):
        train(SPEC, SGD, first, fake_data, checkpoint_path=path,
              on_epoch=_record_then_crash(before))
    replayed = []
    resumed = train(SPEC, SGD, then, fake_data, checkpoint_path=path, on_epoch=replayed.append)
    assert [r.epoch for r in replayed] == [1, 2]  # epoch 1 restored, epoch 2 trained
    assert resumed.epochs[0] == before[0]  # the stored epoch, timing and all
    assert math.isfinite(resumed.epochs[1].train_loss)
    assert resumed.epochs[1].step == 2 * resumed.steps_per_epoch
