"""A screenshot of a report's top, down to the end of its first figure, with headless chromium.

Chromium lays the page out twice: once with a probe script that writes the first figure's
bottom edge into the DOM (plotly draws after load, so the probe waits), once for the
screenshot, which PIL then crops to that edge. Without PIL the window is kept short instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["screenshot"]

WIDTH_PX = 1200
TALL_PX = 1600  # the window of the screenshot before cropping
SHORT_PX = 900  # the window when it cannot be cropped
MARGIN_PX = 16  # kept below the figure

_PROBE = """<script>window.addEventListener('load', () => setTimeout(() => {
  const fig = document.querySelector('div[id^="fig-"]');
  const p = document.createElement('pre'); p.id = 'figure-bottom';
  p.textContent = 'BOTTOM:' + (fig ? Math.ceil(fig.getBoundingClientRect().bottom) : -1);
  document.body.appendChild(p); }, 3000));</script>"""


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("no chromium found (Debian: apt-get install chromium)")


def _chromium(page: Path, profile: Path, height: int, *args: str) -> str:
    result = subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={WIDTH_PX},{height}",
         "--force-device-scale-factor=1", "--virtual-time-budget=15000", *args, page.as_uri()],
        capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise SystemExit(f"chromium failed on {page}:\n{result.stderr[-2000:]}")
    return result.stdout


def figure_bottom(report: Path, profile: Path) -> int:
    """Pixels from the page's top to the first figure's bottom edge (-1: no figure)."""
    probe = report.with_name("probe.html")
    probe.write_text(report.read_text().replace("<head>", "<head>" + _PROBE, 1))
    dom = _chromium(probe, profile, TALL_PX, "--dump-dom")
    found = re.search(r"BOTTOM:(-?\d+)", dom)
    return int(found.group(1)) if found else -1


def screenshot(report: Path, png: Path) -> None:
    """Write the top of ``report`` (an lrsearch report's HTML) to ``png``."""
    with tempfile.TemporaryDirectory(prefix="lrsearch-shot-") as tmp:
        profile, shot = Path(tmp) / "profile", Path(tmp) / "shot.png"
        try:
            from PIL import Image
        except ImportError:
            _chromium(report, profile, SHORT_PX, f"--screenshot={png}")
            return
        bottom = figure_bottom(report, profile)
        _chromium(report, profile, TALL_PX, f"--screenshot={shot}")
        image = Image.open(shot)
        height = bottom + MARGIN_PX if 0 < bottom < TALL_PX - MARGIN_PX else SHORT_PX
        image.crop((0, 0, WIDTH_PX, height)).convert("RGB").save(png, optimize=True)
