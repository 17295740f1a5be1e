"""Figures of the pruning analyses: fidelity at the pruning points and the rank bias over
training (plotly imported when drawing). Both read the complete trials only; in a pruned study
those are the survivors, which ``survivors_note`` says on the panel.
"""

from __future__ import annotations

from typing import Any

from lrsearch.report._figures import family_colour
from lrsearch.report._report_data import ReportData

__all__ = ["fidelity_figure", "rank_bias_figure", "survivors_note"]


def survivors_note(data: ReportData) -> str:
    """Which trials the pruning panels use, and what leaving out the pruned ones means.

    Example:
        >>> from lrsearch.report._report_data import History, ReportData
        >>> data = ReportData("s", "", "maximize", "val_acc", {"COMPLETE": 8, "PRUNED": 12},
        ...                   [], [], [], History(), [], [], None, None, None, None, "", {}, None)
        >>> survivors_note(data)[:60]
        'Only the 8 trials that ran to the end (of 20): the 12 pruned'
    """
    complete, pruned = data.counts.get("COMPLETE", 0), data.counts.get("PRUNED", 0)
    total = sum(data.counts.values())
    if not pruned:
        return f"The {complete} trials that ran to the end (of {total}; none was pruned)."
    return (f"Only the {complete} trials that ran to the end (of {total}): the {pruned} pruned "
            f"ones have no final value, so they are left out. These are the survivors of "
            f"pruning, not a fair sample of all trials: the pruner removed the ones it judged "
            f"worst, so agreement among the survivors says little about the trials it "
            f"removed.")


def _tau(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def fidelity_figure(data: ReportData) -> Any | None:
    """Raw (left) and probe (right) value at each pruning point against the final value, for
    trials that ran to the end; Kendall's tau per point in the legend. None without probes."""
    from plotly.subplots import make_subplots

    if not data.fidelity:
        return None
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=(f"raw {data.metric} at the pruning point",
                                        f"probe {data.metric} at the pruning point"))
    palette = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
    for index, point in enumerate(data.fidelity):
        colour = palette[index % len(palette)]
        name = (f"epoch {point.epoch} ({point.progress:.0%}): tau raw {_tau(point.tau_raw)}, "
                f"probe {_tau(point.tau_probe)}")
        text = [f"trial {n}" for n in point.numbers]
        for col, values in ((1, point.raw), (2, point.probe)):
            fig.add_scatter(x=values, y=point.final, text=text, mode="markers", name=name,
                            legendgroup=name, showlegend=col == 1, row=1, col=col,
                            marker={"color": colour, "size": 7, "opacity": 0.75},
                            hovertemplate=f"%{{text}}<br>epoch {point.epoch}: %{{x:.4f}}"
                                          f"<br>final %{{y:.4f}}<extra></extra>")
    fig.update_yaxes(title_text=f"final {data.metric}", row=1, col=1)
    fig.update_layout(height=460, legend={"font": {"size": 11}, "title": {
        "text": "pruning point: Kendall tau-b vs final"}})
    return fig


def rank_bias_figure(data: ReportData) -> Any | None:
    """Kendall tau of each epoch's value against the final value, over training; None if
    too few trials completed."""
    import plotly.graph_objects as go

    if not data.rank_bias:
        return None
    fig = go.Figure()
    for curve in data.rank_bias:
        overall = curve.label.startswith("all ")
        family = curve.label.split(" ")[0]
        fig.add_scatter(x=curve.progress, y=curve.tau, mode="lines+markers",
                        name=f"{curve.label}, {curve.trials} trials",
                        line={"width": 4 if overall else 2,
                              "dash": "dash" if "probe" in curve.label else "solid",
                              "color": "#222" if overall else family_colour(family)})
    for progress in sorted({point.progress for point in data.fidelity}):
        fig.add_vline(x=progress, line_dash="dot", line_color="#999")
    fig.add_hline(y=0.0, line_color="#bbb")
    fig.update_layout(height=420, yaxis={"title": "Kendall tau-b vs final value",
                                         "range": [-1.05, 1.05]},
                      xaxis={"title": "fraction of training", "range": [0, 1]})
    return fig


