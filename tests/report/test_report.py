"""The HTML report and ``lrsearch report``: one file, plotly.js once, fast on big studies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
from click.testing import CliRunner

from lrsearch.cli import main
from lrsearch.errors import StudyError
from lrsearch.records import load_report_study, trial_epochs, trial_lr_curve, with_curves
from lrsearch.report import build_panels, extract_report, render_report
from tests.report._studies import make_study


def test_report_page_has_every_section_and_plotly_once(synthetic_url, tmp_path):
    out = tmp_path / "sub" / "report.html"
    result = CliRunner().invoke(main, ["report", "--storage", synthetic_url, "--study",
                                       "synthetic", "--out", str(out), "--top", "4"])
    assert result.exit_code == 0, result.output
    assert "60 trials" in result.output and "over the best baseline" in result.output
    page = out.read_text()
    assert page.count("plotly.js v") == 1  # the library, inline, once
    assert "<script src=" not in page  # nothing loaded from elsewhere
    for key in ("curves", "families", "history", "importances", "intermediate", "table",
                "baselines", "provenance"):
        assert f"id='{key}'" in page
    assert "margin of the best over it" in page and "abc123" in page
    assert "[baseline cosine]" in page or "cosine</td>" in page


def test_panels_note_missing_importances():
    data = extract_report(make_study(None, n_trials=1))
    panels = {p.key: p for p in build_panels(data)}
    assert panels["importances"].figure is None
    assert "at least 2 complete trials" in panels["importances"].note
    assert "Not shown" in render_report(data)


def test_thousands_of_trials_render():
    # How fast: bench/report_speed.py measures it (a timed unit test would only be flaky).
    page = render_report(extract_report(make_study(None, n_trials=2000), top_k=10))
    assert "trial 1999" in page


def test_unknown_study_and_missing_file_are_clear_errors(synthetic_url, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--storage", synthetic_url, "--study", "nope"])
    assert result.exit_code == 1 and "'nope'" in result.output
    assert "['synthetic']" in result.output and "Traceback" not in result.output
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    result = runner.invoke(main, ["report", "--storage", missing, "--study", "x"])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "missing.db").exists()  # reading created nothing


def test_import_lrsearch_loads_neither_optuna_nor_plotly():
    code = ("import sys, lrsearch; heavy = [m for m in ('optuna', 'plotly', 'torch') "
            "if m in sys.modules]; assert not heavy, heavy; import lrsearch.report; "
            "assert 'plotly' not in sys.modules; assert callable(lrsearch.load_best)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_bad_storage_url_and_unwritable_out_are_clear_errors(synthetic_url, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--storage", "notaurl", "--study", "x"])
    assert result.exit_code == 1 and "storage: got 'notaurl'; not a SQLAlchemy URL" in \
        result.output
    assert isinstance(result.exc_info[1], SystemExit)  # a message, not a traceback
    result = runner.invoke(main, ["--debug", "report", "--storage", "notaurl", "--study", "x"])
    assert isinstance(result.exception, StudyError)  # --debug: the real exception
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "sub" / "report.html"  # its folder cannot be created under a file
    result = runner.invoke(main, ["report", "--storage", synthetic_url, "--study",
                                  "synthetic", "--out", str(out)])
    assert result.exit_code == 1 and f"cannot write the report to {out}" in result.output
    assert isinstance(result.exc_info[1], SystemExit)


def test_a_plain_optuna_study_is_refused_not_labelled_as_lrsearch_s(tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    study = optuna.create_study(storage=url, study_name="plain", direction="minimize")
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=5)
    result = CliRunner().invoke(main, ["report", "--storage", url, "--study", "plain",
                                       "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "was not made by `lrsearch run`" in result.output
    assert not (tmp_path / "r.html").exists()


def test_optunas_trials_dataframe_and_cli_tables_stay_readable(real_url):
    study = load_report_study(real_url, "tiny")
    frame = study.trials_dataframe()
    # The study names its metric (the dashboard's axes), so the value column is named by it.
    assert len(frame) == 6 and {"number", "value_val_acc", "state", "params_family"} <= set(
        frame.columns)
    # The curves and the study's records are kept out of every attribute Optuna's frame
    # shows, so no column holds one and no cell is long, ...
    assert not [c for c in frame.columns if "epochs" in c or "curve" in c], list(frame.columns)
    longest = max(len(str(v)) for v in frame.to_numpy().ravel())
    assert longest < 400, longest
    assert all(trial_epochs(t) and trial_lr_curve(t)  # ... still stored, out of the frame
               for t in with_curves(study, study.trials))
    # ... and Optuna's own CLI prints a table a wide terminal shows without a curve in it.
    optuna_cli = str(Path(sys.executable).with_name("optuna"))  # the venv's console script
    done = subprocess.run([optuna_cli, "trials", "--storage", real_url,
                           "--study-name", "tiny", "-f", "table"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 6 + 4 and "train_loss" not in done.stdout  # a key of every epoch
    assert max(map(len, lines)) < 1500, max(map(len, lines))
    # ``optuna studies`` prints the study's user attributes: a short face, not its config.
    done = subprocess.run([optuna_cli, "studies", "--storage", real_url, "-f", "table"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert max(map(len, done.stdout.splitlines())) < 160, done.stdout
    assert "lrsearch_config" in done.stdout and "search_space" not in done.stdout
