"""Registry store: plants, their ISA-95 hierarchy, simulation runs and scenario runs, in SQL.

SQLite file by default (the embedded setup), PostgreSQL by URL for servers. The schema is
owned by the Alembic migrations in ``migrations/`` beside this module; ``Registry.open``
brings any database up to the newest revision before use.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict, TypeVar, cast

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeEngine

from smartfactory.model.errors import UserError
from smartfactory.model.hierarchy import TreeNode, build_tree
from smartfactory.model.plant import Level, Plant
from smartfactory.store.closing import Closing

MIGRATIONS = Path(__file__).with_name("migrations")

RunStatus = Literal["running", "finished", "failed"]
_Record = TypeVar("_Record")

_URL_HELP = "use a file path, sqlite:///path/to/registry.db or postgresql+psycopg://user@host/db"
# any fixed 64-bit number works: it only has to be the same for every smartfactory process
_MIGRATION_LOCK_KEY = 0x5F_5245_4749_5354
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_INT64 = (-(2**63), 2**63 - 1)
_BUSY_TIMEOUT_MS = 15_000


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes, store UTC (without offset on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always hand back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON, stored as JSONB on PostgreSQL so it can be indexed and queried."""
    return JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of the registry tables, with constraint names Alembic can find."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class PlantRow(Base):
    """A plant loaded from a plant file, with the file's path and hash for provenance."""

    __tablename__ = "plants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    industry: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    document: Mapped[dict[str, Any] | None] = mapped_column(json_type(), nullable=True)


class HierarchyNodeRow(Base):
    """One element of a plant's ISA-95 hierarchy; equipment flags are false above equipment."""

    __tablename__ = "hierarchy_nodes"
    __table_args__ = (
        ForeignKeyConstraint(["plant_id", "parent_id"], ["hierarchy_nodes.plant_id", "hierarchy_nodes.id"]),
    )

    plant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("plants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    name_en: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(32))
    is_key: Mapped[bool] = mapped_column(Boolean)
    networked: Mapped[bool] = mapped_column(Boolean)
    automated: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


class SimulationRunRow(Base):
    """One run of the digital twin: its inputs, where it wrote, and the true state it produced."""

    __tablename__ = "simulation_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plant_id: Mapped[str] = mapped_column(String(64), ForeignKey("plants.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    days: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wall_s: Mapped[float | None] = mapped_column(Float)
    store_path: Mapped[str] = mapped_column(Text)
    event_counts: Mapped[dict[str, Any]] = mapped_column(json_type())
    truth: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    status: Mapped[str] = mapped_column(String(16))


class ScenarioRunRow(Base):
    """One run of an AI or optimisation scenario; functions in ``store.scenario_runs`` use it."""

    __tablename__ = "scenario_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'finished', 'failed')", name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plant_id: Mapped[str] = mapped_column(String(64), ForeignKey("plants.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(64))
    official_scenario: Mapped[str] = mapped_column(String(64))
    uses_ai: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, Any]] = mapped_column(json_type())
    artefacts: Mapped[dict[str, Any]] = mapped_column(json_type())
    notes: Mapped[str | None] = mapped_column(Text)


class _Credential:
    """What a browser session and an API token share: the secret's SHA-256 as id, its owner, its age."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # a user's sign-ins and tokens go with the user
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserRow(Base):
    """A person who signs in to the web app; functions in ``store.accounts`` use it."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'engineer', 'admin')", name="role"),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSessionRow(_Credential, Base):
    """A signed-in browser; the cookie holds a token whose SHA-256 is the id."""

    __tablename__ = "web_sessions"

    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str | None] = mapped_column(String(64))


