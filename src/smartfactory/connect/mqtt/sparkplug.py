"""Sparkplug B: the Tahu protobuf payload (built without generated code), encoding, and a decoder.

The ``org.eclipse.tahu.protobuf.Payload`` descriptor is written below in Python with the field
numbers of Tahu's ``sparkplug_b.proto`` (a reference copy lies beside this file), so no protoc
step and no generated module are needed.

The decoder follows each edge node's session: NBIRTH/DBIRTH give metric aliases (node and device
scope), every message after NBIRTH carries the next ``seq`` (0-255), NDEATH/DDEATH end it. A seq behind
the expected one is a QoS 1 redelivery and is decoded as usual. A DATA message before its BIRTH,
a seq gap (ahead of the expected seq) or an unknown alias is quarantined and answered with a
rebirth request (``NCMD`` ``Node Control/Rebirth = true``), at most once per
``rebirth_interval_s`` per edge node. Metric names map to the plant: a signal of the equipment,
the state metric, cumulative part counters (stored as per-message increments) and alarms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from smartfactory.connect.live import EventBatch
from smartfactory.connect.mqtt.json_payload import Bad, TimeWindow, number
from smartfactory.connect.mqtt.topics import targets_of
from smartfactory.model.events import AlarmAction, Severity, State
from smartfactory.model.plant import Plant

NAMESPACE = "spBv1.0"
REBIRTH_METRIC = "Node Control/Rebirth"
BD_SEQ_METRIC = "bdSeq"
MESSAGE_TYPES = ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH", "NCMD", "DCMD", "STATE")
# metric names that describe the edge node or the device, not the equipment's data
_CONTROL_PREFIXES = ("Node Control/", "Device Control/", "Node Info/", "Properties/", BD_SEQ_METRIC)


class DataType(IntEnum):
    """Sparkplug B metric data types (the scalar ones)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19


# --- the descriptor -----------------------------------------------------------------------

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "org.eclipse.tahu.protobuf"
_MAX = 536_870_912  # "to max": field numbers end below 2**29
_TYPES = {
    "string": _F.TYPE_STRING,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "bool": _F.TYPE_BOOL,
    "bytes": _F.TYPE_BYTES,
}


def _message(
    parent: Any, name: str, fields: Sequence[tuple[str, str, int, str]], extensions_from: int | None
) -> Any:
    """Add a message type: fields are (label, type or .Message path, number, name); oneof 'value'."""
    message = parent.add()
    message.name = name
    oneof_index: int | None = None
    for label, type_, number_, field_name in fields:
        f = message.field.add(name=field_name, number=number_)
        f.label = _F.LABEL_REPEATED if label == "repeated" else _F.LABEL_OPTIONAL
        if type_ in _TYPES:
            f.type = _TYPES[type_]
        else:
            f.type = _F.TYPE_MESSAGE
            f.type_name = f".{_PACKAGE}.Payload.{type_}"
        if label == "oneof":
            if oneof_index is None:
                message.oneof_decl.add(name="value")
                oneof_index = 0
            f.oneof_index = oneof_index
    if extensions_from is not None:
        message.extension_range.add(start=extensions_from, end=_MAX)
    return message


