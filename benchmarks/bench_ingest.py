"""MQTT ingest rate: broker → committed rows in the store, against the broker's own delivery rate.

On loopback, through a private Mosquitto started from its binary (unlimited queues), QoS 1.
For each payload form the same messages are published twice by the same publisher:

* baseline: ``mosquitto_sub -q 1 -C N`` receives them (the broker's delivery limit on this machine);
* ours: ``MqttSource`` + ``IngestWriter`` (persistent session, ack after commit) store them; the
  clock stops when the last row is committed.

Forms: single-value JSON (one point a message), batched JSON (100 points a message) and Sparkplug B
DDATA (100 metrics a message), all published by one paho client from pre-encoded payloads
(``mosquitto_pub -l`` at QoS 1 lost two thirds of 100,000 lines here, so it is not used).
Targets (issue 5): single-value ≥ 0.8× mosquitto_sub's message rate;
batched JSON and Sparkplug B ≥ 0.5× mosquitto_sub's points/s.

Run alone: ``.venv/bin/python benchmarks/bench_ingest.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import pickle
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, Row, environment, markdown, times, verdict
from smartfactory.connect.mqtt import MqttSource
from smartfactory.connect.mqtt.config import MqttConfig
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant

ORIGIN_MS = 1_800_000_000_000
_WINDOW = 20_000
BATCH = 100


@dataclass
class Sizes:
    single: int  # messages
    batched: int  # messages of BATCH points
    sparkplug: int  # messages of BATCH metrics


FULL = Sizes(single=100_000, batched=10_000, sparkplug=10_000)
QUICK = Sizes(single=5_000, batched=500, sparkplug=500)


_BROKER: dict[str, int] = {}


def broker() -> tuple[str, int]:
    """Host and port of the broker under test (the private one while :func:`private_broker` runs)."""
    return "127.0.0.1", _BROKER["port"]


@contextlib.contextmanager
def private_broker() -> Iterator[int]:
    """A Mosquitto of the benchmark's own on a free loopback port, with unlimited queues.

    Mosquitto's defaults (20 messages in flight to an MQTT 3.1.1 client, 1000 queued) drop QoS 1
    messages for a subscriber that falls behind, so neither side would see every message.
    """
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "mosquitto.conf"
        config.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
            f"max_inflight_messages 0\nuser {getpass.getuser()}\n"
        )
        process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the benchmark's mosquitto did not start") from None
                    time.sleep(0.05)
            _BROKER["port"] = port
            yield port
        finally:
            process.terminate()
            process.wait(10)


PLANT_FILE = ROOT / "examples" / "plants" / "discrete_machining.toml"
EQUIPMENT = "OP10-M1"
SIGNAL = "spindle_temp"
TOPIC = f"acme/suzhou/machining/L1/{EQUIPMENT}/{SIGNAL}"


def bench_plant() -> Plant:
    """The sample machining plant; the benchmark publishes one machine's spindle temperature."""
    return load_plant(PLANT_FILE)


def _lines(kind: str, n: int, offset_ms: int) -> bytes:
    if kind == "single":
        return "".join(f'{{"ts":{offset_ms + i},"value":{20 + i % 37}.5}}\n' for i in range(n)).encode()
    out = []
    for m in range(n):
        base = offset_ms + m * BATCH
        out.append(
            "[" + ",".join(f'{{"ts":{base + j},"value":{20 + j % 37}.25}}' for j in range(BATCH)) + "]\n"
        )
    return "".join(out).encode()


def _json_publisher(topic: str, lines: bytes) -> Callable[[], None]:
    """Publish each line as one message. (mosquitto_pub -l at QoS 1 was seen to lose messages.)"""
    return _paho_publisher([(topic, line) for line in lines.splitlines()])


def _sparkplug_publisher(group: str, n: int, offset_ms: int) -> Callable[[], None]:
    """Pre-encode NBIRTH, DBIRTH and n DDATA payloads; publishing them is the timed part."""
    return _paho_publisher(sparkplug_payloads(group, "edge", n, offset_ms))


