"""``train``: one model, one schedule spec, per-epoch results and a callback for pruning."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

import torch

from lrsearch.config import DataSettings, TrainSettings
from lrsearch.errors import DivergedError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.schedules import ScheduleSpec
from lrsearch.train._checkpoint import load_checkpoint
from lrsearch.train._checkpoint_writer import Checkpointer
from lrsearch.train._data import CifarData, load_data
from lrsearch.train._device import (
    cpu_threads,
    device_name,
    kernel_mode,
    resolve_device,
    same_device,
)
from lrsearch.train._probe import ProbeSettings, cooldown_probe
from lrsearch.train._results import EpochResult, TrainResult
from lrsearch.train._training_run import TrainingRun

__all__ = ["train"]


def train(spec: ScheduleSpec, optimizer: OptimizerSettings, training: TrainSettings,
          data: DataSettings | CifarData, *,
          on_epoch: Callable[[EpochResult], str | None] | None = None,
          checkpoint_path: str | os.PathLike | None = None,
          evaluate_test: bool = False, probe: ProbeSettings | None = None) -> TrainResult:
    """Train one model with one schedule; evaluate on the validation split after each epoch.

    ``total_steps = epochs * steps_per_epoch`` with ``steps_per_epoch = n_train // batch_size``
    (at least 1; the last partial batch is dropped). The scheduler is ``spec.to_torch`` on that
    length, stepped after every optimizer step; a metric-driven spec (``plateau``) is also fed
    the validation loss (mode ``min``) or accuracy (mode ``max``) after each evaluation.

    Args:
        spec: The schedule (its ``total_steps`` is replaced by the run's).
        optimizer: Optimizer settings.
        training: Model, epochs, batch size, device, precision, seed.
        data: Data settings (loaded with :func:`load_data`, cached) or data already loaded.
        on_epoch: Called with each :class:`EpochResult`. A string it returns stops the run
            after that epoch, with that reason (:attr:`TrainResult.stopped`; e.g. pruned: the
            result holds the epochs and the LR curve of the part that ran); whatever it
            raises propagates unchanged.
        checkpoint_path: Keep a checkpoint there (written in the background, at most every
            ``training.checkpoint_every_s`` seconds, always after the last epoch, on Ctrl-C and
            on an error other than divergence); if the file exists, resume from it. On resume,
            ``on_epoch`` is first called again for each restored epoch, in order, so a new
            trial can report them. Resumed on a CPU from a CPU's checkpoint, the result equals
            the uninterrupted run's bit for bit; on a GPU only as closely as two GPU runs agree
            (exactly with ``training.deterministic``). On another device type the data order
            and augmentation after the checkpoint are reseeded (see
            :meth:`TrainingRun.load_state_dict`).
        evaluate_test: Also evaluate the test split at the end (``test_loss``/``test_acc``).
        probe: Run a cooldown probe after these epochs (its values go into their
            :class:`EpochResult`); the run itself is exactly what it is without probes.

    Raises:
        DivergedError: At the first NaN/inf training loss, or one above 100 times a uniform
            guess's (``100 * ln(num_classes)``), or a non-finite validation loss; saying
            epoch, step and loss, and carrying the LR curve up to there (``lr_curve``).
        DataError: The data cannot be found or read.
        TrainingError: Bad settings (unknown model, device...) or a checkpoint of another run.

    Example:
        >>> spec = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, params={"final_ratio": 0})
        >>> result = train(spec, OptimizerSettings(), TrainSettings(epochs=1, batch_size=64),
        ...                DataSettings(dataset="fake", val_size=64, train_subset=128))
        >>> result.total_steps, len(result.epochs), round(result.lr_curve[0][1], 6)
        (2, 1, 0.05)
    """
    device = resolve_device(training.device)
    if isinstance(data, DataSettings):
        data = load_data(data, device)
    elif not same_device(data.device, device) and not data.streamed:
        data = _moved(data, device)
    with kernel_mode(training.deterministic, device), cpu_threads(training.threads):
        run = TrainingRun(spec, optimizer, training, data)
        fingerprint = _fingerprint(spec, run.total_steps, optimizer, training, data)
        epochs, stopped = _resume(run, checkpoint_path, fingerprint, on_epoch)
        restored_epochs = len(epochs)
        start = time.perf_counter()
        checkpointer = (None if checkpoint_path is None else
                        Checkpointer(checkpoint_path, training.checkpoint_every_s, device))
        try:
            stopped, train_seconds = _epochs(run, epochs, stopped, probe, on_epoch, checkpointer,
                                             fingerprint)
        finally:
            if checkpointer is not None:
                checkpointer.join()  # no write outlives the call
        test_loss = test_acc = None
        if evaluate_test and stopped is None:
            test_loss, test_acc = run.evaluate(data.test_x, data.test_y)
    images = (len(epochs) - restored_epochs) * run.images_per_epoch
    return TrainResult(
        epochs=epochs, lr_curve=list(run.lr_curve), total_steps=run.total_steps,
        steps_per_epoch=run.steps_per_epoch, seconds=time.perf_counter() - start,
        images_per_second=images / train_seconds if train_seconds > 0 else 0.0,
        seed=training.seed, split_seed=data.split_seed, device_name=device_name(device),
        test_loss=test_loss, test_acc=test_acc, stopped=stopped)


def _epochs(run: TrainingRun, epochs: list[EpochResult], stopped: str | None,
            probe: ProbeSettings | None, on_epoch: Callable[[EpochResult], str | None] | None,
            checkpointer: Checkpointer | None, fingerprint: dict[str, Any]
            ) -> tuple[str | None, float]:
    """Run the epochs after ``epochs`` (appending to it) until the last or a stop.

    Returns the stop reason and the seconds of the optimizer steps. The checkpoint is written
    as :class:`Checkpointer` says, and its latest state always at the end, on Ctrl-C and on an
    error other than divergence (a diverged trial is never resumed).
    """
    train_seconds, last = 0.0, run.training.epochs
    try:
        for epoch in range(len(epochs) + 1, last + 1):
            if stopped is not None:
                break
            result, seconds = _one_epoch(run, epoch, probe)
            train_seconds += seconds
            epochs.append(result)
            if checkpointer is not None:
                checkpointer.epoch_done(epoch, {"fingerprint": fingerprint, **run.state_dict(),
                                                "epochs": [asdict(e) for e in epochs]},
                                        last=epoch == last)
            stopped = on_epoch(result) if on_epoch is not None else None
    except DivergedError:
        raise
    except BaseException:
        if checkpointer is not None:
            with contextlib.suppress(Exception):  # what stopped the run is the error to see
                checkpointer.flush()
        raise
    if checkpointer is not None:
        checkpointer.flush()  # stopped early: the epoch it stopped at
    return stopped, train_seconds


def _one_epoch(run: TrainingRun, epoch: int,
               probe: ProbeSettings | None) -> tuple[EpochResult, float]:
    """Train, evaluate (and probe) one epoch; return its result and the seconds of its steps."""
    start = time.perf_counter()
    train_loss, train_acc, lr, train_seconds = run.train_epoch(epoch)
    val_loss, val_acc = run.evaluate(run.data.val_x, run.data.val_y)
    if not math.isfinite(val_loss):
        raise DivergedError(f"training diverged: validation loss {val_loss} after epoch {epoch} "
                            f"(step {run.step}); the LR was {lr:.4g}", epoch=epoch, step=run.step,
                            lr_curve=run.lr_curve)
    run.feed_metric(val_loss, val_acc)
    result = EpochResult(epoch=epoch, step=run.step, train_loss=train_loss, train_acc=train_acc,
                         val_loss=val_loss, val_acc=val_acc, lr=lr,
                         seconds=time.perf_counter() - start)
    if probe is not None and epoch in probe.epochs:
        # After the plateau scheduler had its metric: the probe starts from the LR the run
        # would use next.
        measured = cooldown_probe(run, probe.frac)
        result = replace(result, probe_val_loss=measured.val_loss,
                         probe_val_acc=measured.val_acc, probe_steps=measured.steps,
                         probe_seconds=measured.seconds)
    return result, train_seconds


def _resume(run: TrainingRun, checkpoint_path: str | os.PathLike | None,
            fingerprint: dict[str, Any],
            on_epoch: Callable[[EpochResult], str | None] | None
            ) -> tuple[list[EpochResult], str | None]:
    """Restore ``run`` from the checkpoint if there is one; replay its epochs to ``on_epoch``.

    Returns the restored epochs, and the reason ``on_epoch`` gave to stop at one of them.
    """
    state = load_checkpoint(checkpoint_path, fingerprint) if checkpoint_path else None
    if state is None:
        return [], None
    run.load_state_dict(state)
    epochs = [EpochResult(**e) for e in state["epochs"]]
    for i, result in enumerate(epochs):
        stopped = on_epoch(result) if on_epoch is not None else None
        if stopped is not None:
            return epochs[:i + 1], stopped
    return epochs, None


def _fingerprint(spec: ScheduleSpec, total_steps: int, optimizer: OptimizerSettings,
                 training: TrainSettings, data: CifarData) -> dict[str, Any]:
    """What must match for a checkpoint to be resumed (device, compile, kernel mode, the
    checkpoints' interval and the study's folder may change).

    The data part names the data set, its split (seed and sizes) and a digest of the split's
    labels: a different split of the same sizes must not continue weights trained on the other
    one, while the same data read from another folder (another machine's copy) may.
    """
    settings = training.model_dump(exclude={"device", "compile", "deterministic",
                                            "checkpoint_every_s", "study_dir"})
    return {"spec": spec.with_total_steps(total_steps).to_dict(),
            "optimizer": optimizer.to_dict(), "training": settings,
            "data": {"dataset": data.dataset, "num_classes": data.num_classes,
                     "split_seed": data.split_seed, "train": len(data.train_y),
                     "val": len(data.val_y), "labels_sha256": _labels_digest(data)}}


def _labels_digest(data: CifarData) -> str:
    """sha256 of the training and validation labels, in order (a few hundred KB: ~1 ms)."""
    digest = hashlib.sha256()
    for labels in (data.train_y, data.val_y):
        digest.update(labels.to("cpu", torch.int64).numpy().tobytes())
    return digest.hexdigest()


def _moved(data: CifarData, device) -> CifarData:
    tensors = {name: getattr(data, name).to(device) for name in
               ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")}
    return replace(data, **tensors)
