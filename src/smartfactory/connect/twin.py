"""The digital twin as a real source: publish it over MQTT, or serve it over OPC UA, paced in time.

The simulator is synchronous; it runs in a worker thread at ``speed`` × real time and hands each
chunk of events to a sink that speaks the protocol. SIGINT/SIGTERM (the ``stop`` event) end it
between chunks, and what was handed over is delivered before returning.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from smartfactory.model.events import EventSink, EventType
from smartfactory.model.plant import Plant
from smartfactory.simulate import Fault
from smartfactory.simulate.pace import simulate_paced


@dataclass
class TwinRun:
    """What a live twin run sent."""

    finished: bool  # False when stopped early
    events: dict[str, int]
    messages: int


class Counting:
    """Counts events per type on their way to the real sink (what the twin sent)."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.events = {t.value: 0 for t in EventType}

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Pass the batch on and count its rows."""
        n = self.sink.write(event_type, batch)
        self.events[event_type.value] += int(batch.num_rows)
        return n

    def close(self) -> None:
        """Close the real sink (a publisher waits until the broker acknowledged everything)."""
        self.sink.close()


def publish_mqtt(
    plant: Plant,
    url: str,
    *,
    start: datetime,
    days: float,
    seed: int,
    speed: float | None,
    sparkplug: bool = False,
    batch_points: int = 1,
    faults: list[Fault] | None = None,
    stop: threading.Event | None = None,
) -> TwinRun:
    """Run the twin and publish its events to an MQTT broker (JSON on a UNS, or Sparkplug B)."""
    from smartfactory.connect.mqtt import MqttPublisher

    publisher = MqttPublisher(plant, url, sparkplug=sparkplug, batch_points=batch_points)
    sink = Counting(publisher)
    try:
        result = simulate_paced(
            plant, sink, start=start, days=days, seed=seed, speed=speed, faults=faults, stop=stop
        )
    finally:
        sink.close()  # waits until the broker acknowledged everything
    return TwinRun(result is not None, sink.events, int(getattr(publisher, "messages", 0)))


async def serve_opcua(
    plant: Plant,
    endpoint: str,
    *,
    start: datetime,
    days: float,
    seed: int,
    speed: float | None,
    faults: list[Fault] | None = None,
    stop: threading.Event | None = None,
    ready: asyncio.Event | None = None,
) -> TwinRun:
    """Serve the twin over OPC UA while it runs; return when the simulated days are over or on stop."""
    from smartfactory.connect.opcua.server import TwinServer

    server = TwinServer(plant, endpoint)
    await server.start()
    try:
        if ready is not None:
            ready.set()
        sink = Counting(server.sink(asyncio.get_running_loop()))
        result = await asyncio.to_thread(
            simulate_paced,
            plant,
            sink,
            start=start,
            days=days,
            seed=seed,
            speed=speed,
            faults=faults,
            stop=stop,
        )
    finally:
        await server.stop()
    return TwinRun(result is not None, sink.events, 0)
