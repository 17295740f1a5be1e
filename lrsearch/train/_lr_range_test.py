"""The LR range test: ramp the LR, record the loss, then restore everything.

Leslie Smith's test (2015, "Cyclical Learning Rates for Training Neural Networks", section
3.3) in the form fastai's ``lr_find`` made common: the LR grows exponentially from
``start_lr`` to ``end_lr`` over ``num_steps`` optimizer steps of ordinary training (same
model, optimizer, param groups, augmentation, batch order and precision as a trial); the loss
of each batch is smoothed with a bias-corrected exponential moving average, and the ramp stops
when the smoothed loss exceeds ``diverge_factor`` times its lowest value, or a loss is NaN/inf.
Afterwards the weights, buffers, gradients, optimizer state, train/eval modes and random
number generators are exactly what they were.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import torch
import torch.nn.functional as F

from lrsearch.config import DataSettings, RangeTestSettings, TrainSettings
from lrsearch.optimizers import OptimizerSettings
from lrsearch.schedules import ScheduleSpec
from lrsearch.train._data import CifarData, load_data
from lrsearch.train._device import cpu_threads, device_name, kernel_mode, resolve_device
from lrsearch.train._loop import _moved
from lrsearch.train._lr_range_result import RangeTestResult
from lrsearch.train._lr_range_rules import suggest
from lrsearch.train._training_run import TrainingRun

__all__ = ["range_test", "ramp"]

OnStep = Callable[[int, float, float], None]
"""Called after each step with ``(step, lr, smoothed loss)``, e.g. to move a progress bar."""

_SKIP_END = 5  # last points the rules ignore: where the loss blows up (as fastai does)


def range_test(optimizer: OptimizerSettings, training: TrainSettings,
               data: DataSettings | CifarData,
               settings: RangeTestSettings | None = None, *,
               on_step: OnStep | None = None) -> RangeTestResult:
    """Run an LR range test on a fresh, seeded model, as a trial would train it.

    Args:
        optimizer: Optimizer settings (``head_lr_mult`` keeps the head's LR ratio).
        training: Model, batch size, device, precision and seed (``epochs`` is unused).
        data: Data settings or data already loaded.
        settings: The ramp and the suggestion rule (None: the defaults).
        on_step: Called after each step with ``(step, lr, smoothed loss)``.

    Raises:
        TrainingError: Bad settings, or a curve too short to read (diverged at once).
        DataError: The data cannot be found or read.

    Example:
        >>> result = range_test(OptimizerSettings(), TrainSettings(batch_size=64, device="cpu"),
        ...                     DataSettings(dataset="fake", val_size=64, train_subset=256),
        ...                     RangeTestSettings(start_lr=1e-4, end_lr=1.0, num_steps=12))
        >>> len(result.lrs), result.lrs[0], round(result.lrs[-1], 6), result.stopped
        (12, 0.0001, 1.0, None)
        >>> sorted(result.suggestions) == ["min_over_10", "steepest", "valley"]
        True
    """
    settings = RangeTestSettings() if settings is None else settings
    device = resolve_device(training.device)
    if isinstance(data, DataSettings):
        data = load_data(data, device)
    elif data.device != device and not data.streamed:
        data = _moved(data, device)
    spec = ScheduleSpec("constant", peak_lr=settings.start_lr, total_steps=1)
    with kernel_mode(training.deterministic, device), cpu_threads(training.threads):
        result = ramp(TrainingRun(spec, optimizer, training, data), settings, on_step=on_step)
    return replace(result, optimizer=optimizer.to_dict())


def ramp(run: TrainingRun, settings: RangeTestSettings, *,
         on_step: OnStep | None = None) -> RangeTestResult:
    """Ramp the LR on ``run``'s model and optimizer, then restore them bit for bit.

    Every param group's LR is set each step, keeping its ratio to group 0 (per-layer LRs).
    ``run``'s weights, buffers, gradients, optimizer state, modes, data generator and torch's
    global generators are as before when this returns or raises.
    """
    start = time.perf_counter()
    curve = _Curve(settings.smooth_beta)
    with _restored(run):
        stopped = _ramp_steps(run, settings, curve, on_step)
    suggestions = suggest(curve.lrs, curve.smoothed, skip_start=settings.num_steps // 10,
                          skip_end=_SKIP_END)
    return RangeTestResult(settings, curve.lrs, curve.losses, curve.smoothed, suggestions,
                           stopped, model=run.training.model,
                           device_name=device_name(run.device),
                           seconds=time.perf_counter() - start)


class _Curve:
    """The recorded ramp: LRs, losses and their bias-corrected exponential moving average."""

    def __init__(self, beta: float) -> None:
        self.beta, self.average, self.lowest = beta, 0.0, math.inf
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []

    def add(self, lr: float, loss: float) -> float:
        """Record one step; return its smoothed loss."""
        self.average = self.beta * self.average + (1 - self.beta) * loss
        smooth = self.average / (1 - self.beta ** (len(self.lrs) + 1))
        self.lrs.append(lr)
        self.losses.append(loss)
        self.smoothed.append(smooth)
        self.lowest = min(self.lowest, smooth)
        return smooth


def _ramp_steps(run: TrainingRun, settings: RangeTestSettings, curve: _Curve,
                on_step: OnStep | None) -> str | None:
    """Train at the ramp's LRs into ``curve``; return why it stopped early, or None."""
    groups = run.optimizer.param_groups
    ratios = [group["lr"] / groups[0]["lr"] for group in groups]
    run.model.train()
    for step, (images, labels) in zip(range(settings.num_steps), _batches(run)):
        lr = settings.lr_at(step)
        for group, ratio in zip(groups, ratios):
            group["lr"] = lr * ratio
        with run.autocast():
            loss = F.cross_entropy(run.forward(images), labels)
        value = loss.detach().item()  # waits for the device: each loss decides whether to go on
        if not math.isfinite(value):
            return f"diverged: loss {value} at step {step} (lr {lr:.3g})"
        smooth = curve.add(lr, value)
        if on_step is not None:
            on_step(step, lr, smooth)
        if smooth > settings.diverge_factor * curve.lowest:
            return (f"diverged: smoothed loss {smooth:.4g} > {settings.diverge_factor:g} x "
                    f"lowest {curve.lowest:.4g} at step {step} (lr {lr:.3g})")
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
    return None


def _batches(run: TrainingRun) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised training batches, epoch after epoch, drawn as ``TrainingRun.train_epoch``
    draws them (same augmentation, order and generator)."""
    while True:
        yield from run.epoch_batches()


@contextlib.contextmanager
def _restored(run: TrainingRun) -> Iterator[None]:
    """Put back everything the ramp changes, also when it raises."""
    model, optimizer = run.model, run.optimizer
    weights = {name: t.detach().clone() for name, t in model.state_dict().items()}
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    params = list(model.parameters())
    grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    modes = [(module, module.training) for module in model.modules()]
    generator = run.generator.get_state()
    devices = [run.device] if run.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        model.load_state_dict(weights)
        optimizer.load_state_dict(optimizer_state)
        for param, grad in zip(params, grads):
            param.grad = grad
        for module, mode in modes:
            module.training = mode
        run.generator.set_state(generator)
