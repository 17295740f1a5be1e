"""The LR range test as a picture: loss against LR (log axis), each rule's suggestion marked.

Drawn from the plain record that a study stores and ``lrsearch find-lr`` writes (see
``lrsearch.search.range_test_record``): first the points to mark are extracted
(:func:`range_test_marks`), then plotly draws them. plotly is imported only when drawing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Mark", "range_test_figure", "range_test_marks", "write_range_test"]

_RULE_SYMBOLS = {"valley": "diamond", "steepest": "triangle-down", "min_over_10": "square"}


@dataclass(frozen=True)
class Mark:
    """One suggestion on the curve: its rule, LR, the smoothed loss there, and whether it is the
    suggestion the study uses."""

    rule: str
    lr: float
    loss: float
    chosen: bool


def range_test_marks(record: dict[str, Any]) -> list[Mark]:
    """The suggestions of a range test record, each placed on the smoothed curve.

    Example:
        >>> record = {"result": {"lrs": [0.01, 0.1, 1.0], "smoothed": [2.3, 2.0, 2.2],
        ...           "suggestions": {"valley": 0.1, "min_over_10": 0.01},
        ...           "settings": {"rule": "valley"}}}
        >>> [(m.rule, m.loss, m.chosen) for m in range_test_marks(record)]
        [('valley', 2.0, True), ('min_over_10', 2.3, False)]
    """
    result = record["result"]
    lrs, smoothed = result["lrs"], result["smoothed"]
    marks = []
    for rule, lr in result["suggestions"].items():
        nearest = min(range(len(lrs)), key=lambda i: abs(math.log(lrs[i] / lr)))
        marks.append(Mark(rule, lr, smoothed[nearest], rule == result["settings"]["rule"]))
    return marks


def range_test_figure(record: dict[str, Any]) -> Any:
    """Loss per batch and smoothed loss against LR (log x), the suggestions marked (the one in
    use emphasised), and the peak-LR range of ``peak_lr: auto`` shaded when the record has
    one."""
    import plotly.graph_objects as go

    result = record["result"]
    lrs = result["lrs"]
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=result["losses"], mode="lines", name="loss per batch",
                    line={"color": "#b0b0b0", "width": 1})
    fig.add_scatter(x=lrs, y=result["smoothed"], mode="lines", name="smoothed loss",
                    line={"color": "#4c72b0", "width": 2.5})
    for mark in range_test_marks(record):
        label = f"{mark.rule}: {mark.lr:.3g}" + (" (suggested)" if mark.chosen else "")
        fig.add_scatter(x=[mark.lr], y=[mark.loss], mode="markers", name=label,
                        marker={"symbol": _RULE_SYMBOLS.get(mark.rule, "circle"),
                                "size": 16 if mark.chosen else 10,
                                "color": "#c44e52" if mark.chosen else "#55a868",
                                "line": {"width": 1.5, "color": "black"}})
        if mark.chosen:
            fig.add_vline(x=mark.lr, line={"color": "#c44e52", "dash": "dash", "width": 1})
    span = record.get("search_range")
    if span:
        # A shape on a log axis takes LRs, an annotation takes log10(LR): plotly's
        # annotation_text of add_vrect would put the label at 10 ** low.
        fig.add_vrect(x0=span["low"], x1=span["high"], fillcolor="#c44e52", opacity=0.08,
                      line_width=0)
        fig.add_annotation(x=math.log10(span["low"]), xref="x", xanchor="left", y=1,
                           yref="y domain", yanchor="top", showarrow=False,
                           text="peak_lr: auto searches here")
    low = min(result["losses"] + result["smoothed"])
    high = max(result["smoothed"][0], *result["smoothed"][: len(lrs) // 2])
    stopped = result.get("stopped") or f"ran all {len(lrs)} steps"
    fig.update_layout(
        height=520, title=f"LR range test: {result['model']}, {result['optimizer'].get('name')}"
                          f" on {result['device_name']} ({stopped})",
        xaxis={"type": "log", "title": "learning rate (param group 0)"},
        yaxis={"title": "training loss", "range": [0.95 * low, 1.5 * high]},
        legend={"font": {"size": 11}})
    return fig


def write_range_test(record: dict[str, Any], out_dir: str | Path,
                     stem: str = "lr_range_test") -> tuple[Path, Path]:
    """Write ``STEM.json`` (the record) and ``STEM.html`` (the figure, plotly.js inline so it
    opens offline) into ``out_dir``; return both paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    range_test_figure(record).write_html(html_path, include_plotlyjs=True, full_html=True)
    return html_path, json_path
