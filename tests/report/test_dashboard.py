"""optuna-dashboard shows lrsearch's figures and note: its real server, over HTTP, real study."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from lrsearch.report import FIGURE_IDS, load_report_study, publish_to_dashboard
from tests.conftest import unavailable

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _need_dashboard() -> None:
    try:
        import optuna_dashboard  # noqa: F401
    except ImportError:
        unavailable("optuna-dashboard is not installed (pip install optuna-dashboard)")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_dashboard_server_returns_our_figures_and_note(real_url):
    _need_dashboard()
    study = load_report_study(real_url, "tiny")
    assert publish_to_dashboard(study)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lrsearch.cli", "dashboard", "--storage", real_url,
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                studies = _get(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "optuna-dashboard did not start in 60 s"
                time.sleep(0.5)
        study_id = next(s["study_id"] for s in studies if s["study_name"] == "tiny")
        detail = _get(f"http://127.0.0.1:{port}/api/studies/{study_id}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures = {g["id"]: json.loads(g["graph_object"]) for g in detail["plotly_graph_objects"]}
    assert set(FIGURE_IDS.values()) <= set(figures)
    curves = figures[FIGURE_IDS["lr_curves"]]
    assert "LR curves" in curves["layout"]["title"]["text"] and curves["data"]
    best = study.best_trial.number
    assert any(f"trial {best} " in trace.get("name", "") for trace in curves["data"])
    assert "## lrsearch study `tiny`" in detail["note"]["body"]
    assert "small_cnn" in detail["note"]["body"]


def test_publish_twice_replaces_and_keeps_one_note_version(synthetic_url):
    _need_dashboard()
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

    study = load_report_study(synthetic_url, "synthetic")
    assert publish_to_dashboard(study) and publish_to_dashboard(study)
    attrs = study._storage.get_study_system_attrs(study._study_id)
    assert set(get_plotly_graph_objects(attrs)) == set(FIGURE_IDS.values())
    assert attrs["dashboard:note_ver"] == 1  # an unchanged note is not saved again
