"""OPC UA: value changes per second delivered for 1,000 monitored items sampled every 100 ms.

A twin server (``TwinServer`` for a generated plant of 100 machines × 10 signals) runs in a child
process, on its own core where there is one, and writes a new value to every one of the 1,000
variables every 100 ms: 10,000 value changes per second offered. In the same run, one after the
other, for ``seconds`` each after a warm-up:

* baseline: a plain asyncua client, one subscription (100 ms publishing), 1,000 monitored items
  at 100 ms sampling, a handler that only counts data change notifications — the library's own
  delivery rate on this machine;
* source: ``OpcUaSource`` with the same sampling and the real ``IngestWriter`` committing to a
  DuckDB store in a temp folder: value changes decoded into measurements per second, and rows
  committed per second.

Target: all 10,000 changes/s delivered by the source (``ratio`` = source rate ÷ target, ≥ 1 is
PASS; the baseline column shows what asyncua alone delivers). The server's own write rate is
reported too: a Python server on a small machine may offer fewer than 10,000 changes/s, and
nothing downstream can deliver more than it offers.

Run alone: ``.venv/bin/python benchmarks/bench_opcua.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, Row, environment, markdown, verdict
from smartfactory.connect.opcua import OpcUaConfig, OpcUaSource
from smartfactory.connect.opcua.server import TwinServer
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant

MACHINES = 100
SIGNALS = 10
PERIOD_MS = 100.0
TARGET = MACHINES * SIGNALS * 1000.0 / PERIOD_MS  # 10,000 changes/s


def plant_text(machines: int = MACHINES, signals: int = SIGNALS) -> str:
    """A one-line plant of ``machines`` machines with ``signals`` float signals each."""
    out = [
        'schema = "smartfactory.plant/1"',
        '[plant]\nid = "bench-opcua"\nname = { en = "OPC UA bench", zh = "OPC UA 基准" }\n'
        'industry = "discrete"',
        '[enterprise]\nid = "ent"\nname = { en = "Enterprise", zh = "企业" }',
        '[[site]]\nid = "site"\nparent = "ent"\nname = { en = "Site", zh = "工厂" }',
        '[[area]]\nid = "area"\nparent = "site"\nname = { en = "Area", zh = "车间" }',
        '[[line]]\nid = "L"\nparent = "area"\nname = { en = "Line", zh = "产线" }\ncalendar = "cal"',
        '[[work_cell]]\nid = "C"\nparent = "L"\nname = { en = "Cell", zh = "工位" }',
    ]
    for m in range(machines):
        out.append(
            f'[[equipment]]\nid = "EQ{m:03d}"\nparent = "C"\n'
            f'name = {{ en = "Machine {m}", zh = "设备 {m}" }}\n'
            'kind = "cnc_machining_centre"'
        )
        for s in range(signals):
            out.append(
                f'[[equipment.signal]]\nname = "s{s}"\nunit = "-"\nnormal = [0.0, 1000.0]\nsampling_s = 0.1'
            )
    out += [
        '[[calendar]]\nid = "cal"\nname = { en = "Calendar", zh = "日历" }\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        'shifts = [{ id = "S", name = { en = "Shift", zh = "班次" }, '
        'start = "00:00", end = "00:00" }]',
        '[[reason]]\ncode = "P"\nname = { en = "Planned", zh = "计划" }\nkind = "planned"',
        '[[reason]]\ncode = "P.NS"\nparent = "P"\n'
        'name = { en = "No shift", zh = "非排班" }\nrole = "no_shift"',
        '[[product]]\nid = "P0"\nname = { en = "Product", zh = "产品" }',
        '[[routing]]\nproduct = "P0"\nline = "L"\nsteps = [{ work_cell = "C", cycle_s = 60 }]',
        '[[order]]\nid = "O"\nproduct = "P0"\nquantity = 1\ndue = 2026-03-05T00:00:00',
    ]
    return "\n\n".join(out) + "\n"


def bench_plant() -> Plant:
    """The benchmark plant, validated."""
    return parse_plant(plant_text(), "bench-opcua.toml")


def _items(plant: Plant) -> list[tuple[str, str]]:
    return [(e.id, s.name) for e in plant.equipment for s in e.signals]


# --- the server, in a child process ------------------------------------------------------------


async def _serve(port: int, period_ms: float) -> None:
    from asyncua import ua

    plant = bench_plant()
    twin = TwinServer(plant, f"opc.tcp://127.0.0.1:{port}/bench")
    await twin.start()
    assert twin.server is not None
    nodes = [ua.NodeId.from_string(twin.node_id(e, s)) for e, s in _items(plant)]
    print("ready", flush=True)
    writes, tick, started = 0, 0, time.monotonic()
    while True:
        tick += 1
        now = datetime.now(UTC)
        for i, node in enumerate(nodes):
            value = ua.DataValue(
                ua.Variant(float((tick + i) % 1000), ua.VariantType.Double), SourceTimestamp=now
            )
            await twin.server.write_attribute_value(node, value)
        writes += len(nodes)
        print(f"writes {writes} {time.monotonic() - started:.3f}", flush=True)
        await asyncio.sleep(max(0.0, started + tick * period_ms / 1000.0 - time.monotonic()))


class ServerProcess:
    """The benchmark server in a child process; it prints its cumulative writes every tick."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/bench"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port)], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        self.last = (0, 0.0)
        self.ready = threading.Event()
        # a thread reads the child's lines: select() cannot see lines already in Python's buffer
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(60):
            self.stop()
            raise RuntimeError("the benchmark OPC UA server did not start")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("ready"):
                self.ready.set()
            elif line.startswith("writes"):
                _, count, seconds = line.split()
                self.last = (int(count), float(seconds))

    def writes(self) -> tuple[int, float]:
        """(cumulative writes, server seconds) of the latest tick reported."""
        return self.last

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


