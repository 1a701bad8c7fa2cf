"""The OPC UA live source: subscribe to nodes, decode data changes, rebuild everything after a loss.

One connection at a time: connect, resolve browse paths, create one subscription with a monitored
item per node, then let the :class:`~smartfactory.connect.opcua.watchdog.Watchdog` watch it. When it
is lost: every monitored state enters ``no_data`` (so KPIs count the outage as no data), the client
is torn down, and after a :class:`~smartfactory.connect.live.Backoff` delay it is all built again,
browse paths included. OPC UA has no acknowledgements, so nothing is registered with ``on_commit``;
the publish loop awaits ``writer.room()`` after each response, which is the backpressure: the server
keeps (and, past the monitored items' queues, drops) what we do not fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_session import UaSession
from asyncua.common.subscription import Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from pydantic import BaseModel

from smartfactory.connect.live import Backoff, SourceBase
from smartfactory.connect.opcua.browse import relative_path, standard_node
from smartfactory.connect.opcua.config import NodeEntry, OpcUaConfig, plant_problems
from smartfactory.connect.opcua.decode import Decoder, Target
from smartfactory.connect.opcua.security import application_uri
from smartfactory.connect.opcua.watchdog import Watchdog
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant

if TYPE_CHECKING:
    from smartfactory.connect.writer import IngestWriter

logger = logging.getLogger(__name__)

# servers limit items per call (MaxMonitoredItemsPerCall, MaxNodesPerTranslate...); 500 passes most
_CHUNK = 500
# a session the server keeps after we vanish holds our subscription; let it expire soon
_SESSION_TIMEOUT_MS = 60_000


class _Feed(Subscription):
    """A subscription whose publish responses go straight to the source, awaited by the publish loop.

    asyncua's handler mode starts a task per notification and its iterator mode drops from a bounded
    queue; awaiting here decodes in place and lets a full writer slow the publish loop down.
    """

    def __init__(
        self,
        session: UaSession,
        params: ua.CreateSubscriptionParameters,
        on_result: Callable[[ua.PublishResult], Awaitable[None]],
    ) -> None:
        super().__init__(session, params, None, queue_maxsize=1)
        self._on_result = on_result

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        """Hand one publish response (data, status change or keep-alive) to the source."""
        self.last_publish_at = time.monotonic()
        await self._on_result(publish_result)


class OpcUaSource(SourceBase):
    """Values of OPC UA nodes as measurements, state changes and counts (``kind = "opcua"``)."""

    kind: ClassVar[str] = "opcua"
    config_schema: ClassVar[type[BaseModel]] = OpcUaConfig
    config: OpcUaConfig

    def __init__(self, name: str, config: BaseModel, plant: Plant, writer: IngestWriter) -> None:
        super().__init__(name, config, plant, writer)
        self.source = f"opcua:{name}"
        self.decoder: Decoder | None = None
        self.watchdog: Watchdog | None = None
        self._client: Client | None = None
        self._feed: _Feed | None = None
        self._handles: dict[int, Target] = {}
        self._taking = False
        self._lost_at: float | None = None

    async def setup(self) -> None:
        """Check every node's equipment and signal against the plant."""
        problems = plant_problems(self.config, self.plant, f"source {self.name!r}")
        if problems:
            raise UserError(f"OPC UA source {self.name!r} does not fit the plant", problems)
        self.decoder = Decoder(self.source, self.config, self.plant)

    async def run(self) -> None:
        """Subscribe and decode until cancelled; reconnect after every loss, with backoff."""
        if self.decoder is None:
            await self.setup()
        backoff = Backoff(first=min(0.5, self.config.watchdog_s), cap=self.config.reconnect_max_s)
        self._taking = True
        try:
            while True:
                try:
                    watchdog = await self._connect()
                    backoff.reset()
                    reason = await watchdog.watch(self._client_now())
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # whatever broke, the answer is the same: rebuild
                    reason = _describe(exc)
                self._lost(reason)
                await self._disconnect()
                await backoff.wait()
        finally:
            # cancelled: take no more data; close() disconnects after the writer's last commit
            self._taking = False

    async def close(self) -> None:
        """Disconnect from the server."""
        self._taking = False
        await self._disconnect()

    # --- connecting -------------------------------------------------------------------

    async def _connect(self) -> Watchdog:
        config = self.config
        assert self.decoder is not None
        client = Client(config.endpoint, timeout=config.timeout_s, watchdog_intervall=config.watchdog_s)
        client.name = client.description = f"smartfactory ingest ({self.name})"
        client.application_uri = f"urn:smartfactory:ingest:{self.name}"
        client.session_timeout = _SESSION_TIMEOUT_MS
        if config.username is not None:
            client.set_user(config.username)
            if config.password is not None:
                client.set_password(config.password)
        if config.security == "Basic256Sha256":
            assert config.certificate is not None and config.private_key is not None
            client.application_uri = application_uri(config.certificate) or client.application_uri
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                certificate=str(config.certificate),
                private_key=str(config.private_key),
                server_certificate=str(config.server_certificate) if config.server_certificate else None,
                mode=getattr(ua.MessageSecurityMode, config.mode),
            )
        publishing = config.publishing()
        keepalive = max(1, math.ceil(config.watchdog_s * 1000.0 / publishing))
        watchdog = Watchdog(
            config.watchdog_s,
            config.timeout_s,
            stale_after_s=3 * max(config.watchdog_s, keepalive * publishing / 1000.0),
        )
        self.watchdog = watchdog

        async def connection_lost(exc: Exception) -> None:
            watchdog.signal(f"connection lost: {_describe(exc)}")

        client.connection_lost_callback = connection_lost
        self._client = client
        await asyncio.wait_for(client.connect(), timeout=3 * config.timeout_s)
        nodes = await self._resolve(client)
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=publishing,
            RequestedLifetimeCount=max(10 * keepalive, 3 * keepalive + 1),
            RequestedMaxKeepAliveCount=keepalive,
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
            Priority=0,
        )
        feed = _Feed(client.uaclient.session, params, self._on_publish)
        result = await feed.init()
        revised = client.get_subscription_revised_params(params, result)
        if revised is not None:
            await feed.update(revised)
        self._feed = feed
        await self._monitor(feed, nodes, publishing)
        watchdog.published()
        self._connected()
        return watchdog

    def _client_now(self) -> Client:
        assert self._client is not None
        return self._client

    async def _resolve(self, client: Client) -> dict[int, ua.NodeId]:
        """Client handle → NodeId of every node that exists; the others are quarantined."""
        assert self.decoder is not None
        resolved: dict[int, ua.NodeId] = {}
        paths: list[tuple[int, NodeEntry]] = []
        for handle, target in enumerate(self.decoder.targets, start=1):
            entry = target.entry
            if entry.node is not None:
                resolved[handle] = ua.NodeId.from_string(entry.node)
            else:
                paths.append((handle, entry))
        root = standard_node(ObjectIds.RootFolder)
        for start in range(0, len(paths), _CHUNK):
            chunk = paths[start : start + _CHUNK]
            results = await client.translate_browsepaths(
                root, [relative_path(str(e.browse_path)) for _, e in chunk]
            )
            for (handle, entry), result in zip(chunk, results, strict=True):
                if result.StatusCode.is_good() and result.Targets:
                    target_id = result.Targets[0].TargetId
                    resolved[handle] = ua.NodeId(
                        target_id.Identifier, target_id.NamespaceIndex, target_id.NodeIdType
                    )
                else:
                    self._unknown(entry, f"browse path does not resolve ({result.StatusCode.name})")
        return resolved

    async def _monitor(self, feed: _Feed, nodes: dict[int, ua.NodeId], publishing: float) -> None:
        assert self.decoder is not None
        self._handles = {}
        requests: list[tuple[Target, ua.MonitoredItemCreateRequest]] = []
        for handle, node_id in nodes.items():
            target = self.decoder.targets[handle - 1]
            sampling = self.config.sampling(target.entry)
            # room for every sample taken between two publishes, so none is overwritten
            queue = min(100, math.ceil(publishing / sampling) + 1)
            parameters = ua.MonitoringParameters(
                ClientHandle=handle, SamplingInterval=sampling, QueueSize=queue, DiscardOldest=True
            )
            item = ua.MonitoredItemCreateRequest(
                ItemToMonitor=ua.ReadValueId(NodeId=node_id, AttributeId=ua.UInt32(AttributeIds.Value)),
                MonitoringMode=ua.MonitoringMode.Reporting,
                RequestedParameters=parameters,
            )
            self._handles[handle] = target
            requests.append((target, item))
        for start in range(0, len(requests), _CHUNK):
            chunk = requests[start : start + _CHUNK]
            results = await feed.create_monitored_items([item for _, item in chunk])
            for (target, item), result in zip(chunk, results, strict=True):
                if isinstance(result, ua.StatusCode):
                    del self._handles[item.RequestedParameters.ClientHandle]
                    self._unknown(target.entry, f"cannot monitor it ({result.name})")

    def _unknown(self, entry: NodeEntry, detail: str) -> None:
        message = f"unknown node: {entry.address} for {entry.label}: {detail}"
        logger.warning("%s: %s", self.source, message)
        self.status.last_error = message
        raw = f'{{"node": "{entry.address}", "equipment": "{entry.equipment}", "signal": "{entry.signal}"}}'
        self.writer.batch.reject(self.source, message, raw)
        self.status.rejected += 1

    def _connected(self) -> None:
        assert self.decoder is not None
        self.status.connected = True
        if self._lost_at is not None:
            back = time.monotonic()
            self.status.gaps.append((self._lost_at, back))
            self.status.reconnects += 1
            self._lost_at = None
            # first values after the gap may carry old source times; none may predate the no_data
            self.decoder.state_floor_us = time.time_ns() // 1000
            logger.info("%s: reconnected to %s", self.source, self.config.endpoint)

    def _lost(self, reason: str) -> None:
        """Record the loss: the reason, the gap's start and no_data for every monitored state."""
        self.status.last_error = reason
        logger.warning("%s: %s", self.source, reason)
        if not self.status.connected:
            return  # a failed reconnect attempt: the gap is already open
        self.status.connected = False
        self._feed = None  # late publish responses of the dead subscription must not count
        now = time.monotonic()
        # the outage began after the last sign of life, not when we noticed it
        last_alive = self.watchdog.last_alive if self.watchdog is not None else now
        self._lost_at = last_alive
        lost_us = time.time_ns() // 1000 - int((now - last_alive) * 1e6)
        assert self.decoder is not None
        batch = self.writer.batch
        before = batch.points
        self.decoder.lost(batch, lost_us)
        self.status.points += batch.points - before

    async def _disconnect(self) -> None:
        client, self._client, self._feed = self._client, None, None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.disconnect(), timeout=self.config.timeout_s)
        except Exception as exc:  # a dead server cannot hear CloseSession; the socket goes anyway
            logger.debug("%s: disconnect: %s", self.source, exc)
        finally:
            with contextlib.suppress(Exception):
                client.disconnect_socket()

    # --- data -------------------------------------------------------------------------

    async def _on_publish(self, result: ua.PublishResult) -> None:
        if not self._taking or self._feed is None or result.SubscriptionId != self._feed.subscription_id:
            return
        watchdog, decoder = self.watchdog, self.decoder
        assert watchdog is not None and decoder is not None
        watchdog.published()
        data = result.NotificationMessage.NotificationData
        if not data:
            return  # a keep-alive
        now_us = time.time_ns() // 1000
        batch = self.writer.batch  # fetched now: the writer swaps batches between awaits
        points, rejected = batch.points, len(batch.rejected)
        messages = 0
        for notification in data:
            if isinstance(notification, ua.DataChangeNotification):
                for item in notification.MonitoredItems:
                    target = self._handles.get(item.ClientHandle)
                    if target is None:
                        continue
                    value = item.Value
                    variant = value.Value
                    status = value.StatusCode.value if value.StatusCode is not None else 0
                    decoder.value(
                        batch,
                        target,
                        variant.Value if variant is not None else None,
                        status,
                        value.SourceTimestamp,
                        value.ServerTimestamp,
                        now_us,
                    )
                    messages += 1
            elif isinstance(notification, ua.StatusChangeNotification) and not notification.Status.is_good():
                watchdog.signal(f"subscription status changed to {notification.Status.name}")
        decoder.flush_counts(batch)
        if messages:
            batch.received(messages)
            self.status.messages += messages
            self.status.points += batch.points - points
            self.status.rejected += len(batch.rejected) - rejected
            self.status.last_message_at = time.monotonic()
        await self.writer.room()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
