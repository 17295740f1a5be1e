"""optuna-dashboard shows lrsearch's figures and note: its real server, over HTTP, real study."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import pytest
from click.testing import CliRunner

from lrsearch.cli import main
from lrsearch.records import study_records
from lrsearch.report import FIGURE_IDS, dashboard_note, load_report_study, publish_to_dashboard
from tests.conftest import unavailable


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


def start_dashboard(storage: str, study_name: str, output: int = subprocess.PIPE
                    ) -> tuple[subprocess.Popen, str, int]:
    """Start ``lrsearch dashboard --no-refresh`` (so it shows only what the run stored) and wait
    until it answers: the server process (its output to ``output``: DEVNULL where many
    requests would fill a pipe nobody reads), its base URL and the study's id."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lrsearch.cli", "dashboard", "--storage", storage,
         "--port", str(port), "--no-refresh"],
        stdout=output, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            studies = _get(f"{base}/api/studies")["study_summaries"]
            break
        except OSError:
            if server.poll() is not None or time.monotonic() >= deadline:
                server.kill()
                said, _ = server.communicate(timeout=10)
                raise AssertionError(f"optuna-dashboard did not start in 60 s: {said}") from None
            time.sleep(0.5)
    return server, base, next(s["study_id"] for s in studies if s["study_name"] == study_name)


def _serve_and_read(storage: str, study_name: str) -> tuple[dict, str]:
    """The study's detail from the dashboard's HTTP API, and the command's first output line."""
    server, base, study_id = start_dashboard(storage, study_name)
    try:
        detail = _get(f"{base}/api/studies/{study_id}")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    return detail, output.splitlines()[0] if output else ""


@pytest.mark.slow
def test_lrsearch_run_leaves_figures_and_note_that_the_server_returns(real_url):
    # real_url ran `lrsearch run`: nothing here publishes by hand, and the server does not
    # refresh, so what it returns is what the run's refresher stored.
    _need_dashboard()
    study = load_report_study(real_url, "tiny")
    detail, first_line = _serve_and_read(real_url, "tiny")
    assert first_line.startswith("optuna-dashboard on http://127.0.0.1:")
    figures = {g["id"]: json.loads(g["graph_object"]) for g in detail["plotly_graph_objects"]}
    assert set(FIGURE_IDS.values()) <= set(figures)
    curves = figures[FIGURE_IDS["lr_curves"]]
    assert "LR curves" in curves["layout"]["title"]["text"] and curves["data"]
    best = study.best_trial.number
    assert any(f"trial {best} " in trace.get("name", "") for trace in curves["data"])
    # The family figure counts every trial of the run: the final flush saw the last one.
    bars = [t for t in figures[FIGURE_IDS["families"]]["data"] if t["type"] == "bar"]
    assert sum(sum(t["y"]) for t in bars) == len(study.trials) == 6
    note = detail["note"]["body"]
    assert "## lrsearch study `tiny`" in note and "small_cnn" in note
    assert "**baselines**: cosine, step, schedulefree" in note  # the preset is a plain string
    # Facts as the run had them (the tiny study prunes from the first epoch of 3), and no HTML:
    # the dashboard's Markdown would show it as text.
    assert "judged by probe values after epochs 1, 2 of 3" in note
    assert "<" not in note and "- `training`: `{" in note


def test_note_names_preset_baselines_and_publish_saves_it(synthetic_url):
    _need_dashboard()
    import optuna_dashboard

    study = load_report_study(synthetic_url, "synthetic")
    assert "schedulefree" in study_records(study)["config"]["baselines"]  # a plain string
    note = dashboard_note(study)
    assert "**baselines**: cosine, step-50-75, schedulefree" in note
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # publishing must not have warned its way out
        assert publish_to_dashboard(study)
    assert optuna_dashboard.get_note(study) == note


def test_publish_twice_replaces_and_keeps_one_note_version(synthetic_url):
    _need_dashboard()
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

    study = load_report_study(synthetic_url, "synthetic")
    assert publish_to_dashboard(study) and publish_to_dashboard(study)
    attrs = study._storage.get_study_system_attrs(study._study_id)
    assert set(get_plotly_graph_objects(attrs)) == set(FIGURE_IDS.values())
    assert attrs["dashboard:note_ver"] == 1  # an unchanged note is not saved again


def test_dashboard_errors_come_before_any_announcement(tmp_path, synthetic_url):
    runner = CliRunner()
    missing = f"sqlite:///{tmp_path / 'nope.db'}"
    result = runner.invoke(main, ["dashboard", "--storage", missing])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert "optuna-dashboard on" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "nope.db").exists()
    result = runner.invoke(main, ["dashboard", "--storage", "notaurl"])
    assert result.exit_code == 1 and "not a SQLAlchemy URL" in result.output
    with socket.socket() as taken:  # a port already in use
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(main, ["dashboard", "--storage", synthetic_url, "--port",
                                      str(port), "--no-refresh"])
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "optuna-dashboard on" not in result.output
    assert isinstance(result.exc_info[1], SystemExit)  # no traceback: a clean exit
