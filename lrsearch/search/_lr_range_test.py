"""``peak_lr: auto``: one LR range test per optimizer at the start of a study, stored in it.

The test runs on the study's model, data, batch size, precision and seed, with the optimizer's
searched settings held at the middle of their range. Its curve, suggestion and the resulting
search range go into the study's user attribute ``lr_range_test.<optimizer>``; every later
process (a resume, another worker) reads them from there, so the range never changes within a
study (and the fingerprint, which holds ``auto``, not the range, stays the same).

Only the process that holds the study's set-up claim runs the test (the one that created the
study, or the one that took the set-up over when that one stopped; see
:mod:`lrsearch.search.parallel._setup_claim`): the others wait for the stored result. Should two
holders ever run it, the first result stored wins: a process stores its own only when none
is there, waits :data:`~lrsearch.search.parallel._setup_claim.SETTLE_S` for a write that raced it,
and reads back what is stored, so every process searches the same range.
``lrsearch run --workers K`` runs it once, in the parent, before the workers start.

Progress: a bar on a terminal; elsewhere (logs, CI) a plain line every tenth of the ramp;
nothing with ``progress="off"`` (``--quiet``).
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import optuna

from lrsearch.config import Range, StudyConfig
from lrsearch.errors import StudyError
from lrsearch.optimizers import OptimizerSettings
from lrsearch.records import RANGE_TEST_ATTR_PREFIX, set_study_record, study_records
from lrsearch.search._progress import RangeTestProgress
from lrsearch.search._space import SearchSpace
from lrsearch.search.parallel import SETTLE_S

__all__ = ["auto_range", "range_test_optimizer", "range_test_record",
           "resolve_auto_peak_lr", "run_range_test"]


def auto_range(suggested_lr: float, width: float) -> Range:
    """The peak-LR search range around a suggestion: ``[lr / width, lr * width]``, log scale.

    Example:
        >>> auto_range(0.1, 4.0)
        Range(low=0.025, high=0.4, log=True)
    """
    return Range(low=suggested_lr / width, high=suggested_lr * width, log=True)


def range_test_optimizer(config: StudyConfig, space: SearchSpace, name: str) -> Any:
    """The ``OptimizerSettings`` of ``name`` for the range test: searched numbers at the middle
    of their range (geometric middle on a log scale).

    Raises:
        StudyError: ``name`` is not one of the study's optimizers.
    """
    if name not in space.optimizers:
        raise StudyError(f"optimizer: got {name!r}; must be one of the optimizers of study "
                         f"{config.name!r}: {list(space.optimizers)}")
    settings = {key: _middle(value) for key, value in space.optimizers[name].items()
                if key != "peak_lr"}
    return OptimizerSettings(name=name, head_lr_mult=_middle(space.shared["head_lr_mult"]),
                             **settings)


def run_range_test(config: StudyConfig, space: SearchSpace, name: str, data: Any = None,
                   progress: str | None = None) -> Any:
    """Run the study's LR range test for optimizer ``name``, showing its progress.

    Args:
        config: The checked study config (model, data, training, ``lr_range_test``).
        space: Its search space.
        name: One of its optimizers.
        data: Data already loaded; None loads the study's.
        progress: ``"bar"``, ``"lines"``, ``"off"`` or None (a bar on a terminal, lines
            elsewhere).

    Returns:
        The ``RangeTestResult``.

    Raises:
        StudyError: ``name`` is not one of the study's optimizers.
        DataError: The data cannot be found or read.
    """
    from lrsearch.train import load_data, range_test

    optimizer = range_test_optimizer(config, space, name)
    settings = config.lr_range_test.settings()
    if data is None:
        data = load_data(config.data, config.training.device, config.study_dir)
    training = config.train_settings()
    label = f"lr range test ({name})"
    with RangeTestProgress(settings.num_steps, label, progress) as bar:
        on_step = bar.step if bar.mode != "lines" else _lines(settings.num_steps, label)
        return range_test(optimizer, training, data, settings, on_step=on_step)


def _lines(total_steps: int, label: str):
    """An ``on_step`` that prints a line to stderr at the first step and every tenth of the
    ramp (the bar's counterpart in logs)."""
    every = max(1, total_steps // 10)

    def on_step(step: int, lr: float, smoothed_loss: float) -> None:
        if step == 0 or (step + 1) % every == 0:
            print(f"{label}: step {step + 1}/{total_steps} lr {lr:.2e} loss "
                  f"{smoothed_loss:.4f}", file=sys.stderr, flush=True)

    return on_step


def resolve_auto_peak_lr(study: optuna.Study, config: StudyConfig, space: SearchSpace,
                         progress: str | None = None) -> tuple[SearchSpace, list[str]]:
    """``space`` with every ``auto`` peak LR set from the range test stored in ``study``.

    A test not stored yet is run (the data is loaded for it) and stored first; the caller
    holds the study's set-up claim then (:mod:`lrsearch.search.parallel._setup_claim`).

    Returns:
        The resolved space, and the optimizers whose test ran in this call.
    """
    ranges, ran = {}, []
    for name in space.auto_optimizers:
        key = RANGE_TEST_ATTR_PREFIX + name
        stored = study_records(study).get(key)
        if stored is None:
            stored = _store_first(study, key, _run_and_describe(config, space, name, progress))
            ran.append(name)
        ranges[name] = Range(**stored["search_range"])
    return space.with_peak_lr(ranges), ran


def range_test_record(result: Any, width: float) -> dict[str, Any]:
    """What a study stores (and ``find-lr`` writes) of a range test: plain JSON data.

    ``{"search_range": {low, high, log}, "width": width, "result": result.to_dict()}``.
    """
    search_range = auto_range(result.suggested_lr, width)
    return {"search_range": search_range.model_dump(), "width": float(width),
            "result": result.to_dict()}


def _run_and_describe(config: StudyConfig, space: SearchSpace, name: str,
                      progress: str | None) -> dict[str, Any]:
    result = run_range_test(config, space, name, progress=progress)
    record = range_test_record(result, config.lr_range_test.width)
    if progress != "off":
        low, high = record["search_range"]["low"], record["search_range"]["high"]
        print(f"lr range test ({name}): suggested peak LR {result.suggested_lr:.3g} "
              f"({result.settings.rule}); searching peak_lr in [{low:.3g}, {high:.3g}]",
              file=sys.stderr, flush=True)
    return record


def _store_first(study: optuna.Study, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Store ``value`` unless another process stored one first; return what is stored.

    A process that checked before this write landed may overwrite it a database round trip
    later; after :data:`SETTLE_S` both read back the same, last, value.
    """
    if key not in study_records(study):
        set_study_record(study, key, value)
        time.sleep(SETTLE_S)
    return study_records(study)[key]


def _middle(value: Any) -> Any:
    if not isinstance(value, Range):
        return value
    if value.log:
        return math.sqrt(value.low * value.high)
    return (value.low + value.high) / 2
