"""The report as one self-contained HTML file: plotly.js inline once, so it opens offline."""

from __future__ import annotations

import html
import json
import statistics
from pathlib import Path
from typing import Any

from lrsearch.errors import LrsearchError
from lrsearch.records import score_text
from lrsearch.report._panels import Panel, build_panels
from lrsearch.report._report_data import ReportData, TopTrial

__all__ = ["render_report", "write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.seeds { color: #666; font-size: 11px; }
code, pre { font-size: 12px; } .note { color: #666; font-style: italic; }
.summary { font-size: 15px; line-height: 1.5; } .baseline { background: #fff7e0; }
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    return str(value)


def _compact(data: dict[str, Any] | None, skip: tuple[str, ...] = ()) -> str:
    if not data:
        return "—"
    parts = [f"{k}={json.dumps(v) if not isinstance(v, float) else f'{v:.4g}'}"
             for k, v in data.items() if k not in skip]
    return html.escape(", ".join(parts))


def _summary(data: ReportData) -> str:
    counts = ", ".join(f"{n} {state.lower()}" for state, n in sorted(data.counts.items()))
    lines = [f"Study <b>{html.escape(data.study_name)}</b> in "
             f"<code>{html.escape(data.storage)}</code>: {counts or 'no trials'}; "
             f"{data.direction} <code>{html.escape(data.metric)}</code>."]
    if data.best is None:
        lines.append("No trial has completed yet.")
    else:
        best = data.best
        lines.append(f"Best: trial {best.number} ({html.escape(str(best.family))}), "
                     f"{data.metric} <b>{_score(best.seed_values)}</b>.")
    if data.best_baseline is not None and data.margin is not None:
        base = data.best_baseline
        lines.append(f"Best baseline: {html.escape(base.name)} (trial {base.number}), "
                     f"{_score(base.seed_values)}; margin of the best over it: "
                     f"<b>{data.margin:+.4f}</b>.")
    elif data.baselines:
        lines.append("No baseline has completed yet.")
    return "<p class='summary'>" + "<br>".join(lines) + "</p>"


def _score(seed_values: list[float]) -> str:
    return html.escape(score_text(seed_values)) if seed_values else "—"


def _value_cell(seed_values: list[float]) -> str:
    """The mean, with its seeds' values in a tooltip and their count beside it."""
    if len(seed_values) < 2:
        return _score(seed_values)
    seeds = ", ".join(f"{v:.4f}" for v in seed_values)
    return (f"<span title='seeds: {seeds}'>{_fmt(statistics.fmean(seed_values))}</span>"
            f"<span class='seeds'> ({len(seed_values)} seeds)</span>")


def _row(top: TopTrial) -> str:
    t = top.trial
    spec = t.schedule or {}
    test = _fmt(t.test_acc) + ("" if t.test_acc_std is None else f" ± {t.test_acc_std:.4f}")
    cells = [str(top.rank), str(t.number), html.escape(str(t.family)),
             html.escape(t.baseline or ""), _fmt(spec.get("peak_lr")),
             _fmt(spec.get("warmup_frac")), _compact(spec.get("params")),
             _compact(t.optimizer), _value_cell(t.seed_values), test, _fmt(t.wall_seconds, 1)]
    numeric = {0, 1, 4, 5, 8, 9, 10}
    tds = "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
                  for i, c in enumerate(cells))
    return f"<tr class='{'baseline' if t.baseline else ''}'>{tds}</tr>"


def _top_table(data: ReportData) -> str:
    rows = [*data.top, *data.baseline_curves]
    if not rows:
        return "<p class='note'>No complete trial yet.</p>"
    head = ["rank", "trial", "family", "baseline", "peak_lr", "warmup_frac", "params",
            "optimizer", data.metric, "test_acc", "wall s"]
    ths = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(_row(top) for top in rows)
    return f"<table><tr>{ths}</tr>{body}</table>"


def _baseline_table(data: ReportData) -> str:
    if not data.baselines:
        return "<p class='note'>This study has no baselines.</p>"
    rows = "".join(f"<tr><td>{html.escape(b.name)}</td><td class='num'>{b.number}</td>"
                   f"<td>{b.state.lower()}</td><td class='num'>{_score(b.seed_values)}</td></tr>"
                   for b in data.baselines)
    return f"<table><tr><th>baseline</th><th>trial</th><th>state</th>" \
           f"<th>{html.escape(data.metric)}</th></tr>{rows}</table>"


def _confirmation(data: ReportData) -> str:
    """Test results over fresh seeds, paired margins over the best baseline, and the figure."""
    conf = data.confirmation
    if conf is None:
        return ("<p class='note'>Not confirmed yet: <code>lrsearch confirm --storage URL "
                "--study NAME</code> re-trains the top schedules and the baselines with fresh "
                "seeds on the full training set and evaluates them on the test set.</p>")
    head = ["schedule", "trial", f"search {data.metric}", f"{conf.metric} mean ± std",
            "95% ±", "seeds", f"paired margin over {conf.reference or '—'}", "95% ±"]
    rows = []
    for r in conf.rows:
        s, m = r.summary, r.margin
        cells = [html.escape(r.label), str(r.trial), _fmt(r.search_value),
                 _fmt(s.mean) + ("" if s.std is None else f" ± {s.std:.4f}"),
                 _fmt(s.half_width), str(s.n), "—" if m is None else f"{m.mean:+.4f}",
                 "—" if m is None else _fmt(m.half_width)]
        tds = "".join(f"<td>{c}</td>" if i == 0 else f"<td class='num'>{c}</td>"
                      for i, c in enumerate(cells))
        rows.append(f"<tr class='{'baseline' if r.baseline else ''}'>{tds}</tr>")
    ths = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trained = "" if conf.train_images is None else f" on {conf.train_images} training images"
    from lrsearch.report._confirmation import confirmation_figure, confirmation_headline

    note = (f"<p><b>{html.escape(confirmation_headline(conf))}</b></p>"
            f"<p>Each schedule re-trained with seeds {conf.seeds}{trained} (training split "
            f"plus validation images) and evaluated once on the test set. Margins are paired "
            f"by seed; an interval that includes 0 means the difference is not established. "
            f"The table is sorted by test mean for exploration only: the winner and the "
            f"reference baseline above are chosen by validation, as the search chose.</p>")

    figure = confirmation_figure(conf).to_html(full_html=False, include_plotlyjs=False,
                                               div_id="fig-confirmation",
                                               config={"displaylogo": False})
    return note + f"<table><tr>{ths}</tr>{''.join(rows)}</table>" + figure


def _provenance(data: ReportData) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in data.provenance.items())
    table = f"<table>{rows}</table>" if rows else \
        "<p class='note'>No provenance stored (not an lrsearch study?).</p>"
    config = ""
    if data.config is not None:
        config = ("<details><summary>resolved study config</summary><pre>"
                  f"{html.escape(json.dumps(data.config, indent=2))}</pre></details>")
    return table + config


def _panel(panel: Panel, first: bool) -> str:
    note = f"<p class='note'>{html.escape(panel.note)}</p>" if panel.note else ""
    if panel.figure is None:
        return f"<h2 id='{panel.key}'>{html.escape(panel.title)}</h2>{note}", first
    div = panel.figure.to_html(full_html=False, include_plotlyjs=first,
                               div_id=f"fig-{panel.key}", config={"displaylogo": False})
    return f"<h2 id='{panel.key}'>{html.escape(panel.title)}</h2>{note}{div}", False


def render_report(data: ReportData) -> str:
    """The whole report page as a string (plotly.js embedded once, no network needed)."""
    panels = build_panels(data)
    parts, first = [], True
    for panel in panels:
        text, first = _panel(panel, first)
        parts.append(text)
    title = f"lrsearch report: {data.study_name}"
    sections = [
        f"<h1>{html.escape(title)}</h1>", _summary(data), parts[0],
        f"<h2 id='table'>Top {len(data.top)} trials</h2>", _top_table(data),
        "<h2 id='baselines'>Baselines</h2>", _baseline_table(data),
        "<h2 id='confirmation'>Confirmation on the test set</h2>", _confirmation(data),
        *parts[1:],
        "<h2 id='provenance'>Provenance</h2>", _provenance(data),
    ]
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body>\n" + "\n".join(sections) +
            "\n</body></html>\n")


def write_report(data: ReportData, path: str | Path) -> Path:
    """Write the report page of ``data`` to ``path`` (folders created); return the path.

    Raises:
        LrsearchError: The file or its folder cannot be written (naming the path and why).
    """
    path = Path(path)
    page = render_report(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise LrsearchError(f"out: cannot write the report to {path}: {exc.strerror or exc}"
                            f" ({exc.filename or path})") from None
    return path
