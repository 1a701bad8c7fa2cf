"""The KPI API: the numbers of ``compute_result``, the catalogue, the losses, bad parameters, the cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from clitools import cli, ok
from smartfactory.app import cache as cache_module
from smartfactory.app.cache import ResultCache, VersionGate
from smartfactory.app.sessions import issue_token
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.kpi import catalogue, compute_result, why_null
from smartfactory.kpi.losses import losses
from smartfactory.model.events import EventType
from web import app_for, build_store

FROM, TO = "2026-03-02", "2026-03-05"


def client(workspace: Workspace, lang: str = "en") -> TestClient:
    """A TestClient with a viewer's API token."""
    token = issue_token(workspace.registry, "viewer", "kpi tests")
    return TestClient(
        app_for(workspace), headers={"Authorization": f"Bearer {token}", "Accept-Language": lang}
    )


@pytest.fixture(scope="module")
def api(web_server: Workspace) -> TestClient:
    return client(web_server)


def _expected(workspace: Workspace, **params: object) -> list[dict[str, object]]:
    with workspace.telemetry() as store:
        return compute_result(store, plant=workspace.plant(), **params).rows()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("by", "per", "kpis"),
    [
        ("line", "day", ["oee", "availability", "effectiveness", "quality_ratio"]),
        ("equipment", "shift", ["oee", "mtbf", "mttr", "scrap_ratio"]),
        ("work_cell", "window", None),
    ],
)
def test_rows_equal_compute_result(
    api: TestClient,
    web_server: Workspace,
    by: str,
    per: str,
    kpis: list[str] | None,
) -> None:
    params: dict[str, object] = {"from": FROM, "to": TO, "by": by, "per": per}
    if kpis:
        params["kpi"] = kpis
    response = api.get("/api/v1/kpis", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = _expected(web_server, start=FROM, end=TO, by=by, per=per, kpis=kpis)
    assert len(body["rows"]) == len(expected) > 0
    cat = catalogue()
    chosen = cat.select(kpis)
    assert body["kpis"] == [k.id for k in chosen]
    for got, want in zip(body["rows"], expected, strict=True):
        assert got["node"] == want["node"]
        assert got["level"] == by
        assert datetime.fromisoformat(got["period_start"]) == want["period_start"]
        assert datetime.fromisoformat(got["period_end"]) == want["period_end"]
        assert got["shift"] == want["shift"]
        for k in chosen:
            assert same(got["values"][k.id], want[k.id]), (k.id, got["node"])
            assert got["why_null"].get(k.id) == why_null(cat, want, k, "en")
            for element in cat.elements_of(k):
                assert same(got["elements"][element.id], want[element.column]), (element.id, got["node"])


def same(got: object, want: object) -> bool:
    """Equal; floats to 1e-12: DuckDB's parallel sums of doubles (energy readings) are not
    order-stable, so two runs of ``compute_result`` itself can differ in the last bit."""
    if isinstance(got, float) and isinstance(want, float):
        return got == pytest.approx(want, rel=1e-12, abs=1e-12)
    return got == want


def test_kpis_repeated_or_comma_separated_and_the_default_period(api: TestClient) -> None:
    repeated = api.get("/api/v1/kpis", params={"kpi": ["oee", "availability"]}).json()
    comma = api.get("/api/v1/kpis", params={"kpi": "oee,availability"}).json()
    assert repeated == comma
    assert repeated["kpis"] == ["oee", "availability"]
    # like the CLI: whole local days around the stored events (3 simulated days)
    assert repeated["start"] == "2026-03-02T00:00:00+08:00"
    assert repeated["end"] == "2026-03-05T00:00:00+08:00"
    assert [r["period_start"][:10] for r in repeated["rows"]] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert repeated["rows"][0]["names"] == {"en": "Housing line 1", "zh": "壳体一线"}


def test_null_values_say_why_in_the_request_language(web_server: Workspace) -> None:
    zh = client(web_server, "zh").get("/api/v1/kpis", params={"kpi": "worker_efficiency", "per": "window"})
    row = zh.json()["rows"][0]
    assert row["values"]["worker_efficiency"] is None
    assert row["why_null"]["worker_efficiency"].startswith("需要：")
    assert row["name"] == "壳体一线"


def test_catalogue_has_every_kpi_in_both_languages(api: TestClient) -> None:
    response = api.get("/api/v1/kpis/catalogue", params={"lang": "zh"})
    assert response.status_code == 200
    body = response.json()
    assert len(body["kpis"]) == len(catalogue().kpis) == 34
    oee = next(k for k in body["kpis"] if k["id"] == "oee")
    assert oee["formula"] == "availability * effectiveness * quality_ratio"
    assert oee["names"]["en"] == "Overall equipment effectiveness (OEE)"
    assert oee["name"] == oee["names"]["zh"] == "设备综合效率（OEE）"
    assert oee["unit"] == "ratio" and oee["high"] is None  # an open range is null, not Infinity
    assert {"APT", "PBT", "GQ", "PQ"} <= set(oee["elements"])
    unsupported = next(k for k in body["kpis"] if k["id"] == "worker_efficiency")
    assert unsupported["supported"] is False and unsupported["needs"]
    assert {e["id"] for e in body["elements"]} >= {"PBT", "APT", "GQ", "SQ"}


def test_losses_equal_the_kpi_package(api: TestClient, web_server: Workspace) -> None:
    response = api.get("/api/v1/kpis/losses", params={"from": FROM, "to": TO, "by": "line"})
    assert response.status_code == 200, response.text
    body = response.json()
    with web_server.telemetry() as store:
        want = losses(store, FROM, TO, by="line", plant=web_server.plant())
    assert [w["node"] for w in body["waterfalls"]] == [w.node for w in want.waterfalls]
    for got, w in zip(body["waterfalls"], want.waterfalls, strict=True):
        assert got["pbt_h"] == w.pbt_h and got["productive_h"] == w.productive_h and got["oee"] == w.oee
        assert [(x["cause"], x["hours"]) for x in got["losses"]] == [(x.cause, x.hours) for x in w.losses]
        # the waterfall adds up: PBT − every loss = fully productive time
        assert got["pbt_h"] - sum(x["hours"] for x in got["losses"]) == pytest.approx(got["productive_h"])
    assert [(p["cause"], p["hours"]) for p in body["pareto"]] == [(p.cause, p.hours) for p in want.pareto]
    assert body["pareto"][-1]["cumulative"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/kpis", {"kpi": "oee,nope"}, 400, "query.kpi"),
        ("/api/v1/kpis", {"from": "yesterday"}, 400, "query.from"),
        ("/api/v1/kpis", {"from": "2026-03-02", "to": "2026-31-12"}, 400, "query.to"),
        ("/api/v1/kpis", {"from": "2026-03-04", "to": "2026-03-02"}, 400, "query.to"),
        ("/api/v1/kpis", {"from": "2026-03-02", "to": "2026-03-02"}, 400, "query.to"),
        ("/api/v1/kpis", {"from": "2020-01-01", "to": "2026-03-02"}, 400, "query.to"),
        ("/api/v1/kpis", {"node": "L9"}, 400, "query.node"),
        ("/api/v1/kpis", {"by": "factory"}, 422, "query.by"),
        ("/api/v1/kpis", {"per": "hour"}, 422, "query.per"),
        ("/api/v1/kpis", {"lang": "fr"}, 422, "query.lang"),
        ("/api/v1/kpis/losses", {"by": "plant"}, 422, "query.by"),
        ("/api/v1/kpis/losses", {"from": "2026-03-03", "to": "2026-03-02"}, 400, "query.to"),
        ("/api/v1/kpis/losses", {"node": "nowhere"}, 400, "query.node"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    api: TestClient, path: str, params: dict[str, str], status: int, field: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors]
    assert all(e["message"] for e in errors)


def test_problems_are_in_the_request_language(web_server: Workspace) -> None:
    zh = client(web_server, "zh")
    unknown = zh.get("/api/v1/kpis", params={"kpi": "nope"}).json()
    assert unknown["errors"][0]["field"] == "query.kpi"
    assert "未知的关键绩效指标 nope" in unknown["errors"][0]["message"]
    assert "oee" in unknown["errors"][0]["message"]  # what is allowed
    inverted = zh.get("/api/v1/kpis", params={"from": "2026-03-04", "to": "2026-03-02"}).json()
    assert "期间为空或颠倒" in inverted["errors"][0]["message"]
    level = zh.get("/api/v1/kpis", params={"by": "factory"}).json()
    assert "请从以下选项中选择" in level["errors"][0]["message"] and "line" in level["errors"][0]["message"]


def test_signing_in_is_required(web_server: Workspace) -> None:
    anonymous = TestClient(app_for(web_server))
    for path in ("/api/v1/kpis", "/api/v1/kpis/catalogue", "/api/v1/kpis/losses"):
        assert anonymous.get(path).status_code == 401


def test_openapi_declares_the_parameters_and_models(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/kpis"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"from", "to", "by", "per", "node", "kpi", "lang"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("KpiReport")
    assert {"400", "401", "422"} <= set(op["responses"])


# --- the CLI prints the API's documents ------------------------------------------------------


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """A store both the API (in this process) and the CLI (a subprocess) read: read-only, so both may."""
    folder = build_store(tmp_path_factory.mktemp("cli-and-api"), days=2.0)
    workspace = Workspace.open(folder, mode="read")
    yield client(workspace), folder
    workspace.close()


def _cli_json(folder: Path, *args: str) -> object:
    return json.loads(ok(cli(*args, "--store", str(folder), "--format", "json", cwd=folder.parent)).stdout)


def same_document(got: object, want: object, where: str = "") -> None:
    """The same JSON document: keys, order of lists, texts equal; numbers as ``same`` (sums of
    energy readings may differ in the last bit between two processes)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for key in want:
            same_document(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same_document(g, w, f"{where}[{i}]")
    else:
        assert type(got) is type(want) and same(got, want), (where, got, want)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"by": "equipment", "per": "shift", "kpi": "oee,mtbf", "from": "2026-03-02", "to": "2026-03-03"},
        {"by": "work_cell", "per": "window", "node": "OP10", "lang": "zh"},
        {"by": "line", "kpi": "availability,worker_efficiency", "from": "2026-03-03", "lang": "zh"},
        {
            "by": "equipment",
            "per": "day",
            "node": "L1",
            "from": "2026-03-02T06:00",
            "to": "2026-03-03T18:00+08:00",
        },
        {"by": "line", "per": "week", "kpi": "all", "lang": "en"},
    ],
)
def test_cli_kpi_json_is_the_api_document(
    shared_store: tuple[TestClient, Path], query: dict[str, str]
) -> None:
    api, folder = shared_store
    api.cookies.clear()  # a lang query leaves a language cookie; each query here says its own
    response = api.get("/api/v1/kpis", params=query)
    assert response.status_code == 200, response.text
    args = [a for name, value in query.items() for a in (f"--{name}", value)]
    same_document(_cli_json(folder, "kpi", *args), response.json())


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"by": "line", "lang": "zh"},
        {"by": "equipment", "node": "OP20", "from": "2026-03-02", "to": "2026-03-03T12:00", "lang": "en"},
        {"by": "work_cell", "from": "2026-03-03", "lang": "zh"},
    ],
)
def test_cli_losses_json_is_the_api_document(
    shared_store: tuple[TestClient, Path], query: dict[str, str]
) -> None:
    api, folder = shared_store
    api.cookies.clear()  # a lang query leaves a language cookie; each query here says its own
    response = api.get("/api/v1/kpis/losses", params=query)
    assert response.status_code == 200, response.text
    args = [a for name, value in query.items() for a in (f"--{name}", value)]
    same_document(_cli_json(folder, "kpi", "losses", *args), response.json())


# --- the cache -------------------------------------------------------------------------------


def test_the_cache_computes_a_key_once_per_store_version() -> None:
    cache, plant, calls = ResultCache(size=2), object(), []

    def compute(value: int) -> int:
        calls.append(value)
        return value

    assert cache.get((1,), plant, ("a",), lambda: compute(1)) == 1  # type: ignore[arg-type]
    assert cache.get((1,), plant, ("a",), lambda: compute(2)) == 1  # type: ignore[arg-type]
    assert cache.get((2,), plant, ("a",), lambda: compute(3)) == 3  # type: ignore[arg-type]
    assert calls == [1, 3]
    off = ResultCache(enabled=False)
    assert off.get((1,), plant, ("a",), lambda: compute(4)) == 4  # type: ignore[arg-type]
    assert off.get((1,), plant, ("a",), lambda: compute(5)) == 5  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace over a store of its own (1 simulated day): the test writes into it."""
    folder = build_store(tmp_path_factory.mktemp("kpi-cache-store"), days=1.0)
    workspace = Workspace(WorkspaceSettings(store=folder))
    yield workspace
    workspace.close()


def write_good_parts(workspace: Workspace, equipment: str, at: datetime, good: int) -> None:
    """One count event of ``good`` parts, written the way the workspace writes."""
    row = {
        "ts": [at],
        "equipment": [equipment],
        "order_id": [None],
        "product": [None],
        "good": [good],
        "scrap": [0],
        "rework": [0],
        "part_id": ["cache-test"],
    }
    with workspace.writing() as store:
        assert store.write(EventType.counts, pa.table(row)) == 1


def test_a_write_invalidates_cached_results(own_server: Workspace) -> None:
    api = client(own_server)
    params = {"from": "2026-03-02", "to": "2026-03-03", "kpi": ["quality_ratio"], "per": "window"}
    before = api.get("/api/v1/kpis", params=params).json()["rows"][0]
    cache = own_server.cache
    misses = cache.misses
    again = api.get("/api/v1/kpis", params=params).json()["rows"][0]
    assert again == before and cache.misses == misses  # served from the cache
    # 2026-03-02 10:00 Shanghai is 02:00 UTC: inside the day shift of the simulated day
    write_good_parts(own_server, "OP60-CMM", datetime(2026, 3, 2, 2, 0, 0, 123), 1000)
    after = api.get("/api/v1/kpis", params=params).json()["rows"][0]
    assert after["elements"]["GQ"] == before["elements"]["GQ"] + 1000
    assert after["values"]["quality_ratio"] != before["values"]["quality_ratio"]
    with own_server.telemetry() as store:
        want = compute_result(
            store,
            "2026-03-02",
            "2026-03-03",
            by="line",
            per="window",
            kpis=["quality_ratio"],
            plant=own_server.plant(),
        ).rows()[0]
    assert after["values"]["quality_ratio"] == want["quality_ratio"]


def test_the_version_gate_reads_once_for_waiting_requests_and_sees_writes(
    own_server: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = cache_module.read_version

    def counted(workspace: Workspace) -> object:
        reads.append(1)
        return real(workspace)

    monkeypatch.setattr(cache_module, "read_version", counted)

    async def scenario() -> None:
        gate = VersionGate(own_server)
        _plant, first = await gate.read()
        together = await asyncio.gather(*(gate.read() for _ in range(8)))
        assert {version for _plant, version in together} == {first}
        assert len(reads) <= 3  # the first read, then at most two for the eight waiting requests
        write_good_parts(own_server, "OP60-CMM", datetime(2026, 3, 2, 3, 0, 0, 77), 5)
        _plant, after = await gate.read()  # a read that began after the write
        assert after != first

    asyncio.run(scenario())
