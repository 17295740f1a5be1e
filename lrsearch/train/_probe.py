"""The cooldown probe: what a run would score if its schedule ended now.

Pruners compare trials by their value at the same step, but mid-schedule values rank schedule
families badly: one that still holds a high LR looks worse than one that already decayed, yet
often ends better (short-horizon bias, measured in ``docs/pruning.md``). The probe asks a fairer
question at a pruning point: decay the LR linearly from its current value to zero over
``frac`` of the steps done so far, evaluate on the validation split, then put everything back.

The run's own trajectory is untouched: weights, optimizer state (Lookahead's slow weights
included), scheduler, step count, LR record, the data generator and torch's global RNG are
restored, and the probe draws its batches from a generator of its own, seeded from the run's
seed and step. On a CPU a run with probes ends with the same weights, bit for bit, as one
without.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lrsearch.config import ProbeSettings
from lrsearch.train._augment import augment_epoch
from lrsearch.train._training_run import TrainingRun

__all__ = ["ProbeSettings", "ProbeResult", "cooldown_probe", "probe_steps"]

# Mixed into the probe generator's seed so its stream differs from the run's own (seeded with
# the bare training seed) while staying a pure function of (seed, step).
_PROBE_SEED_SALT = 0x5EED_C001


@dataclass
class ProbeResult:
    """What one probe measured: validation loss and accuracy, its length and wall time."""

    val_loss: float
    val_acc: float
    steps: int
    seconds: float


def probe_steps(frac: float, steps_done: int) -> int:
    """Optimizer steps of a probe after ``steps_done`` steps: ``max(1, round(frac * done))``.

    Example:
        >>> probe_steps(0.2, 312), probe_steps(0.2, 1)
        (62, 1)
    """
    return max(1, round(frac * steps_done))


def cooldown_probe(run: TrainingRun, frac: float) -> ProbeResult:
    """Cool ``run`` down to LR 0, evaluate on validation, and restore it exactly.

    Each param group decays linearly from its current LR (so per-layer LR ratios hold): the
    probe's step ``i`` of ``n`` uses ``lr * (1 - i / n)``, torch's ``LinearLR(1, 0, n)``. The
    run's scheduler is not stepped and its LR record is not written.

    Args:
        run: The run, after an epoch.
        frac: Probe length as a fraction of the steps done so far (see :func:`probe_steps`).

    Returns:
        The probe's validation loss and accuracy (a probe that diverges gives a NaN or huge
        loss, which pruners rank last), its steps and seconds.

    Example:
        >>> from lrsearch.schedules import ScheduleSpec
        >>> from lrsearch.train import DataSettings, OptimizerSettings, TrainSettings, load_data
        >>> from lrsearch.train._training_run import TrainingRun
        >>> data = load_data(DataSettings(dataset="fake", val_size=64, train_subset=128))
        >>> run = TrainingRun(ScheduleSpec("constant", peak_lr=0.1, total_steps=1),
        ...                   OptimizerSettings(), TrainSettings(epochs=2, batch_size=32), data)
        >>> _ = run.train_epoch(1)
        >>> weights = [p.clone() for p in run.model.parameters()]
        >>> result = cooldown_probe(run, frac=0.5)
        >>> result.steps, all(torch.equal(a, b) for a, b in zip(weights, run.model.parameters()))
        (2, True)
    """
    start = time.perf_counter()
    steps = probe_steps(frac, run.step)
    saved = _snapshot(run)
    devices = [run.device] if run.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            seed = (run.training.seed * 1_000_003 + run.step) ^ _PROBE_SEED_SALT
            generator = torch.Generator(device=run.device).manual_seed(seed)
            _cool_down(run, steps, generator)
            val_loss, val_acc = run.evaluate(run.data.val_x, run.data.val_y)
    finally:
        _restore(run, saved)
    return ProbeResult(val_loss, val_acc, steps, time.perf_counter() - start)


def _snapshot(run: TrainingRun) -> dict[str, Any]:
    # Deep copies: state_dict() returns the live tensors, which the probe's steps change.
    return {"model": copy.deepcopy(run.model.state_dict()),
            "optimizer": copy.deepcopy(run.optimizer.state_dict()),
            "scheduler": copy.deepcopy(run.scheduler.state_dict()),
            "generator": run.generator.get_state(), "step": run.step,
            "lr_curve": len(run.lr_curve)}


def _restore(run: TrainingRun, saved: dict[str, Any]) -> None:
    run.model.load_state_dict(saved["model"])
    run.optimizer.load_state_dict(saved["optimizer"])  # LRs of the param groups included
    run.scheduler.load_state_dict(saved["scheduler"])
    run.generator.set_state(saved["generator"])
    run.step = saved["step"]
    del run.lr_curve[saved["lr_curve"]:]
    run.optimizer.zero_grad(set_to_none=True)  # no probe gradient outlives the probe


def _cool_down(run: TrainingRun, steps: int, generator: torch.Generator) -> None:
    """``steps`` optimizer steps on fresh augmented batches, LR linearly to zero."""
    groups = run.optimizer.param_groups
    start_lrs = [float(group["lr"]) for group in groups]
    batch, data = run.training.batch_size, run.data
    run.model.train()
    if run.schedule_free:
        run.optimizer.train()  # evaluation left it on its averaged weights; _restore undoes it
    done = 0
    while done < steps:
        count = min(run.steps_per_epoch, steps - done)
        order = torch.randperm(len(data.train_y), device=run.device, generator=generator)
        rows = order[:count * batch].to(data.device)  # host memory's rows for streamed data
        # Augment only the images this pass uses (a probe is often shorter than an epoch).
        images, labels = augment_epoch(data.train_x.index_select(0, rows).to(run.device),
                                       data.train_y.index_select(0, rows).to(run.device),
                                       generator)
        # Shuffled again: on a CPU the augmentation returns the images sorted by crop offset.
        shuffle = torch.randperm(len(labels), device=run.device, generator=generator)
        for index in range(count):
            for group, lr in zip(groups, start_lrs):
                group["lr"] = lr * (1 - done / steps)
            picked = shuffle[index * batch:(index + 1) * batch]
            with run.autocast():
                logits = run.forward(run.normalize(images.index_select(0, picked)))
                loss = F.cross_entropy(logits, labels.index_select(0, picked))
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            done += 1
