"""Adapters from a :class:`ScheduleSpec` to torch LR schedulers. The only module that imports torch.

Loaded lazily by :meth:`ScheduleSpec.to_torch`, so ``import lrsearch.schedules`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from lrsearch.errors import SpecError
from lrsearch.schedules._compose import set_peak_lrs, warmup_multiplier

if TYPE_CHECKING:  # the spec loads this module lazily: no import back at run time
    from lrsearch.schedules._spec import ScheduleSpec

__all__ = ["SpecLR", "WarmupReduceLROnPlateau", "build_scheduler"]


def build_scheduler(spec: ScheduleSpec, optimizer: Any) -> LRScheduler:
    """The torch scheduler for ``spec`` on ``optimizer`` (see :meth:`ScheduleSpec.to_torch`)."""
    try:
        set_peak_lrs(optimizer.param_groups, spec.peak_lr)
    except ValueError as exc:  # set_peak_lrs is copied into exported code, so it cannot say
        raise SpecError([str(exc)]) from None  # SpecError itself
    if spec.info.metric_driven:
        return WarmupReduceLROnPlateau(optimizer, spec.warmup_steps, spec.warmup_start,
                                       **spec.params)
    return SpecLR(optimizer, spec)


class SpecLR(LRScheduler):
    """LR = each group's peak LR times ``spec.multiplier(step)``, in closed form.

    Like ``LambdaLR`` with the spec as the lambda, but ``state_dict()`` stores the spec as plain
    data, so a checkpoint restores the schedule even with ``torch.load(weights_only=True)``.
    """

    def __init__(self, optimizer: Any, spec: ScheduleSpec, last_epoch: int = -1) -> None:
        self.spec = spec  # get_lr() runs inside the base constructor
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        multiplier = self.spec.multiplier(self.last_epoch)
        return [base_lr * multiplier for base_lr in self.base_lrs]

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["spec"] = self.spec.to_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        spec = type(self.spec).from_dict(state.pop("spec"))
        super().load_state_dict(state)
        self.spec = spec
        # Put the restored LRs back, so the optimizer is right even if its own state is not loaded.
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


class WarmupReduceLROnPlateau(ReduceLROnPlateau):
    """torch's ReduceLROnPlateau after a linear warm-up.

    ``step()`` (no metric) after each optimizer step runs the warm-up; ``step(metric)`` after each
    evaluation runs ReduceLROnPlateau (ignored until the warm-up is over). ``min_ratio`` is
    relative to each group's peak LR, so per-group ratios hold. ``mode='min'`` is meant for a
    loss, ``'max'`` for an accuracy. ``state_dict()`` holds plain data (the warm-up's fields
    too); ``load_state_dict()`` puts the restored LRs back into the optimizer.
    """

    def __init__(self, optimizer, warmup_steps, warmup_start, factor, patience, threshold,
                 threshold_mode, cooldown, min_ratio, mode):
        self.peak_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        super().__init__(optimizer, mode=mode, factor=factor, patience=patience,
                         threshold=threshold, threshold_mode=threshold_mode, cooldown=cooldown,
                         min_lr=[min_ratio * peak for peak in self.peak_lrs])
        self.warmup_steps = warmup_steps
        self.warmup_start = warmup_start
        self.steps_done = 0
        self._apply_warmup()

    def _apply_warmup(self):
        multiplier = warmup_multiplier(self.steps_done, self.warmup_steps, self.warmup_start)
        for group, peak in zip(self.optimizer.param_groups, self.peak_lrs):
            group["lr"] = peak * multiplier
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def step(self, metrics=None, epoch=None):
        if metrics is None:  # one optimizer step done
            self.steps_done += 1
            if self.steps_done <= self.warmup_steps:
                self._apply_warmup()
            return
        if self.steps_done < self.warmup_steps:
            return  # the warm-up owns the LR until it ends
        super().step(metrics, epoch)

    def state_dict(self):
        state = super().state_dict()
        # The warm-up's own fields as plain numbers: torch.load(weights_only=True) reads them.
        state.update(steps_done=int(self.steps_done), warmup_steps=int(self.warmup_steps),
                     warmup_start=float(self.warmup_start),
                     peak_lrs=[float(peak) for peak in self.peak_lrs])
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)  # every field, the warm-up's and the reductions'
        # Put the restored LRs back, so the optimizer is right even if its own state is not
        # loaded (otherwise it keeps the LR of before the reductions, and the next one is wrong).
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr
