"""``smartfactory kpi``: KPIs, explanations and losses as a user runs them, and its bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from clitools import PLANT, cli, ok, one_line_error


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated days of the example plant (Mon 2 and Tue 3 March 2026, local time)."""
    work = tmp_path_factory.mktemp("kpi")
    ok(cli("simulate", "--plant", str(PLANT), "--days", "2", "--seed", "5", "--store", str(work / "s"), "--json",
           cwd=work))  # fmt: skip
    return work / "s"


def kpi(store: Path, *args: str) -> str:
    return ok(cli("kpi", "--store", str(store), *args, cwd=store.parent)).stdout


def test_json_rows_carry_node_period_and_every_kpi(store: Path) -> None:
    doc = json.loads(
        kpi(store, "--from", "2026-03-02", "--to", "2026-03-04", "--by", "line", "--format", "json")
    )
    assert (doc["by"], doc["per"], doc["start"], doc["end"]) == (
        "line",
        "day",
        "2026-03-02T00:00:00+08:00",
        "2026-03-04T00:00:00+08:00",
    )
    rows = doc["rows"]
    assert [(r["node"], r["period_start"], r["period_end"]) for r in rows] == [
        ("L1", "2026-03-02T00:00:00+08:00", "2026-03-03T00:00:00+08:00"),
        ("L1", "2026-03-03T00:00:00+08:00", "2026-03-04T00:00:00+08:00"),
    ]
    assert "worker_efficiency" in doc["kpis"] and len(doc["kpis"]) == 34  # json: every KPI, as the API
    for r in rows:
        values = r["values"]
        assert values["oee"] == pytest.approx(
            values["availability"] * values["effectiveness"] * values["quality_ratio"]
        )
        assert values["worker_efficiency"] is None
        assert r["why_null"]["worker_efficiency"].startswith("needs: personnel")
        assert 0 < values["availability"] < 1
        assert r["elements"]["PBT"] > 0


def test_kpi_option_picks_columns_and_csv_has_them(store: Path) -> None:
    text = kpi(store, "--by", "equipment", "--per", "window", "--kpi", "oee,mtbf", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "node",
        "level",
        "period_start",
        "period_end",
        "shift",
        "data_coverage",
        "oee",
        "mtbf",
    ]
    by_node = {r["node"]: r for r in rows}
    assert by_node["OP10-M3"]["oee"] == ""  # not networked: no data, never a made-up value
    assert by_node["OP10-M3"]["data_coverage"] == "0.0"
    assert float(by_node["OP20-M1"]["oee"]) > 0


def test_per_shift_rows_name_their_shift(store: Path) -> None:
    doc = json.loads(kpi(store, "--by", "line", "--per", "shift", "--format", "json", "--kpi", "oee"))
    assert [r["shift"] for r in doc["rows"]] == ["D", "N", "D", "N"]


def test_explain_shows_formula_elements_and_sources(store: Path) -> None:
    doc = json.loads(kpi(store, "--by", "line", "--per", "window", "--explain", "oee", "--format", "json"))
    assert doc["formulas"]["oee"] == "availability * effectiveness * quality_ratio"
    assert doc["formulas"]["availability"] == "APT / PBT"
    assert set(doc["elements"]) == {"APT", "PBT", "PRU_PQ", "PQ_NO_PRU", "GQ", "PQ"}
    row = doc["rows"][0]
    assert row["values"]["availability"] == pytest.approx(row["elements"]["APT"] / row["elements"]["PBT"])
    text = kpi(store, "--by", "line", "--per", "window", "--explain", "oee")
    assert "ISO 22400-2 KPI 6" in text and "Actual production time" in text


def test_losses_waterfall_ends_in_oee_times_pbt(store: Path) -> None:
    doc = json.loads(ok(cli("kpi", "losses", "--store", str(store), "--by", "line", "--format", "json",
                            cwd=store.parent)).stdout)  # fmt: skip
    (w,) = doc["waterfalls"]
    remaining = w["pbt_h"] - sum(x["hours"] for x in w["losses"])
    assert remaining == pytest.approx(w["productive_h"])
    assert w["productive_h"] == pytest.approx(w["oee"] * w["pbt_h"])
    assert w["no_data_h"] > 0  # OP10-M3 is not networked
    shares = [p["share"] for p in doc["pareto"]]
    assert shares == sorted(shares, reverse=True)
    assert doc["pareto"][-1]["cumulative"] == pytest.approx(1.0)


def test_losses_in_chinese(store: Path) -> None:
    text = ok(
        cli("kpi", "losses", "--store", str(store), "--by", "line", "--lang", "zh", cwd=store.parent)
    ).stdout
    assert "计划占用时间" in text and "停机帕累托" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kpi", "oee,bogus"], "--kpi: Unknown KPI bogus; use 'all' or any of: worker_efficiency"),
        (["--from", "2026-03-03", "--to", "2026-03-03"], "--to: The period is empty or inverted"),
        (["--from", "2026-03-04", "--to", "2026-03-02"], "--to: The period is empty or inverted"),
        (["--from", "March"], "--from: March is not a date or time"),
        (["--node", "L9"], "--node: No node L9 in plant suzhou-housing; use one of acme"),
        (["--explain", "ooe"], "--explain: ooe is not a KPI id; use any of: worker_efficiency"),
        (["--lang", "zh", "--from", "March"], "--from: March 不是日期或时间"),
    ],
)
def test_bad_requests_are_one_line_errors(store: Path, args: list[str], expected: str) -> None:
    line = one_line_error(cli("kpi", "--store", str(store), *args, cwd=store.parent))
    assert expected in line


def test_unknown_level_is_a_usage_error(store: Path) -> None:
    result = cli("kpi", "--store", str(store), "--by", "floor", cwd=store.parent)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "'floor' is not one of" in result.stderr


def test_kpi_of_a_missing_store_is_a_one_line_error(tmp_path: Path) -> None:
    assert "no telemetry store" in one_line_error(cli("kpi", "--store", str(tmp_path / "none"), cwd=tmp_path))
    assert not (tmp_path / "none").exists()  # a query creates nothing


def test_tables_in_chinese_take_their_headings_from_the_catalogue(store: Path) -> None:
    table = kpi(store, "--per", "window", "--lang", "zh")
    assert "节点" in table and "数据覆盖" in table and "设备综合效率（OEE）" in table
    listed = ok(cli("kpi", "list", "--lang", "zh", cwd=store.parent)).stdout
    assert "序号" in listed and "需要：" in listed
    explained = kpi(store, "--per", "window", "--explain", "oee", "--lang", "zh")
    assert "越高越好" in explained and "要素" in explained