PUBLISHER = """
import pickle, sys, paho.mqtt.client as paho
host, port, window, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
payloads = pickle.load(open(path, "rb"))
client = paho.Client(paho.CallbackAPIVersion.VERSION2)
client.max_inflight_messages_set(1000)
client.connect(host, port)
client.loop_start()
infos = []
for topic, payload in payloads:
    if len(infos) >= window:
        infos[len(infos) - window].wait_for_publish(60)
    infos.append(client.publish(topic, payload, qos=1))
for info in infos:
    info.wait_for_publish(60)
client.loop_stop()
client.disconnect()
"""


def _paho_publisher(payloads: list[tuple[str, bytes]]) -> Callable[[], None]:
    """Publish pre-encoded messages at QoS 1 from another process; return once all are acknowledged.

    Another process, so the publisher never shares the ingester's interpreter lock; paho's message
    ids wrap at 65,535, so fewer than that stay unacknowledged.
    """
    host, port = broker()
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    path = folder / "payloads.pickle"
    path.write_bytes(pickle.dumps(payloads))

    def publish() -> None:
        try:
            subprocess.run(
                [sys.executable, "-c", PUBLISHER, host, str(port), str(_WINDOW), str(path)], check=True
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return publish


def sparkplug_payloads(group: str, node: str, n: int, offset_ms: int) -> list[tuple[str, bytes]]:
    """NBIRTH, a DBIRTH naming the metric with alias 1, then n DDATA of BATCH aliased metrics each."""
    from smartfactory.connect.mqtt import sparkplug as sp

    out = [
        (
            sp.topic(group, "NBIRTH", node),
            sp.encode(
                [
                    sp.MetricValue(sp.BD_SEQ_METRIC, value=0, datatype=sp.DataType.Int64),
                    sp.MetricValue(sp.REBIRTH_METRIC, value=False, datatype=sp.DataType.Boolean),
                ],
                seq=0,
                timestamp_ms=offset_ms,
            ),
        ),
        (
            sp.topic(group, "DBIRTH", node, EQUIPMENT),
            sp.encode([sp.MetricValue(SIGNAL, 1, 30.0, sp.DataType.Double)], seq=1, timestamp_ms=offset_ms),
        ),
    ]
    for m in range(n):
        base = offset_ms + m * BATCH
        metrics = [
            sp.MetricValue(None, 1, 30.0 + j / 100, sp.DataType.Double, timestamp_ms=base + j)
            for j in range(BATCH)
        ]
        payload = sp.encode(metrics, seq=(m + 2) % 256, timestamp_ms=base)
        out.append((sp.topic(group, "DDATA", node, EQUIPMENT), payload))
    return out


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
    with private_broker():
        return _run(QUICK if quick else FULL)


def _run(sizes: Sizes) -> str:
    host, port = broker()
    run_id = secrets.token_hex(4)
    rows: list[Row] = []
    notes: list[str] = []
    forms = (("single", sizes.single, 1), ("batched", sizes.batched, BATCH))
    for kind, messages, per in forms:
        prefix = f"b{run_id}{kind}"
        base_topic = f"{prefix}/{TOPIC}"
        base_s = _baseline(
            base_topic, messages, _json_publisher(base_topic, _lines(kind, messages, ORIGIN_MS))
        )
        config = MqttConfig(
            url=f"mqtt://{host}:{port}",
            client_id=f"bench-{run_id}-{kind}",
            topic=prefix + "/{enterprise}/{site}/{area}/{line}/{equipment}/{signal}",
            max_age_s=10 * 365 * 86400,
            max_future_s=10 * 365 * 86400,
        )
        ours_s = _ours(config, messages * per, _json_publisher(base_topic, _lines(kind, messages, ORIGIN_MS)))
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
    version = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.splitlines()[:1]
    notes.append(
        f"A private {' '.join(version)} on {host}:{port} (unlimited queues), QoS 1; publisher, broker "
        "and subscriber share the 2-core machine. Sizes: "
        f"{sizes.single:,} single-value messages, {sizes.batched:,} × {BATCH} points batched JSON, "
        f"{sizes.sparkplug:,} × {BATCH} metrics Sparkplug B DDATA. "
        "All are published by one paho client in its own process from pre-encoded payloads "
        "(1,000 in flight), the same "
        "for the baseline and for ours; where the publisher is slower than the broker, it sets both rates."
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
