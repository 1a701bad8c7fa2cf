"""Registry store: migrations, plant and run round trips, atomic re-saves; SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, text

from services import head_revision
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant, parse_plant
from smartfactory.store.registry import Base, Registry

EXAMPLE_PLANT = Path(__file__).resolve().parents[2] / "examples" / "plants" / "discrete_machining.toml"

# small on purpose: every node and flag below is checked by hand
PLANT_TOML = """
schema = "smartfactory.plant/1"

[plant]
id = "demo-machining"
name = { en = "Demo machining plant", zh = "演示机加工厂" }
industry = "discrete"
timezone = "Asia/Shanghai"

[enterprise]
id = "acme"
name = { en = "Acme Precision", zh = "艾克米精密" }

[[site]]
id = "suzhou"
name = { en = "Suzhou site", zh = "苏州基地" }
parent = "acme"

[[area]]
id = "machining"
name = { en = "Machining", zh = "机加工车间" }
parent = "suzhou"

[[line]]
id = "line-1"
name = { en = "Line 1", zh = "一号线" }
parent = "machining"
calendar = "two-shift"

[[work_cell]]
id = "turning"
name = { en = "Turning", zh = "车削" }
parent = "line-1"

[[work_cell]]
id = "milling"
name = { en = "Milling", zh = "铣削" }
parent = "line-1"

[[equipment]]
id = "lathe-1"
name = { en = "CNC lathe 1", zh = "数控车床1" }
parent = "turning"
kind = "cnc_lathe"
key = true

[[equipment]]
id = "mill-1"
name = { en = "Machining centre 1", zh = "加工中心1" }
parent = "milling"
kind = "cnc_machining_centre"
networked = false

[[equipment]]
id = "mill-2"
name = { en = "Machining centre 2", zh = "加工中心2" }
parent = "milling"
kind = "cnc_machining_centre"
automated = false

[[calendar]]
id = "two-shift"
name = { en = "Two shifts", zh = "两班制" }
days = ["mon", "tue", "wed", "thu", "fri"]
shifts = [
  { id = "day", name = { en = "Day", zh = "白班" }, start = "08:00", end = "16:00" },
  { id = "late", name = { en = "Late", zh = "中班" }, start = "16:00", end = "00:00" },
]

[[reason]]
code = "planned"
name = { en = "Planned stop", zh = "计划停机" }
kind = "planned"

[[reason]]
code = "no-shift"
name = { en = "No shift", zh = "非班次" }
parent = "planned"
role = "no_shift"

[[reason]]
code = "unplanned"
name = { en = "Unplanned stop", zh = "非计划停机" }
kind = "unplanned"

[[product]]
id = "shaft"
name = { en = "Shaft", zh = "轴" }

[[routing]]
product = "shaft"
line = "line-1"
steps = [
  { work_cell = "turning", cycle_s = 60 },
  { work_cell = "milling", cycle_s = 90, setup_s = 600 },
]

[demand]
products = ["shaft"]
quantity = [10, 50]
per_day = 4
"""

# (id, parent, level, kind, is_key, networked, automated) in depth-first file order
EXPECTED_NODES = [
    ("acme", None, "enterprise", None, False, False, False),
    ("suzhou", "acme", "site", None, False, False, False),
    ("machining", "suzhou", "area", None, False, False, False),
    ("line-1", "machining", "line", None, False, False, False),
    ("turning", "line-1", "work_cell", None, False, False, False),
    ("lathe-1", "turning", "equipment", "cnc_lathe", True, True, True),
    ("milling", "line-1", "work_cell", None, False, False, False),
    ("mill-1", "milling", "equipment", "cnc_machining_centre", False, False, True),
    ("mill-2", "milling", "equipment", "cnc_machining_centre", False, True, False),
]


def sha256(text: str) -> str:
    """Hash of a plant file's text, as the loader would record it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def node_tuples(nodes: list[Any]) -> list[tuple[Any, ...]]:
    """The hand-checked columns of each node."""
    return [
        (
            n["id"],
            n["parent_id"],
            n["level"],
            n["kind"],
            n["is_key"],
            n["networked"],
            n["automated"],
        )
        for n in nodes
    ]