class ApiTokenRow(_Credential, Base):
    """A bearer token for scripts; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PlantRecord(TypedDict):
    """A row of ``plants``."""

    id: str
    name_en: str
    name_zh: str
    industry: str
    timezone: str
    source_path: str
    source_sha256: str
    loaded_at: datetime


class NodeRecord(TypedDict):
    """A row of ``hierarchy_nodes``; ``position`` is the depth-first order from the enterprise."""

    plant_id: str
    id: str
    parent_id: str | None
    level: str
    name_en: str
    name_zh: str
    kind: str | None
    is_key: bool
    networked: bool
    automated: bool
    position: int


class RunRecord(TypedDict):
    """A row of ``simulation_runs``."""

    id: str
    plant_id: str
    seed: int
    start: datetime
    days: float
    started_at: datetime
    finished_at: datetime | None
    wall_s: float | None
    store_path: str
    event_counts: dict[str, Any]
    truth: dict[str, Any] | None
    status: str


class Registry(Closing):
    """The registry database: open with ``Registry.open``, close with ``close`` or a ``with`` block."""

    def __init__(self, engine: Engine, shown_url: str) -> None:
        """Wrap an engine whose schema is already at head; use ``Registry.open`` instead."""
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.url = shown_url

    @classmethod
    def open(cls, url_or_path: str | Path) -> Registry:
        """Open a registry (file path, sqlite:/// or postgresql+psycopg:// URL), migrating it."""
        url = _database_url(url_or_path)
        shown = _shown(url)
        engine = _create_engine(url)
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    # two processes opening a fresh database at once must not both create tables
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
                _upgrade(connection)
        except DBAPIError as exc:
            engine.dispose()
            raise UserError(f"cannot open registry database {shown}: {_first_line(exc)}") from None
        except CommandError as exc:
            engine.dispose()
            raise UserError(
                f"registry database {shown} has a schema this smartfactory does not know "
                f"({_first_line(exc)}); upgrade smartfactory or use another database"
            ) from None
        return cls(engine, shown)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for packages that keep their own tables here."""
        return self._engine

    def save_plant(self, plant: Plant, source_path: str, source_sha256: str) -> None:
        """Insert or replace a plant and its whole hierarchy, all in one transaction."""
        if not _SHA256.match(source_sha256):
            raise ValueError(f"source_sha256 {source_sha256!r} is not 64 hex digits")
        info = plant.plant
        values: dict[str, Any] = {
            "id": info.id,
            "name_en": info.name.en,
            "name_zh": info.name.zh,
            "industry": info.industry,
            "timezone": info.timezone,
            "source_path": source_path,
            "source_sha256": source_sha256.lower(),
            "loaded_at": datetime.now(UTC),
            "document": plant.model_dump(mode="json", by_alias=True),
        }
        nodes = _node_rows(plant)
        with self._sessions.begin() as session:
            session.execute(_upsert_plant(self._engine.dialect.name, values))
            session.execute(delete(HierarchyNodeRow).where(HierarchyNodeRow.plant_id == info.id))
            # render_nulls keeps rows with and without NULLs in one executemany batch
            session.execute(insert(HierarchyNodeRow).execution_options(render_nulls=True), nodes)

    def list_plants(self) -> list[PlantRecord]:
        """Every plant in the registry, by id."""
        with self._sessions() as session:
            rows = session.scalars(select(PlantRow).order_by(PlantRow.id))
            return [row_record(row, PlantRecord) for row in rows]

    def get_plant(self, plant_id: str | None = None) -> Plant | None:
        """The stored plant (the only one when ``plant_id`` is None); None if there is none."""
        with self._sessions() as session:
            query = select(PlantRow)
            if plant_id is not None:
                query = query.where(PlantRow.id == plant_id)
            rows = list(session.scalars(query.order_by(PlantRow.id)))
        if not rows:
            return None
        if len(rows) > 1:
            raise UserError(
                f"the registry holds {len(rows)} plants ({', '.join(r.id for r in rows)}); name one"
            )
        if rows[0].document is None:
            raise UserError(f"plant {rows[0].id!r} was saved without its document; load its plant file again")
        return Plant.model_validate(rows[0].document)

    def get_plant_nodes(self, plant_id: str) -> list[NodeRecord]:
        """A plant's hierarchy nodes in depth-first order; empty if the plant is unknown."""
        with self._sessions() as session:
            rows = session.scalars(
                select(HierarchyNodeRow)
                .where(HierarchyNodeRow.plant_id == plant_id)
                .order_by(HierarchyNodeRow.position)
            )
            return [row_record(row, NodeRecord) for row in rows]

    def record_run(
        self,
        plant_id: str,
        seed: int,
        start: datetime,
        days: float,
        store_path: str,
        *,
        started_at: datetime | None = None,
    ) -> str:
        """Record a simulation run as running and return its new id (a UUID)."""
        if not _INT64[0] <= seed <= _INT64[1]:
            raise UserError(f"seed {seed} does not fit in a signed 64-bit integer")
        require_aware("start", start)
        require_aware("started_at", started_at)
        return self.add_plant_run(
            SimulationRunRow(
                plant_id=plant_id,
                seed=seed,
                start=start,
                days=days,
                started_at=started_at or datetime.now(UTC),
                finished_at=None,
                wall_s=None,
                store_path=store_path,
                event_counts={},
                truth=None,
                status="running",
            )
        )

    def add_plant_run(self, row: SimulationRunRow | ScenarioRunRow) -> str:
        """Insert a run row under a new id (a UUID) and return the id; its plant must be in the registry."""
        row.id = str(uuid.uuid4())
        with self._sessions.begin() as session:
            if session.get(PlantRow, row.plant_id) is None:
                raise UserError(
                    f"plant {row.plant_id!r} is not in the registry {self.url}; save the plant first"
                )
            session.add(row)
        return row.id

    def finish_run(
        self,
        run_id: str,
        *,
        event_counts: Mapping[str, int],
        truth: Mapping[str, Any] | None = None,
        status: RunStatus = "finished",
        finished_at: datetime | None = None,
        wall_s: float | None = None,
    ) -> None:
        """Mark a running run finished or failed, with its event counts and true state."""
        if status == "running":
            raise ValueError("finish_run needs status 'finished' or 'failed'")
        require_aware("finished_at", finished_at)
        with self._sessions.begin() as session:
            row = session.get(SimulationRunRow, run_id, with_for_update=True)
            if row is None:
                raise KeyError(f"no simulation run {run_id!r} in the registry {self.url}")
            if row.status != "running":
                raise ValueError(f"simulation run {run_id!r} is already {row.status}")
            row.finished_at = finished_at or datetime.now(UTC)
            row.wall_s = wall_s if wall_s is not None else (row.finished_at - row.started_at).total_seconds()
            row.event_counts = dict(event_counts)
            row.truth = dict(truth) if truth is not None else None
            row.status = status

    def get_run(self, run_id: str) -> RunRecord | None:
        """One simulation run, or None if there is no run with that id."""
        with self._sessions() as session:
            row = session.get(SimulationRunRow, run_id)
            return row_record(row, RunRecord) if row is not None else None

    def list_runs(self, plant_id: str | None = None) -> list[RunRecord]:
        """Simulation runs, newest first; only one plant's when ``plant_id`` is given."""
        query = select(SimulationRunRow).order_by(SimulationRunRow.started_at.desc(), SimulationRunRow.id)
        if plant_id is not None:
            query = query.where(SimulationRunRow.plant_id == plant_id)
        with self._sessions() as session:
            return [row_record(row, RunRecord) for row in session.scalars(query)]

    def close(self) -> None:
        """Close every pooled connection; the registry cannot be used afterwards."""
        self._engine.dispose()


# --- opening ----------------------------------------------------------------------------


def _database_url(url_or_path: str | Path) -> URL:
    if isinstance(url_or_path, Path) or "://" not in url_or_path:
        path = Path(url_or_path).expanduser()
        if not path.parent.is_dir():
            raise UserError(f"cannot open registry database {path}: folder {path.parent} does not exist")
        return URL.create("sqlite+pysqlite", database=str(path.absolute()))
    try:
        url = make_url(url_or_path)
    except (ArgumentError, ValueError):
        raise UserError(f"{_mask(url_or_path)} is not a database URL; {_URL_HELP}") from None
    if url.drivername in ("postgres", "postgresql"):
        # psycopg 3 is the driver this project ships with; psycopg2 is not installed
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise UserError(f"unsupported registry database URL {_shown(url)}; {_URL_HELP}")
    if url.get_backend_name() == "sqlite" and not _in_memory(url):
        folder = Path(str(url.database)).expanduser().parent
        if not folder.is_dir():
            raise UserError(f"cannot open registry database {_shown(url)}: folder {folder} does not exist")
    return url


def _in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        # fail fast on an unreachable server instead of waiting for the OS TCP timeout
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    if _in_memory(url):
        # one shared connection, or every new connection would see a new empty database
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url)
    _make_sqlite_transactional(engine)
    return engine