def _file() -> Any:
    proto = descriptor_pb2.FileDescriptorProto(name="sparkplug_b.proto", package=_PACKAGE, syntax="proto2")
    payload = _message(
        proto.message_type,
        "Payload",
        [
            ("optional", "uint64", 1, "timestamp"),
            ("repeated", "Metric", 2, "metrics"),
            ("optional", "uint64", 3, "seq"),
            ("optional", "string", 4, "uuid"),
            ("optional", "bytes", 5, "body"),
        ],
        6,
    )
    nested = payload.nested_type
    template = _message(
        nested,
        "Template",
        [
            ("optional", "string", 1, "version"),
            ("repeated", "Metric", 2, "metrics"),
            ("repeated", "Template.Parameter", 3, "parameters"),
            ("optional", "string", 4, "template_ref"),
            ("optional", "bool", 5, "is_definition"),
        ],
        6,
    )
    parameter = _message(
        template.nested_type,
        "Parameter",
        [
            ("optional", "string", 1, "name"),
            ("optional", "uint32", 2, "type"),
            *_scalar_oneof(3),
            ("oneof", "Template.Parameter.ParameterValueExtension", 9, "extension_value"),
        ],
        None,
    )
    _message(parameter.nested_type, "ParameterValueExtension", [], 1)
    dataset = _message(
        nested,
        "DataSet",
        [
            ("optional", "uint64", 1, "num_of_columns"),
            ("repeated", "string", 2, "columns"),
            ("repeated", "uint32", 3, "types"),
            ("repeated", "DataSet.Row", 4, "rows"),
        ],
        5,
    )
    value = _message(
        dataset.nested_type,
        "DataSetValue",
        [*_scalar_oneof(1), ("oneof", "DataSet.DataSetValue.DataSetValueExtension", 7, "extension_value")],
        None,
    )
    _message(value.nested_type, "DataSetValueExtension", [], 1)
    _message(dataset.nested_type, "Row", [("repeated", "DataSet.DataSetValue", 1, "elements")], 2)
    property_value = _message(
        nested,
        "PropertyValue",
        [
            ("optional", "uint32", 1, "type"),
            ("optional", "bool", 2, "is_null"),
            *_scalar_oneof(3),
            ("oneof", "PropertySet", 9, "propertyset_value"),
            ("oneof", "PropertySetList", 10, "propertysets_value"),
            ("oneof", "PropertyValue.PropertyValueExtension", 11, "extension_value"),
        ],
        None,
    )
    _message(property_value.nested_type, "PropertyValueExtension", [], 1)
    _message(
        nested,
        "PropertySet",
        [("repeated", "string", 1, "keys"), ("repeated", "PropertyValue", 2, "values")],
        3,
    )
    _message(nested, "PropertySetList", [("repeated", "PropertySet", 1, "propertyset")], 2)
    _message(
        nested,
        "MetaData",
        [
            ("optional", "bool", 1, "is_multi_part"),
            ("optional", "string", 2, "content_type"),
            ("optional", "uint64", 3, "size"),
            ("optional", "uint64", 4, "seq"),
            ("optional", "string", 5, "file_name"),
            ("optional", "string", 6, "file_type"),
            ("optional", "string", 7, "md5"),
            ("optional", "string", 8, "description"),
        ],
        9,
    )
    metric = _message(
        nested,
        "Metric",
        [
            ("optional", "string", 1, "name"),
            ("optional", "uint64", 2, "alias"),
            ("optional", "uint64", 3, "timestamp"),
            ("optional", "uint32", 4, "datatype"),
            ("optional", "bool", 5, "is_historical"),
            ("optional", "bool", 6, "is_transient"),
            ("optional", "bool", 7, "is_null"),
            ("optional", "MetaData", 8, "metadata"),
            ("optional", "PropertySet", 9, "properties"),
            *_scalar_oneof(10),
            ("oneof", "bytes", 16, "bytes_value"),
            ("oneof", "DataSet", 17, "dataset_value"),
            ("oneof", "Template", 18, "template_value"),
            ("oneof", "Metric.MetricValueExtension", 19, "extension_value"),
        ],
        None,
    )
    _message(metric.nested_type, "MetricValueExtension", [], 1)
    return proto


def _scalar_oneof(first: int) -> list[tuple[str, str, int, str]]:
    # the six scalar members every value-carrying message of Tahu numbers from `first` on
    names = ("int_value", "long_value", "float_value", "double_value", "boolean_value", "string_value")
    types = ("uint32", "uint64", "float", "double", "bool", "string")
    return [("oneof", t, first + i, n) for i, (t, n) in enumerate(zip(types, names, strict=True))]


# a private pool: another library registering the same Tahu names cannot clash with ours
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
Payload: Any = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.Payload"))


# --- encoding -----------------------------------------------------------------------------

Value = float | int | bool | str | bytes | None

_INT32 = {DataType.Int8, DataType.Int16, DataType.Int32, DataType.UInt8, DataType.UInt16, DataType.UInt32}
_INT64 = {DataType.Int64, DataType.UInt64, DataType.DateTime}
_TEXT = {DataType.String, DataType.Text, DataType.UUID}
_SIGNED_BITS = {DataType.Int8: 8, DataType.Int16: 16, DataType.Int32: 32, DataType.Int64: 64}