# the second version drops mill-2, renames the plant and adds a grinder cell
PLANT_V2_TOML = (
    PLANT_TOML.replace('en = "Demo machining plant"', 'en = "Demo machining plant v2"')
    .replace(
        """[[equipment]]
id = "mill-2"
name = { en = "Machining centre 2", zh = "加工中心2" }
parent = "milling"
kind = "cnc_machining_centre"
automated = false
""",
        """[[work_cell]]
id = "grinding"
name = { en = "Grinding", zh = "磨削" }
parent = "line-1"

[[equipment]]
id = "grinder-1"
name = { en = "Grinder 1", zh = "磨床1" }
parent = "grinding"
kind = "grinder"
key = true
""",
    )
    .replace(
        '{ work_cell = "milling", cycle_s = 90, setup_s = 600 },',
        '{ work_cell = "milling", cycle_s = 90, setup_s = 600 },\n'
        '  { work_cell = "grinding", cycle_s = 45 },',
    )
)


@pytest.fixture(scope="module")
def plant() -> Plant:
    """The small hand-checked plant."""
    return parse_plant(PLANT_TOML, "demo.toml")


@pytest.fixture(scope="module")
def plant_v2() -> Plant:
    """The same plant, edited: one machine gone, one cell and machine added, renamed."""
    return parse_plant(PLANT_V2_TOML, "demo.toml")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh registry database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    """An open registry on a fresh database, closed after the test."""
    opened = Registry.open(database_url)
    yield opened
    opened.close()


# --- migrations ---------------------------------------------------------------------------


def test_migrations_create_the_schema_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    Registry.open(path).close()
    registry = Registry.open(path)  # a second open finds the schema at head and changes nothing
    try:
        with registry.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            version = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        registry.close()
    assert {"plants", "hierarchy_nodes", "simulation_runs", "alembic_version"} <= tables
    assert version == [(head_revision(),)]


def test_migrated_schema_matches_the_models(registry: Registry) -> None:
    with registry.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path / "registry.db")
    try:
        with registry.engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        registry.close()


def test_in_memory_sqlite_keeps_its_schema_across_calls(plant: Plant) -> None:
    with Registry.open("sqlite://") as registry:
        registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
        assert [p["id"] for p in registry.list_plants()] == ["demo-machining"]


# --- plants -------------------------------------------------------------------------------


def test_plant_round_trip(registry: Registry, plant: Plant) -> None:
    before = datetime.now(UTC)
    registry.save_plant(plant, "plants/demo.toml", sha256(PLANT_TOML))

    [record] = registry.list_plants()
    assert record["id"] == "demo-machining"
    assert (record["name_en"], record["name_zh"]) == ("Demo machining plant", "演示机加工厂")
    assert (record["industry"], record["timezone"]) == ("discrete", "Asia/Shanghai")
    assert record["source_path"] == "plants/demo.toml"
    assert record["source_sha256"] == sha256(PLANT_TOML)
    assert record["loaded_at"].tzinfo is not None
    assert before - timedelta(seconds=5) <= record["loaded_at"] <= datetime.now(UTC)

    nodes = registry.get_plant_nodes("demo-machining")
    assert node_tuples(nodes) == EXPECTED_NODES
    assert [n["position"] for n in nodes] == list(range(len(EXPECTED_NODES)))
    assert {n["plant_id"] for n in nodes} == {"demo-machining"}
    lathe = nodes[5]
    assert (lathe["name_en"], lathe["name_zh"]) == ("CNC lathe 1", "数控车床1")


def test_unknown_plant_has_no_nodes(registry: Registry) -> None:
    assert registry.get_plant_nodes("no-such-plant") == []
    assert registry.list_plants() == []


def test_resaving_a_plant_replaces_its_hierarchy(registry: Registry, plant: Plant, plant_v2: Plant) -> None:
    registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
    registry.save_plant(plant_v2, "demo-v2.toml", sha256(PLANT_V2_TOML))

    [record] = registry.list_plants()
    assert record["name_en"] == "Demo machining plant v2"
    assert record["source_path"] == "demo-v2.toml"
    assert record["source_sha256"] == sha256(PLANT_V2_TOML)
    ids = [n["id"] for n in registry.get_plant_nodes("demo-machining")]
    assert ids == [
        "acme", "suzhou", "machining", "line-1",
        "turning", "lathe-1", "milling", "mill-1", "grinding", "grinder-1",
    ]  # fmt: skip
    assert "mill-2" not in ids


