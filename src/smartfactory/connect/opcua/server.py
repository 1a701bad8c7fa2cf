"""The digital twin as a real OPC UA server: the plant's hierarchy as objects, its signals as variables.

Address space (namespace ``urn:smartfactory:<plant id>``, index ``ns``, 2 on a fresh asyncua server)::

    Objects/<enterprise>/<site>/<area>/<line>/<work cell>/<equipment>/<signal>
        NodeId of a variable:  ns=<ns>;s=<equipment>.<signal>
        NodeId of an object:   ns=<ns>;s=<level>:<id>

Per equipment: each signal (Double, its energy meter's counter included), ``state`` (String, a
state name), ``good_count`` / ``scrap_count`` / ``rework_count`` (UInt64, cumulative). Values carry
the event time as SourceTimestamp. Until the twin writes a variable its status is
BadWaitingForInitialData (the counters start at 0).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pyarrow as pa
from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from asyncua.ua.status_codes import StatusCodes

from smartfactory.connect.opcua.config import (
    GOOD_COUNT,
    RESERVED_ORDER,
    REWORK_COUNT,
    SCRAP_COUNT,
    STATE_SIGNAL,
)
from smartfactory.connect.opcua.security import application_uri
from smartfactory.connect.plant_refs import signal_names
from smartfactory.model.errors import UserError
from smartfactory.model.events import EventType
from smartfactory.model.plant import Equipment, Level, Plant

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COUNTERS = (GOOD_COUNT, SCRAP_COUNT, REWORK_COUNT)


def namespace_uri(plant: Plant) -> str:
    """The twin's namespace URI."""
    return f"urn:smartfactory:{plant.plant.id}"


