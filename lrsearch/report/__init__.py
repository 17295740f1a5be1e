"""Report, export and dashboard: see which schedules won, and take the winner home.

Extraction first, drawing second: :func:`extract_report` reads a study once into plain
dataclasses (:class:`ReportData`); :func:`write_report` draws them with plotly into one
self-contained HTML file. :func:`export_best` turns the best trial into ``best_schedule.json``
and standalone PyTorch code; :func:`publish_to_dashboard` saves lrsearch's figures into the
study for optuna-dashboard, and :class:`DashboardRefresher` does so while a study runs;
:func:`write_range_test` draws an LR range test. plotly is
imported only when a figure is drawn.

Example:
    >>> import optuna
    >>> from lrsearch.report import extract_report
    >>> study = optuna.create_study(direction="maximize")
    >>> extract_report(study).top
    []
"""

from lrsearch.records import load_report_study, open_report_storage, study_names
from lrsearch.report._confirmation import (
    ConfirmationData,
    ConfirmationRow,
    confirmation_figure,
    confirmation_headline,
    extract_confirmation,
)
from lrsearch.report._dashboard import FIGURE_IDS, dashboard_note, publish_to_dashboard
from lrsearch.report._export import (
    Export,
    export_best,
    horizon_line,
    load_best,
    pick_trial,
    transfer_spec,
    trial_spec,
    write_export,
)
from lrsearch.report._extract import extract_report, summarise_trial, trial_total_steps
from lrsearch.report._figures import family_colour
from lrsearch.report._html import render_report, write_report
from lrsearch.report._optimizer_code import optimizer_code, resolve_optimizer
from lrsearch.report._panels import Panel, build_panels
from lrsearch.report._range_figure import (
    Mark,
    range_test_figure,
    range_test_marks,
    write_range_test,
)
from lrsearch.report._rank import kendall_tau
from lrsearch.report._refresher import DashboardRefresher
from lrsearch.report._report_data import (
    BaselineResult,
    Curve,
    FamilyStats,
    History,
    IntermediateCurve,
    ReportData,
    TopTrial,
    TrialSummary,
)
from lrsearch.report._serve import serve_dashboard

__all__ = [
    "ConfirmationData", "ConfirmationRow", "confirmation_figure", "confirmation_headline",
    "extract_confirmation",
    "FIGURE_IDS", "BaselineResult", "Curve", "DashboardRefresher", "Export", "FamilyStats",
    "History", "IntermediateCurve", "Mark", "Panel", "ReportData", "TopTrial", "TrialSummary",
    "build_panels", "dashboard_note", "export_best", "horizon_line", "extract_report",
    "family_colour",
    "kendall_tau", "load_best",
    "load_report_study", "open_report_storage", "optimizer_code", "pick_trial",
    "publish_to_dashboard", "range_test_figure", "range_test_marks", "render_report",
    "resolve_optimizer", "serve_dashboard", "study_names", "summarise_trial", "trial_spec",
    "transfer_spec",
    "trial_total_steps", "write_export", "write_range_test", "write_report",
]
