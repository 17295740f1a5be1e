"""``lrsearch find-lr`` in a real subprocess: the plot, the curve, the printed suggestion."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from lrsearch.cli import main
from tests.conftest import REPO
from tests.search.conftest import write_study

RANGE_TEST = {"start_lr": 1.0e-4, "end_lr": 10.0, "num_steps": 50}


def find_lr(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrsearch.cli", "find-lr", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_find_lr_writes_the_plot_and_curve_and_prints_the_suggestion(tmp_path):
    study = write_study(tmp_path, baselines=[], lr_range_test=RANGE_TEST, search_space={
        "peak_lr": "auto", "optimizers": {"sgd": None, "adam": {"beta1": {"low": 0.8,
                                                                          "high": 0.9}}}})
    out = tmp_path / "plots"
    done = find_lr(study, "--optimizer", "adam", "--out", out, "--steps", 20, "--quiet")
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "lr_range_test_adam.json").read_text())
    result = record["result"]
    assert result["optimizer"]["name"] == "adam"
    assert result["optimizer"]["beta1"] == pytest.approx(0.85)  # the middle of its range
    assert result["settings"]["num_steps"] == 20 and len(result["lrs"]) <= 20
    suggested = result["suggested_lr"]
    assert suggested == result["suggestions"]["valley"]
    assert record["search_range"] == {"low": suggested / 10, "high": suggested * 10,
                                      "log": True}
    printed = re.search(r"adam: suggested peak LR (\S+) \(valley", done.stdout)
    assert printed and float(printed.group(1)) == pytest.approx(suggested, rel=5e-3)
    page = (out / "lr_range_test_adam.html").read_text()
    assert "plotly" in page and f"valley: {suggested:.3g} (suggested)" in page
    assert "lr_range_test_adam.html" in done.stdout and done.stderr == ""
    assert not (tmp_path / "studies.db").exists()  # nothing stored


def test_the_auto_range_label_sits_at_the_ranges_low_edge_on_the_log_axis():
    from lrsearch.report import range_test_figure

    lrs = [10.0 ** (k / 4 - 6) for k in range(25)]
    record = {"search_range": {"low": 1e-4, "high": 1e-2, "log": True}, "width": 10.0,
              "result": {"lrs": lrs, "losses": [2.3] * 25, "smoothed": [2.3] * 25,
                         "suggestions": {"valley": 1e-3}, "settings": {"rule": "valley"},
                         "model": "small_cnn", "optimizer": {"name": "sgd"},
                         "device_name": "cpu", "stopped": None}}
    figure = range_test_figure(record)
    assert figure.layout.xaxis.type == "log"
    (label,) = [a for a in figure.layout.annotations if "auto searches" in a.text]
    # plotly reads an annotation's x on a log axis as log10(value), a shape's as the value.
    assert label.xref == "x" and label.x == pytest.approx(-4.0) and label.xanchor == "left"
    (band,) = [s for s in figure.layout.shapes if s.type == "rect"]
    assert (band.x0, band.x1) == (1e-4, 1e-2)


def test_unknown_optimizer_lists_the_known_ones(tmp_path):
    result = CliRunner().invoke(main, ["find-lr", str(write_study(tmp_path)), "--optimizer",
                                       "lion", "--out", str(tmp_path / "plots")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "optimizer: got 'lion'; must be one of the optimizers of study 'tiny': ['sgd']" \
        in result.output


def test_validate_says_which_peak_lr_is_auto(tmp_path):
    study = write_study(tmp_path, baselines=[], search_space={"families": ["cosine"],
                                                             "peak_lr": "auto"})
    result = CliRunner().invoke(main, ["validate", str(study)])
    assert result.exit_code == 0, result.output
    assert "peak_lr auto for ['sgd']" in result.output
