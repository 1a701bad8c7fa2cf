"""The plant overview page: tiles equal to the KPI API, charts as JSON blocks, Chinese, refresh, cache."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from smartfactory.app import overview as service
from smartfactory.app.freshness import live_settings
from smartfactory.app.i18n import use_language
from smartfactory.app.sessions import issue_token
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.cli.options import DEMO_PLANT
from smartfactory.model.events import EventType
from smartfactory.model.plant_file import load_plant
from web import ROOT, app_for, build_store

TILE_KPIS = ("oee", "availability", "effectiveness", "quality_ratio")


def client(workspace: Workspace, lang: str = "en") -> TestClient:
    """A viewer's client (API token: pages take it like a session)."""
    token = issue_token(workspace.registry, "viewer", "overview tests")
    return TestClient(
        app_for(workspace), headers={"Authorization": f"Bearer {token}", "Accept-Language": lang}
    )


@dataclass
class Period:
    attrs: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)  # data-kpi → data-value
    texts: dict[str, str] = field(default_factory=dict)  # data-kpi → the shown text


@dataclass
class Tile:
    line: str
    classes: list[str]
    periods: dict[str, Period] = field(default_factory=dict)


class Page(HTMLParser):
    """The tiles, the inline scripts and the chart placeholders of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tiles: dict[str, Tile] = {}
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.charts: list[str] = []
        self._tile: Tile | None = None
        self._period: Period | None = None
        self._dd: str | None = None
        self._script: dict[str, str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "article" and "data-line" in a:
            self._tile = Tile(a["data-line"], a.get("class", "").split())
            self.tiles[self._tile.line] = self._tile
        elif tag == "section" and "data-period" in a and self._tile is not None:
            self._period = Period(a)
            self._tile.periods[a["data-period"]] = self._period
        elif tag == "dd" and "data-kpi" in a and self._period is not None:
            self._period.values[a["data-kpi"]] = a["data-value"]
            self._period.texts[a["data-kpi"]] = ""
            self._dd = a["data-kpi"]
        elif tag == "script":
            self._script = a
        elif "data-chart" in a:
            self.charts.append(a["data-chart"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "dd":
            self._dd = None
        elif tag == "article":
            self._tile = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._dd is not None and self._period is not None:
            self._period.texts[self._dd] += data
        if self._script is not None:
            self.scripts.append((self._script, data))


@pytest.fixture(scope="module")
def viewer(web_server: Workspace) -> TestClient:
    return client(web_server)


@pytest.fixture(scope="module")
def page(viewer: TestClient) -> Page:
    response = viewer.get("/")
    assert response.status_code == 200, response.text
    return Page(response.text)


def test_a_tile_per_line_with_the_current_shift_and_day(page: Page, web_server: Workspace) -> None:
    assert set(page.tiles) == {line.id for line in web_server.plant().lines} == {"L1"}
    tile = page.tiles["L1"]
    assert tile.classes[0] == "tile" and tile.classes[1] in {"good", "warn", "bad", "none"}
    # 3 days from Monday 2026-03-02: the latest event ends at Thursday 00:00, so the current day is
    # Wednesday and the current shift the night shift that began at 20:00
    day, shift = tile.periods["day"].attrs, tile.periods["shift"].attrs
    assert (day["data-from"], day["data-to"], day["data-per"]) == (
        "2026-03-04T00:00",
        "2026-03-05T00:00",
        "day",
    )
    assert (shift["data-from"], shift["data-to"], shift["data-per"]) == (
        "2026-03-04T20:00",
        "2026-03-05T08:00",
        "shift",
    )


def test_tiles_show_the_kpi_apis_numbers(page: Page, viewer: TestClient) -> None:
    for line, tile in page.tiles.items():
        for kind, period in tile.periods.items():
            params = {k: period.attrs[f"data-{k}"] for k in ("from", "to", "by", "per")}
            response = viewer.get("/api/v1/kpis", params=params)  # every KPI: a computation of its own
            assert response.status_code == 200, response.text
            (row,) = [r for r in response.json()["rows"] if r["node"] == line]
            for kpi in TILE_KPIS:
                value = row["values"][kpi]
                assert value is not None, (kind, kpi)
                assert float(period.values[kpi]) == value, (kind, kpi)  # the raw value, exactly
                assert period.texts[kpi].strip().startswith(f"{value * 100:.1f}%")
            assert float(period.values["good"]) == row["elements"]["GQ"]
            assert float(period.values["scrap"]) == row["elements"]["SQ"]
            assert float(period.values["data_coverage"]) == row["data_coverage"]


def test_charts_are_json_blocks_and_no_script_is_inline(page: Page) -> None:
    blocks = {attrs["id"]: text for attrs, text in page.scripts if attrs.get("type") == "application/json"}
    inline = [attrs for attrs, _text in page.scripts if attrs.get("type") != "application/json"]
    assert not inline  # the CSP forbids inline scripts; app.js draws from the JSON blocks
    assert set(page.charts) == set(blocks)
    assert {"chart-timeline", "chart-pareto", "chart-waterfall-L1", "chart-trend-day-L1"} <= set(blocks)
    options = {key: json.loads(text) for key, text in blocks.items()}
    timeline = options["chart-timeline"]
    assert timeline["yAxis"]["data"][0] == "OP10-M1" and len(timeline["yAxis"]["data"]) == 12
    assert {s["type"] for s in timeline["series"]} == {"custom"}
    assert {s["renderItem"] for s in timeline["series"]} == {"gantt"}
    assert "Running" in {s["name"] for s in timeline["series"]}
    assert len(options["chart-trend-day-L1"]["xAxis"]["data"]) == 3  # only 3 days are stored
    assert len(options["chart-trend-shift-L1"]["xAxis"]["data"]) == 6


def test_the_chinese_page_has_chinese_labels_and_numbers(web_server: Workspace) -> None:
    response = client(web_server, "zh").get("/")
    assert response.status_code == 200
    text = response.text
    for label in (
        "工厂总览",
        "当前班次",
        "当天",
        "可用率",
        "合格品",
        "报废",
        "停机帕累托图",
        "目标",
        "未核实",
        "壳体一线",
    ):
        assert label in text, label
    assert "Current shift" not in text and "Good parts" not in text
    assert "2026年3月4日" in text  # the day, in the Chinese date format
    tiles = Page(text).tiles["L1"]
    english = Page(client(web_server, "en").get("/").text).tiles["L1"]
    assert tiles.periods["day"].values == english.periods["day"].values  # the same numbers


def test_the_live_part_reloads_alone_and_keeps_its_charts(viewer: TestClient, page: Page) -> None:
    response = viewer.get("/overview/live")
    assert response.status_code == 200
    text = response.text
    assert text.lstrip().startswith('<div id="overview-live" hx-get="/overview/live"')
    assert 'hx-trigger="sf-data-changed from:body"' in text and 'hx-swap="outerHTML"' in text
    assert "<html" not in text and 'id="targets"' not in text  # the targets do not change with data
    live = Page(text)
    assert live.tiles.keys() == {"L1"}
    assert live.tiles["L1"].periods["day"].values == page.tiles["L1"].periods["day"].values
    assert set(live.charts) == set(page.charts)
    # every chart box keeps its element across a reload (by id), and app.js updates it in place
    boxes = re.findall(r'<div class="chart[^"]*" id="box-([^"]+)" hx-preserve data-chart="([^"]+)"', text)
    assert len(boxes) == len(live.charts) >= 5 and all(box == chart for box, chart in boxes)


def test_the_page_polls_its_freshness_and_names_the_version_it_shows(viewer: TestClient) -> None:
    text = viewer.get("/").text
    indicator = re.search(r'<p id="freshness"[^>]*>', text)
    assert indicator, "no freshness indicator"
    tag = indicator.group(0)
    settings = live_settings()
    for attribute in (
        'hx-get="/overview/freshness"',
        'hx-swap="outerHTML"',
        'hx-include="#overview-version"',
        "data-live-poll",
    ):
        assert attribute in tag, attribute
    poll = re.search(r'hx-trigger="every (\d+)s, sf-refresh"', tag)
    assert poll and int(poll.group(1)) in (settings.poll_s, settings.idle_poll_s)
    assert 'data-state="stale"' in tag  # the 3-day store of March 2026 is long past
    assert "Data as of 2026-03-05 00:00:00 (" in text
    version = re.search(r'<input type="hidden" id="overview-version" name="seen" value="([0-9a-f]+)">', text)
    assert version and version.group(1) == viewer.get("/api/v1/freshness").json()["version"]
    assert text.index('id="freshness"') < text.index('id="overview-live"')  # outside the reloaded part


def test_the_targets_say_where_they_come_from(page: Page, viewer: TestClient) -> None:
    text = viewer.get("/").text
    assert 'data-target="oee"' in text
    assert "World-class OEE 85%" in text
    assert text.count('class="badge unverified"') == 4  # every shipped target is a secondary source


def test_signing_in_is_required(web_server: Workspace) -> None:
    anonymous = TestClient(app_for(web_server))
    for path in ("/", "/overview/live", "/overview/freshness"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    plant_file = ROOT / DEMO_PLANT
    workspace = Workspace(WorkspaceSettings(store=tmp_path))
    try:
        digest = hashlib.sha256(plant_file.read_bytes()).hexdigest()
        workspace.registry.save_plant(load_plant(plant_file), str(plant_file), digest)
        with use_language("en"):
            view = service.overview(workspace)
        assert view.empty and view.tiles == [] and view.hierarchy.children[0].name == "Suzhou plant"
    finally:
        workspace.close()


# --- a write shows on the next request (the cache is keyed by the store's version) -------------


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace over a store of its own (1 simulated day): the test writes into it."""
    folder = build_store(tmp_path_factory.mktemp("overview-store"), days=1.0)
    workspace = Workspace(WorkspaceSettings(store=folder))
    yield workspace
    workspace.close()