class TwinServer:
    """An asyncua server that shows a plant's twin; :meth:`apply` feeds it the twin's event tables."""

    def __init__(
        self,
        plant: Plant,
        endpoint: str,
        *,
        certificate: str | Path | None = None,
        private_key: str | Path | None = None,
        sign_only: bool = False,
    ) -> None:
        if (certificate is None) != (private_key is None):
            raise UserError("the OPC UA twin server needs both certificate and private_key, or neither")
        self.plant = plant
        self.endpoint = endpoint
        self.certificate = Path(certificate) if certificate is not None else None
        self.private_key = Path(private_key) if private_key is not None else None
        self.sign_only = sign_only
        self.ns = 2
        self.server: Server | None = None
        self._prepared: Server | None = None
        self._variables: dict[tuple[str, str], ua.NodeId] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._paths: dict[str, list[str]] = self._hierarchy_paths()

    # --- naming -----------------------------------------------------------------------

    def node_id(self, equipment: str, signal: str) -> str:
        """The NodeId text of a variable, e.g. ``ns=2;s=OP10-M1.spindle_temp``."""
        return f"ns={self.ns};s={equipment}.{signal}"

    def browse_path(self, equipment: str, signal: str) -> str:
        """The browse path of a variable from Root, e.g. ``0:Objects/2:acme/.../2:spindle_temp``."""
        parts = [
            "0:Objects",
            *(f"{self.ns}:{name}" for name in self._paths[equipment]),
            f"{self.ns}:{signal}",
        ]
        return "/".join(parts)

    def variables(self) -> list[tuple[str, str]]:
        """Every (equipment, signal) the server shows, in plant order."""
        return [(e.id, s) for e in self.plant.equipment for s in _variable_names(e)]

    # --- lifecycle --------------------------------------------------------------------

    async def prepare(self) -> None:
        """Build the address space without listening yet (the slow part: about 2 s)."""
        if self._prepared is not None:
            return
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"smartfactory twin {self.plant.plant.id}")
        if self.certificate is not None and self.private_key is not None:
            mode = (
                ua.SecurityPolicyType.Basic256Sha256_Sign
                if self.sign_only
                else ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt
            )
            server.set_security_policy([mode])
            uri = application_uri(self.certificate)
            if uri is not None:
                await server.set_application_uri(uri)
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        self.ns = await server.register_namespace(namespace_uri(self.plant))
        await self._build(server)
        self._prepared = server

    async def start(self) -> None:
        """Build the address space (unless :meth:`prepare` did) and listen on the endpoint."""
        await self.prepare()
        server = self._prepared
        assert server is not None
        try:
            await server.start()
        except OSError as exc:
            raise UserError(f"cannot serve OPC UA on {self.endpoint}: {exc.strerror or exc}") from None
        self.server = server
        logger.info("OPC UA twin of %s on %s", self.plant.plant.id, self.endpoint)

    async def stop(self) -> None:
        """Stop listening (clients see the connection drop)."""
        server, self.server, self._prepared = self.server, None, None
        if server is not None:
            await server.stop()

    async def __aenter__(self) -> TwinServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- values -----------------------------------------------------------------------

    async def apply(self, event_type: EventType | str, table: pa.Table | pa.RecordBatch) -> int:
        """Write one twin event table into the variables, in time order; return the values written.

        States: each interval's state, stamped with its start. Counts: added to the counters.
        Measurements: the value with its time. Alarms are not shown (the twin server has no
        alarm nodes); rows of unknown equipment or signals are skipped.
        """
        if self.server is None:
            raise RuntimeError("the twin server is not started")
        event_type = EventType(event_type)
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if event_type is EventType.measurements:
            return await self._write_all(self._measurements(table))
        if event_type is EventType.states:
            return await self._write_all(self._states(table))
        if event_type is EventType.counts:
            return await self._write_all(self._counts(table))
        return 0

    async def write(self, equipment: str, signal: str, value: float | int | str, at: datetime) -> None:
        """Write one variable (tests and the benchmark drive single values this way)."""
        await self._write_all([(at, equipment, signal, value)])

    def sink(self, loop: asyncio.AbstractEventLoop, timeout_s: float = 60.0) -> TwinSink:
        """A thread-safe, synchronous event sink that feeds this server running on ``loop``."""
        return TwinSink(self, loop, timeout_s)

    # --- inside -----------------------------------------------------------------------

    def _measurements(self, table: pa.Table) -> list[tuple[datetime, str, str, float | int | str]]:
        ts = _micros(table.column("ts"))
        rows = zip(
            ts,
            table.column("equipment").to_pylist(),
            table.column("signal").to_pylist(),
            table.column("value").to_pylist(),
            strict=True,
        )
        return [(_moment(t), e, s, float(v)) for t, e, s, v in rows]

    def _states(self, table: pa.Table) -> list[tuple[datetime, str, str, float | int | str]]:
        starts = _micros(table.column("start"))
        rows = zip(
            starts, table.column("equipment").to_pylist(), table.column("state").to_pylist(), strict=True
        )
        return [(_moment(t), e, STATE_SIGNAL, str(s)) for t, e, s in rows]

    def _counts(self, table: pa.Table) -> list[tuple[datetime, str, str, float | int | str]]:
        ts = _micros(table.column("ts"))
        columns = [table.column(c).to_pylist() for c in ("good", "scrap", "rework")]
        out: list[tuple[datetime, str, str, float | int | str]] = []
        order = sorted(range(len(ts)), key=ts.__getitem__)
        equipment = table.column("equipment").to_pylist()
        for i in order:
            for name, column in zip(_COUNTERS, columns, strict=True):
                added = int(column[i] or 0)
                if added <= 0:
                    continue
                key = (equipment[i], name)
                if key not in self._variables:
                    break
                self._counters[key] = self._counters.get(key, 0) + added
                out.append((_moment(ts[i]), equipment[i], name, self._counters[key]))
        return out

    async def _write_all(self, rows: Iterable[tuple[datetime, str, str, float | int | str]]) -> int:
        assert self.server is not None
        written = 0
        now = datetime.now(UTC)
        for at, equipment, signal, value in sorted(rows, key=lambda r: r[0]):
            node_id = self._variables.get((equipment, signal))
            if node_id is None:
                continue
            if signal == STATE_SIGNAL:
                variant = ua.Variant(str(value), ua.VariantType.String)
            elif signal in _COUNTERS:
                variant = ua.Variant(int(value), ua.VariantType.UInt64)
            else:
                variant = ua.Variant(float(value), ua.VariantType.Double)
            await self.server.write_attribute_value(
                node_id,
                ua.DataValue(
                    variant, SourceTimestamp=cast(ua.DateTime, at), ServerTimestamp=cast(ua.DateTime, now)
                ),
            )
            written += 1
        return written

    def _hierarchy_paths(self) -> dict[str, list[str]]:
        """Equipment id → browse names of the objects from the enterprise down to the equipment."""
        parent: dict[str, str | None] = {self.plant.enterprise.id: None}
        for nodes in (
            self.plant.sites,
            self.plant.areas,
            self.plant.lines,
            self.plant.work_cells,
            self.plant.equipment,
        ):
            for node in nodes:
                parent[node.id] = node.parent
        paths: dict[str, list[str]] = {}
        for equipment in self.plant.equipment:
            chain: list[str] = []
            current: str | None = equipment.id
            while current is not None:
                chain.append(current)
                current = parent.get(current)
            paths[equipment.id] = list(reversed(chain))
        return paths

    async def _build(self, server: Server) -> None:
        levels: list[tuple[Level, Iterable[tuple[str, str | None]]]] = [
            (Level.enterprise, [(self.plant.enterprise.id, None)]),
            (Level.site, [(n.id, n.parent) for n in self.plant.sites]),
            (Level.area, [(n.id, n.parent) for n in self.plant.areas]),
            (Level.line, [(n.id, n.parent) for n in self.plant.lines]),
            (Level.work_cell, [(n.id, n.parent) for n in self.plant.work_cells]),
        ]
        objects: dict[str, Node] = {}
        for level, nodes in levels:
            for node_id, parent_id in nodes:
                parent = objects[parent_id] if parent_id is not None else server.nodes.objects
                objects[node_id] = await parent.add_object(
                    _node(f"{level.value}:{node_id}", self.ns), ua.QualifiedName(node_id, self.ns)
                )
        waiting = ua.StatusCode(ua.UInt32(StatusCodes.BadWaitingForInitialData))
        for equipment in self.plant.equipment:
            folder = await objects[str(equipment.parent)].add_object(
                _node(f"{Level.equipment.value}:{equipment.id}", self.ns),
                ua.QualifiedName(equipment.id, self.ns),
            )
            for signal in _variable_names(equipment):
                variable_id = _node(f"{equipment.id}.{signal}", self.ns)
                if signal in _COUNTERS:
                    variant = ua.Variant(0, ua.VariantType.UInt64)
                    initial = ua.DataValue(variant)
                else:
                    variant = (
                        ua.Variant("", ua.VariantType.String)
                        if signal == STATE_SIGNAL
                        else ua.Variant(0.0, ua.VariantType.Double)
                    )
                    initial = ua.DataValue(ua.Variant(), StatusCode=waiting)
                variable = await folder.add_variable(
                    variable_id,
                    ua.QualifiedName(signal, self.ns),
                    variant.Value,
                    varianttype=variant.VariantType,
                )
                await server.write_attribute_value(variable.nodeid, initial)
                self._variables[(equipment.id, signal)] = variable.nodeid


class TwinSink:
    """The synchronous :class:`~smartfactory.model.events.EventSink` face of a :class:`TwinServer`.

    The simulator runs in a worker thread; each ``write`` hands the table to the server's event
    loop and waits until the variables are written, so the twin never runs ahead of the server.
    """

    def __init__(self, server: TwinServer, loop: asyncio.AbstractEventLoop, timeout_s: float = 60.0) -> None:
        self.server = server
        self.loop = loop
        self.timeout_s = timeout_s
        self.written = 0

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Apply one table on the server's loop; return the values written."""
        future = asyncio.run_coroutine_threadsafe(self.server.apply(event_type, batch), self.loop)
        count = future.result(self.timeout_s)
        self.written += count
        return count

    def close(self) -> None:
        """Nothing to release: the server's owner stops it."""


def _variable_names(equipment: Equipment) -> list[str]:
    return [*signal_names(equipment), *RESERVED_ORDER]


def _micros(column: pa.ChunkedArray) -> list[int]:
    return [int(v) for v in column.cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()]


def _moment(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _node(text: str, ns: int) -> ua.NodeId:
    return ua.NodeId(ua.String(text), ua.Int16(ns))
