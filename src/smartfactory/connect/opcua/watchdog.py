"""When is an OPC UA connection lost? The watchdog decides, so the source can rebuild everything.

asyncua 2.1 can reconnect by itself (``auto_reconnect``), but it restores subscriptions by their old
NodeIds and tells nobody when the gap began and ended. A PLC download or a server restart can
renumber NodeIds (Telegraf's ``BadNodeIdUnknown`` loops), and the KPIs need the outage as
``no_data``; so the source tears the connection down and builds it again itself, and this watchdog
says when. Three signs, whichever comes first:

* the library reports the loss (socket closed, its own health probe failed, a status change
  notification such as BadShutdown or BadTimeout on the subscription);
* the watchdog's own read of ``ServerStatus.State`` and ``CurrentTime`` every ``interval_s`` fails,
  times out, or says the server is not Running (a server shutting down, a hung PLC);
* the subscription's publish responses (data or keep-alives) stop for ``stale_after_s``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.object_ids import ObjectIds

from smartfactory.connect.opcua.browse import standard_node

_STATE = standard_node(ObjectIds.Server_ServerStatus_State)
_CURRENT_TIME = standard_node(ObjectIds.Server_ServerStatus_CurrentTime)


class Watchdog:
    """Watches one connection; :meth:`watch` returns why it was lost."""

    def __init__(self, interval_s: float, timeout_s: float, stale_after_s: float) -> None:
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self._lost = asyncio.Event()
        self._reason = ""
        started = time.monotonic()
        self.last_publish = started
        self.last_alive = started
        self.server_time: Any = None

    def published(self) -> None:
        """A publish response (data or keep-alive) arrived."""
        now = time.monotonic()
        self.last_publish = now
        self.last_alive = now

    def signal(self, reason: str) -> None:
        """The connection is known to be lost (called from library callbacks)."""
        if not self._lost.is_set():
            self._reason = reason
            self._lost.set()

    async def watch(self, client: Client) -> str:
        """Return the reason once the connection is lost; run until then."""
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), timeout=self.interval_s)
                return self._reason
            except TimeoutError:
                pass
            reason = await self.probe(client)
            if reason is not None:
                return reason
            silent = time.monotonic() - self.last_publish
            if silent > self.stale_after_s:
                return f"keep-alives stopped: no publish response for {silent:.1f} s"

    async def probe(self, client: Client) -> str | None:
        """Read the server's state and clock; None when it answers and is Running."""
        try:
            state, self.server_time = await asyncio.wait_for(
                client.read_values([client.get_node(_STATE), client.get_node(_CURRENT_TIME)]),
                timeout=self.timeout_s,
            )
        except TimeoutError:
            return f"no answer to the watchdog's read within {self.timeout_s:g} s"
        except Exception as exc:  # any failure of the read means the session is gone
            return f"watchdog read failed: {type(exc).__name__}: {exc}"
        if state != ua.ServerState.Running:
            name = ua.ServerState(state).name if state in ua.ServerState._value2member_map_ else str(state)
            return f"server state is {name}"
        self.last_alive = time.monotonic()
        return None
