"""MQTT ingest rate: broker → committed rows in the store, against the broker's own delivery rate.

On loopback, through the Mosquitto at ``SMARTFACTORY_TEST_MQTT`` (default 127.0.0.1:1883), QoS 1.
For each payload form the same messages are published twice by the same publisher:

* baseline: ``mosquitto_sub -q 1 -C N`` receives them (the broker's delivery limit on this machine);
* ours: ``MqttSource`` + ``IngestWriter`` (persistent session, ack after commit) store them; the
  clock stops when the last row is committed.

Forms: single-value JSON (one point a message, ``mosquitto_pub -l``), batched JSON (100 points a
message, ``mosquitto_pub -l``) and Sparkplug B DDATA (100 metrics a message, published by paho
from pre-encoded payloads). Targets (issue 5): single-value ≥ 0.8× mosquitto_sub's message rate;
batched JSON and Sparkplug B ≥ 0.5× mosquitto_sub's points/s.

Run alone: ``.venv/bin/python benchmarks/bench_ingest.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from common import Row, environment, markdown, times, verdict
from smartfactory.connect.mqtt import MqttSource
from smartfactory.connect.mqtt.config import MqttConfig
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant

ORIGIN_MS = 1_800_000_000_000
BATCH = 100


@dataclass
class Sizes:
    single: int  # messages
    batched: int  # messages of BATCH points
    sparkplug: int  # messages of BATCH metrics


FULL = Sizes(single=100_000, batched=10_000, sparkplug=10_000)
QUICK = Sizes(single=5_000, batched=500, sparkplug=500)


def broker() -> tuple[str, int]:
    """Host and port of the broker under test."""
    url = urlsplit(os.environ.get("SMARTFACTORY_TEST_MQTT", "mqtt://127.0.0.1:1883"))
    return url.hostname or "127.0.0.1", url.port or 1883


PLANT = """
schema = "smartfactory.plant/1"
[plant]
id = "bench"
name = { en = "Bench", zh = "基准" }
industry = "discrete"
[enterprise]
id = "ent"
name = { en = "E", zh = "E" }
[[site]]
id = "site"
parent = "ent"
name = { en = "S", zh = "S" }
[[area]]
id = "area"
parent = "site"
name = { en = "A", zh = "A" }
[[line]]
id = "L"
parent = "area"
name = { en = "L", zh = "L" }
calendar = "cal"
[[work_cell]]
id = "C"
parent = "L"
name = { en = "C", zh = "C" }
[[equipment]]
id = "M1"
parent = "C"
name = { en = "M1", zh = "M1" }
kind = "cnc_machining_centre"
[[equipment.signal]]
name = "temp"
unit = "C"
normal = [0.0, 100.0]
sampling_s = 1
[[calendar]]
id = "cal"
name = { en = "C", zh = "C" }
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
shifts = [{ id = "S", name = { en = "S", zh = "S" }, start = "00:00", end = "23:59" }]
[[reason]]
code = "U"
name = { en = "U", zh = "U" }
kind = "unplanned"
role = "breakdown"
[[reason]]
code = "M"
name = { en = "M", zh = "M" }
kind = "unplanned"
role = "micro_stop"
[[product]]
id = "P"
name = { en = "P", zh = "P" }
[[routing]]
product = "P"
line = "L"
steps = [{ work_cell = "C", cycle_s = 60 }]
"""


def bench_plant() -> Plant:
    """A one-machine plant whose ``temp`` signal the benchmark publishes."""
    return parse_plant(PLANT, "<bench plant>")


def _lines(kind: str, n: int, offset_ms: int) -> bytes:
    if kind == "single":
        return "".join(f'{{"ts":{offset_ms + i},"value":{i % 97}.5}}\n' for i in range(n)).encode()
    out = []
    for m in range(n):
        base = offset_ms + m * BATCH
        out.append("[" + ",".join(f'{{"ts":{base + j},"value":{j}.25}}' for j in range(BATCH)) + "]\n")
    return "".join(out).encode()


def _mosquitto_pub(topic: str, lines: bytes) -> Callable[[], None]:
    host, port = broker()

    def publish() -> None:
        subprocess.run(
            ["mosquitto_pub", "-h", host, "-p", str(port), "-q", "1", "-t", topic, "-l"],
            input=lines,
            check=True,
        )

    return publish


def _sparkplug_publisher(group: str, n: int, offset_ms: int) -> Callable[[], None]:
    """Pre-encode NBIRTH, DBIRTH and n DDATA payloads; publishing them is the timed part."""
    from smartfactory.connect.mqtt import sparkplug as sp

    payloads = sp.benchmark_payloads(group, "edge", "M1", "temp", n, BATCH, offset_ms)
    host, port = broker()

    def publish() -> None:
        import paho.mqtt.client as paho

        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{secrets.token_hex(4)}")
        client.max_inflight_messages_set(1000)
        client.connect(host, port)
        client.loop_start()
        infos = [client.publish(topic, payload, qos=1) for topic, payload in payloads]
        for info in infos:
            info.wait_for_publish(60)
        client.loop_stop()
        client.disconnect()

    return publish


def _baseline(topic_filter: str, messages: int, publish: Callable[[], None]) -> float:
    """Seconds for mosquitto_sub to receive ``messages`` messages while ``publish`` runs."""
    host, port = broker()
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", host, "-p", str(port), "-q", "1", "-t", topic_filter, "-C", str(messages)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # subscribed before the first message
    started = time.perf_counter()
    publish()
    sub.wait(timeout=600)
    return time.perf_counter() - started


def _ours(config: MqttConfig, points: int, publish: Callable[[], None]) -> float:
    """Seconds from the first publish until ``points`` rows are committed by our ingester."""
    plant = bench_plant()

    async def main() -> float:
        with tempfile.TemporaryDirectory() as folder:
            writer = IngestWriter(Path(folder))
            source = MqttSource("bench", config, plant, writer)
            await source.setup()
            await writer.start()
            task = asyncio.create_task(source.run())
            while not source.status.connected:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            thread = threading.Thread(target=publish)
            thread.start()
            while writer.stats.stored < points:
                await asyncio.sleep(0.005)
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"only {writer.stats.stored} of {points} rows after 600 s")
            elapsed = time.perf_counter() - started
            await asyncio.to_thread(thread.join)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await writer.stop()
            await source.close()
            return elapsed

    return asyncio.run(main())


def run(quick: bool) -> str:
    """The markdown table of every form."""
    sizes = QUICK if quick else FULL
    host, port = broker()
    run_id = secrets.token_hex(4)
    rows: list[Row] = []
    notes: list[str] = []
    forms = (("single", sizes.single, 1), ("batched", sizes.batched, BATCH))
    for kind, messages, per in forms:
        topic = "ent/site/area/L/M1/temp"
        prefix = f"b{run_id}{kind}"
        base_topic = f"{prefix}/{topic}"
        base_s = _baseline(
            base_topic, messages, _mosquitto_pub(base_topic, _lines(kind, messages, ORIGIN_MS))
        )
        config = MqttConfig(
            url=f"mqtt://{host}:{port}",
            client_id=f"bench-{run_id}-{kind}",
            topic=prefix + "/{enterprise}/{site}/{area}/{line}/{equipment}/{signal}",
            max_age_s=10 * 365 * 86400,
            max_future_s=10 * 365 * 86400,
        )
        ours_s = _ours(config, messages * per, _mosquitto_pub(base_topic, _lines(kind, messages, ORIGIN_MS)))
        rows.extend(_rows(kind, messages, per, base_s, ours_s))
    group = f"g{run_id}"
    base_s = _baseline(
        f"spBv1.0/{group}/DDATA/#", sizes.sparkplug, _sparkplug_publisher(group, sizes.sparkplug, ORIGIN_MS)
    )
    config = MqttConfig(
        url=f"mqtt://{host}:{port}",
        client_id=f"bench-{run_id}-sp",
        format="sparkplug",
        group_id=group,
        max_age_s=10 * 365 * 86400,
        max_future_s=10 * 365 * 86400,
    )
    ours_s = _ours(config, sizes.sparkplug * BATCH, _sparkplug_publisher(group, sizes.sparkplug, ORIGIN_MS))
    rows.extend(_rows("sparkplug", sizes.sparkplug, BATCH, base_s, ours_s))
    notes.append(
        f"Broker {host}:{port}, QoS 1, publisher and subscriber on the same 2-core machine; "
        f"sizes: {sizes.single:,} single-value messages, {sizes.batched:,} × {BATCH} points batched JSON, "
        f"{sizes.sparkplug:,} × {BATCH} metrics Sparkplug B DDATA."
    )
    return "### ingest (MQTT → store)\n\n" + markdown(rows) + "\n\n" + "\n".join(notes)


def _rows(kind: str, messages: int, per: int, base_s: float, ours_s: float) -> list[Row]:
    base_msgs, ours_msgs = messages / base_s, messages / ours_s
    base_pts, ours_pts = base_msgs * per, ours_msgs * per
    if kind == "single":
        ratio = ours_msgs / base_msgs
        return [
            Row(
                "ingest",
                "single-value JSON, messages/s committed",
                f"{ours_msgs:,.0f}/s",
                f"mosquitto_sub {base_msgs:,.0f}/s",
                times(ratio),
                "≥ 0.80×",
                verdict(ratio >= 0.8),
            )
        ]
    ratio = ours_pts / base_pts
    label = "batched JSON (100/msg)" if kind == "batched" else "Sparkplug B (100 metrics/msg)"
    return [
        Row(
            "ingest",
            f"{label}, points/s committed",
            f"{ours_pts:,.0f}/s",
            f"mosquitto_sub {base_pts:,.0f}/s",
            times(ratio),
            "≥ 0.50×",
            verdict(ratio >= 0.5),
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(environment() + "\n")
    print(run(args.quick))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