# --- the two clients ---------------------------------------------------------------------------


async def _plain_client(endpoint: str, plant: Plant, warmup: float, seconds: float) -> float:
    from asyncua import Client, ua

    class Counter:
        changes = 0

        def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
            Counter.changes += 1

    async with Client(endpoint) as client:
        subscription = await client.create_subscription(PERIOD_MS, Counter(), queue_maxsize=100_000)
        nodes = [client.get_node(ua.NodeId.from_string(f"ns=2;s={e}.{s}")) for e, s in _items(plant)]
        await subscription.subscribe_data_change(nodes, sampling_interval=PERIOD_MS, queuesize=2)
        await asyncio.sleep(warmup)
        start, t0 = Counter.changes, time.perf_counter()
        await asyncio.sleep(seconds)
        rate = (Counter.changes - start) / (time.perf_counter() - t0)
        await subscription.delete()
    return rate


async def _source(endpoint: str, plant: Plant, warmup: float, seconds: float) -> tuple[float, float]:
    config = OpcUaConfig(
        endpoint=endpoint,
        sampling_ms=PERIOD_MS,
        nodes=[{"node": f"ns=2;s={e}.{s}", "equipment": e, "signal": s} for e, s in _items(plant)],
    )
    with tempfile.TemporaryDirectory() as folder:
        async with IngestWriter(Path(folder)) as writer:
            source = OpcUaSource("bench", config, plant, writer)
            await source.setup()
            task = asyncio.create_task(source.run())
            await asyncio.sleep(warmup)
            points, stored, t0 = source.status.points, writer.stats.stored, time.perf_counter()
            await asyncio.sleep(seconds)
            await writer.flush()
            elapsed = time.perf_counter() - t0
            delivered = (source.status.points - points) / elapsed
            committed = (writer.stats.stored - stored) / elapsed
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await source.close()
    return delivered, committed


def main(quick: bool = False) -> list[dict[str, str]]:
    """Measure; return the table rows as dicts (the columns of ``common.Row``)."""
    warmup, seconds = (1.5, 3.0) if quick else (3.0, 10.0)
    plant = bench_plant()
    server = ServerProcess()
    try:
        w0 = server.writes()
        baseline = asyncio.run(_plain_client(server.endpoint, plant, warmup, seconds))
        delivered, committed = asyncio.run(_source(server.endpoint, plant, warmup, seconds))
        w1 = server.writes()
    finally:
        server.stop()
    offered = (w1[0] - w0[0]) / (w1[1] - w0[1]) if w1[1] > w0[1] else 0.0
    rows = [
        Row(
            "opcua",
            "value changes/s delivered, 1,000 items @ 100 ms",
            f"{delivered:,.0f}/s",
            f"{baseline:,.0f}/s (plain asyncua)",
            f"{delivered / TARGET:.2f}× target",
            f"≥ {TARGET:,.0f}/s",
            verdict(delivered >= TARGET * 0.99),
        ),
        Row("opcua", "rows/s committed to the store", f"{committed:,.0f}/s", "—", "—"),
        Row(
            "opcua",
            "server writes/s offered",
            f"{offered:,.0f}/s",
            f"{TARGET:,.0f}/s nominal",
            f"{offered / TARGET:.2f}×",
        ),
    ]
    return [
        dict(
            zip(
                ("benchmark", "measure", "value", "baseline", "ratio", "target", "ok"), r.cells(), strict=True
            )
        )
        for r in rows
    ]


def run(quick: bool = False) -> str:
    """The markdown table (for ``run_all.py``)."""
    rows = [Row(**row) for row in main(quick)]
    return "### OPC UA subscription throughput\n\n" + markdown(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter measurement (smoke test)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve, PERIOD_MS))
    else:
        print(environment() + "\n")
        print(run(args.quick))