def test_a_failure_mid_save_leaves_the_previous_copy_intact(
    registry: Registry, plant: Plant, plant_v2: Plant
) -> None:
    registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
    before_plants = registry.list_plants()
    before_nodes = registry.get_plant_nodes("demo-machining")

    # break the save after the plant row is updated and the old nodes are deleted
    def fail_on_node_insert(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO HIERARCHY_NODES"):
            raise RuntimeError("disk full (injected)")

    event.listen(registry.engine, "before_cursor_execute", fail_on_node_insert)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            registry.save_plant(plant_v2, "demo-v2.toml", sha256(PLANT_V2_TOML))
    finally:
        event.remove(registry.engine, "before_cursor_execute", fail_on_node_insert)

    assert registry.list_plants() == before_plants
    assert registry.get_plant_nodes("demo-machining") == before_nodes


def test_two_plants_keep_separate_hierarchies(registry: Registry, plant: Plant) -> None:
    other = parse_plant(PLANT_TOML.replace('id = "demo-machining"', 'id = "other-plant"'))
    registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
    registry.save_plant(other, "other.toml", sha256("other"))
    assert [p["id"] for p in registry.list_plants()] == ["demo-machining", "other-plant"]
    assert node_tuples(registry.get_plant_nodes("other-plant")) == EXPECTED_NODES
    assert node_tuples(registry.get_plant_nodes("demo-machining")) == EXPECTED_NODES


def test_a_bad_hash_is_refused(registry: Registry, plant: Plant) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        registry.save_plant(plant, "demo.toml", "not-a-hash")


@pytest.mark.skipif(not EXAMPLE_PLANT.exists(), reason="examples/plants/discrete_machining.toml absent")
def test_example_plant_round_trip(registry: Registry) -> None:
    example = load_plant(EXAMPLE_PLANT)
    registry.save_plant(example, str(EXAMPLE_PLANT), sha256(EXAMPLE_PLANT.read_text("utf-8")))
    nodes = registry.get_plant_nodes(example.plant.id)
    expected_count = 1 + sum(
        len(items)
        for items in (
            example.sites,
            example.areas,
            example.lines,
            example.work_cells,
            example.equipment,
        )
    )
    assert len(nodes) == expected_count
    by_id = {n["id"]: n for n in nodes}
    for item in example.equipment:
        node = by_id[item.id]
        assert node["parent_id"] == item.parent
        assert (node["kind"], node["is_key"], node["networked"], node["automated"]) == (
            item.kind.value, item.key, item.networked, item.automated,
        )  # fmt: skip
    seen: set[str] = set()
    for node in nodes:  # depth-first: every parent comes before its children
        assert node["parent_id"] is None or node["parent_id"] in seen
        seen.add(node["id"])


# --- simulation runs ------------------------------------------------------------------------


def test_run_round_trip(registry: Registry, plant: Plant) -> None:
    registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
    start = datetime(2025, 3, 3, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    started_at = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    run_id = registry.record_run(
        "demo-machining", 42, start, 7.5, "/data/telemetry.duckdb", started_at=started_at
    )

    running = registry.get_run(run_id)
    assert running is not None
    assert running["status"] == "running"
    assert running["start"] == start and running["start"].tzinfo == UTC
    assert (running["seed"], running["days"]) == (42, 7.5)
    assert running["started_at"] == started_at
    assert (running["finished_at"], running["wall_s"], running["truth"]) == (None, None, None)
    assert running["event_counts"] == {}

    truth = {
        "lathe-1": {
            "seconds": {"running": 3600.5, "unplanned_down": 120.0},
            "good": 57,
            "scrap": 2,
        },
        "mill-1": {"seconds": {"running": 1800.0}, "good": 30, "scrap": 0},
    }
    counts = {"state": 120, "cycle": 89, "alarm": 3}
    registry.finish_run(
        run_id,
        event_counts=counts,
        truth=truth,
        finished_at=started_at + timedelta(seconds=90),
    )
    finished = registry.get_run(run_id)
    assert finished is not None
    assert finished["status"] == "finished"
    assert finished["finished_at"] == started_at + timedelta(seconds=90)
    assert finished["wall_s"] == pytest.approx(90.0)
    assert finished["event_counts"] == counts
    assert finished["truth"] == truth
    assert finished["id"] == run_id and finished["plant_id"] == "demo-machining"

    assert [r["id"] for r in registry.list_runs()] == [run_id]
    assert [r["id"] for r in registry.list_runs("demo-machining")] == [run_id]
    assert registry.list_runs("other-plant") == []


def test_runs_are_listed_newest_first_and_survive_a_plant_resave(
    registry: Registry, plant: Plant, plant_v2: Plant
) -> None:
    registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    first = registry.record_run("demo-machining", 1, t0, 1.0, "a", started_at=t0)
    second = registry.record_run("demo-machining", 2, t0, 1.0, "b", started_at=t0 + timedelta(hours=1))
    registry.finish_run(first, event_counts={}, status="failed", wall_s=1.25)
    registry.save_plant(plant_v2, "demo.toml", sha256(PLANT_V2_TOML))

    runs = registry.list_runs("demo-machining")
    assert [r["id"] for r in runs] == [second, first]
    assert (runs[1]["status"], runs[1]["wall_s"]) == ("failed", 1.25)


def test_run_mistakes_are_refused(registry: Registry, plant: Plant) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(UserError, match="not in the registry"):
        registry.record_run("demo-machining", 1, t0, 1.0, "a")
    registry.save_plant(plant, "demo.toml", sha256(PLANT_TOML))
    with pytest.raises(ValueError, match="no time zone"):
        registry.record_run("demo-machining", 1, datetime(2025, 1, 1), 1.0, "a")
    with pytest.raises(UserError, match="64-bit"):
        registry.record_run("demo-machining", 2**64, t0, 1.0, "a")
    run_id = registry.record_run("demo-machining", 1, t0, 1.0, "a")
    with pytest.raises(ValueError, match="'finished' or 'failed'"):
        registry.finish_run(run_id, event_counts={}, status="running")
    registry.finish_run(run_id, event_counts={"state": 1})
    with pytest.raises(ValueError, match="already finished"):
        registry.finish_run(run_id, event_counts={"state": 2})
    with pytest.raises(KeyError):
        registry.finish_run("no-such-run", event_counts={})
    assert registry.get_run("no-such-run") is None


# --- user errors when opening ----------------------------------------------------------------


def test_an_unreachable_server_is_a_one_line_user_error_without_the_password() -> None:
    url = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/registry"
    with pytest.raises(UserError) as caught:
        Registry.open(url)
    message = str(caught.value)
    assert "postgresql+psycopg://bob:***@127.0.0.1:1/registry" in message
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://bob:s3cret@db.example/registry", "mysql://bob:***@db.example/registry"),
        ("postgresql+psycopg://bob:s3cret@db:port/x", "postgresql+psycopg://bob:***@db:port/x"),
        ("::not a url://bob:s3cret@x/y", "bob:***@x/y"),
    ],
)
def test_unsupported_or_malformed_urls_are_user_errors(url: str, shown: str) -> None:
    with pytest.raises(UserError) as caught:
        Registry.open(url)
    message = str(caught.value)
    assert shown in message
    assert "s3cret" not in message and "\n" not in message


def test_a_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "registry.db"
    with pytest.raises(UserError, match="no-such-folder"):
        Registry.open(missing)
    with pytest.raises(UserError, match="does not exist"):
        Registry.open(f"sqlite:///{missing}")


def test_a_file_that_is_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    path.write_bytes(b"this is a plant file, not a database\n" * 100)
    with pytest.raises(UserError, match=r"cannot open registry database .*registry\.db"):
        Registry.open(path)


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist_is_a_user_error(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/sf_no_such_database"
    with pytest.raises(UserError, match="sf_no_such_database"):
        Registry.open(missing)


def test_a_saved_plant_comes_back_whole(registry: Registry) -> None:
    plant = load_plant(EXAMPLE_PLANT)
    registry.save_plant(plant, str(EXAMPLE_PLANT), "0" * 64)
    assert registry.get_plant() == plant
    assert registry.get_plant(plant.plant.id) == plant
    assert registry.get_plant("no-such-plant") is None
