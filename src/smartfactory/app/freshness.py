"""How fresh the stored data is: the newest event per table and per equipment, how old it is, stale or not.

A live dashboard whose feed stopped looks exactly like one whose plant is quiet; the freshness
says which. Event times are the plant's (stored in UTC, answered in plant time); ages are
measured against the server's clock (``now``, which tests inject). The thresholds are data
(``app/data/freshness.toml``), with the pages' polling intervals beside them.

``version`` names the store version the KPI results are cached under: a client that saw another
one knows new events were committed (the overview page refetches its tiles and charts then).
``unchanged_s`` is how long this server has seen that same version: the page polls less often
while nothing changes.
"""

from __future__ import annotations

import hashlib
import threading
import tomllib
import weakref
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from smartfactory.app.cache import Snapshot, snapshot
from smartfactory.app.workspace import Workspace
from smartfactory.model.events import EventType
from smartfactory.store import EventStore, PgTelemetryStore

# the column that says how far a table's data reaches: a state holds until its end
NEWEST_COLUMN: dict[EventType, str] = {
    EventType.states: "end",
    EventType.counts: "ts",
    EventType.measurements: "ts",
    EventType.alarms: "ts",
}
# look for each machine's newest event in these windows before the table's newest first: the
# zone maps skip the rest of the table, so a live store answers in milliseconds however long
# its history; only a machine silent for longer than the last window costs a full scan
WINDOWS_S = (3_600, 86_400)


class LiveSettings(BaseModel):
    """The stale threshold and the pages' polling intervals (``app/data/freshness.toml``), in seconds."""

    stale_after_s: float = Field(gt=0)
    poll_s: float = Field(gt=0)
    idle_after_s: float = Field(gt=0)
    idle_poll_s: float = Field(gt=0)


@cache
def live_settings() -> LiveSettings:
    """The settings shipped in smartfactory/app/data/freshness.toml (read once)."""
    raw = tomllib.loads((resources.files("smartfactory.app") / "data" / "freshness.toml").read_text("utf-8"))
    values: dict[str, Any] = {}
    for name in LiveSettings.model_fields:
        item = raw[name]
        if item.get("confidence") not in ("V", "S", "U"):
            raise ValueError(f"freshness.toml: {name}: confidence must be V, S or U")
        values[name] = item["value"]
    return LiveSettings(**values)


class TableFreshness(BaseModel):
    """The newest event of one table (states by their end, the others by their time)."""

    table: str = Field(description="states, counts, measurements or alarms")
    newest: datetime | None = Field(description="plant time, with its offset; null: the table is empty")
    age_s: float | None = Field(description="seconds from newest to now (negative: ahead of the server)")


class EquipmentFreshness(BaseModel):
    """The newest event of one machine, over every table."""

    equipment: str
    newest: datetime | None = Field(description="plant time, with its offset; null: nothing stored")
    age_s: float | None
    stale: bool = Field(description="nothing stored, or the newest event is older than stale_after_s")


class Freshness(BaseModel):
    """How fresh the stored data is, as of ``now``."""

    plant: str
    timezone: str = Field(description="the plant's IANA time zone; every time here is in it")
    now: datetime = Field(description="the server's clock the ages are measured against")
    as_of: datetime | None = Field(description="the newest stored event of any table; null: none")
    age_s: float | None = Field(description="seconds from as_of to now")
    stale: bool = Field(description="no event stored, or the newest is older than stale_after_s")
    stale_after_s: float
    version: str = Field(description="changes whenever states, counts or measurements are committed")
    unchanged_s: float = Field(
        description="seconds this server has seen the same version (0: it just changed)"
    )
    tables: list[TableFreshness]
    equipment: list[EquipmentFreshness] = Field(description="every machine of the plant, in plant order")


def version_token(version: tuple[Any, ...]) -> str:
    """A short name for a store version (the cache's key), safe to show to clients."""
    return hashlib.blake2b(repr(version).encode(), digest_size=8).hexdigest()


