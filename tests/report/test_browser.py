"""The report of a real study in a real headless browser: no JS errors, every figure drawn."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lrsearch.report import build_panels, extract_report, load_report_study, write_report
from tests.conftest import unavailable

pytestmark = pytest.mark.slow

# Put first in <head>: records uncaught errors and console.error calls into the DOM.
_PROBE = """<script>window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
const __ce = console.error; console.error = (...a) => { window.__errors.push(a.join(' '));
  __ce(...a); };
window.addEventListener('load', () => { const p = document.createElement('pre');
  p.id = 'js-errors'; p.textContent = 'ERRORS:' + JSON.stringify(window.__errors);
  document.body.appendChild(p); });</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    unavailable("no chromium found (Debian: apt-get install chromium)")


def assert_draws_in_chromium(data, tmp_path) -> list[str]:
    """Write ``data``'s report, load it in headless chromium: no JS error, every figure drawn.
    Returns the keys of the panels with a figure."""
    browser = _chromium()
    page = write_report(data, tmp_path / "report.html")
    page.write_text(page.read_text().replace("<head>", "<head>" + _PROBE, 1))
    figures = [p for p in build_panels(data) if p.figure is not None]
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ERRORS:[]" in dom, re.findall(r"ERRORS:.*", dom)
    assert "Uncaught" not in result.stderr
    for panel in figures:
        start = dom.index(f'id="fig-{panel.key}"')
        assert 'class="main-svg"' in dom[start:start + 20000], panel.key
    assert dom.count('class="main-svg"') >= len(figures)
    return [p.key for p in figures]


def test_report_of_a_real_study_draws_in_chromium(real_url, tmp_path):
    data = extract_report(load_report_study(real_url, "tiny"), top_k=5)
    assert "horizon" not in assert_draws_in_chromium(data, tmp_path)  # no sweep there


# Measures the laid-out page a while after load (plotly draws asynchronously).
_LAYOUT_PROBE = """<script>window.addEventListener('load', () => setTimeout(() => {
  const heights = [...document.querySelectorAll('th')].map(th => th.getBoundingClientRect().height);
  const bars = [...document.querySelectorAll('#fig-history .legend .scrollbar')]
    .map(b => b.getBoundingClientRect().height);
  const axes = [...document.querySelectorAll('#fig-intermediate .xtitle')].map(t => t.textContent);
  const p = document.createElement('pre'); p.id = 'layout';
  p.textContent = 'LAYOUT:' + JSON.stringify({heights, bars, axes});
  document.body.appendChild(p); }, 3000));</script>"""


def test_a_horizon_studys_report_lays_out_in_chromium(tmp_path):
    """Headers on one line, the history's legend whole (no scroll box), rungs called rungs."""
    import json

    from click.testing import CliRunner

    from lrsearch.cli import main
    from tests.search.conftest import TINY_STUDY, write_study

    browser = _chromium()
    families = ["cosine", "linear", "multistep", "wsd", "onecycle", "exponential", "constant"]
    path = write_study(tmp_path, name="rungs", n_trials=14, pruner={"name": "horizon"},
                       baselines=[*TINY_STUDY["baselines"], "schedulefree"],
                       sampler={"name": "random", "seed": 0},
                       search_space={**TINY_STUDY["search_space"], "families": families})
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    data = extract_report(load_report_study(f"sqlite:///{tmp_path / 'studies.db'}", "rungs"))
    page = write_report(data, tmp_path / "report.html")
    page.write_text(page.read_text().replace("<head>", "<head>" + _LAYOUT_PROBE, 1))
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000",
         "--virtual-time-budget=15000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    layout = json.loads(re.search(r"LAYOUT:(.*?)</pre>", result.stdout).group(1))
    heights = layout["heights"]
    assert heights and max(heights) < 1.6 * min(heights), heights  # no header wraps
    assert not [h for h in layout["bars"] if h > 0], layout["bars"]  # no legend scroll box
    assert any(axis.startswith("rung") for axis in layout["axes"]), layout["axes"]
