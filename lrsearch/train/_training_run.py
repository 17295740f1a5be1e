"""One training run's moving parts: model, optimizer, scheduler, data order, and its epochs.

:class:`TrainingRun` owns the hot path (one epoch of optimizer steps) and evaluation; the
orchestration around it (callbacks, checkpoints, results) lives in ``_loop.py``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lrsearch.config import TrainSettings, is_factory
from lrsearch.errors import DivergedError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.schedules import ScheduleSpec
from lrsearch.train._augment import Normalize, augment_epoch, crop_method
from lrsearch.train._data import CifarData
from lrsearch.train._device import autocast_dtype, resolve_device
from lrsearch.train._networks import build_model, check_outputs
from lrsearch.train._optim import build_optimizer, is_schedule_free
from lrsearch.train._stream import streamed_batches

__all__ = ["TrainingRun", "EVAL_BATCH_SIZE", "resume_seed"]

EVAL_BATCH_SIZE = 1024  # images per evaluation batch (no gradients, so larger than training's)
# Steps between two NaN/inf checks of the loss. A check copies the losses to the host, so it
# waits for the device. On a CPU that costs nothing: checked every step, before the update, so
# a bad loss never reaches the weights. On a GPU a check every step would stall the launch queue
# once per step; every 8 steps it stalls once per 8, at a price: a bad loss is found up to 7
# optimizer updates late. Those updates (NaN or huge gradients) do reach the weights, and up
# to 7 steps of compute are wasted, but the run stops with the first bad step named exactly,
# no checkpoint is written for the epoch, and a diverged run's weights are never used again.
_CHECK_EVERY_STEPS = {"cpu": 1, "cuda": 8}
# A loss this many times a uniform guess's (ln num_classes) counts as diverged, like NaN/inf:
# no run that is still learning gets there, and an exploded one may stay finite for epochs.
_MAX_LOSS_RATIO = 100
# Schedule-free optimizers evaluate averaged weights, whose BatchNorm statistics must be
# recomputed: from this many (un-augmented) training images, as the schedulefree docs advise.
_BN_RECALIBRATION_IMAGES = 4096


class TrainingRun:
    """Everything one run needs, built from its settings, seeded.

    Args:
        spec: The schedule; laid onto ``total_steps = epochs * steps_per_epoch``.
        optimizer_settings: Optimizer and its hyperparameters.
        training: Model, epochs, batch size, precision, seed.
        data: The data, already on the training device (or streamed to it from host memory).
    """

    def __init__(self, spec: ScheduleSpec, optimizer_settings: OptimizerSettings,
                 training: TrainSettings, data: CifarData) -> None:
        self.data, self.training = data, training
        self.device = resolve_device(training.device) if data.streamed else data.device
        self.steps_per_epoch = max(1, len(data.train_y) // training.batch_size)
        # Fewer training images than one batch: one smaller batch per epoch.
        self.images_per_epoch = self.steps_per_epoch * min(training.batch_size, len(data.train_y))
        self.total_steps = training.epochs * self.steps_per_epoch
        # Seed the weights without touching the caller's RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(training.seed)
            model = build_model(training.model, data.num_classes, training.model_kwargs,
                                training.study_dir)
        if is_factory(training.model):  # a user's model: the wrong shape fails here, named
            check_outputs(model, training.model, tuple(data.train_x.shape[1:]),
                          data.num_classes, torch.device("cpu"))
        # channels_last: faster convolutions on GPUs, and measured faster on CPUs as well.
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if training.compile else self.model
        self.optimizer = build_optimizer(self.model, optimizer_settings, spec.peak_lr)
        self.scheduler = spec.to_torch(self.optimizer, total_steps=self.total_steps)
        self.schedule_free = is_schedule_free(self.optimizer)
        self.metric_driven = spec.info.metric_driven
        self.plateau_mode = spec.params.get("mode") if self.metric_driven else None
        self.generator = torch.Generator(device=self.device).manual_seed(training.seed)
        # The device's own methods; both are attributes so tests run the GPU's on a CPU.
        self.augment_method = crop_method(self.device)
        self.normalize = Normalize(data.mean, data.std, self.device, channels_last=True)
        self.dtype = autocast_dtype(training.precision, self.device)
        self.check_every = _CHECK_EVERY_STEPS.get(self.device.type, 1)
        self.max_loss = _MAX_LOSS_RATIO * math.log(data.num_classes)
        self.step = 0
        self.lr_curve: list[tuple[int, float]] = []  # (step, lr) of group 0, as recorded

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast when the precision asks for it, else nothing."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _record_lr(self) -> float:
        lr = float(self.optimizer.param_groups[0]["lr"])
        every = self.training.lr_record_every
        if self.step % every == 0 or self.step == self.total_steps - 1:
            self.lr_curve.append((self.step, lr))
        return lr

    def _check_diverged(self, pending: list[torch.Tensor], epoch: int) -> None:
        losses = torch.stack(pending).float().cpu()
        bad = (~torch.isfinite(losses) | (losses > self.max_loss)).nonzero()
        if len(bad):
            first = int(bad[0])
            loss, step = float(losses[first]), self.step - len(pending) + 1 + first
            why = "" if not math.isfinite(loss) else (
                f", above the limit {self.max_loss:.4g} (= {_MAX_LOSS_RATIO} x the loss of a "
                f"uniform guess)")
            raise DivergedError(
                f"training diverged: loss {loss:.4g} at step {step} (epoch {epoch}, step "
                f"{step - (epoch - 1) * self.steps_per_epoch + 1} of {self.steps_per_epoch})"
                f"{why}; the LR was {self.optimizer.param_groups[0]['lr']:.4g}",
                epoch=epoch, step=step, lr_curve=self.lr_curve)
        pending.clear()

    def train_epoch(self, epoch: int) -> tuple[float, float, float, float]:
        """One pass of ``steps_per_epoch`` optimizer steps over the augmented, shuffled data.

        Returns:
            ``(train_loss, train_acc, lr, seconds)``: mean loss and accuracy over the epoch's
            images, group 0's LR of the last step, and the wall time of the steps.

        Raises:
            DivergedError: At the first NaN/inf loss found, or one above ``100 * ln(classes)``.
        """
        start = time.perf_counter()
        self.model.train()
        if self.schedule_free:
            self.optimizer.train()  # back from the averaged weights to the training iterate
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        pending: list[torch.Tensor] = []
        for index, (images, labels) in enumerate(self.epoch_batches()):
            lr = self._record_lr()
            with self.autocast():
                logits = self.forward(images)
                loss = F.cross_entropy(logits, labels)
            pending.append(loss.detach())
            if len(pending) >= self.check_every or index == self.steps_per_epoch - 1:
                self._check_diverged(pending, epoch)  # before this step's update
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            loss_sum += loss.detach().float() * len(labels)
            correct += (logits.detach().argmax(1) == labels).sum()
        seen = self.images_per_epoch
        train_loss, train_acc = loss_sum.item() / seen, correct.item() / seen
        return train_loss, train_acc, lr, time.perf_counter() - start

    def epoch_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch's ``steps_per_epoch`` normalised, augmented batches, in a fresh order:
        from the device-resident data augmented at once, or streamed from host memory."""
        if self.data.streamed:
            yield from streamed_batches(self)
            return
        batch, data = self.training.batch_size, self.data
        train_x, train_y = augment_epoch(data.train_x, data.train_y, self.generator,
                                         self.augment_method)
        order = torch.randperm(len(train_y), device=self.device, generator=self.generator)
        for index in range(self.steps_per_epoch):
            rows = order[index * batch:(index + 1) * batch]
            # index_select copies whole images: far faster than train_x[rows] on a CPU.
            yield self.normalize(train_x.index_select(0, rows)), train_y.index_select(0, rows)

    @torch.no_grad()
    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
        """``(mean loss, accuracy)`` on un-augmented ``images``, in eval mode.

        A schedule-free optimizer is switched to its averaged weights first (its own eval
        protocol), with BatchNorm statistics recomputed for them; the next epoch switches back.
        """
        if self.schedule_free:
            self._to_averaged_weights()
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        for begin in range(0, len(labels), EVAL_BATCH_SIZE):
            # .to: a no-op for device-resident data, one batch's copy for streamed data.
            batch_labels = labels[begin:begin + EVAL_BATCH_SIZE].to(self.device)
            batch = images[begin:begin + EVAL_BATCH_SIZE].to(self.device, non_blocking=True)
            with self.autocast():
                logits = self.forward(self.normalize(batch))
            loss_sum += F.cross_entropy(logits.float(), batch_labels, reduction="sum")
            correct += (logits.argmax(1) == batch_labels).sum()
        count = max(1, len(labels))
        return loss_sum.item() / count, correct.item() / count

    def _to_averaged_weights(self) -> None:
        """Schedule-free: evaluate the averaged weights, with BatchNorm stats recomputed."""
        self.optimizer.eval()
        norms = [m for m in self.model.modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
        momenta = [m.momentum for m in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the recalibration batches
        self.model.train()
        images = self.data.train_x[:_BN_RECALIBRATION_IMAGES]
        for begin in range(0, len(images) if norms else 0, EVAL_BATCH_SIZE):
            batch = images[begin:begin + EVAL_BATCH_SIZE].to(self.device, non_blocking=True)
            with self.autocast():
                self.forward(self.normalize(batch))
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum

    def feed_metric(self, val_loss: float, val_acc: float) -> None:
        """Give a metric-driven scheduler (plateau) its metric: loss for min, accuracy for max."""
        if self.metric_driven:
            self.scheduler.step(val_acc if self.plateau_mode == "max" else val_loss)

    def state_dict(self) -> dict[str, Any]:
        """Weights, optimizer, scheduler, step, LR curve and the data RNG's state and device."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "step": self.step,
                "lr_curve": [[s, lr] for s, lr in self.lr_curve],
                "generator": self.generator.get_state(), "generator_device": self.device.type}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved, on this run's device.

        The data RNG's state is device-specific (a CPU generator's state and a CUDA one's have
        nothing in common). Saved on another device type, it cannot be restored: the generator
        is then reseeded from ``(seed, step)``, deterministically, so two resumes of one
        checkpoint still agree with each other. Bit-equality with the uninterrupted run holds
        only when resuming on the device type that saved the checkpoint.
        """
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.lr_curve[:] = [(int(s), float(lr)) for s, lr in state["lr_curve"]]
        self._restore_generator(state["generator"], state.get("generator_device"))

    def _restore_generator(self, saved: torch.Tensor, device_type: str | None) -> None:
        """Set the saved generator state if it is this device type's; else reseed."""
        if device_type in (None, self.device.type):  # None: a checkpoint of an older version
            try:
                self.generator.set_state(saved)
                return
            except RuntimeError:  # an older checkpoint saved on another device type
                pass
        self.generator.manual_seed(resume_seed(self.training.seed, self.step))


def resume_seed(seed: int, step: int) -> int:
    """The data RNG's seed after resuming at ``step`` where the saved state does not fit.

    A fixed mix of both, below 2**63, so different steps (and seeds) get different streams.

    Example:
        >>> resume_seed(0, 100) == resume_seed(0, 100) != resume_seed(0, 200)
        True
    """
    return (seed * 0x9E3779B97F4A7C15 + step * 0xBF58476D1CE4E5B9 + 1) % 2**63
