"""A study's confirmation (``lrsearch confirm``): test results over seeds, as data and figure.

Extraction gives each confirmed schedule its mean test value, spread over seeds, and its margin
over the reference baseline paired by seed; the figure shows every seed's value and the paired
margins with their 95% intervals. The headline compares choices made as a user makes them, by
validation: the schedule the search found best against the baseline that validated best.
Ranking by test mean and reading the top row would choose on the test set itself (a second
winner's curse), so the rows are exploratory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrsearch.records import MIN_INTERVAL_VALUES, Summary, paired_margin, summarise_values

__all__ = ["ConfirmationRow", "ConfirmationData", "extract_confirmation",
           "confirmation_figure", "confirmation_headline"]


@dataclass
class ConfirmationRow:
    """One confirmed schedule.

    Attributes:
        label: ``trial 12 (wsd)`` or a baseline's name.
        trial: Its trial number in the study.
        baseline: The baseline's name, or None.
        search_value: Its validation value in the search.
        values: ``seed -> test value``.
        summary: Mean, spread and 95% half-width of ``values``.
        margin: Paired margin over the reference baseline (positive = better), or None for the
            reference itself and when there is no baseline.
    """

    label: str
    trial: int
    baseline: str | None
    search_value: float
    values: dict[int, float]
    summary: Summary
    margin: Summary | None = None


@dataclass
class ConfirmationData:
    """A study's confirmation.

    Attributes:
        metric: The test metric compared (``test_acc``, or ``test_loss`` for a loss study).
        higher_is_better: Whether a larger ``metric`` is better.
        seeds: The seeds every schedule was trained with.
        rows: Confirmed schedules, best test mean first (exploratory).
        reference: Label of the baseline with the best validation value (the margins'
            reference), or None.
        headline: The non-baseline row with the best validation value (the study's winner),
            or None; its ``margin`` is the headline result.
        train_images: Images the confirmation trained on.
    """

    metric: str
    higher_is_better: bool
    seeds: list[int]
    rows: list[ConfirmationRow] = field(default_factory=list)
    reference: str | None = None
    headline: ConfirmationRow | None = None
    train_images: int | None = None


def extract_confirmation(attr: dict[str, Any] | None) -> ConfirmationData | None:
    """The study's ``confirmation`` user attribute as :class:`ConfirmationData`, or None.

    Example:
        >>> data = extract_confirmation({"seeds": [1, 2], "metric": "val_acc", "runs": [
        ...     {"trial": 5, "label": "trial 5 (wsd)", "baseline": None, "seed": s,
        ...      "search_value": 0.6, "test_acc": a} for s, a in ((1, 0.62), (2, 0.64))] + [
        ...     {"trial": 0, "label": "cosine", "baseline": "cosine", "seed": s,
        ...      "search_value": 0.58, "test_acc": a} for s, a in ((1, 0.60), (2, 0.61))]})
        >>> [r.label for r in data.rows], data.reference, data.headline.label
        (['trial 5 (wsd)', 'cosine'], 'cosine', 'trial 5 (wsd)')
        >>> round(data.headline.margin.mean, 4), data.headline.margin.half_width  # 2 seeds
        (0.025, None)
    """
    if not attr or not attr.get("runs"):
        return None
    loss = attr.get("metric") == "val_loss"
    metric = "test_loss" if loss else "test_acc"
    grouped: dict[int, ConfirmationRow] = {}
    for run in attr["runs"]:
        row = grouped.setdefault(run["trial"], ConfirmationRow(
            str(run["label"]), int(run["trial"]), run.get("baseline"),
            float(run["search_value"]), {}, Summary(0, 0.0, None, None)))
        row.values[int(run["seed"])] = float(run[metric])
    sign = -1.0 if loss else 1.0
    for row in grouped.values():
        row.summary = summarise_values(list(row.values.values()))
    rows = sorted(grouped.values(), key=lambda r: sign * r.summary.mean, reverse=True)
    data = ConfirmationData(metric, not loss, list(attr.get("seeds") or []), rows,
                            train_images=attr.get("train_images"))
    def validated(candidates: list[ConfirmationRow]) -> ConfirmationRow | None:
        return max(candidates, key=lambda r: sign * r.search_value, default=None)

    data.headline = validated([r for r in rows if r.baseline is None])
    reference = validated([r for r in rows if r.baseline is not None])
    if reference is not None:
        data.reference = reference.label
        for row in rows:
            if row is not reference:
                row.margin = paired_margin(row.values, reference.values, sign)
    return data


def confirmation_headline(data: ConfirmationData) -> str:
    """One sentence: the validation-chosen schedule's paired margin over the validation-chosen
    baseline, with its 95% interval, or why there is none.

    Example:
        >>> data = extract_confirmation({"seeds": [1, 2, 3], "metric": "val_acc", "runs": [
        ...     {"trial": t, "label": label, "baseline": b, "seed": s, "search_value": v,
        ...      "test_acc": a + 0.001 * s} for t, label, b, v, a in (
        ...         (5, "trial 5 (wsd)", None, 0.6, 0.62), (0, "cosine", "cosine", 0.58, 0.60))
        ...     for s in (1, 2, 3)]})
        >>> headline = confirmation_headline(data)
        >>> headline.split("; ")[0]
        'winner by validation: trial 5 (wsd), test_acc 0.6220'
        >>> headline.split(": ", 2)[2]
        '+0.0200, 95% interval [+0.0200, +0.0200] over 3 seeds'
    """
    row = data.headline
    if row is None:
        return "no searched schedule confirmed (only baselines)"
    text = f"winner by validation: {row.label}, {data.metric} {row.summary.mean:.4f}"
    margin = row.margin
    if margin is None:
        return text + "; no baseline to compare with"
    text += (f"; over {data.reference} (the baseline best by validation): "
             f"{margin.mean:+.4f}")
    if margin.half_width is None:
        return text + (f" over {margin.n} seed(s): no interval (fewer than "
                       f"{MIN_INTERVAL_VALUES} seeds; run with --seeds 3 or more)")
    low, high = margin.mean - margin.half_width, margin.mean + margin.half_width
    verdict = "" if low > 0 or high < 0 else " (includes 0: not established)"
    return text + f", 95% interval [{low:+.4f}, {high:+.4f}] over {margin.n} seeds{verdict}"


def confirmation_figure(data: ConfirmationData):
    """Per-seed test values of each schedule, and paired margins over the best baseline."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = [r.label for r in data.rows]
    figure = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], subplot_titles=(
        f"{data.metric} per seed (mean as a bar)",
        f"paired margin over {data.reference or 'the best baseline'} (95% interval)"))
    colours = ["#d98c00" if r.baseline else "#1f77b4" for r in data.rows]
    figure.add_trace(go.Bar(x=labels, y=[r.summary.mean for r in data.rows],
                            marker_color=colours, opacity=0.35, name="mean",
                            showlegend=False), row=1, col=1)
    for seed in data.seeds:
        figure.add_trace(go.Scatter(
            x=[r.label for r in data.rows if seed in r.values],
            y=[r.values[seed] for r in data.rows if seed in r.values], mode="markers",
            name=f"seed {seed}", marker={"size": 8}), row=1, col=1)
    margins = [r for r in data.rows if r.margin is not None]
    figure.add_trace(go.Scatter(
        x=[r.margin.mean for r in margins], y=[r.label for r in margins], mode="markers",
        marker={"size": 10, "color": ["#d98c00" if r.baseline else "#1f77b4"
                                      for r in margins]},
        error_x={"type": "data", "array": [r.margin.half_width or 0.0 for r in margins]},
        name="margin", showlegend=False), row=1, col=2)
    figure.add_vline(x=0.0, line_dash="dot", line_color="#888", row=1, col=2)
    low = min((r.summary.mean for r in data.rows), default=0.0)
    high = max((max(r.values.values()) for r in data.rows), default=1.0)
    figure.update_yaxes(range=[low - 0.5 * (high - low) - 1e-3, high + 0.1 * (high - low)
                               + 1e-3], title_text=data.metric, row=1, col=1)
    figure.update_layout(height=420, margin={"t": 60, "b": 40},
                         legend={"orientation": "h", "y": -0.25})
    return figure
