"""lrsearch's own figures and a note in the study, for optuna-dashboard to show.

``publish_to_dashboard`` saves the LR curves of the current best schedules, the family
comparison and a Markdown note (purpose, config, provenance) with optuna-dashboard's API
(``save_plotly_graph_object``, ``save_note``); ``optuna-dashboard URL`` then shows them beside
Optuna's own charts. While a study runs, :class:`DashboardRefresher` (``_refresher.py``) calls
it after finished trials, throttled.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import optuna

from lrsearch.config import PRUNERS, PrunerConfig, pruning_epochs, pruning_policy
from lrsearch.records import (
    DEVICE_NAME_ATTR,
    FINGERPRINT_ATTR,
    GIT_SHA_ATTR,
    LRSEARCH_VERSION_ATTR,
    OPTUNA_VERSION_ATTR,
    TORCH_VERSION_ATTR,
    rank_complete,
    reseed_runs,
    score_text,
    storage_cause,
    storage_error_in,
    stored_config,
    stored_metric,
    study_records,
    trial_family,
    trial_seed_values,
)

__all__ = ["FIGURE_IDS", "dashboard_module", "dashboard_note", "publish_to_dashboard"]

FIGURE_IDS = {"lr_curves": "lrsearch-lr-curves", "families": "lrsearch-families"}
"""``graph_object_id`` of each figure; saving again replaces the figure."""

_DASHBOARD_TOP_K = 5
# optuna-dashboard (0.16-0.21) draws a user figure in a div 450 px high, in a card half the
# page wide (about 620 px at a 1400 px window, 880 at 1920); the figure is laid out to fill it.
CARD_HEIGHT_PX = 450
# What the note shows of where the study ran, in this order.
_NOTE_PROVENANCE = (DEVICE_NAME_ATTR, LRSEARCH_VERSION_ATTR, TORCH_VERSION_ATTR,
                    OPTUNA_VERSION_ATTR, GIT_SHA_ATTR, FINGERPRINT_ATTR)


def dashboard_module() -> Any | None:
    """The ``optuna_dashboard`` module, or None when it is not installed."""
    try:
        import optuna_dashboard
    except ImportError:
        return None
    return optuna_dashboard


def dashboard_note(study: optuna.Study) -> str:
    """The study's note: what it searches, how, and where it ran (Markdown)."""
    attrs = study_records(study)
    config = stored_config(attrs) or {}
    training = config.get("training") or {}
    data = config.get("data") or {}
    space = config.get("search_space") or {}
    lines = [f"## lrsearch study `{study.study_name}`", "",
             "Which learning-rate schedule trains this model best? Each trial samples a "
             "schedule family and its parameters (plus the peak LR and optimizer settings), "
             f"trains, and records `{stored_metric(attrs)}` each epoch "
             f"({study.direction.name.lower()}d; the test set is not used for the search).", ""]
    pruner = config.get("pruner") or {}
    facts = {
        "model": config.get("model"), "data": data.get("dataset"),
        "validation images": data.get("val_size"), "epochs per trial": training.get("epochs"),
        "batch size": training.get("batch_size"), "trials": config.get("n_trials"),
        "families": ", ".join(map(str, space.get("families") or [])) or None,
        "optimizers": ", ".join(map(str, space.get("optimizers") or [])) or None,
        "baselines": ", ".join(map(_baseline_name, config.get("baselines") or [])) or None,
        "sampler": (config.get("sampler") or {}).get("name"),
        "pruner": _pruner_fact(pruner, training.get("epochs")),
    }
    for key in _NOTE_PROVENANCE:
        facts[key.replace("_", " ")] = attrs.get(key)
    lines += [f"- **{key}**: {value}" for key, value in facts.items() if value is not None]
    lines += ["", *_best_lines(study), ""]
    where = f"--storage {config.get('storage') or 'URL'} --study {study.study_name}"
    lines += ["Figures *lrsearch-lr-curves* and *lrsearch-families* are refreshed while "
              "`lrsearch run` runs (every half minute or so, and when it ends). Full report: "
              f"`lrsearch report {where} --out report.html`; the winner: "
              f"`lrsearch export {where} --out best`."]
    if config:
        # The dashboard's Markdown shows HTML as text, so no collapsible block: the config is
        # one line per section, each section's JSON on it.
        lines += ["", "### Resolved config", ""]
        lines += [f"- `{key}`: `{json.dumps(value, separators=(', ', ': '))}`"
                  for key, value in config.items() if key != "storage"]
    return "\n".join(lines) + "\n"


