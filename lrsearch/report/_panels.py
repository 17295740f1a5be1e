"""The report's sections in page order: each a figure, or a note saying why it is missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lrsearch.report._figures import (
    family_figure,
    history_figure,
    importance_figure,
    intermediate_figure,
    lr_curves_figure,
)
from lrsearch.report._horizon_figure import horizon_figure, horizon_note
from lrsearch.report._pruning_figures import fidelity_figure, rank_bias_figure, survivors_note
from lrsearch.report._rank_bias import MIN_TRIALS
from lrsearch.report._report_data import ReportData

__all__ = ["Panel", "build_panels"]


@dataclass
class Panel:
    """One section of a report: a key (HTML id), a title, the figure or a note why not."""

    key: str
    title: str
    figure: Any | None
    note: str = ""


def build_panels(data: ReportData) -> list[Panel]:
    """The report's figures in page order, each with its note."""
    importances = importance_figure(data)
    fidelity = fidelity_figure(data)
    reported = {"probe": f"probe {data.metric} at the pruning points",
                "horizon": f"{data.metric} of whole schedules at each rung's horizon"
                }.get(data.reported, f"{data.metric} per epoch")
    no_probe = ("the study prunes by horizon rungs, which train whole schedules and need no "
                "probe; the intermediate values above show the rungs" if data.reported ==
                "horizon" else "the study judges raw values: pruner.judge raw, or "
                "pruner.name none")
    bias = rank_bias_figure(data)
    return [
        Panel("curves", f"Top {len(data.top)} schedules: LR curves and validation curves",
              lr_curves_figure(data)),
        Panel("families", "Schedule families: final result and pruned/failed counts",
              family_figure(data)),
        Panel("horizon", "Search short, train long: the best peak LR against the training "
              "length", horizon_figure(data), horizon_note(data)),
        Panel("history", "Optimisation history", history_figure(data)),
        Panel("importances", "Parameter importances (Optuna)", importances,
              "" if importances is not None else f"Not shown: {data.importance_note}."),
        Panel("intermediate", f"Intermediate values ({reported})",
              intermediate_figure(data)),
        Panel("fidelity", "Pruning fidelity: raw and probe values at each pruning point "
              "against the final value", fidelity,
              f"{survivors_note(data)} A judge that ranks them as they ended lines its "
              "points up from bottom left to top right (tau near +1)." if fidelity is not None
              else f"Not shown: no complete trial holds cooldown-probe values ({no_probe})."),
        Panel("rank-bias", "Pruning bias: how well the rank mid-training foretells the final "
              "rank, overall and per family", bias,
              f"{survivors_note(data)} Kendall tau-b of each epoch's value against their "
              "final value (dotted lines: probed pruning points). Low or negative tau early is "
              "the short-horizon bias: schedules that decay late look worse than they end."
              if bias is not None else
              f"Not shown: needs at least {MIN_TRIALS} complete trials."),
    ]
