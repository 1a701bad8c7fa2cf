"""The web app in a real browser (Debian's Chromium, headless): what a user does, page by page.

Every page visited is screenshotted to test-artifacts/screenshots/ and checked for console
errors, failed requests, HTTP errors and requests that leave loopback (see tests/browser.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser import DOWNLOADS, ROOT, LiveApp, Tab, login
from smartfactory.app.alarms import raise_alarm
from smartfactory.app.roles import Role
from smartfactory.model.events import Severity

NAV_EN = ["Overview", "Equipment", "Assessment", "Self-assessment", "Scenarios"]
NAV_ZH = ["工厂总览", "设备", "评估", "自评", "场景"]
PAGES = ["/", "/equipment", "/assessment", "/self-assessment", "/scenarios", "/admin/users"]
# answers of examples/factories/b_discrete_midsize: the demo plant reaches "advanced" with them;
# answering "no" to its benchmark criterion leaves it at "basic"
EXAMPLE_ANSWERS = ROOT / "examples" / "factories" / "b_discrete_midsize" / "answers.yaml"
LEVEL_KEY = "G25-ADV-BENCH"
ALARM_CODE = "browser_test.guard_open"


def nav_labels(tab: Tab) -> list[str]:
    """The main navigation's link texts, in order, without the admin's own entries after them."""
    return [text.strip() for text in tab.page.locator("header nav a").all_inner_texts()][: len(NAV_EN)]


def test_signing_in_leads_to_the_page_asked_for(tab: Tab) -> None:
    tab.page.goto(tab.url("/"))
    assert tab.path() == "/login?next=/" or tab.path() == "/login?next=%2F", tab.page.url
    tab.settled("redirected-to-login")
    expect(tab.page.locator("h1")).to_have_text("Sign in")
    login(tab, Role.engineer)
    assert nav_labels(tab) == NAV_EN
    expect(tab.page.locator("header .who")).to_contain_text("Engineer User")


def test_switching_to_chinese_shows_chinese_labels_on_every_page(tab: Tab) -> None:
    """The switch turns the overview Chinese; the choice holds (cookie) on every page after it."""
    login(tab, Role.admin)
    with tab.page.expect_navigation():
        tab.page.click(".lang-switch a[lang=zh-CN]")
    tab.settled("zh")
    expect(tab.page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert nav_labels(tab) == NAV_ZH
    expect(tab.page.locator("header form button")).to_have_text("退出登录")
    for path in PAGES[1:]:
        tab.goto(path, f"zh{path}")
        expect(tab.page.locator("html")).to_have_attribute("lang", "zh-CN")
        assert nav_labels(tab) == NAV_ZH, path
        # a page of Chinese, not English with a Chinese menu
        heading = tab.page.locator("main h1").first.inner_text()
        assert re.search(r"[\u4e00-\u9fff]", heading), f"{path}: heading {heading!r} has no Chinese"
    with tab.page.expect_navigation():
        tab.page.click(".lang-switch a[lang=en]")
    tab.settled("english-again")
    expect(tab.page.locator("html")).to_have_attribute("lang", "en")
    assert nav_labels(tab) == NAV_EN


def test_signing_out_ends_the_session(tab: Tab) -> None:
    login(tab, Role.viewer)
    with tab.page.expect_navigation():
        tab.page.click("header form button[type=submit]")
    tab.settled("signed-out")
    assert tab.path() == "/login"
    # the old session is gone: pages send the browser back to the log-in form, the API says 401
    tab.page.goto(tab.url("/equipment"))
    assert tab.path().startswith("/login?next="), tab.page.url
    assert tab.page.request.get(tab.url("/api/v1/me")).status == 401


def test_nothing_is_fetched_from_outside_loopback(tab: Tab) -> None:
    """The guard itself: a page asking another host is blocked and recorded (factories are offline)."""
    login(tab, Role.viewer)
    # a blank page: the app's own pages would stop the image already by their CSP (img-src 'self')
    tab.page.goto("about:blank")
    tab.page.set_content('<img src="http://example.com/logo.png" alt="">')
    tab.quiet()
    assert tab.off_site == ["http://example.com/logo.png"]
    assert any("example.com" in failed for failed in tab.failed_requests)
    tab.forget_problems()


def test_every_page_renders_without_errors(tab: Tab) -> None:
    """Each page of the navigation, the user admin page and the API docs, as an admin (in English;
    the Chinese test above visits them in Chinese)."""
    login(tab, Role.admin)
    for path in [*PAGES, "/docs"]:
        response = tab.goto(path, f"en{path}")
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        if path == "/docs":
            expect(tab.page.locator(".swagger-ui .opblock").first).to_be_visible()
            tab.assert_clean(path)
            continue
        expect(tab.page.locator("html")).to_have_attribute("lang", "en")
        expect(tab.page.locator("main h1").first).to_be_visible()


def test_oee_tiles_equal_the_kpi_api(tab: Tab) -> None:
    """Each tile's numbers are the KPI API's for the same query (the tile's section names it)."""
    login(tab, Role.viewer)
    tiles = tab.page.locator("article.tile[data-line]")
    expect(tiles.first).to_be_visible()
    compared = 0
    for tile in tiles.all():
        line = tile.get_attribute("data-line")
        periods = tile.locator("section[data-period]").all()
        assert periods, f"tile {line} shows no shift or day"
        for period in periods:
            query = {k: period.get_attribute(f"data-{k}") for k in ("from", "to", "by", "per")}
            report = tab.api_json("/api/v1/kpis", **query)
            rows = [r for r in report["rows"] if r["node"] == line]
            assert len(rows) == 1, f"{line} {query}: {len(rows)} rows"
            row = rows[0]
            for value in period.locator("dd[data-kpi]").all():
                kpi = value.get_attribute("data-kpi")
                shown = value.get_attribute("data-value")
                element = value.get_attribute("data-element")
                if element is not None:
                    expected = row["elements"].get(element)
                elif kpi == "data_coverage":
                    expected = row["data_coverage"]
                else:
                    expected = row["values"][kpi]
                where = f"{line} {period.get_attribute('data-period')} {kpi}"
                if expected is None:
                    assert shown == "", f"{where}: the tile shows {shown}, the API has none"
                else:
                    assert shown, f"{where}: the tile is blank, the API has {expected}"
                    assert float(shown) == pytest.approx(expected, rel=1e-9, abs=1e-12), where
                compared += 1
            oee = period.locator("dd[data-kpi=oee]")
            expect(oee).to_have_count(1)
    assert compared >= 4, "no tile value was compared"


def test_acknowledging_and_clearing_an_alarm_on_an_equipment_page(tab: Tab, live_app: LiveApp) -> None:
    login(tab, Role.engineer, next="/equipment")
    # the simulated alarms are all cleared by the end of the store: raise one, as a machine would
    machine = tab.page.locator("tr[data-equipment]").first.get_attribute("data-equipment")
    assert machine
    raised = raise_alarm(live_app.workspace, machine, ALARM_CODE, Severity.major, "guard door open")
    raised_at = raised.model_dump(mode="json")["raised_at"]  # as the API writes it
    key = f"{machine}/{ALARM_CODE}"
    # reach the machine through the list, as a user would
    with tab.page.expect_navigation():
        tab.page.click(f'tr[data-equipment="{machine}"] a[href="/equipment/{machine}"]')
    tab.settled(f"equipment-{machine}")
    row = tab.page.locator(f'tr[data-alarm="{key}"][data-state="raised"]')
    expect(row).to_have_count(1)
    with tab.page.expect_response(lambda r: r.url.endswith("/acknowledge") and r.request.method == "POST"):
        row.locator("button[data-action=acknowledge]").click()
    acknowledged = tab.page.locator(f'tr[data-alarm="{key}"][data-state="acknowledged"]')
    expect(acknowledged).to_have_count(1)
    tab.settled("acknowledged")
    assert the_alarm(tab, machine, raised_at)["acknowledged_by"] == "engineer"
    with tab.page.expect_response(lambda r: r.url.endswith("/clear") and r.request.method == "POST"):
        acknowledged.locator("button[data-action=clear]").click()
    expect(tab.page.locator(f'tr[data-alarm="{key}"][data-state="cleared"]')).to_have_count(1)
    tab.settled("cleared")
    cleared = the_alarm(tab, machine, raised_at)
    assert cleared["state"] == "cleared" and not cleared["active"] and cleared["cleared_by"] == "engineer"


def the_alarm(tab: Tab, machine: str, raised_at: str) -> dict[str, Any]:
    """The test's alarm as the API has it now."""
    alarms = tab.api_json("/api/v1/alarms", equipment=machine, limit=500)["alarms"]
    mine = [a for a in alarms if a["code"] == ALARM_CODE and a["raised_at"] == raised_at]
    assert len(mine) == 1, alarms[:3]
    return mine[0]  # type: ignore[no-any-return]


def test_answering_a_question_changes_the_level(tab: Tab) -> None:
    """With the mid-size example's answers the plant is advanced; losing its benchmark makes it basic."""
    login(tab, Role.engineer, next="/equipment")  # a light page: the assessment is shown below
    csrf = tab.csrf_token()
    loaded = tab.page.request.put(
        tab.url("/api/v1/assessments/answers"),
        data=EXAMPLE_ANSWERS.read_text(encoding="utf-8"),
        headers={"Content-Type": "application/yaml", "X-CSRF-Token": csrf},
    )
    assert loaded.ok, loaded.text()
    try:
        tab.goto("/assessment", "assessment-before")
        expect(tab.page.locator("#level")).to_have_attribute("data-level", "advanced")
        tab.goto("/self-assessment", "self-assessment")
        field = tab.page.locator(f'[name="answer:{LEVEL_KEY}"][data-key="{LEVEL_KEY}"]')
        expect(field).to_have_value("yes")
        with tab.page.expect_response(
            lambda r: r.url.endswith(f"/self-assessment/answers/{LEVEL_KEY}")
        ) as saved:
            field.select_option("no")
        assert saved.value.ok, saved.value.status
        # the field is swapped for its saved version (saved as you go)
        expect(tab.page.locator(f"#field-{LEVEL_KEY} [role=status]")).to_be_visible()
        expect(tab.page.locator(f'[name="answer:{LEVEL_KEY}"]')).to_have_value("no")
        tab.settled("answered", snap=False)  # the same long page is shot after re-assessing
        tab.page.click("#submit-assessment")
        expect(tab.page.locator("#submitted-level")).to_have_attribute("data-level", "basic", timeout=30_000)
        tab.settled("re-assessed")
        tab.goto("/assessment", "assessment-after")
        expect(tab.page.locator("#level")).to_have_attribute("data-level", "basic")
        expect(tab.page.locator('ol.ladder li[aria-current="step"]')).to_have_attribute("data-level", "basic")
    finally:
        # the example's own answer again, for the tests after this one
        tab.page.request.put(
            tab.url(f"/api/v1/assessments/answers/{LEVEL_KEY}"),
            data={"value": "yes"},
            headers={"X-CSRF-Token": csrf},
        )


def test_downloading_the_html_report(tab: Tab) -> None:
    login(tab, Role.viewer, next="/assessment")
    level = tab.page.locator("#level").get_attribute("data-level")
    with tab.page.expect_download() as download:
        tab.page.click("#report-download")
    report = download.value
    assert report.failure() is None, report.failure()
    assert report.suggested_filename.endswith(".html"), report.suggested_filename
    target = DOWNLOADS / f"{tab.name}-{report.suggested_filename}"
    report.save_as(target)
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html"), html[:200]
    if level:
        assert level in html, f"the report does not name the level {level}"
    # the report opens in the browser too: without errors, and fetching nothing from other hosts
    tab.page.goto(target.as_uri())
    tab.settled("report")
