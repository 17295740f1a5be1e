"""Plotly figures drawn from :class:`ReportData` (plotly is imported here, when drawing).

Each function reads the extracted data only. Colours follow the schedule family, the same
family getting the same colour in every report.
"""

from __future__ import annotations

from typing import Any

from lrsearch.report._report_data import ReportData, TopTrial

__all__ = ["family_colour", "lr_curves_figure", "family_figure", "history_figure",
           "importance_figure", "intermediate_figure"]

_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_BASELINE_SYMBOLS = ("star", "diamond", "square", "triangle-up", "pentagon", "hexagram",
                     "star-square", "triangle-down")
_STATE_COLOURS = {"COMPLETE": "#4c72b0", "PRUNED": "#dd8452", "FAIL": "#c44e52"}


def family_colour(family: str | None) -> str:
    """The colour of ``family``: fixed by its place in the family registry.

    Example:
        >>> family_colour("cosine") == family_colour("cosine") != family_colour("linear")
        True
    """
    import plotly.colors

    from lrsearch.schedules import family_names

    palette = plotly.colors.qualitative.Dark24
    names = family_names()
    index = names.index(family) if family in names else len(names)
    return palette[index % len(palette)]


def _label(top: TopTrial) -> str:
    trial = top.trial
    tag = f" [baseline {trial.baseline}]" if trial.baseline else ""
    return f"#{top.rank} trial {trial.number} {trial.family}{tag}"


def lr_curves_figure(data: ReportData, log_lr: bool = False) -> Any:
    """Top-K LR curves (vs fraction of training) beside their validation curves per epoch.

    Baselines outside the top K are drawn dotted. A button switches the LR axis to log scale.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        "learning rate vs fraction of training", f"{data.metric} per epoch"))
    seen: dict[str, int] = {}
    for top in [*data.top, *data.baseline_curves]:
        family = top.trial.family or "?"
        dash = "dot" if top.rank > len(data.top) else _DASHES[seen.get(family, 0) % 6]
        seen[family] = seen.get(family, 0) + 1
        style = {"color": family_colour(top.trial.family), "dash": dash}
        group = f"trial-{top.trial.number}"
        lr_note = " (recorded)" if top.lr_source == "recorded" else ""
        fig.add_scatter(x=top.lr.x, y=top.lr.y, mode="lines", line=style, name=_label(top),
                        legendgroup=group, row=1, col=1,
                        hovertemplate=f"{_label(top)}{lr_note}<br>progress %{{x:.3f}}"
                                      f"<br>lr %{{y:.4g}}<extra></extra>")
        fig.add_scatter(x=top.metric.x, y=top.metric.y, mode="lines+markers", line=style,
                        name=_label(top), legendgroup=group, showlegend=False, row=1, col=2,
                        hovertemplate=f"{_label(top)}<br>epoch %{{x}}<br>{data.metric} "
                                      f"%{{y:.4f}}<extra></extra>")
    fig.update_xaxes(title_text="fraction of training", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="learning rate", type="log" if log_lr else "linear",
                     row=1, col=1)
    epochs = [x for top in [*data.top, *data.baseline_curves] for x in top.metric.x]
    fig.update_xaxes(title_text="epoch", row=1, col=2, **_epoch_ticks(epochs))
    fig.update_yaxes(title_text=data.metric, row=1, col=2)
    buttons = [{"label": f"LR axis: {kind}", "method": "relayout",
                "args": [{"yaxis.type": kind}]} for kind in ("linear", "log")]
    fig.update_layout(height=500, margin={"t": 100}, legend={"font": {"size": 10}}, updatemenus=[{
        "type": "buttons", "direction": "right", "x": 0, "y": 1.2, "xanchor": "left",
        "buttons": buttons, "active": 1 if log_lr else 0}])
    return fig


def family_figure(data: ReportData) -> Any:
    """Per family: final metric of every complete trial (box + points, best marked), and how
    many trials completed, were pruned or failed."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.05)
    names = [s.family for s in data.families]
    for stats in data.families:
        colour = family_colour(stats.family)
        fig.add_box(x=[stats.family] * len(stats.values), y=stats.values, name=stats.family,
                    marker_color=colour, boxpoints="all", jitter=0.4, pointpos=0,
                    text=[f"trial {n}" for n in stats.numbers], showlegend=False, row=1, col=1)
        if stats.best_value is not None:
            fig.add_scatter(x=[stats.family], y=[stats.best_value], mode="markers",
                            marker={"symbol": "diamond", "size": 13, "color": colour,
                                    "line": {"width": 1.5, "color": "black"}},
                            name="best of family", legendgroup="best",
                            showlegend=stats is data.families[0],
                            hovertext=f"best {stats.family}: trial {stats.best_trial}",
                            row=1, col=1)
    for state, attr in (("COMPLETE", "complete"), ("PRUNED", "pruned"), ("FAIL", "failed")):
        fig.add_bar(x=names, y=[getattr(s, attr) for s in data.families], name=state.lower(),
                    marker_color=_STATE_COLOURS[state], row=2, col=1)
    fig.update_layout(barmode="stack", height=560)
    fig.update_xaxes(categoryorder="array", categoryarray=names)
    fig.update_yaxes(title_text=f"final {data.metric}", row=1, col=1)
    fig.update_yaxes(title_text="trials", row=2, col=1)
    return fig