def test_a_write_changes_the_tiles(own_server: Workspace) -> None:
    viewer = client(own_server)
    before = Page(viewer.get("/").text).tiles["L1"].periods["day"]
    assert before.attrs["data-from"] == "2026-03-02T00:00"
    assert Page(viewer.get("/").text).tiles["L1"].periods["day"].values == before.values  # cached
    row = {
        "ts": [datetime(2026, 3, 2, 2, 0, 0, 321)],  # 10:00 in Suzhou: inside the day
        "equipment": ["OP60-CMM"],
        "order_id": [None],
        "product": [None],
        "good": [0],
        "scrap": [250],
        "rework": [0],
        "part_id": ["overview-test"],
    }
    seen = viewer.get("/api/v1/freshness").json()["version"]
    unchanged = viewer.get("/overview/freshness", params={"seen": seen})
    assert "hx-trigger" not in unchanged.headers
    live_before = viewer.get("/overview/live").text
    with own_server.writing() as store:
        assert store.write(EventType.counts, pa.table(row)) == 1
    # the page's next poll learns of the commit and the live part it then fetches holds it
    changed = viewer.get("/overview/freshness", params={"seen": seen})
    assert changed.headers["hx-trigger"] == "sf-data-changed"
    live_after = viewer.get("/overview/live").text
    assert live_after != live_before
    assert f'value="{seen}"' in live_before and f'value="{seen}"' not in live_after
    tile = Page(live_after).tiles["L1"].periods["day"]
    assert float(tile.values["scrap"]) == float(before.values["scrap"]) + 250
    after = Page(viewer.get("/").text).tiles["L1"].periods["day"]
    assert float(after.values["scrap"]) == float(before.values["scrap"]) + 250
    assert float(after.values["quality_ratio"]) < float(before.values["quality_ratio"])
    api = viewer.get(
        "/api/v1/kpis", params={k: after.attrs[f"data-{k}"] for k in ("from", "to", "by", "per")}
    )
    assert float(after.values["quality_ratio"]) == api.json()["rows"][0]["values"]["quality_ratio"]
