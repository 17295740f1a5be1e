"""A schedule drawn in text: what ``lrsearch show`` prints before the spec itself."""

from __future__ import annotations

from lrsearch.schedules._spec import ScheduleSpec

__all__ = ["sketch", "sample_lrs"]

SAMPLE_PROGRESS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)  # where sample LRs are shown


def sketch(spec: ScheduleSpec, width: int = 60, height: int = 8) -> str:
    """The LR over training as a line of ``*``, one per column (``width`` of them, whatever
    the number of steps); the peak on the top row, zero on the bottom one.

    Example:
        >>> print(sketch(ScheduleSpec("linear", 1.0, 100, params={"final_ratio": 0.0}),
        ...              width=12, height=3))
        1 |***         |
          |   ******   |
        0 |         ***|
           0%      100%
    """
    # One sample per column, so a short spec (fewer steps than columns) still fills the width.
    lrs = [spec.lr(round(c * spec.total_steps / max(1, width - 1))) for c in range(width)]
    top = max(lrs) or 1.0
    rows_of = [min(height - 1, int((height - 1) * lr / top + 0.5)) for lr in lrs]
    label = f"{top:.3g}"
    pad = " " * len(label)
    lines = []
    for level in range(height - 1, -1, -1):
        row = "".join("*" if r == level else " " for r in rows_of).ljust(width)
        prefix = label if level == height - 1 else ("0".ljust(len(label)) if level == 0
                                                      else pad)
        lines.append(f"{prefix} |{row}|")
    lines.append(f"{pad}  0%{' ' * (width - 6)}100%")
    return "\n".join(lines)


def sample_lrs(spec: ScheduleSpec) -> str:
    """The LR at a few points of training: ``step 0 (0%): 0.1, ...``."""
    parts = []
    for progress in SAMPLE_PROGRESS:
        step = round(progress * spec.total_steps)
        lr = spec.lr(step)
        lr = 0.0 if abs(lr) < 1e-12 * spec.peak_lr else lr  # float dust at a zero end
        parts.append(f"step {step} ({progress:.0%}): {lr:.4g}")
    return ", ".join(parts)
