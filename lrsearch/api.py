"""``lrsearch.optimize``: search the schedule of a training loop of your own.

lrsearch samples each trial's schedule and optimizer, your ``train_fn`` trains with them and
reports a metric per epoch, and lrsearch prunes, stores (the same storage, report, export,
dashboard and confirmation records as ``lrsearch run``) and resumes. Several processes (or
machines) running the same script on one PostgreSQL or MySQL storage, each with its own
``worker_index``, share the study, as ``lrsearch run --worker-index`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lrsearch.config import (
    OWN_LOOP_PRUNER,
    StudyConfig,
    load_study,
    parse_study,
    pruning_policy,
)
from lrsearch.errors import ConfigError

__all__ = ["optimize"]


def optimize(study: str | Path | Mapping[str, Any] | StudyConfig,
             train_fn: Callable[[Any], Any], *, evaluate: Callable[[Any], Any] | None = None,
             n_trials: int | None = None,
             storage: str | None = None, timeout_s: float | None = None,
             worker_index: int = 0, progress: str | None = "off") -> Any:
    """Run (or resume) a study whose trials train with ``train_fn``.

    Args:
        study: A study file, its contents as a mapping, or a checked config. Its ``model``
            and ``data`` are not used (the loop is yours); ``training.epochs`` and
            ``training.seed`` are passed on to ``train_fn`` as ``trial.epochs`` and
            ``trial.seed``.
        train_fn: Called with each :class:`lrsearch.search.Trial`: build the optimizer and
            scheduler with ``trial.build_optimizer(model)`` and ``trial.build_scheduler(
            optimizer, total_steps)``, train ``trial.epochs`` epochs and call
            ``trial.report(epoch, val_acc=...)`` (the study's metric) after each. A
            ``TrialPruned`` raised by ``report`` must propagate; any other exception fails
            that trial, and three in a row end the run.
        evaluate: ``evaluate(model)``, the study's metric (or a dict holding it) of a model:
            given, the pruning points are judged by a cooldown probe when the study's
            ``pruner.judge`` is (or defaults to) ``probe``, and ``trial.report`` takes the
            ``model``, ``optimizer`` and ``train_step`` to cool down with there. Left out, the
            raw values reported are judged.
        n_trials: Overrides the study's ``n_trials``; ``storage``, ``timeout_s`` likewise.
        worker_index: This process's index when several share the study (offsets seeds).
        progress: ``"bar"``, ``"lines"``, ``"off"`` (default) or None (a bar on a terminal).

    Returns:
        The :class:`lrsearch.search.RunSummary` (counts, best value, trial and family).

    Raises:
        ConfigError: A bad study, or one that needs lrsearch's own training loop
            (``peak_lr: auto``; ``pruner.name: horizon``; ``pruner.judge: probe`` without
            ``evaluate``). A study that names no pruner gets ``median`` here, not the
            horizon rungs ``lrsearch run`` defaults to.
        StudyError: The storage cannot be reached, or the study cannot be resumed.
    """
    from lrsearch.search import SearchSpace, UserObjective, run_study

    overrides = {"n_trials": n_trials, "storage": storage, "timeout_s": timeout_s}
    if isinstance(study, StudyConfig):
        study = study.model_dump(mode="json", exclude_unset=True)
    if isinstance(study, Mapping):
        config = parse_study(dict(study), overrides, source="study", own_loop=True)
    else:
        config = load_study(study, overrides, own_loop=True)
    config = _own_loop(config, SearchSpace.from_config(config).auto_optimizers,
                       probe=evaluate is not None)

    def make_objective(config: StudyConfig, space: Any, on_epoch: Any) -> UserObjective:
        return UserObjective(config, space, train_fn, on_epoch, evaluate)

    return run_study(config, worker_index=worker_index, progress=progress,
                     make_objective=make_objective)


def _own_loop(config: StudyConfig, auto: Any, probe: bool) -> StudyConfig:
    """``config`` for the user's loop: judged by raw values unless it can ``probe``; refused
    where it needs lrsearch's own training."""
    problems = []
    pruner = config.pruner
    if pruning_policy(pruner.name).rungs:
        problems.append(f"pruner.name: got 'horizon'; horizon rungs train each trial's whole "
                        f"schedule at shorter lengths, which only lrsearch's own training "
                        f"loop can do, while your train_fn reports per epoch: use "
                        f"{OWN_LOOP_PRUNER!r} (the default with your own loop) or another "
                        f"per-epoch pruner")
    if auto:
        problems.append(f"search_space.peak_lr: got 'auto' (for {list(auto)}); the LR range "
                        f"test trains lrsearch's own model: give a range with your own loop")
    if pruner.judge == "probe" and not probe:
        problems.append("pruner.judge: got 'probe'; a cooldown probe of your own loop needs "
                        "lrsearch.optimize(..., evaluate=...): give it, or use judge: raw (the "
                        "default without evaluate)")
    if problems:
        raise ConfigError(problems, source="study for lrsearch.optimize")
    if probe:
        return config
    return config.model_copy(update={"pruner": pruner.model_copy(update={"judge": "raw"})})