@dataclass(frozen=True)
class MetricValue:
    """One metric to encode: name and/or alias, a value of a data type, optional time and properties."""

    name: str | None = None
    alias: int | None = None
    value: Value = None
    datatype: DataType = DataType.Double
    timestamp_ms: int | None = None
    properties: dict[str, str] | None = None


def encode(metrics: Iterable[MetricValue], *, seq: int | None, timestamp_ms: int | None = None) -> bytes:
    """A Sparkplug B payload with the given metrics."""
    payload = Payload()
    if timestamp_ms is not None:
        payload.timestamp = timestamp_ms
    if seq is not None:
        payload.seq = seq
    for m in metrics:
        metric = payload.metrics.add()
        if m.name is not None:
            metric.name = m.name
        if m.alias is not None:
            metric.alias = m.alias
        if m.timestamp_ms is not None:
            metric.timestamp = m.timestamp_ms
        metric.datatype = int(m.datatype)
        if m.properties:
            for key, text in m.properties.items():
                metric.properties.keys.append(key)
                prop = metric.properties.values.add()
                prop.type = int(DataType.String)
                prop.string_value = text
        _set_value(metric, m.datatype, m.value)
    return bytes(payload.SerializeToString())


def _set_value(metric: Any, datatype: DataType, value: Value) -> None:
    if value is None:
        metric.is_null = True
    elif datatype in _INT32:
        metric.int_value = int(value) & 0xFFFFFFFF  # signed values travel as two's complement
    elif datatype in _INT64:
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif datatype is DataType.Float:
        metric.float_value = float(value)
    elif datatype is DataType.Double:
        metric.double_value = float(value)
    elif datatype is DataType.Boolean:
        metric.boolean_value = bool(value)
    elif datatype in _TEXT:
        metric.string_value = str(value)
    elif datatype is DataType.Bytes:
        metric.bytes_value = bytes(value)  # type: ignore[arg-type]
    else:
        raise ValueError(f"cannot encode a {datatype.name} metric")


def rebirth_request(timestamp_ms: int | None = None) -> bytes:
    """The NCMD payload that asks an edge node to publish its births again."""
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    return encode(
        [MetricValue(REBIRTH_METRIC, value=True, datatype=DataType.Boolean)], seq=None, timestamp_ms=stamp
    )


def topic(group: str, message_type: str, edge_node: str, device: str | None = None) -> str:
    """``spBv1.0/group/TYPE/edge_node[/device]``."""
    base = f"{NAMESPACE}/{group}/{message_type}/{edge_node}"
    return base if device is None else f"{base}/{device}"


def metric_value(metric: Any) -> Value:
    """A decoded metric's value as Python (signed integers restored; None when null or absent)."""
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None:
        return None
    value = getattr(metric, which)
    if which in ("int_value", "long_value"):
        bits = _SIGNED_BITS.get(metric.datatype)
        if bits is not None:
            value &= (1 << bits) - 1
            if value >= 1 << (bits - 1):
                value -= 1 << bits
        return int(value)
    if which in ("dataset_value", "template_value", "extension_value"):
        return None
    return value  # type: ignore[no-any-return]


def properties_of(metric: Any) -> dict[str, str]:
    """A metric's string-valued properties."""
    if not metric.HasField("properties"):
        return {}
    out = {}
    for key, prop in zip(metric.properties.keys, metric.properties.values, strict=False):
        if prop.WhichOneof("value") == "string_value":
            out[str(key)] = str(prop.string_value)
    return out


# --- decoding -----------------------------------------------------------------------------

_STATES = frozenset(s.value for s in State)
_SEVERITIES = frozenset(s.value for s in Severity)
_ACTIONS = frozenset(a.value for a in AlarmAction)
_COUNTERS = ("good", "scrap", "rework")


@dataclass
class _Device:
    """What the births told about one device (or the edge node's own metrics)."""

    equipment: str | None
    aliases: dict[int, str] = field(default_factory=dict)
    reports_state: bool = False
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class _Node:
    """One edge node's session."""

    born: bool = False
    bd_seq: int | None = None
    seq: int | None = None
    own: _Device = field(default_factory=lambda: _Device(None))
    devices: dict[str, _Device] = field(default_factory=dict)
    last_rebirth: float = float("-inf")


