"""optuna-dashboard with a real study, in a real headless browser at common window widths:
lrsearch's figures fill their cards (nothing clipped, no legend beside the plots, no button over
the title) and the note renders as Markdown. Screenshots go to the test's folder."""

from __future__ import annotations

import re
import subprocess

import pytest

from lrsearch.report import FIGURE_IDS
from lrsearch.report._dashboard import CARD_HEIGHT_PX
from tests.report.test_browser import _chromium
from tests.report.test_dashboard import _need_dashboard, start_dashboard

pytestmark = pytest.mark.slow

WIDTHS = (1400, 1920)
_NUMBER = r"(-?[\d.]+)"


@pytest.fixture(scope="module")
def dashboard(real_url):
    """``lrsearch dashboard --no-refresh`` on the real study: its base URL and study id."""
    _need_dashboard()
    server, base, study_id = start_dashboard(real_url, "tiny", subprocess.DEVNULL)
    try:
        yield base, study_id
    finally:
        server.terminate()
        server.communicate(timeout=10)


def _browse(url: str, width: int, folder, shot: str) -> str:
    """The page's DOM after it has drawn, at ``width`` px; a screenshot beside it."""
    browser = _chromium()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", f"--user-data-dir={folder / 'profile'}",
              f"--window-size={width},2400", "--virtual-time-budget=15000"]
    result = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    subprocess.run([*common, f"--screenshot={folder / shot}", url], capture_output=True,
                   timeout=120)
    return result.stdout


def _plot(dom: str, figure_id: str) -> str:
    """The DOM of one user-defined plot: from its div to the next plot's."""
    start = dom.index(f'id="user-defined-plot:{figure_id}"')
    end = dom.find("js-plotly-plot", dom.index("main-svg", start) + 1)
    return dom[start:end if end > 0 else None]


def _floats(pattern: str, text: str) -> list[tuple[float, ...]]:
    return [tuple(map(float, m)) if isinstance(m, tuple) else (float(m),)
            for m in re.findall(pattern, text)]


@pytest.mark.parametrize("width", WIDTHS)
def test_lrsearch_figures_fit_their_dashboard_cards(dashboard, tmp_path, width):
    base, study_id = dashboard
    dom = _browse(f"{base}/dashboard/studies/{study_id}", width, tmp_path, f"study-{width}.png")
    for figure_id in FIGURE_IDS.values():
        plot = _plot(dom, figure_id)
        (svg_w, svg_h), = _floats(rf'<svg class="main-svg"[^>]*?width="{_NUMBER}" '
                                  rf'height="{_NUMBER}"', plot)[:1]
        # The card is half the page wide and the figure's div CARD_HEIGHT_PX high.
        assert svg_h <= CARD_HEIGHT_PX and svg_w <= width / 2, (figure_id, svg_w, svg_h)
        assert svg_w >= width / 2 - 200, (figure_id, svg_w)  # it fills the card's width
        # Every x tick label (the families' names among them) is drawn inside the figure.
        ticks = _floats(rf'<g class="x\d*tick"><text[^>]*? y="{_NUMBER}"', plot)
        assert ticks and max(y for y, in ticks) + 12 <= svg_h, (figure_id, ticks)
        # The legend lies under the plots, inside the figure, not beside them.
        (legend_x, legend_y), = _floats(rf'<g class="legend"[^>]*translate\({_NUMBER},'
                                        rf'{_NUMBER}\)', plot)[:1]
        legend_w, legend_h = _floats(r'<rect class="bg" shape-rendering="crispEdges"[^>]*? '
                                     rf'width="{_NUMBER}" height="{_NUMBER}"',
                                     plot[plot.index('class="legend"'):])[0]
        assert legend_y > max(y for y, in ticks), (figure_id, legend_y)
        assert legend_y + legend_h <= svg_h + 1 and legend_x + legend_w <= svg_w + 1
        # The title, at the top, is not covered by the LR-axis buttons.
        (title_y,), = _floats(rf'<text class="gtitle"[^>]*? y="{_NUMBER}"', plot)[:1]
        buttons = _floats(rf'<g class="updatemenu-button" transform="translate\({_NUMBER},'
                          rf'{_NUMBER}\)', plot)
        subplot_titles = _floats(r'<g class="annotation-text-g"[^>]*><g class="cursor-pointer" '
                                 rf'transform="translate\({_NUMBER},{_NUMBER}\)', plot)
        if figure_id == FIGURE_IDS["lr_curves"]:
            assert len(buttons) == 2 and len(subplot_titles) == 2
            button_top = min(y for _, y in buttons)
            assert button_top >= title_y + 14, (title_y, buttons)  # 14 px: the title's font
            assert max(y for _, y in buttons) + 18 <= min(y for _, y in subplot_titles)
    assert (tmp_path / f"study-{width}.png").stat().st_size > 10_000


def test_the_note_renders_as_markdown_with_the_runs_facts(dashboard, tmp_path):
    base, study_id = dashboard
    dom = _browse(f"{base}/dashboard/studies/{study_id}/note", 1400, tmp_path, "note.png")
    assert re.search(r"<h2>lrsearch study <code[^>]*>tiny</code></h2>", dom)
    assert "<h3>Resolved config</h3>" in dom
    assert "&lt;details" not in dom and "&lt;summary" not in dom
    items = [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<li>(.*?)</li>", dom)]
    assert any(item.startswith("pruner: percentile, judged by ") for item in items), items


def test_the_history_axis_names_the_metric_and_the_note_names_the_best_and_the_url(
        dashboard, tmp_path):
    base, study_id = dashboard
    dom = _browse(f"{base}/dashboard/studies/{study_id}/analytics", 1400, tmp_path,
                  "analytics.png")
    assert "Objective 0" not in dom
    note = _browse(f"{base}/dashboard/studies/{study_id}/note", 1400, tmp_path, "note.png")
    text = re.sub(r"<[^>]+>", "", note)
    assert "Best so far (lrsearch): trial " in text and "--storage URL" not in text
