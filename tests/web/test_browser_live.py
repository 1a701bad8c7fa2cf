"""The live overview in a real browser: a commit reaches the open page without a reload, the charts are
updated in place (the same ECharts instance, no redraw), and a hidden tab asks the server nothing.

The polls are triggered by hand (``sf-refresh``, the event the page itself fires when a tab is shown
again) rather than waited for, so the test takes no polling interval.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from playwright.sync_api import Request, expect

from browser import LiveApp, Tab, login
from smartfactory.app.roles import Role
from smartfactory.model.events import EventType

SCRAP = "article.tile[data-line=L1] section[data-period=day] dd[data-kpi=scrap]"
TIMELINE = "#box-chart-timeline"
TREND = "#box-chart-trend-day-L1"


def chart_id(tab: Tab, selector: str) -> str:
    """The id of the ECharts instance drawn in an element."""
    found = tab.page.evaluate(
        "(sel) => { const c = echarts.getInstanceByDom(document.querySelector(sel)); return c ? c.id : ''; }",
        selector,
    )
    assert isinstance(found, str)
    return found


def chart_data(tab: Tab, selector: str) -> str:
    """The data of every series the chart in an element shows now, as JSON."""
    found = tab.page.evaluate(
        "(sel) => JSON.stringify(echarts.getInstanceByDom(document.querySelector(sel))"
        ".getOption().series.map((s) => s.data))",
        selector,
    )
    assert isinstance(found, str)
    return found


def test_a_commit_reaches_the_open_overview_and_the_charts_update_in_place(
    tab: Tab, live_app: LiveApp
) -> None:
    login(tab, Role.viewer)
    expect(tab.page.locator("#freshness[data-live-poll]")).to_have_count(1)
    expect(tab.page.locator(f"{TIMELINE}[data-drawn='1']")).to_have_count(1)
    before = tab.page.locator(SCRAP).get_attribute("data-value")
    assert before
    drawn, trend, trend_data = chart_id(tab, TIMELINE), chart_id(tab, TREND), chart_data(tab, TREND)
    # mark the chart's element: a redraw from scratch would be a new element without the mark
    tab.page.evaluate(f"document.querySelector('{TIMELINE}').dataset.mark = 'kept'")
    with tab.page.expect_request(lambda r: r.url.endswith("/overview/live")):
        with live_app.workspace.writing() as store:
            row = {
                "ts": [datetime(2026, 3, 4, 2, 0, 0, 777)],  # 10:00 on the store's last day (plant time)
                "equipment": ["OP60-CMM"],
                "order_id": [None],
                "product": [None],
                "good": [0],
                "scrap": [100],
                "rework": [0],
                "part_id": ["browser-live-test"],
            }
            assert store.write(EventType.counts, pa.table(row)) == 1
        tab.page.evaluate("htmx.trigger('#freshness', 'sf-refresh')")
    expect(tab.page.locator(SCRAP)).to_have_attribute("data-value", str(float(before) + 100))
    tab.settled("after-commit")
    assert tab.page.locator(TIMELINE).get_attribute("data-mark") == "kept"
    assert chart_id(tab, TIMELINE) == drawn
    # the day's quality ratio fell: the trend chart shows it, drawn by the same instance
    assert chart_id(tab, TREND) == trend and chart_data(tab, TREND) != trend_data
    assert tab.path() == "/"  # no navigation


def test_a_hidden_tab_asks_nothing_and_asks_at_once_when_shown(tab: Tab) -> None:
    login(tab, Role.viewer)
    asked: list[str] = []

    def seen(request: Request) -> None:
        if "/overview/freshness" in request.url:
            asked.append(request.url)

    tab.page.on("request", seen)
    hide = "Object.defineProperty(document, 'visibilityState', {value: %r, configurable: true})"
    tab.page.evaluate(hide % "hidden")
    tab.page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    tab.page.evaluate("htmx.trigger('#freshness', 'sf-refresh')")
    tab.page.wait_for_timeout(300)
    assert asked == []
    with tab.page.expect_request(lambda r: "/overview/freshness" in r.url):
        tab.page.evaluate(hide % "visible")
        tab.page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    tab.settled("shown-again")
    assert len(asked) == 1
