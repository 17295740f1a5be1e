"""The peak-LR-against-horizon figure: the best peak LR the study measured at each training
length for its top schedule shapes, their power-law trend, and the transferred peak LR (the
longest length's best) with its interval at the target length
(plotly imported when drawing)."""

from __future__ import annotations

from typing import Any

from lrsearch.report._figures import family_colour
from lrsearch.report._report_data import ReportData

__all__ = ["horizon_figure", "horizon_note"]


def horizon_figure(data: ReportData) -> Any | None:
    """Best peak LR (log) against epochs (log), a line per shape; None without evidence."""
    import plotly.graph_objects as go

    if not data.horizons:
        return None
    fig = go.Figure()
    for line in data.horizons:
        colour = family_colour(line.label.split()[1])
        epochs = [b.epochs for b in line.best]
        fig.add_scatter(
            x=epochs, y=[b.peak_lr for b in line.best], mode="markers", name=line.label,
            legendgroup=line.label, text=[("best of the LRs tried" if b.bracketed else
                                           "bound: the best LR tried is at the edge")
                                          + f" ({b.points} trainings)" for b in line.best],
            marker={"color": colour, "size": 10,
                    "symbol": ["circle" if b.bracketed else "circle-open" for b in line.best]})
        if line.found is not None:
            fig.add_scatter(x=[line.found[0]], y=[line.found[1]], mode="markers",
                            legendgroup=line.label,
                            name=f"{line.label}: found with {line.found[1]:.3g}",
                            marker={"color": colour, "size": 11, "symbol": "x"})
        if line.fit is None:
            continue
        last = max([*epochs, line.target_epochs or 0])
        xs = [min(epochs) * (last / min(epochs)) ** (k / 40) for k in range(41)]
        fig.add_scatter(x=xs, y=[line.fit.trend_lr(x) for x in xs], mode="lines",
                        name=f"{line.label}: trend, epochs ** {-line.fit.exponent:.2f} "
                             f"(not extrapolated)",
                        legendgroup=line.label, line={"color": colour, "dash": "dot"})
        if line.target_epochs and line.interval is not None:
            target = line.target_epochs
            peak = line.fit.peak_lr(target)
            fig.add_scatter(
                x=[target], y=[peak], mode="markers", legendgroup=line.label,
                name=f"{line.label}: {peak:.3g} at {target} epochs (target)",
                marker={"color": colour, "size": 12, "symbol": "star"},
                error_y={"type": "data", "symmetric": False,
                         "array": [line.interval[1] - peak],
                         "arrayminus": [peak - line.interval[0]]})
    fig.update_xaxes(type="log", title="training length (epochs)")
    fig.update_yaxes(type="log", title="best peak LR")
    fig.update_layout(height=420, margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig


def horizon_note(data: ReportData) -> str:
    """What the figure shows, or why it is missing."""
    if not data.horizons:
        return ("Not shown: no schedule was trained at several peak LRs at two horizons. Set "
                "target_epochs in the study file and run it again: the horizon sweep trains "
                "the winner's shape at a few peak LRs at two lengths (docs/horizon-transfer.md).")
    notes = [f"{line.label}: {line.note}" for line in data.horizons if line.fit is None]
    return ("Filled markers: the best peak LR at that length, between the LRs tried (a "
            "parabola's vertex in log LR); open: the best LR tried lies at the edge, so the "
            "best is beyond it. Cross: the peak LR the search found it with. Dotted: the "
            "power-law trend through the filled markers, shown, not extrapolated (at a "
            "study's short lengths it misled: docs/horizon-transfer.md); star: the peak LR "
            "`lrsearch export --epochs N` uses at the target length: the one found, unless the "
            "95% interval of the best measured at the longest length (the bar) excludes it, "
            "then that best."
            + (" No fit for " + "; ".join(notes) if notes else ""))