def history_figure(data: ReportData) -> Any:
    """Optimisation history: each complete trial's value (by family; the mean over seeds where
    re-run), baselines as stars, pruned trials as crosses at the value they were pruned at, and
    the best so far."""
    import plotly.graph_objects as go

    fig = go.Figure()
    history = data.history
    by_family: dict[str | None, list[int]] = {}
    for i, family in enumerate(history.families):
        by_family.setdefault(family, []).append(i)
    for family, rows in by_family.items():
        fig.add_scatter(x=[history.numbers[i] for i in rows],
                        y=[history.values[i] for i in rows], mode="markers", name=str(family),
                        marker={"color": family_colour(family), "size": 6, "opacity": 0.7})
    # One legend entry per baseline, names on hover: baselines are the first trials, side by
    # side, so text labels on the plot would overlap.
    rows = [i for i, name in enumerate(history.baselines) if name is not None]
    for index, i in enumerate(rows):
        name = history.baselines[i]
        fig.add_scatter(x=[history.numbers[i]], y=[history.values[i]], mode="markers",
                        name=f"baseline {name}", legendgroup="baselines",
                        legendgrouptitle_text="baselines" if index == 0 else None,
                        marker={"symbol": _BASELINE_SYMBOLS[index % len(_BASELINE_SYMBOLS)],
                                "size": 13, "color": family_colour(history.families[i]),
                                "line": {"width": 1.5, "color": "black"}},
                        hovertemplate=f"baseline {name}<br>trial %{{x}}<br>{data.metric} "
                                      f"%{{y:.4f}}<extra></extra>")
    if history.pruned_numbers:
        fig.add_scatter(x=history.pruned_numbers, y=history.pruned_values, mode="markers",
                        name="pruned (value where pruned)",
                        marker={"symbol": "x", "size": 6, "color": _STATE_COLOURS["PRUNED"],
                                "opacity": 0.6},
                        hovertemplate=f"trial %{{x}} pruned<br>{data.metric} %{{y:.4f}}"
                                      "<extra></extra>")
    fig.add_scatter(x=history.numbers, y=history.best_so_far, mode="lines", name="best so far",
                    line={"color": "black", "shape": "hv"})
    # The legend below the plot, in rows: a side legend of many families and baselines
    # became a clipped scroll box.
    fig.update_layout(height=460, xaxis_title="trial", yaxis_title=data.metric,
                      legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.18,
                              "yanchor": "top"}, margin={"b": 120})
    return fig


def importance_figure(data: ReportData) -> Any | None:
    """Optuna's parameter importances as horizontal bars, or None when there are none."""
    import plotly.graph_objects as go

    if not data.importances:
        return None
    items = sorted(data.importances.items(), key=lambda item: item[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker_color="#4c72b0"))
    fig.update_layout(height=max(260, 28 * len(items) + 100), xaxis_title="importance")
    return fig


def intermediate_figure(data: ReportData) -> Any:
    """Every trial's metric per epoch: one line per trial (one trace per state, lines joined by
    gaps, so thousands of trials draw fast), pruned trials ending in a cross."""
    import plotly.graph_objects as go

    fig = go.Figure()
    # Horizon rungs report each whole schedule at the rung's length: points, not one run.
    horizon = data.reported == "horizon"
    x_name = "horizon (epochs)" if horizon else "epoch"
    hover = f"%{{text}}<br>{x_name} %{{x}}<br>%{{y:.4f}}<extra></extra>"
    for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING"):
        curves = [c for c in data.intermediate if c.state == state]
        if not curves:
            continue
        xs: list[float | None] = []
        ys: list[float | None] = []
        text: list[str] = []
        for curve in curves:
            xs += [*curve.epochs, None]
            ys += [*curve.values, None]
            text += [f"trial {curve.number}"] * (len(curve.epochs) + 1)
        colour = _STATE_COLOURS.get(state, "#8c8c8c")
        # Markers too: a trial pruned at its first report has one point and no line.
        fig.add_scatter(x=xs, y=ys, text=text, mode="lines+markers", name=state.lower(),
                        line={"color": colour, "width": 1, "dash": "dot" if horizon else
                              "solid"}, marker={"size": 4}, opacity=0.6, hovertemplate=hover)
        if state == "PRUNED":
            fig.add_scatter(x=[c.epochs[-1] for c in curves], y=[c.values[-1] for c in curves],
                            text=[f"trial {c.number} pruned" for c in curves], mode="markers",
                            name="pruned here", marker={"symbol": "x", "size": 8,
                                                        "color": colour},
                            hovertemplate=hover)
    title = ("rung: the whole schedule trained for this many epochs" if horizon else "epoch")
    fig.update_layout(height=420, xaxis_title=title, yaxis_title=data.metric)
    fig.update_xaxes(**_epoch_ticks([e for c in data.intermediate for e in c.epochs]))
    return fig


def _epoch_ticks(epochs: list[float]) -> dict[str, Any]:
    """A tick per epoch on short axes: plotly's own ticks fall between epochs (1, 1.5, 2) when
    there are only a few; on longer axes its ticks are whole numbers anyway."""
    if epochs and max(epochs) <= 10:
        return {"tickmode": "linear", "tick0": 1, "dtick": 1}
    return {}
