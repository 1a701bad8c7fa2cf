"""The digital twin as an MQTT source: its events published as JSON or Sparkplug B over paho-mqtt.

An EventSink: ``simulate`` hands it Arrow tables and it publishes them in time order, at QoS 1 by
default. Nothing is lost across a broker restart: paho keeps every message until its PUBACK and
sends the unacknowledged ones again after reconnecting (duplicates are fine: the ingester's store
dedupes), ``write`` waits while too many are unacknowledged, and ``close`` waits for the last ack.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as paho
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion

from smartfactory.connect.mqtt import sparkplug as sp
from smartfactory.connect.mqtt.config import DEFAULT_TOPIC, parse_broker_url
from smartfactory.connect.mqtt.topics import TopicTemplate, hierarchy_of
from smartfactory.model.errors import UserError
from smartfactory.model.events import EventType
from smartfactory.model.plant import DataType, Plant

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ts_us: int) -> str:
    """Microseconds since the epoch as ISO-8601 UTC text with an offset."""
    return (_EPOCH + timedelta(microseconds=ts_us)).isoformat()


class _Channel:
    """One paho connection that counts its publishes and their acknowledgements."""

    def __init__(
        self,
        url: str,
        client_id: str,
        qos: int,
        *,
        max_pending: int,
        will: tuple[str, bytes] | None = None,
        on_reconnect: Callable[[], None] | None = None,
        subscribe: str | None = None,
        on_message: Callable[[bytes], None] | None = None,
    ) -> None:
        self.url = url
        self.qos = qos
        self.max_pending = max_pending
        self.published = 0
        self.acked = 0
        self.connects = 0
        self._cond = threading.Condition()
        self._on_reconnect = on_reconnect
        self._subscribe = subscribe
        self._handle = on_message
        address = parse_broker_url(url)
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        if address.tls:
            self.client.tls_set()
        # paho's own defaults (20 in flight, reconnect after up to 120 s) throttle a fast twin
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1)
        self.client.on_connect = self._connected
        self.client.on_publish = self._acked
        self.client.on_message = self._message
        self.client.connect_async(address.host, address.port, keepalive=30)
        self.client.loop_start()

    def wait_connected(self, timeout_s: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.connects > 0, timeout_s):
                self.client.loop_stop()
                raise UserError(f"cannot reach the MQTT broker at {self.url} within {timeout_s:g} s")

    def publish(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        with self._cond:
            while self.published - self.acked >= self.max_pending:
                self._cond.wait(1.0)  # wait for inflight room: the broker is behind or away
            self.published += 1
        # outside our lock: paho calls on_publish holding its own lock, which would deadlock
        info = self.client.publish(topic, payload, qos=self.qos if qos is None else qos)
        # NO_CONN: paho keeps the message and sends it once reconnected
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            with self._cond:
                self.published -= 1
            raise UserError(f"publishing to {topic} failed: {paho.error_string(info.rc)}")

    def drain(self, timeout_s: float) -> None:
        with self._cond:
            done = self._cond.wait_for(lambda: self.acked >= self.published, timeout_s)
            missing = self.published - self.acked
        if not done:
            raise UserError(
                f"{missing} MQTT message(s) were not acknowledged by {self.url} within {timeout_s:g} s; "
                "is the broker up?"
            )

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # paho's network thread
    def _connected(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            return
        if self._subscribe is not None:
            client.subscribe(self._subscribe, qos=1)
        with self._cond:
            self.connects += 1
            again = self.connects > 1
            self._cond.notify_all()
        if again and self._on_reconnect is not None:
            self._on_reconnect()

    def _acked(self, client: paho.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def _message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if self._handle is not None:
            self._handle(bytes(message.payload))


class MqttPublisher:
    """An EventSink publishing a plant's events over MQTT, as JSON or as Sparkplug B."""

    def __init__(
        self,
        plant: Plant,
        url: str,
        *,
        sparkplug: bool = False,
        group_id: str = "smartfactory",
        qos: int = 1,
        batch_points: int = 1,
        topic: str = DEFAULT_TOPIC,
        client_id: str | None = None,
        max_pending: int = 10_000,
        connect_timeout_s: float = 10.0,
        close_timeout_s: float = 60.0,
    ) -> None:
        if batch_points < 1:
            raise UserError(f"batch_points must be at least 1; got {batch_points}")
        if qos not in (0, 1, 2):
            raise UserError(f"qos must be 0, 1 or 2; got {qos}")
        self.plant = plant
        self.url = url
        self.sparkplug = sparkplug
        self.group_id = group_id
        self.batch_points = batch_points
        self.close_timeout_s = close_timeout_s
        self.messages = 0
        self.points = 0
        self.template = TopicTemplate.parse(topic)
        self._places = hierarchy_of(plant)
        self._dtype = {(e.id, s.name): s.dtype for e in plant.equipment for s in e.signals}
        base = client_id or f"smartfactory-twin-{plant.plant.id}-{secrets.token_hex(3)}"
        self._channels: dict[str, _Channel] = {}
        self._nodes: dict[str, _EdgeNode] = {}
        try:
            if sparkplug:
                for line in plant.lines:
                    node = _EdgeNode(self, line.id)
                    self._nodes[line.id] = node
                    node.channel = _Channel(
                        url,
                        f"{base}-{line.id}",
                        qos,
                        max_pending=max_pending,
                        will=(sp.topic(group_id, "NDEATH", line.id), node.death()),
                        on_reconnect=node.births_due,
                        subscribe=sp.topic(group_id, "NCMD", line.id),
                        on_message=node.command,
                    )
                    self._channels[line.id] = node.channel
            else:
                self._channels[""] = _Channel(url, base, qos, max_pending=max_pending)
            for channel in self._channels.values():
                channel.wait_connected(connect_timeout_s)
        except BaseException:
            for channel in self._channels.values():
                channel.stop()
            raise
        for node in self._nodes.values():
            node.births()

    # --- EventSink --------------------------------------------------------------------------

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Publish one batch of events (sorted by time); return the points published."""
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        if table.num_rows == 0:
            return 0
        time_column = "start" if event_type is EventType.states else "ts"
        table = table.sort_by([(time_column, "ascending")])
        rows = _rows(table)
        if self.sparkplug:
            by_line: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                by_line.setdefault(self._places[row["equipment"]]["line"], []).append(row)
            for line, line_rows in by_line.items():
                self._nodes[line].publish(event_type, line_rows)
        else:
            self._json(event_type, rows)
        self.points += len(rows)
        return len(rows)

    def close(self) -> None:
        """Wait until the broker acknowledged everything (UserError after the timeout), disconnect."""
        try:
            for node in self._nodes.values():
                node.births_if_due()
            deadline = time.monotonic() + self.close_timeout_s
            for channel in self._channels.values():
                channel.drain(max(0.0, deadline - time.monotonic()))
        finally:
            for channel in self._channels.values():
                channel.stop()

    def publish_raw(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        """Publish any payload on any topic (tests and benchmarks: malformed messages, load)."""
        channel = next(iter(self._channels.values()))
        channel.publish(topic, payload, qos)
        self.messages += 1

    @property
    def acknowledged(self) -> int:
        """Messages the broker has acknowledged."""
        return sum(c.acked for c in self._channels.values())

    # --- JSON -------------------------------------------------------------------------------

    def _topic(self, equipment: str, signal: str) -> str:
        return self.template.format(**self._places[equipment], equipment=equipment, signal=signal)

    def _json(self, event_type: EventType, rows: list[dict[str, Any]]) -> None:
        channel = self._channels[""]
        if event_type is EventType.measurements:
            points = [
                (row["equipment"], row["signal"], {"ts": iso(row["ts"]), "value": row["value"]})
                for row in rows
            ]
        else:
            signal = {EventType.states: "state", EventType.counts: "count", EventType.alarms: "alarm"}[
                event_type
            ]
            points = [(row["equipment"], signal, _json_event(event_type, row)) for row in rows]
        if self.batch_points == 1:
            for equipment, signal, item in points:
                channel.publish(self._topic(equipment, signal), orjson.dumps(item))
            self.messages += len(points)
            return
        pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for equipment, signal, item in points:
            items = pending.setdefault((equipment, signal), [])
            items.append(item)
            if len(items) >= self.batch_points:
                channel.publish(self._topic(equipment, signal), orjson.dumps(items))
                self.messages += 1
                items.clear()
        for (equipment, signal), items in pending.items():
            if items:
                channel.publish(self._topic(equipment, signal), orjson.dumps(items))
                self.messages += 1


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    columns: dict[str, list[Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns[name] = column.to_pylist()
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _json_event(event_type: EventType, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if v is not None and k != "equipment"}
    for key in ("ts", "start", "end"):
        if key in out:
            out[key] = iso(out[key])
    return out


class _EdgeNode:
    """A line as a Sparkplug edge node; its equipment are the devices. Seq and aliases live here."""

    def __init__(self, owner: MqttPublisher, line: str) -> None:
        self.owner = owner
        self.line = line
        self.group = owner.group_id
        self.channel: _Channel
        self.seq = 0
        self.bd_seq = 0
        self.lock = threading.RLock()
        self._due = False
        self.equipment = [e for e in owner.plant.equipment if owner._places[e.id]["line"] == line]
        self.totals = {e.id: {"good": 0, "scrap": 0, "rework": 0} for e in self.equipment}
        self.aliases: dict[tuple[str, str], int] = {}
        self.datatypes: dict[tuple[str, str], sp.DataType] = {}
        for e in self.equipment:
            metrics: list[tuple[str, sp.DataType]] = [
                ("state", sp.DataType.String),
                ("good_count", sp.DataType.Int64),
                ("scrap_count", sp.DataType.Int64),
                ("rework_count", sp.DataType.Int64),
                ("alarm", sp.DataType.String),
            ]
            metrics += [
                (s.name, sp.DataType.Boolean if s.dtype is DataType.bool else sp.DataType.Double)
                for s in e.signals
            ]
            if e.energy is not None:
                metrics.append((e.energy.signal, sp.DataType.Double))
            for name, datatype in metrics:
                self.aliases.setdefault((e.id, name), len(self.aliases) + 1)
                self.datatypes[(e.id, name)] = datatype

    def death(self) -> bytes:
        return sp.encode(
            [sp.MetricValue(sp.BD_SEQ_METRIC, value=self.bd_seq, datatype=sp.DataType.Int64)], seq=None
        )

    def births(self) -> None:
        """NBIRTH then a DBIRTH per device, with every metric's name and alias."""
        with self.lock:
            self._due = False
            now = int(time.time() * 1000)
            self.seq = 0
            node = [
                sp.MetricValue(sp.BD_SEQ_METRIC, value=self.bd_seq, datatype=sp.DataType.Int64),
                sp.MetricValue(sp.REBIRTH_METRIC, value=False, datatype=sp.DataType.Boolean),
            ]
            self._send(sp.topic(self.group, "NBIRTH", self.line), node, now, count=False)
            for e in self.equipment:
                metrics = []
                for (equipment, name), alias in self.aliases.items():
                    if equipment != e.id:
                        continue
                    value: sp.Value = None
                    if name.endswith("_count"):
                        value = self.totals[e.id][name.removesuffix("_count")]
                    metrics.append(sp.MetricValue(name, alias, value, self.datatypes[(equipment, name)]))
                self._send(sp.topic(self.group, "DBIRTH", self.line, e.id), metrics, now, count=False)

    def births_due(self) -> None:
        # called on reconnect in paho's thread: the births go out from the publishing thread,
        # after paho has re-sent what was unacknowledged, so seq numbers stay in order
        self._due = True

    def births_if_due(self) -> None:
        if self._due:
            self.births()

    def command(self, payload: bytes) -> None:
        try:
            message = sp.Payload.FromString(payload)
        except Exception:  # a bad command must not kill paho's thread
            return
        for metric in message.metrics:
            if metric.name == sp.REBIRTH_METRIC and sp.metric_value(metric) is True:
                self.births()
                return

    def _send(self, topic: str, metrics: list[sp.MetricValue], now_ms: int, *, count: bool = True) -> None:
        with self.lock:
            seq = self.seq
            self.seq = (self.seq + 1) % 256
            self.channel.publish(topic, sp.encode(metrics, seq=seq, timestamp_ms=now_ms))
        self.owner.messages += 1

    def publish(self, event_type: EventType, rows: Iterable[dict[str, Any]]) -> None:
        """DDATA messages for the rows (up to batch_points metrics of one device per message)."""
        self.births_if_due()
        now = int(time.time() * 1000)
        pending: dict[str, list[sp.MetricValue]] = {}
        limit = self.owner.batch_points
        for row in rows:
            equipment = row["equipment"]
            metrics = pending.setdefault(equipment, [])
            metrics.extend(self._metrics(event_type, row))
            if len(metrics) >= limit:
                self._send(sp.topic(self.group, "DDATA", self.line, equipment), metrics, now)
                pending[equipment] = []
        for equipment, metrics in pending.items():
            if metrics:
                self._send(sp.topic(self.group, "DDATA", self.line, equipment), metrics, now)

    def _metric(
        self, equipment: str, name: str, value: sp.Value, ts_us: int, row: dict[str, Any], *props: str
    ) -> sp.MetricValue:
        # the row's columns named in props travel as string properties (the null ones left out)
        key = (equipment, name)
        properties = {k: str(row[k]) for k in props if row[k] is not None} or None
        return sp.MetricValue(None, self.aliases[key], value, self.datatypes[key], ts_us // 1000, properties)

    def _metrics(self, event_type: EventType, row: dict[str, Any]) -> list[sp.MetricValue]:
        e = row["equipment"]
        if event_type is EventType.measurements:
            value = row["value"]
            if self.datatypes[(e, row["signal"])] is sp.DataType.Boolean:
                value = bool(value)
            return [self._metric(e, row["signal"], value, row["ts"], row)]
        if event_type is EventType.states:
            return [
                self._metric(e, "state", row["state"], row["start"], row, "reason", "order_id", "product")
            ]
        if event_type is EventType.counts:
            totals = self.totals[e]
            out = []
            for kind in ("good", "scrap", "rework"):
                totals[kind] += int(row[kind])
                props = ("order_id", "product", "part_id") if kind == "good" else ()
                out.append(self._metric(e, f"{kind}_count", totals[kind], row["ts"], row, *props))
            return out
        return [self._metric(e, "alarm", row["message"], row["ts"], row, "code", "severity", "action")]