@dataclass(frozen=True)
class MetricNames:
    """The metric names with a meaning of their own."""

    state: str = "state"
    good_count: str = "good_count"
    scrap_count: str = "scrap_count"
    rework_count: str = "rework_count"
    alarm: str = "alarm"


class SparkplugDecoder:
    """Decodes Sparkplug B messages of one group into a batch; never raises on a bad payload.

    Rebirth requests it wants published collect in :attr:`commands` as (topic, payload).
    """

    def __init__(
        self,
        plant: Plant,
        group_id: str,
        *,
        devices: dict[str, str] | None = None,
        names: MetricNames | None = None,
        state_codes: dict[str, str] | None = None,
        max_future_s: float = 3600.0,
        max_age_s: float = 30 * 86400.0,
        rebirth_interval_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.group_id = group_id
        self.targets = targets_of(plant)
        self.device_map = dict(devices or {})
        self.names = names or MetricNames()
        self.state_codes = {int(k): v for k, v in (state_codes or {}).items()}
        self.max_future_s = max_future_s
        self.max_age_s = max_age_s
        self.rebirth_interval_s = rebirth_interval_s
        self.clock = clock
        self.monotonic = monotonic
        self.nodes: dict[str, _Node] = {}
        self.commands: list[tuple[str, bytes]] = []
        self._counter_kind = {
            self.names.good_count: "good",
            self.names.scrap_count: "scrap",
            self.names.rework_count: "rework",
        }

    def equipment_of(self, device_id: str) -> str | None:
        """The equipment a device (or edge node) id stands for, if any."""
        equipment = self.device_map.get(device_id, device_id)
        return equipment if equipment in self.targets else None

    def decode(self, batch: EventBatch, topic_: str, payload: bytes) -> None:
        """Add the message's rows (or rejects) to ``batch``."""
        parts = topic_.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[1] != self.group_id:
            batch.reject(
                topic_,
                f"bad topic: {topic_!r} is not {NAMESPACE}/{self.group_id}/TYPE/node[/device]",
                payload,
            )
            return
        kind, node_id = parts[2], parts[3]
        device_id = parts[4] if len(parts) == 5 else None
        if kind in ("NCMD", "DCMD", "STATE"):
            return  # commands (our own rebirth requests among them) carry no data
        if kind not in MESSAGE_TYPES or (device_id is None) != kind.startswith("N"):
            batch.reject(topic_, f"bad topic: {topic_!r} has an unknown message type or level count", payload)
            return
        try:
            message = Payload.FromString(payload)
        except DecodeError as exc:
            batch.reject(topic_, f"bad protobuf: {exc}", payload)
            return
        window = TimeWindow(self.clock(), self.max_future_s, self.max_age_s)
        try:
            self._dispatch(batch, topic_, kind, node_id, device_id, message, window)
        except Bad as bad:
            batch.reject(topic_, bad.reason, payload)

    # --- message types --------------------------------------------------------------------

    def _dispatch(
        self,
        batch: EventBatch,
        topic_: str,
        kind: str,
        node_id: str,
        device_id: str | None,
        message: Any,
        window: TimeWindow,
    ) -> None:
        if kind == "NBIRTH":
            self._node_birth(batch, topic_, node_id, message, window)
            return
        node = self.nodes.get(node_id)
        if kind == "NDEATH":
            self._node_death(batch, node, message, window)
            return
        if node is None or not node.born:
            self._rebirth(node_id)
            raise Bad("no birth", f"{kind} from edge node {node_id!r} before its NBIRTH; rebirth requested")
        self._check_seq(node, node_id, message)
        if kind == "NDATA":
            self._metrics(batch, topic_, node.own, message, window, named_only=False, node_id=node_id)
            return
        assert device_id is not None
        if kind == "DBIRTH":
            equipment = self.equipment_of(device_id)
            if equipment is None:
                raise Bad(
                    "unknown equipment",
                    f"device {device_id!r} of edge node {node_id!r} is no equipment of the plant; map it "
                    "in the source's devices",
                )
            born = _Device(equipment)
            self._birth(born, message)
            node.devices[device_id] = born
            self._metrics(batch, topic_, born, message, window, named_only=True)
            return
        device = node.devices.get(device_id)
        if device is None:
            self._rebirth(node_id)
            raise Bad(
                "no birth",
                f"{kind} from device {device_id!r} of {node_id!r} before its DBIRTH; rebirth requested",
            )
        if kind == "DDATA":
            self._metrics(batch, topic_, device, message, window, named_only=False, node_id=node_id)
        else:  # DDEATH
            del node.devices[device_id]
            if device.reports_state and device.equipment is not None:
                batch.state_change(device.equipment, self._death_time(message, window), State.no_data.value)

    def _node_birth(
        self, batch: EventBatch, topic_: str, node_id: str, message: Any, window: TimeWindow
    ) -> None:
        previous = self.nodes.get(node_id)
        node = _Node(last_rebirth=previous.last_rebirth if previous else float("-inf"))
        node.own = _Device(self.equipment_of(node_id))
        node.born = True
        node.seq = int(message.seq)
        for metric in message.metrics:
            if metric.name == BD_SEQ_METRIC:
                bd = metric_value(metric)
                node.bd_seq = int(bd) if isinstance(bd, int) else None
        self.nodes[node_id] = node
        self._birth(node.own, message)
        self._metrics(batch, topic_, node.own, message, window, named_only=True)

    def _check_seq(self, node: _Node, node_id: str, message: Any) -> None:
        got = int(message.seq) if message.HasField("seq") else None
        if got is None:
            return
        if node.seq is None:
            node.seq = got
            return
        expected = (node.seq + 1) % 256
        ahead = (got - expected) % 256
        if ahead == 0:
            node.seq = got
        elif ahead >= 128:
            # behind what we saw: a QoS 1 redelivery after a reconnect, not a loss; decode it
            # (the store drops what it already has) and keep our place in the sequence
            return
        else:
            node.seq = got
            self._rebirth(node_id)
            raise Bad(
                "seq gap", f"edge node {node_id!r} sent seq {got}, expected {expected}; rebirth requested"
            )

    def _node_death(self, batch: EventBatch, node: _Node | None, message: Any, window: TimeWindow) -> None:
        if node is None or not node.born:
            return
        for metric in message.metrics:
            if metric.name == BD_SEQ_METRIC:
                bd = metric_value(metric)
                if node.bd_seq is not None and bd != node.bd_seq:
                    return  # the death certificate of an older session: this one is alive
        ts = self._death_time(message, window)
        for device in (node.own, *node.devices.values()):
            if device.reports_state and device.equipment is not None:
                batch.state_change(device.equipment, ts, State.no_data.value)
        node.born = False
        node.devices.clear()

    def _death_time(self, message: Any, window: TimeWindow) -> int:
        # NDEATH is the broker's will message and often has no time: then it happened on receipt
        if message.HasField("timestamp"):
            ts = int(message.timestamp) * 1000
            if window.low <= ts <= window.high:
                return ts
        return window.now_us

    def _birth(self, device: _Device, message: Any) -> None:
        for metric in message.metrics:
            if metric.HasField("alias") and metric.name:
                device.aliases[int(metric.alias)] = metric.name
            if metric.name == self.names.state:
                device.reports_state = True

    def _rebirth(self, node_id: str) -> None:
        node = self.nodes.setdefault(node_id, _Node())
        now = self.monotonic()
        if now - node.last_rebirth < self.rebirth_interval_s:
            return
        node.last_rebirth = now
        self.commands.append((topic(self.group_id, "NCMD", node_id), rebirth_request()))

    # --- metrics --------------------------------------------------------------------------

    def _metrics(
        self,
        batch: EventBatch,
        topic_: str,
        device: _Device,
        message: Any,
        window: TimeWindow,
        *,
        named_only: bool,
        node_id: str = "",
    ) -> None:
        names: list[str] = []
        for metric in message.metrics:
            if metric.name:
                names.append(metric.name)
            elif not named_only and metric.HasField("alias") and int(metric.alias) in device.aliases:
                names.append(device.aliases[int(metric.alias)])
            else:
                self._rebirth(node_id)
                raise Bad(
                    "unknown alias", f"metric alias {metric.alias} was not in the birth; rebirth requested"
                )
        default_ms = int(message.timestamp) if message.HasField("timestamp") else None
        counts: dict[int, dict[str, Any]] = {}
        for name, metric in zip(names, message.metrics, strict=True):
            if name.startswith(_CONTROL_PREFIXES):
                continue
            try:
                self._metric(batch, device, name, metric, default_ms, window, counts, named_only)
            except Bad as bad:
                batch.reject(topic_, bad.reason, metric.SerializeToString())
        if device.equipment is None:
            return
        for ts, row in counts.items():
            if row["good"] or row["scrap"] or row["rework"]:
                batch.count(
                    ts,
                    device.equipment,
                    row["good"],
                    row["scrap"],
                    row["rework"],
                    row.get("order_id"),
                    row.get("product"),
                    row.get("part_id"),
                )

    def _metric(
        self,
        batch: EventBatch,
        device: _Device,
        name: str,
        metric: Any,
        default_ms: int | None,
        window: TimeWindow,
        counts: dict[int, dict[str, Any]],
        birth: bool,
    ) -> None:
        value = metric_value(metric)
        if value is None:
            return  # a null metric says "no value now": nothing to store
        equipment = device.equipment
        if equipment is None:
            raise Bad("unknown equipment", f"metric {name!r} belongs to no equipment of the plant")
        stamp_ms = int(metric.timestamp) if metric.HasField("timestamp") else default_ms
        ts = window.now_us if stamp_ms is None else window.check(stamp_ms * 1000, stamp_ms)
        names = self.names
        if name == names.state:
            props = properties_of(metric)
            batch.state_change(
                equipment,
                ts,
                self._state(value),
                props.get("reason"),
                props.get("order_id"),
                props.get("product"),
            )
        elif name in self._counter_kind:
            self._counter(device, name, value, ts, counts, birth, properties_of(metric))
        elif name == names.alarm:
            props = properties_of(metric)
            code = props.get("code")
            if not code:
                raise Bad("bad shape", "an alarm metric needs a 'code' property")
            severity, action = props.get("severity"), props.get("action", "raised")
            if severity not in _SEVERITIES:
                raise Bad("bad severity", f"{severity!r} is not one of {', '.join(sorted(_SEVERITIES))}")
            if action not in _ACTIONS:
                raise Bad("bad action", f"{action!r} is not one of {', '.join(sorted(_ACTIONS))}")
            batch.alarm(ts, equipment, code, severity, action, value if isinstance(value, str) else None)
        else:
            target = self.targets[equipment].get(name)
            if target is None or target.kind != "measurement":
                raise Bad("unknown signal", f"metric {name!r} is not a signal of {equipment!r}")
            if isinstance(value, str | bytes):
                raise Bad("bad value", f"{name} = {value!r} is not a number")
            batch.measurement(equipment, name, ts, number(target, value))

    def _state(self, value: Value) -> str:
        if isinstance(value, str):
            if value in _STATES:
                return value
            raise Bad("bad state", f"{value!r} is not one of {', '.join(sorted(_STATES))}")
        if isinstance(value, int) and not isinstance(value, bool) and value in self.state_codes:
            return self.state_codes[value]
        raise Bad("bad state", f"state code {value!r} is not in the source's state_codes")

    def _counter(
        self,
        device: _Device,
        name: str,
        value: Value,
        ts: int,
        counts: dict[int, dict[str, Any]],
        birth: bool,
        props: dict[str, str],
    ) -> None:
        if (
            value is None
            or isinstance(value, str | bytes | bool)
            or not float(value).is_integer()
            or value < 0
        ):
            raise Bad("bad count", f"{name} = {value!r} is not a non-negative whole counter")
        reading = int(value)
        previous = device.counters.get(name)
        device.counters[name] = reading
        if birth or previous is None:
            return  # a birth (or the first reading) sets the baseline: increments start after it
        # a counter that went down was reset (e.g. a PLC restart): it counted `reading` since
        increment = reading - previous if reading >= previous else reading
        row = counts.setdefault(ts, {"good": 0, "scrap": 0, "rework": 0})
        row[self._counter_kind[name]] += increment
        for key in ("order_id", "product", "part_id"):
            if key in props:
                row[key] = props[key]