def freshness(
    workspace: Workspace, now: datetime | None = None, stale_after_s: float | None = None
) -> Freshness:
    """The newest stored event per table and per machine, its age at ``now`` (default: the clock)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    threshold = stale_after_s if stale_after_s is not None else live_settings().stale_after_s
    with snapshot(workspace) as snap:
        plant = snap.plant
        tz = ZoneInfo(plant.plant.timezone)
        if isinstance(snap.db, PgTelemetryStore):
            # max() scans there, but its version counts every table's writes (alarms too): cached by it
            marks = snap.cached(("table-newest",), lambda: _table_newest(snap.db))
        else:
            marks = _table_newest(snap.db)  # DuckDB answers from column statistics
        # the alarms are outside the version (the KPIs do not read them): their newest is in the key
        by_equipment = snap.cached(("freshness", marks), lambda: _equipment_newest(snap, marks))
        token = version_token(snap.version)

    def age(newest: datetime | None) -> float | None:
        return None if newest is None else (moment - newest.replace(tzinfo=UTC)).total_seconds()

    def local(newest: datetime | None) -> datetime | None:
        return None if newest is None else newest.replace(tzinfo=UTC).astimezone(tz)

    def stale(newest: datetime | None) -> bool:
        found = age(newest)
        return found is None or found > threshold

    tables = [TableFreshness(table=t.value, newest=local(n), age_s=age(n)) for t, n in marks]
    known = [e.id for e in plant.equipment]
    extra = sorted(set(by_equipment) - set(known))  # stored for machines the plant no longer has
    machines = []
    for eq in [*known, *extra]:
        last = by_equipment.get(eq)
        machines.append(
            EquipmentFreshness(equipment=eq, newest=local(last), age_s=age(last), stale=stale(last))
        )
    newest = max((n for _t, n in marks if n is not None), default=None)
    return Freshness(
        plant=plant.plant.id,
        timezone=plant.plant.timezone,
        now=moment.astimezone(tz),
        as_of=local(newest),
        age_s=age(newest),
        stale=stale(newest),
        stale_after_s=threshold,
        version=token,
        unchanged_s=_unchanged_for(workspace, token, moment),
        tables=tables,
        equipment=machines,
    )


def _table_newest(store: EventStore) -> tuple[tuple[EventType, datetime | None], ...]:
    """Each table's newest time: one query that DuckDB answers from its column statistics."""
    parts = ", ".join(f'(SELECT max("{c}") FROM {t.value}) AS {t.value}' for t, c in NEWEST_COLUMN.items())
    row = store.query(f"SELECT {parts}").to_pylist()[0]
    return tuple((t, row[t.value]) for t in NEWEST_COLUMN)


def _equipment_newest(
    snap: Snapshot, marks: tuple[tuple[EventType, datetime | None], ...]
) -> dict[str, datetime]:
    """Each machine's newest event (UTC, naive) over every table."""
    wanted = {e.id for e in snap.plant.equipment}
    out: dict[str, datetime] = {}
    for table, top in marks:
        if top is None:
            continue
        column = NEWEST_COLUMN[table]
        found: dict[str, datetime] = {}
        for window in (*WINDOWS_S, None):
            where, params = "", {}
            if window is not None:
                where, params = f'WHERE "{column}" >= $since', {"since": top - timedelta(seconds=window)}
            rows = snap.db.query(
                f'SELECT equipment, max("{column}") AS newest FROM {table.value} {where} GROUP BY equipment',
                params,
            )
            found = dict(zip(rows["equipment"].to_pylist(), rows["newest"].to_pylist(), strict=True))
            if wanted <= found.keys():
                break
        for eq, newest in found.items():
            if eq not in out or newest > out[eq]:
                out[eq] = newest
    return out


# per workspace: the version last seen and when it was first seen (the server's own memory: the
# store records no commit times)
_seen: weakref.WeakKeyDictionary[Workspace, tuple[str, datetime]] = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def _unchanged_for(workspace: Workspace, token: str, now: datetime) -> float:
    with _seen_lock:
        last = _seen.get(workspace)
        if last is None or last[0] != token:
            _seen[workspace] = (token, now)
            return 0.0
        return max(0.0, (now - last[1]).total_seconds())