def _best_lines(study: optuna.Study) -> list[str]:
    """The winner as lrsearch names it, and why Optuna's own "Best Trial" may differ."""
    stored = study_records(study)
    ranked = rank_complete(study.get_trials(deepcopy=False), stored,
                           study.direction == optuna.study.StudyDirection.MAXIMIZE)
    if not ranked:
        return ["**Best so far**: no complete trial yet."]
    best = ranked[0]
    value = score_text(trial_seed_values(best, reseed_runs(stored)))
    return [f"**Best so far** (lrsearch): trial {best.number} ({trial_family(best)}), "
            f"`{stored_metric(stored)}` {value}.",
            "",
            "lrsearch names the best by the mean over each top trial's training seeds (the "
            "top trials are re-run before the winner is named). Optuna's own *Best Trial* and "
            "history read one value per trial, the search's single seed, so they may show a "
            "luckier value or another trial."]


def _baseline_name(baseline: Any) -> str:
    """A baseline as the study file gives it: a preset's name (``schedulefree``) or a mapping
    with a ``name``."""
    if isinstance(baseline, dict):
        return str(baseline.get("name") or baseline.get("family") or "?")
    return str(baseline)


def _pruner_fact(pruner: dict[str, Any], epochs: int | None) -> str | None:
    """``median, judged by probe values after epochs 2, 3 of 5`` (or just the name): the
    epochs the points map to, as the run judged them."""
    name, judge = pruner.get("name"), pruner.get("judge")
    if name in PRUNERS and pruning_policy(name).rungs:
        return (f"horizon rungs: whole schedules at shorter horizons first, the best "
                f"1/{pruner.get('reduction_factor', 3)} go on")
    if name not in PRUNERS or not pruning_policy(name).judged or judge is None or not epochs:
        return name
    known = {key: pruner[key] for key in PrunerConfig.model_fields if key in pruner}
    judged = pruning_epochs(PrunerConfig(**known), int(epochs))
    if not judged:
        return f"{name} (no pruning point before the last epoch)"
    return (f"{name}, judged by {judge} values after epoch{'s' if len(judged) > 1 else ''} "
            f"{', '.join(map(str, judged))} of {epochs}")


def _fit_card(fig: Any, title: str) -> Any:
    """The report's figure laid out for a dashboard card: its height, the width the card has,
    the title at the top left (the dashboard's tool bar is at the top right), any buttons
    under it and above the subplot titles, and the legend in a band under the plots instead
    of beside them, where it took 40% of the width."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "y": 0.98, "yanchor": "top",
               "font": {"size": 14}},
        height=CARD_HEIGHT_PX, width=None, autosize=True,
        margin={"l": 55, "r": 15, "t": 88, "b": 10},
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.16, "yanchor": "top",
                "font": {"size": 9}})
    fig.update_annotations(font_size=11)  # subplot titles
    if fig.layout.updatemenus:
        fig.update_layout(updatemenus=[{"x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                                        "pad": {"t": 0, "b": 22}, "font": {"size": 10}}])
    fig.update_xaxes(automargin=True, title_standoff=4)
    return fig


def publish_to_dashboard(study: optuna.Study, trial: Any = None, *,
                         top_k: int = _DASHBOARD_TOP_K) -> bool:
    """Save lrsearch's figures and note into ``study`` for optuna-dashboard.

    Reads the trials once and draws only the two figures (no importances, no pruning
    analyses), so it stays around a second on thousands of trials. Publishing must never end a
    study: when optuna-dashboard is missing or drawing fails, it warns and returns False.

    Args:
        study: The study (its storage receives the figures as study system attributes).
        trial: The trial that just finished (unused; Optuna's callback signature).
        top_k: How many of the best schedules the LR-curves figure draws.

    Returns:
        True when the figures and note were saved.
    """
    dashboard = dashboard_module()
    if dashboard is None:
        warnings.warn("optuna-dashboard is not installed: lrsearch's figures are not saved "
                      "for the dashboard (pip install optuna-dashboard)", stacklevel=2)
        return False
    from lrsearch.report._extract import extract_report
    from lrsearch.report._figures import family_figure, lr_curves_figure

    try:
        data = extract_report(study, top_k, importances=False, analyses=False)
        extra = (f" and {len(data.baseline_curves)} baseline"
                 f"{'s' if len(data.baseline_curves) > 1 else ''} (dotted)"
                 if data.baseline_curves else "")
        curves = _fit_card(lr_curves_figure(data),
                           f"lrsearch: LR curves of the best {len(data.top)} schedules{extra}")
        families = _fit_card(family_figure(data), "lrsearch: schedule families")
        dashboard.save_plotly_graph_object(study, curves, graph_object_id=FIGURE_IDS["lr_curves"])
        dashboard.save_plotly_graph_object(study, families,
                                           graph_object_id=FIGURE_IDS["families"])
        note = dashboard_note(study)
        if dashboard.get_note(study) != note:
            dashboard.save_note(study, note)
    except Exception as exc:  # a figure is not worth a study of hours
        cause = (f"the study storage failed: {storage_cause(exc)}"
                 if storage_error_in(exc) is not None else f"{type(exc).__name__}: {exc}")
        warnings.warn(f"lrsearch: could not publish figures to the dashboard: {cause}",
                      stacklevel=2)
        return False
    return True
