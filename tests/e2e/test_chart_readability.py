"""Charts that read right (#14 item 2), checked on the drawn Chart.js instances in headless
Chromium: y tick labels that neither repeat nor overlap (linear and log), x labels that do
not run together on a phone, the unfinished period drawn one way on both chart pages,
share-of-PyPI lines that do not vanish, numbers that fit their cards, and a compare table
that shows it scrolls. Screenshots of each state go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import pytest
from pytest_django import Settings

from packages_app.models import Package
from tests.e2e.conftest import ARTIFACTS
from tests.live import live_django
from tests.packages_app.pages.compare_data import all_pypi, put_series
from tests.packages_app.pages.package_data import make_package

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e]

# A Wednesday: weekly and monthly charts end in an unfinished period.
LATEST = dt.date(2026, 11, 25)

# Per chart: its y tick labels with their pixel rows, its x tick labels with their pixel
# columns and widths (measured in the axis font), and how its unfinished period is drawn.
AXES = """(selector) => {
  const chart = Chart.getChart(document.querySelector(selector));
  const font = (scale) => Chart.helpers.toFont(scale.options.ticks.font).string;
  const ticks = (scale) => {
    chart.ctx.save();
    chart.ctx.font = font(scale);
    const out = scale.ticks.map((t, i) => ({
      label: String(t.label),
      at: scale.getPixelForTick(i),
      width: chart.ctx.measureText(String(t.label)).width,
    }));
    chart.ctx.restore();
    return out;
  };
  const partial = chart.data.datasets.map((ds, d) => {
    const meta = chart.getDatasetMeta(d);
    const last = meta.data.length - 1;
    return { radius: meta.data[last].options.radius, background: meta.data[last].options.backgroundColor };
  });
  const band = chart.options.plugins.annotation.annotations.partial || null;
  return {
    y: ticks(chart.scales.y), x: ticks(chart.scales.x), type: chart.scales.y.type,
    partial, band: band && { type: band.type, label: band.label.content },
    data: chart.data.datasets.map((ds) => ds.data),
  };
}"""


@pytest.fixture
def live_app(transactional_db: None, settings: Settings) -> Iterator[str]:
    with live_django() as server:
        yield server.url


@pytest.fixture
def big(transactional_db: None) -> Package:
    # ~500K a day on weekdays, ~300K at weekends: a log axis over a narrow span, the case
    # whose labels read "590K 560K 540K 520K". Monthly sums near 15 M, last month 15,xxx,xxx.
    return make_package("bigpkg", first=LATEST - dt.timedelta(days=400), latest=LATEST, base=50_000)


@pytest.fixture
def compared(transactional_db: None) -> None:
    put_series("django", lambda d: 400_000 + 90_000 * (d.weekday() < 5), days=400, latest=LATEST)
    put_series("tinypkg", lambda d: 40 + 30 * (d.weekday() < 5), days=400, latest=LATEST)
    all_pypi(lambda d: 1_600_000_000, days=400, latest=LATEST)


def _open(browser: Browser, viewport: tuple[int, int], scheme: str = "light") -> Page:
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        color_scheme=scheme,  # type: ignore[arg-type]
        device_scale_factor=1,
    )
    page = context.new_page()
    page.on("pageerror", lambda e: pytest.fail(f"script error: {e}"))
    return page


def _draw(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")


def _assert_readable(axes: dict[str, Any], where: str) -> None:
    y_labels = [t["label"] for t in axes["y"]]
    assert len(y_labels) >= 2, (where, y_labels)
    assert len(set(y_labels)) == len(y_labels), (where, "repeated y labels", y_labels)
    rows = sorted(t["at"] for t in axes["y"])
    assert all(b - a >= 14 for a, b in zip(rows, rows[1:], strict=False)), (where, y_labels, rows)
    x = axes["x"]
    assert len(x) >= 2, (where, x)
    for a, b in zip(x, x[1:], strict=False):
        gap = b["at"] - a["at"] - (a["width"] + b["width"]) / 2
        assert gap >= 6, (where, "x labels run together", a, b)


@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 800)), ("phone", (390, 844))])
@pytest.mark.parametrize("scale", ["linear", "log"])
@pytest.mark.parametrize("agg", ["day", "week", "month"])
def test_package_page_axes_read_right(
    browser: Browser,
    live_app: str,
    big: Package,
    device: str,
    viewport: tuple[int, int],
    scale: str,
    agg: str,
) -> None:
    page = _open(browser, viewport)
    _draw(page, f"{live_app}/packages/bigpkg/?range=365&agg={agg}&scale={scale}")
    for chart in ("overall", "python_major", "system"):
        axes = page.evaluate(AXES, f'canvas[data-chart="{chart}"]')
        assert axes["type"] == ("logarithmic" if scale == "log" else "linear")
        _assert_readable(axes, f"{chart} {agg} {scale} {device}")
    page.context.close()


@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 800)), ("phone", (390, 844))])
@pytest.mark.parametrize(
    "query",
    [
        "mode=absolute&scale=linear",
        "mode=absolute&scale=log",
        "mode=share_pypi&scale=log",
        "mode=share_pypi&scale=linear&agg=day",
    ],
)
def test_compare_axes_read_right(
    browser: Browser,
    live_app: str,
    compared: None,
    device: str,
    viewport: tuple[int, int],
    query: str,
) -> None:
    page = _open(browser, viewport)
    _draw(page, f"{live_app}/compare/?packages=django,tinypkg&range=365&{query}")
    axes = page.evaluate(AXES, 'canvas[data-chart="compare"]')
    _assert_readable(axes, f"compare {query} {device}")
    if "share_pypi" in query:
        # 70 a day of 1.6 billion is 0.0000044 %: small, but a line, not zeros.
        assert all(v and v > 0 for v in axes["data"][1] if v is not None), axes["data"][1][:5]
    page.context.close()


def test_the_unfinished_period_is_drawn_one_way_on_both_pages(
    browser: Browser, live_app: str, big: Package, compared: None
) -> None:
    page = _open(browser, (1280, 800))
    looks = []
    for url, selector in (
        (f"{live_app}/packages/bigpkg/?range=90&agg=week", 'canvas[data-chart="overall"]'),
        (f"{live_app}/compare/?packages=django,tinypkg&range=90&agg=week", "canvas"),
    ):
        _draw(page, url)
        partial = page.evaluate(
            "() => JSON.parse(document.getElementById('chart-data').textContent).periods.partial"
        )
        assert partial[-1] is True and not any(partial[:-1])
        axes = page.evaluate(AXES, selector)
        # A hollow point (the card's colour inside), under a shaded band labelled "partial".
        assert axes["band"] == {"type": "box", "label": "partial"}
        looks.append({(p["radius"], p["background"]) for p in axes["partial"]})
    assert looks[0] == looks[1] and len(looks[0]) == 1, looks
    page.context.close()


def test_phone_numbers_fit_their_cards_and_the_compare_table_shows_it_scrolls(
    browser: Browser, live_app: str, compared: None
) -> None:
    # A package the size of the biggest on PyPI: 1.2 billion downloads in its last month.
    make_package("huge", first=LATEST - dt.timedelta(days=60), latest=LATEST, base=4_000_000)
    page = _open(browser, (390, 844))
    _draw(page, f"{live_app}/packages/huge/")
    # Last day, week and month, and the total since tracking began (issue #15).
    values = page.locator(".stat .value")
    assert values.count() == 4
    for i in range(4):
        fits = values.nth(i).evaluate(
            "(el) => { const card = el.closest('.stat').getBoundingClientRect();"
            " const box = el.getBoundingClientRect();"
            " return el.scrollWidth <= el.clientWidth && box.right <= card.right"
            " && box.left >= card.left; }"
        )
        assert fits, values.nth(i).inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

    _draw(page, f"{live_app}/compare/?packages=django,tinypkg&range=365&mode=share_pypi")
    table = page.locator(".compare-stats")
    assert table.evaluate("(el) => el.scrollWidth > el.clientWidth")
    assert page.locator(".scroll-hint").is_visible()
    # Keyboard users can scroll it: the region takes focus.
    assert table.get_attribute("tabindex") == "0"
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 800)), ("phone", (390, 844))])
@pytest.mark.parametrize("scale", ["linear", "log"])
def test_screenshots_of_both_chart_pages(
    browser: Browser,
    live_app: str,
    big: Package,
    compared: None,
    scheme: Literal["light", "dark"],
    device: str,
    viewport: tuple[int, int],
    scale: str,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = _open(browser, viewport, scheme)
    _draw(page, f"{live_app}/packages/bigpkg/?range=365&agg=week&scale={scale}")
    _assert_readable(page.evaluate(AXES, 'canvas[data-chart="overall"]'), "package")
    page.locator("#chart-overall").screenshot(
        path=str(ARTIFACTS / f"axes-package-{scale}-{device}-{scheme}.png")
    )
    _draw(
        page, f"{live_app}/compare/?packages=django,tinypkg&range=365&mode=share_pypi&scale={scale}"
    )
    _assert_readable(page.evaluate(AXES, 'canvas[data-chart="compare"]'), "compare")
    page.screenshot(
        path=str(ARTIFACTS / f"axes-compare-{scale}-{device}-{scheme}.png"), full_page=True
    )
    page.context.close()