def _make_sqlite_transactional(engine: Engine) -> None:
    # sqlite3's legacy mode neither enforces foreign keys nor wraps DDL in the transaction,
    # so a failed migration or save could be left half-done; SQLAlchemy's documented recipe
    # A served registry has many threads: a transaction that read first and then writes cannot
    # wait for another writer (SQLite answers "database is locked" at once to avoid a deadlock),
    # so transactions take the write lock when they begin, and wait up to the busy timeout for
    # it; WAL lets the reads outside transactions (session look-ups) go on beside a writer.
    file_backed = not _in_memory(engine.url)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        if file_backed:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # a read outside a transaction: one statement, one snapshot
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(connection: Connection) -> None:
    config = Config()
    # ConfigParser would read a '%' in the install path as interpolation
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _shown(url: URL) -> str:
    if url.get_backend_name() == "sqlite" and not _in_memory(url):
        return str(url.database)
    return url.render_as_string(hide_password=True)


def _mask(raw: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", raw)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def require_aware(name: str, value: datetime | None) -> None:
    """Refuse a datetime without a time zone (None passes)."""
    # checked here because SQLAlchemy would wrap the bind-time ValueError in a StatementError
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} {value.isoformat()} has no time zone; pass an aware datetime")


# --- rows -------------------------------------------------------------------------------


