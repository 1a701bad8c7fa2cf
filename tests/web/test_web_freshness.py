"""Freshness: the newest stored event per table and per machine, its age at an injected clock, the stale
flag, ``GET /api/v1/freshness``, and the indicator the overview and the machine pages poll (en and zh)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from fastapi import FastAPI

from smartfactory.app.freshness import Freshness, freshness, live_settings
from smartfactory.app.i18n import use_language
from smartfactory.app.workspace import Workspace
from smartfactory.model.events import EventType
from smartfactory.web.live import indicator, span
from web_accounts import token_client

# stored times are UTC; the demo plant is in Asia/Shanghai (UTC+8)
STATE_END = datetime(2026, 3, 2, 2, 0, 0)  # OP10-M1 running until 10:00 plant time
COUNT_TS = datetime(2026, 3, 2, 2, 0, 30)  # OP20-M1 a part at 10:00:30
MEASURE_TS = datetime(2026, 3, 2, 2, 1, 0)  # OP10-M1 a spindle reading at 10:01:00: the newest event
ALARM_TS = datetime(2026, 3, 2, 1, 30, 0)  # OP30-M1 an alarm at 09:30
NOW = datetime(2026, 3, 2, 2, 2, 0, tzinfo=UTC)  # one minute after the newest event


def write_events(workspace: Workspace) -> None:
    """One event per table, at the times above."""
    with workspace.writing() as store:
        store.write(
            EventType.states,
            pa.table(
                {
                    "equipment": ["OP10-M1"],
                    "start": [datetime(2026, 3, 2, 0, 0, 0)],
                    "end": [STATE_END],
                    "state": ["running"],
                    "reason": [None],
                    "order_id": [None],
                    "product": [None],
                }
            ),
        )
        store.write(
            EventType.counts,
            pa.table(
                {
                    "ts": [COUNT_TS],
                    "equipment": ["OP20-M1"],
                    "order_id": [None],
                    "product": [None],
                    "good": [1],
                    "scrap": [0],
                    "rework": [0],
                    "part_id": ["fresh-1"],
                }
            ),
        )
        store.write(
            EventType.measurements,
            pa.table(
                {"ts": [MEASURE_TS], "equipment": ["OP10-M1"], "signal": ["spindle_speed"], "value": [8000.0]}
            ),
        )
        store.write(
            EventType.alarms,
            pa.table(
                {
                    "ts": [ALARM_TS],
                    "equipment": ["OP30-M1"],
                    "code": ["fresh.test"],
                    "severity": ["minor"],
                    "action": ["raised"],
                    "message": [None],
                }
            ),
        )


def by_machine(fresh: Freshness) -> dict[str, tuple[float | None, bool]]:
    return {m.equipment: (m.age_s, m.stale) for m in fresh.equipment}


# --- the use case -----------------------------------------------------------------------------


def test_an_empty_store_is_stale_with_nothing_newest(workspace: Workspace) -> None:
    fresh = freshness(workspace, now=NOW)
    assert fresh.as_of is None and fresh.age_s is None and fresh.stale
    assert [t.table for t in fresh.tables] == ["states", "counts", "measurements", "alarms"]
    assert all(t.newest is None for t in fresh.tables)
    assert len(fresh.equipment) == len(workspace.plant().equipment) == 12
    assert all(m.newest is None and m.stale for m in fresh.equipment)


def test_newest_event_per_table_and_per_machine_with_exact_ages(workspace: Workspace) -> None:
    write_events(workspace)
    fresh = freshness(workspace, now=NOW, stale_after_s=90)
    assert fresh.timezone == "Asia/Shanghai"
    assert fresh.as_of is not None and fresh.as_of.isoformat() == "2026-03-02T10:01:00+08:00"
    assert fresh.now.isoformat() == "2026-03-02T10:02:00+08:00"
    assert fresh.age_s == 60.0 and not fresh.stale
    tables = {t.table: t.age_s for t in fresh.tables}
    assert tables == {"states": 120.0, "counts": 90.0, "measurements": 60.0, "alarms": 1_920.0}
    machines = by_machine(fresh)
    # a machine's newest over every table: OP10-M1's measurement is newer than its state's end
    assert machines["OP10-M1"] == (60.0, False)
    assert machines["OP20-M1"] == (90.0, False)  # exactly the threshold: not yet stale
    assert machines["OP30-M1"] == (1_920.0, True)  # only an alarm, half an hour old
    assert machines["OP10-M2"] == (None, True)  # nothing stored
    # the same store later: OP20-M1 crosses the threshold first, then the plant's newest event
    later = freshness(workspace, now=NOW + timedelta(seconds=30), stale_after_s=90)
    assert (later.age_s, later.stale) == (90.0, False)
    assert by_machine(later)["OP20-M1"] == (120.0, True)
    assert freshness(workspace, now=NOW + timedelta(seconds=31), stale_after_s=90).stale


def test_a_machine_silent_for_days_still_has_its_newest_event(workspace: Workspace) -> None:
    """The newest per machine is looked for an hour, then a day before the table's newest first; a
    machine silent for longer is still found (in the whole table)."""
    write_events(workspace)
    older = {
        "OP20-M2": MEASURE_TS - timedelta(hours=5),  # inside the day's window
        "OP20-M3": MEASURE_TS - timedelta(days=3),  # before it
    }
    with workspace.writing() as store:
        table = {
            "ts": list(older.values()),
            "equipment": list(older),
            "signal": ["spindle_speed"] * 2,
            "value": [1.0, 2.0],
        }
        assert store.write(EventType.measurements, pa.table(table)) == 2
    machines = by_machine(freshness(workspace, now=NOW))
    assert machines["OP20-M2"] == (5 * 3_600 + 60.0, True)
    assert machines["OP20-M3"] == (3 * 86_400 + 60.0, True)
    assert machines["OP10-M1"] == (60.0, False)


def test_the_stale_flag_goes_both_ways(workspace: Workspace) -> None:
    write_events(workspace)
    assert not freshness(workspace, now=NOW, stale_after_s=60).stale  # 60 s old, 60 s allowed
    assert freshness(workspace, now=NOW, stale_after_s=59.5).stale
    default = live_settings().stale_after_s
    assert freshness(workspace, now=NOW).stale_after_s == default
    assert not freshness(workspace, now=NOW + timedelta(seconds=default - 60)).stale
    assert freshness(workspace, now=NOW + timedelta(seconds=default - 59)).stale


def test_an_event_from_the_future_has_a_negative_age(workspace: Workspace) -> None:
    write_events(workspace)
    fresh = freshness(workspace, now=NOW - timedelta(minutes=5))
    assert fresh.age_s == -240.0 and not fresh.stale


def test_the_version_changes_with_a_commit_and_unchanged_counts_from_when_it_was_seen(
    workspace: Workspace,
) -> None:
    write_events(workspace)
    first = freshness(workspace, now=NOW)
    again = freshness(workspace, now=NOW + timedelta(seconds=100))
    assert again.version == first.version and again.unchanged_s == 100.0
    with workspace.writing() as store:
        row = {
            "ts": [MEASURE_TS + timedelta(seconds=30)],
            "equipment": ["OP10-M2"],
            "signal": ["spindle_speed"],
        }
        assert store.write(EventType.measurements, pa.table({**row, "value": [7000.0]})) == 1
    after = freshness(workspace, now=NOW + timedelta(seconds=110), stale_after_s=600)
    assert after.version != first.version and after.unchanged_s == 0.0
    assert after.age_s == 140.0  # the new measurement (10:01:30) is the newest at 10:03:50
    assert by_machine(after)["OP10-M2"] == (140.0, False)


def test_the_shipped_settings_are_unverified_choices() -> None:
    settings = live_settings()
    assert 0 < settings.poll_s < settings.idle_poll_s
    assert settings.poll_s < settings.stale_after_s
    from importlib import resources

    text = (resources.files("smartfactory.app") / "data" / "freshness.toml").read_text("utf-8")
    assert text.count('confidence = "U"') == 4


# --- the API ------------------------------------------------------------------------------------


def test_the_api_answers_the_use_cases_model(workspace: Workspace, app: FastAPI) -> None:
    write_events(workspace)
    viewer = token_client(app, "viewer")
    answer = viewer.get("/api/v1/freshness", params={"stale_after_s": 3600 * 24 * 365})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["as_of"] == "2026-03-02T10:01:00+08:00" and body["stale"] is False
    assert body["stale_after_s"] == 31_536_000
    assert [t["table"] for t in body["tables"]] == ["states", "counts", "measurements", "alarms"]
    assert body["equipment"][0]["equipment"] == "OP10-M1"
    assert body["version"] == freshness(workspace).version
    assert viewer.get("/api/v1/freshness", params={"stale_after_s": 0}).status_code == 422


# --- the indicator ------------------------------------------------------------------------------


def test_spans_take_the_unit_a_reader_wants() -> None:
    with use_language("en"):
        assert [span(s) for s in (0, 59.9, 119, 120, 7_199, 7_200, 172_799, 172_800, -30)] == [
            "0 s", "59 s", "119 s", "2 min", "119 min", "2 h", "47 h", "2 d", "30 s",
        ]  # fmt: skip
    with use_language("zh"):
        assert [span(s) for s in (5, 600, 7_200, 864_000)] == ["5 秒", "10 分钟", "2 小时", "10 天"]


def test_the_indicator_says_how_old_the_data_is_in_english_and_chinese(workspace: Workspace) -> None:
    write_events(workspace)
    fresh = freshness(workspace, now=NOW)
    with use_language("en"):
        live = indicator(fresh)
        assert (live.state, live.label) == ("live", "Live")
        assert live.text == "Data as of 10:01:00 (60 s ago)"  # the server's day: the time alone
        assert live.as_of == "2026-03-02T10:01:00+08:00"
        assert live.stale_machines.startswith("No new data from OP10-M2, OP10-M3")
        machine = indicator(fresh, "OP20-M1")
        assert (
            machine.text == "Data as of 10:00:30 (90 s ago)"
            and machine.url == "/overview/freshness?equipment=OP20-M1"
        )
        nothing = indicator(fresh, "OP10-M2")
        assert (nothing.state, nothing.text) == ("empty", "No data stored for this machine yet.")
        old = indicator(freshness(workspace, now=NOW + timedelta(days=2)))
        assert old.state == "stale"
        assert old.text == "Data as of 2026-03-02 10:01:00 (2 d ago) · no new data for more than 2 min"
        ahead = indicator(freshness(workspace, now=NOW - timedelta(minutes=5)))
        assert ahead.text == "Data as of 10:01:00 (4 min ahead of the server's clock)"
    with use_language("zh"):
        assert indicator(fresh).text == "数据截至 10:01:00（60 秒前）"
        assert indicator(fresh).label == "实时"
        stale = indicator(freshness(workspace, now=NOW + timedelta(days=2)))
        assert stale.label == "数据陈旧"
        assert stale.text == "数据截至 2026-03-02 10:01:00（2 天前） · 超过 2 分钟没有新数据"
        assert indicator(fresh).stale_machines.startswith("以下设备没有新数据：OP10-M2, OP10-M3")


def test_the_page_polls_less_while_nothing_changes(workspace: Workspace) -> None:
    write_events(workspace)
    settings = live_settings()
    busy = indicator(freshness(workspace, now=NOW))
    assert busy.poll_s == settings.poll_s
    quiet = indicator(freshness(workspace, now=NOW + timedelta(seconds=settings.idle_after_s)))
    assert quiet.poll_s == settings.idle_poll_s


def test_the_fragment_tells_the_page_to_reload_only_for_another_version(
    workspace: Workspace, app: FastAPI
) -> None:
    write_events(workspace)
    version = freshness(workspace).version
    for lang, label in (("en", "Data as of"), ("zh", "数据截至")):
        client = token_client(app, "viewer", lang)
        same = client.get("/overview/freshness", params={"seen": version})
        assert same.status_code == 200 and "hx-trigger" not in same.headers
        assert same.text.lstrip().startswith('<p id="freshness"') and "<html" not in same.text
        assert label in same.text
        assert "hx-trigger" not in client.get("/overview/freshness").headers  # a page showing no version
        other = client.get("/overview/freshness", params={"seen": "0123456789abcdef"})
        assert other.headers["hx-trigger"] == "sf-data-changed"


def test_the_machine_page_shows_its_own_freshness(workspace: Workspace, app: FastAPI) -> None:
    write_events(workspace)
    viewer = token_client(app, "viewer")
    page = viewer.get("/equipment/OP20-M1")
    assert page.status_code == 200, page.text
    found = re.search(r'<p id="freshness"[^>]*>', page.text)
    assert found, "no freshness indicator on the machine page"
    tag = found.group(0)
    assert 'data-as-of="2026-03-02T10:00:30+08:00"' in tag  # OP20-M1's count, not the plant's newest
    assert 'hx-get="/overview/freshness?equipment=OP20-M1"' in tag and "data-live-poll" in tag
    fragment = viewer.get("/overview/freshness", params={"equipment": "OP20-M1"})
    assert 'data-as-of="2026-03-02T10:00:30+08:00"' in fragment.text
    zh = token_client(app, "viewer", "zh").get("/equipment/OP10-M2")
    assert "该设备尚无已存数据。" in zh.text


@pytest.mark.parametrize("path", ["/api/v1/freshness", "/overview/freshness"])
def test_signing_in_is_required(app: FastAPI, path: str) -> None:
    from fastapi.testclient import TestClient

    response = TestClient(app).get(path, follow_redirects=False)
    assert response.status_code in (303, 401)
