"""The MQTT live source: subscribe with a persistent session, decode, acknowledge after commit.

QoS 1 with a fixed client id and a session that survives disconnects, so the broker keeps what
is published while the ingester is away. A message is acknowledged (PUBACK) only once the batch
holding its rows is committed to the store or the spool; until then the broker redelivers it
after any failure, and the store's event keys make a redelivered point a no-op.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, ClassVar

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel

from smartfactory.connect.live import Ack, Backoff, SourceBase
from smartfactory.connect.mqtt.config import MqttConfig, parse_broker_url
from smartfactory.connect.mqtt.json_payload import JsonDecoder
from smartfactory.connect.mqtt.sparkplug import NAMESPACE, MetricNames, SparkplugDecoder
from smartfactory.connect.mqtt.topics import TopicResolver, TopicTemplate
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant

# most messages decoded between two looks at the event loop (and the writer's backpressure)
_BURST = 1_000


class MqttSource(SourceBase):
    """JSON (unified namespace) or Sparkplug B messages from one broker into the writer."""

    kind: ClassVar[str] = "mqtt"
    config_schema: ClassVar[type[BaseModel]] = MqttConfig
    config: MqttConfig

    def __init__(self, name: str, config: BaseModel, plant: Plant, writer: IngestWriter) -> None:
        super().__init__(name, config, plant, writer)
        self.client_id = self.config.client_id or f"smartfactory-{plant.plant.id}-{name}"
        self.subscriptions: list[str] = []
        self.decoder: JsonDecoder | SparkplugDecoder | None = None
        self._client: aiomqtt.Client | None = None
        self._generation = 0
        self._down_since: float | None = None

    async def setup(self) -> None:
        """Check the topic template or the device map against the plant, and the TLS files."""
        config = self.config
        where = f"source {self.name!r}"
        for label, path in (("ca", config.ca), ("cert", config.cert), ("key", config.key)):
            if path is not None and not path.is_file():
                raise UserError(f"{where}: {label} file {path} does not exist")
        if config.format == "json":
            template = TopicTemplate.parse(config.topic, where=f"{where}: topic")
            self.decoder = JsonDecoder(
                TopicResolver(template, self.plant),
                max_future_s=config.max_future_s,
                max_age_s=config.max_age_s,
            )
            self.subscriptions = list(config.subscriptions or [template.subscription()])
            return
        assert config.group_id is not None  # the config schema requires it for sparkplug
        known = self.plant.equipment_by_id()
        unknown = {d: e for d, e in config.devices.items() if e not in known}
        if unknown:
            shown = ", ".join(f"{d} -> {e}" for d, e in sorted(unknown.items()))
            raise UserError(
                f"{where}: devices map to unknown equipment ({shown}); equipment: {', '.join(sorted(known))}"
            )
        self.decoder = SparkplugDecoder(
            self.plant,
            config.group_id,
            devices=config.devices,
            names=MetricNames(
                config.state_metric,
                config.good_count_metric,
                config.scrap_count_metric,
                config.rework_count_metric,
                config.alarm_metric,
            ),
            state_codes=config.state_codes,
            max_future_s=config.max_future_s,
            max_age_s=config.max_age_s,
            rebirth_interval_s=config.rebirth_interval_s,
        )
        self.subscriptions = list(config.subscriptions or [f"{NAMESPACE}/{config.group_id}/#"])

    async def run(self) -> None:
        """Receive until cancelled; reconnect with backoff. Cancelled, it keeps the connection for acks."""
        if self.decoder is None:
            await self.setup()
        backoff = Backoff()
        while True:
            client = self._new_client()
            try:
                await client.__aenter__()
            except aiomqtt.MqttError as exc:
                self._lost(f"connect: {exc}")
                await backoff.wait()
                continue
            self._client = client
            self._generation += 1
            try:
                for topic_filter in self.subscriptions:
                    await client.subscribe(topic_filter, qos=self.config.qos)
                self._connected()
                backoff.reset()
                await self._receive(client)
            except aiomqtt.MqttError as exc:
                self._lost(str(exc))
                self._client = None
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.__aexit__(None, None, None)
                self.status.reconnects += 1
                await backoff.wait()

    async def close(self) -> None:
        """Disconnect (after the writer's final commit has run its acks)."""
        client, self._client = self._client, None
        self.status.connected = False
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    # --- inside ----------------------------------------------------------------------------

    async def _receive(self, client: aiomqtt.Client) -> None:
        decoder = self.decoder
        assert decoder is not None
        decode = decoder.decode
        commands = decoder.commands if isinstance(decoder, SparkplugDecoder) else None
        writer = self.writer
        status = self.status
        generation = self._generation
        inner = client._client  # paho's client: the only way to ack by hand
        # aiomqtt's iterator costs two tasks and an asyncio.wait per message; messages already
        # queued behind the one it returns are taken straight from its queue, in order
        queue = client._queue
        async for first in client.messages:
            batch = writer.batch  # swapped by every commit: fetched anew for each burst
            points, rejected = batch.points, len(batch.rejected)
            message: aiomqtt.Message | None = first
            taken = 0
            while message is not None:
                payload = message.payload
                decode(
                    batch,
                    message.topic.value,
                    payload if isinstance(payload, bytes) else str(payload).encode(),
                )
                if message.qos:
                    batch.on_commit(self._ack(inner, generation, message.mid, message.qos))
                taken += 1
                message = queue.get_nowait() if taken < _BURST and not queue.empty() else None
            batch.received(taken)
            status.messages += taken
            status.points += batch.points - points
            status.rejected += len(batch.rejected) - rejected
            status.last_message_at = time.time()
            if commands:
                for topic_, request in commands:
                    await client.publish(topic_, request, qos=0)
                commands.clear()
            await writer.room()

    def _ack(self, inner: paho.Client, generation: int, mid: int, qos: int) -> Ack:
        """The PUBACK of one message, to send once its batch is durable.

        paho would ack on receipt; with ``manual_ack_set(True)`` we do it here instead. The writer
        runs acks on the event loop in commit order, which is receive order, as paho requires. An
        ack for an earlier connection is dropped: the broker redelivers those messages anyway.
        """

        def ack() -> None:
            if generation == self._generation and self._client is not None:
                inner.ack(mid, qos)

        return ack

    def _new_client(self) -> aiomqtt.Client:
        config = self.config
        address = parse_broker_url(config.url)
        tls = (
            aiomqtt.TLSParameters(
                ca_certs=str(config.ca) if config.ca else None,
                certfile=str(config.cert) if config.cert else None,
                keyfile=str(config.key) if config.key else None,
            )
            if address.tls
            else None
        )
        password = config.password.get_secret_value() if config.password else None
        # a persistent session either way; MQTT 5 names it clean_start and bounds it by properties
        session: dict[str, Any]
        if config.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = config.session_expiry_s
            properties.ReceiveMaximum = config.receive_maximum
            session = {"protocol": aiomqtt.ProtocolVersion.V5, "clean_start": False, "properties": properties}
        else:
            session = {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": False}
        client = aiomqtt.Client(
            address.host,
            address.port,
            identifier=self.client_id,
            username=config.username,
            password=password,
            keepalive=config.keepalive_s,
            tls_params=tls,
            **session,
        )
        client._client.manual_ack_set(True)  # before connecting, see _ack
        return client

    def _connected(self) -> None:
        self.status.connected = True
        self.status.last_error = None
        if self._down_since is not None:
            self.status.gaps.append((self._down_since, time.time()))
            self._down_since = None

    def _lost(self, error: str) -> None:
        self.status.connected = False
        self.status.last_error = error
        if self._down_since is None:
            self._down_since = time.time()
