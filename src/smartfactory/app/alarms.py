"""Alarms: each alarm's life from the stored events, and acknowledging or clearing one.

The store keeps alarm *events* (``raised``, ``acknowledged``, ``cleared``) keyed by equipment
and code. An alarm's life starts at a ``raised`` when the code is not already active and
ends at the next ``cleared``; a second ``raised`` while active is a repeat of the same life.
An alarm awaits acknowledgement until acknowledged, also after it returned to normal (ISA-18.2's
"returned, unacknowledged"); only an active alarm can be cleared.
Acknowledging and clearing from the app write events like the equipment's, with a message
saying who did it (``acknowledged by <user>``), so the store stays the one record.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
from pydantic import BaseModel, Field

from smartfactory.app.errors import conflict, invalid, not_found
from smartfactory.app.i18n import gettext as _
from smartfactory.app.telemetry import find_equipment, parse_time
from smartfactory.app.workspace import Workspace
from smartfactory.model.events import SCHEMAS, AlarmAction, EventType, Severity
from smartfactory.model.plant import Plant
from smartfactory.store import EventStore

AlarmState = Literal["raised", "acknowledged", "cleared"]
StateFilter = Literal["active", "all"]
DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
_BY = re.compile(r"^(?:acknowledged|cleared) by (?P<who>[A-Za-z0-9][A-Za-z0-9_.@-]{0,63})")
_TICK = timedelta(microseconds=1)

# One row per life. ``life`` numbers the lives of an (equipment, code): a raised event opens a
# new life only when no earlier life is open (there was no raise yet, or the latest clear is at or
# after the latest raise). Ties in time order raised < acknowledged < cleared.
_LIVES = """
WITH e AS (
    SELECT equipment, code, ts, severity, action, message,
           CASE action WHEN 'raised' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END AS rank
    FROM alarms WHERE {where}
), f AS (
    SELECT *,
        max(CASE WHEN action = 'raised' THEN ts END) OVER before AS last_raise,
        max(CASE WHEN action = 'cleared' THEN ts END) OVER before AS last_clear
    FROM e
    WINDOW before AS (PARTITION BY equipment, code ORDER BY ts, rank
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), g AS (
    SELECT *,
        sum(CASE WHEN action = 'raised' AND (last_raise IS NULL OR last_clear >= last_raise)
                 THEN 1 ELSE 0 END)
            OVER (PARTITION BY equipment, code ORDER BY ts, rank ROWS UNBOUNDED PRECEDING) AS life
    FROM f
), lives AS (
    -- the first value of each action by time: array_agg(...)[1], which both engines run
    SELECT equipment, code, life,
        min(ts) FILTER (WHERE action = 'raised') AS raised_at,
        (array_agg(severity ORDER BY ts) FILTER (WHERE action = 'raised'))[1] AS severity,
        (array_agg(message ORDER BY ts) FILTER (WHERE action = 'raised'))[1] AS message,
        min(ts) FILTER (WHERE action = 'acknowledged') AS acknowledged_at,
        (array_agg(message ORDER BY ts) FILTER (WHERE action = 'acknowledged'))[1] AS acknowledged_note,
        min(ts) FILTER (WHERE action = 'cleared') AS cleared_at,
        (array_agg(message ORDER BY ts) FILTER (WHERE action = 'cleared'))[1] AS cleared_note,
        max(ts) AS last_at
    FROM g WHERE life > 0 GROUP BY equipment, code, life
)
"""


class Alarm(BaseModel):
    """One alarm's life: raised, maybe acknowledged (by whom, when), maybe cleared."""

    equipment: str
    code: str
    severity: str = Field(description="critical, major, minor or warning")
    message: str | None = Field(None, description="the text raised with it")
    state: AlarmState = Field(description="cleared once cleared; else acknowledged once acknowledged")
    active: bool = Field(description="raised and not cleared")
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(None, description="the user who acknowledged it in the app")
    cleared_at: datetime | None = None
    cleared_by: str | None = Field(None, description="the user who cleared it in the app")

    @property
    def key(self) -> str:
        """``EQUIPMENT/CODE``, how pages name the alarm."""
        return f"{self.equipment}/{self.code}"


class AlarmList(BaseModel):
    """Alarms, newest raised first."""

    alarms: list[Alarm]
    total: int = Field(description="how many alarms match, the limit aside")
    truncated: bool = Field(description="true when there were more than the limit")


def list_alarms(
    store: EventStore,
    plant: Plant,
    equipment: str | None = None,
    state: StateFilter = "all",
    start: str | None = None,
    end: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AlarmList:
    """Alarms alive at some time in ``[start, end)`` (all by default), or only the active ones.

    A life counts with all its events, also those after ``end``: an alarm raised in the period
    and acknowledged later shows as acknowledged.
    """
    params: dict[str, Any] = {}
    where = "TRUE"
    if equipment is not None:
        where = "equipment = $equipment"
        params["equipment"] = find_equipment(plant, equipment, "query.equipment").id
    if state not in ("active", "all"):
        raise invalid("query.state", _("Choose one of: {expected}.").format(expected="active, all"))
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("query.limit", _("Enter a number from 1 to {high}.").format(high=MAX_LIMIT))
    tz = ZoneInfo(plant.plant.timezone)
    filters = []
    if start:
        params["lo"] = parse_time(start, "query.start", tz)
        filters.append("(cleared_at IS NULL OR cleared_at >= $lo)")
    if end:
        params["hi"] = parse_time(end, "query.end", tz)
        filters.append("raised_at < $hi")
    if start and end and params["hi"] <= params["lo"]:
        raise invalid("query.end", _("The end must be after the start."))
    if state == "active":
        filters.append("cleared_at IS NULL")
    sql = _LIVES.format(where=where) + "SELECT *, count(*) OVER () AS total FROM lives"
    if filters:
        sql += " WHERE " + " AND ".join(filters)
    sql += " ORDER BY raised_at DESC, equipment, code LIMIT $limit"
    params["limit"] = limit
    rows = store.query(sql, params).to_pylist()
    total = int(rows[0]["total"]) if rows else 0
    return AlarmList(alarms=[_alarm(r) for r in rows], total=total, truncated=total > len(rows))


def active_counts(store: EventStore) -> dict[str, int]:
    """Active alarms per equipment (equipment with none left out)."""
    sql = _LIVES.format(where="TRUE") + (
        "SELECT equipment, count(*) AS n FROM lives WHERE cleared_at IS NULL GROUP BY equipment"
    )
    return {row["equipment"]: int(row["n"]) for row in store.query(sql).to_pylist()}


def count_lives(store: EventStore, equipment: str, code: str) -> tuple[int, int]:
    """How many lives an alarm had, and how many of them are active."""
    sql = _LIVES.format(where="equipment = $equipment AND code = $code") + (
        "SELECT count(*) AS n, count(*) FILTER (WHERE cleared_at IS NULL) AS active FROM lives"
    )
    row = store.query(sql, {"equipment": equipment, "code": code}).to_pylist()[0]
    return int(row["n"]), int(row["active"])


def latest_life(store: EventStore, equipment: str, code: str) -> Alarm | None:
    """The latest life of an alarm, or None if it was never raised."""
    row = _latest_row(store, equipment, code)
    return _alarm(row) if row is not None else None


def _latest_row(store: EventStore, equipment: str, code: str) -> dict[str, Any] | None:
    sql = _LIVES.format(where="equipment = $equipment AND code = $code") + (
        "SELECT * FROM lives ORDER BY life DESC LIMIT 1"
    )
    rows = store.query(sql, {"equipment": equipment, "code": code}).to_pylist()
    return rows[0] if rows else None


def acknowledge(workspace: Workspace, equipment: str, code: str, username: str) -> Alarm:
    """Acknowledge an alarm not yet acknowledged, active or returned to normal (ISA-18.2); else a conflict."""
    return _act(workspace, equipment, code, username, AlarmAction.acknowledged)


def clear(workspace: Workspace, equipment: str, code: str, username: str) -> Alarm:
    """Clear an active alarm; a conflict (nothing written) when it is not active."""
    return _act(workspace, equipment, code, username, AlarmAction.cleared)


def raise_alarm(
    workspace: Workspace,
    equipment: str,
    code: str,
    severity: Severity,
    message: str,
    at: datetime | None = None,
) -> Alarm:
    """Raise an alarm as equipment would (a source's or a test's; the app has no route for it)."""
    plant = workspace.plant()
    found = find_equipment(plant, equipment, "equipment")
    moment = (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with workspace.writing() as store:
        _write(store, found.id, code, severity.value, AlarmAction.raised, message, moment)
        life = latest_life(store, found.id, code)
    assert life is not None
    return life


def _act(workspace: Workspace, equipment: str, code: str, username: str, action: AlarmAction) -> Alarm:
    found = find_equipment(workspace.plant(), equipment, "path.equipment")
    # read and write under the write lock, so two clicks cannot both acknowledge
    with workspace.writing() as store:
        row = _latest_row(store, found.id, code)
        if row is None:
            message = _("Equipment {equipment} has never raised alarm {code}.").format(
                equipment=found.id, code=code
            )
            raise not_found("path.code", message)
        life = _alarm(row)
        # ISA-18.2: an alarm that returned to normal unacknowledged still awaits acknowledgement;
        # only clearing needs it active
        if action is AlarmAction.cleared and not life.active:
            raise conflict(
                "path.code",
                _("Alarm {code} of {equipment} is not active: it was cleared.").format(
                    code=code, equipment=found.id
                ),
            )
        if action is AlarmAction.acknowledged and life.acknowledged_at is not None:
            raise conflict(
                "path.code",
                _("Alarm {code} of {equipment} is already acknowledged.").format(
                    code=code, equipment=found.id
                ),
            )
        # now, but never before the alarm's own events (stored data may lie in the future)
        moment = max(datetime.now(UTC).replace(tzinfo=None), row["last_at"] + _TICK)
        _write(store, found.id, code, life.severity, action, f"{action.value} by {username}", moment)
        updated = latest_life(store, found.id, code)
    assert updated is not None
    return updated


def _write(
    store: EventStore,
    equipment: str,
    code: str,
    severity: str,
    action: AlarmAction,
    message: str,
    moment: datetime,
) -> None:
    row = {
        "ts": [moment],
        "equipment": [equipment],
        "code": [code],
        "severity": [severity],
        "action": [action.value],
        "message": [message],
    }
    store.write(EventType.alarms, pa.table(row, schema=SCHEMAS[EventType.alarms]))


def _alarm(row: dict[str, Any]) -> Alarm:
    cleared = row["cleared_at"]
    acknowledged = row["acknowledged_at"]
    state: AlarmState = "cleared" if cleared is not None else "acknowledged" if acknowledged else "raised"
    return Alarm(
        equipment=row["equipment"],
        code=row["code"],
        severity=row["severity"],
        message=row["message"] or None,
        state=state,
        active=cleared is None,
        raised_at=row["raised_at"].replace(tzinfo=UTC),
        acknowledged_at=_aware(acknowledged),
        acknowledged_by=_who(row["acknowledged_note"]),
        cleared_at=_aware(cleared),
        cleared_by=_who(row["cleared_note"]),
    )


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _who(note: str | None) -> str | None:
    found = _BY.match(note or "")
    return found.group("who") if found else None