def _upsert_plant(dialect_name: str, values: dict[str, Any]) -> Executable:
    # INSERT .. ON CONFLICT takes the row lock, so concurrent saves of one plant serialise
    # instead of racing a SELECT-then-INSERT into a duplicate-key error
    if dialect_name == "postgresql":
        pg = postgresql.insert(PlantRow).values(values)
        return pg.on_conflict_do_update(
            index_elements=[PlantRow.id],
            set_={key: pg.excluded[key] for key in values if key != "id"},
        )
    lite = sqlite.insert(PlantRow).values(values)
    return lite.on_conflict_do_update(
        index_elements=[PlantRow.id],
        set_={key: lite.excluded[key] for key in values if key != "id"},
    )


def _node_rows(plant: Plant) -> list[dict[str, Any]]:
    equipment = plant.equipment_by_id()
    rows: list[dict[str, Any]] = []

    def visit(node: TreeNode, parent_id: str | None) -> None:
        item = equipment.get(node.id) if node.level == Level.equipment else None
        rows.append(
            {
                "plant_id": plant.plant.id,
                "id": node.id,
                "parent_id": parent_id,
                "level": node.level.value,
                "name_en": node.name.en,
                "name_zh": node.name.zh,
                "kind": item.kind.value if item else None,
                "is_key": item.key if item else False,
                "networked": item.networked if item else False,
                "automated": item.automated if item else False,
                "position": len(rows),
            }
        )
        for child in node.children:
            visit(child, node.id)

    visit(build_tree(plant), None)
    return rows


def row_record(row: Base, record: type[_Record]) -> _Record:
    """The ``TypedDict`` record of a row: each of the record's keys read from the column of that name."""
    return cast(_Record, {key: getattr(row, key) for key in record.__annotations__})


# --- the self-assessment (migration 0005; functions in ``store.answers`` use these) ---------


class AssessmentAnswerRow(Base):
    """One saved answer of the self-assessment questionnaire, kept as it is typed."""

    __tablename__ = "assessment_answers"

    framework: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(json_type())
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssessmentRow(Base):
    """One submitted assessment: its level, CMMM grade, who and when, and the whole JSON report."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    framework: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str | None] = mapped_column(String(16))
    cmmm_grade: Mapped[int | None] = mapped_column(Integer)
    cmmm_total: Mapped[float] = mapped_column(Float)
    lang: Mapped[str] = mapped_column(String(8))
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any]] = mapped_column(json_type())
