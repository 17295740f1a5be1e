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


def test_report_of_a_real_study_draws_in_chromium(real_url, tmp_path):
    browser = _chromium()
    data = extract_report(load_report_study(real_url, "tiny"), top_k=5)
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
