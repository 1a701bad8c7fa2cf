"""Real asyncua OPC UA servers on free loopback ports, for the OPC UA tests and the benchmark.

* :class:`ThreadedTwin`: a :class:`TwinServer` on its own event loop in a background thread, shared
  by the tests of a module (an asyncua server takes ~2 s to build its address space); tests drive
  its variables through :meth:`ThreadedTwin.call`, or as the simulator does, through its sink.
* :class:`TwinProcess`: the same server in a child process (``python tests/opcua_servers.py``), for
  restarts that must look real to the client: SIGSTOP (a hung PLC), SIGKILL (power off), a new
  process on the same port (:meth:`TwinProcess.prepare` builds it ahead, :meth:`TwinProcess.go`
  makes it listen, so a test does not wait for a second start). The child writes ``state`` = running, a ``good_count`` that grows by one
  and a ``temp`` value every ``--period`` seconds, all stamped with the wall clock.

Run alone: ``python tests/opcua_servers.py --port 4840 --period 0.1`` serves the test plant.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plants import (  # noqa: E402
    PlantFile,
    calendar,
    cell,
    machine,
    order,
    product,
    reasons,
    routing,
    shift,
    text,
)
from plants import signal as plant_signal  # noqa: E402  (the module uses the signal module)
from smartfactory.connect.opcua.server import TwinServer  # noqa: E402
from smartfactory.model.plant import Plant  # noqa: E402
from smartfactory.model.plant_file import parse_plant  # noqa: E402

T = TypeVar("T")

# two machines; M1A has a float signal with a measuring range, an int and a bool signal
PLANT_FILE = PlantFile(
    plant_id="opcua-test",
    work_cells=[cell("C1", text("Cell 1", "工位 1")), cell("C2", text("Cell 2", "工位 2"))],
    equipment=[
        machine(
            "M1A",
            "C1",
            text("Machine 1A", "设备 1A"),
            signal=[
                plant_signal("temp", "°C", (10.0, 60.0), measuring_range=[-50.0, 500.0], sampling_s=1),
                plant_signal("spindle_speed", "rpm", (0.0, 12000.0), dtype="int", per_cycle=True),
                plant_signal("door_open", "-", (0.0, 1.0), dtype="bool", sampling_s=1),
            ],
        ),
        machine(
            "M2A",
            "C2",
            text("Machine 2A", "设备 2A"),
            signal=[plant_signal("temp", "°C", (10.0, 60.0), sampling_s=1)],
        ),
    ],
    calendar=calendar([shift("S0", "08:00", "16:00", text("Shift", "班次"))]),
    reasons=reasons("P.NOSHIFT", "U"),
    products=[product("P0", text("Product", "产品"))],
    routings=[routing("P0", [{"work_cell": "C1", "cycle_s": 30}, {"work_cell": "C2", "cycle_s": 30}])],
    orders=[order("O1", "P0", 10)],
)
PLANT = PLANT_FILE.toml()


def opcua_plant() -> Plant:
    """The two-machine plant every OPC UA test uses."""
    return parse_plant(PLANT, "opcua-test.toml")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def endpoint_for(port: int) -> str:
    """The endpoint URL of a test server on ``port``."""
    return f"opc.tcp://127.0.0.1:{port}/smartfactory"


class ThreadedTwin:
    """A TwinServer running on an event loop of its own, in a daemon thread."""

    def __init__(self, plant: Plant, **server_options: Any) -> None:
        self.plant = plant
        self.endpoint = endpoint_for(free_port())
        self.server = TwinServer(plant, self.endpoint, **server_options)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="opcua-twin", daemon=True)

    def start(self) -> ThreadedTwin:
        """Start the loop and the server; return when it listens."""
        self.thread.start()
        self.call(self.server.start())
        return self

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def write(
        self, equipment: str, signal: str, value: float | int | str, at: datetime | None = None
    ) -> None:
        """Set one variable, stamped ``at`` (now by default)."""
        self.call(self.server.write(equipment, signal, value, at or datetime.now(UTC)))

    def raw(self, equipment: str, signal: str, data_value: Any) -> None:
        """Write a DataValue as it is (wrong types, bad status codes): what a misbehaving server sends."""
        from asyncua import ua

        assert self.server.server is not None
        node = ua.NodeId.from_string(self.server.node_id(equipment, signal))
        self.call(self.server.server.write_attribute_value(node, data_value))

    def add_variable(self, name: str, value: Any, variant_type: Any) -> str:
        """A variable of any type under Objects (what the twin never serves); its NodeId text."""
        from asyncua import ua

        async def add() -> str:
            assert self.server.server is not None
            node_id = ua.NodeId(ua.String(f"test.{name}"), ua.Int16(self.server.ns))
            objects = self.server.server.nodes.objects
            await objects.add_variable(node_id, ua.QualifiedName(name, self.server.ns), value, variant_type)
            return node_id.to_string()

        return self.call(add())

    def stop(self) -> None:
        """Stop the server and the loop."""
        with contextlib.suppress(Exception):
            self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextlib.contextmanager
def threaded_twin(plant: Plant | None = None, **server_options: Any) -> Iterator[ThreadedTwin]:
    """A started :class:`ThreadedTwin`, stopped on exit."""
    twin = ThreadedTwin(plant or opcua_plant(), **server_options).start()
    try:
        yield twin
    finally:
        twin.stop()


class TwinProcess:
    """The test twin server in a child process, which a test can freeze, kill and start again."""

    def __init__(self, port: int | None = None, period_s: float = 0.1) -> None:
        self.port = port or free_port()
        self.endpoint = endpoint_for(self.port)
        self.period_s = period_s
        self.process: subprocess.Popen[str] | None = None

    def prepare(self, timeout: float = 30.0) -> TwinProcess:
        """Start the child and wait until its address space is built; it listens on :meth:`go`."""
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--port", str(self.port), "--period", str(self.period_s), "--wait"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._expect("prepared", timeout)
        return self

    def go(self, timeout: float = 30.0) -> TwinProcess:
        """Let the prepared child listen; return when it does."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        self._expect("ready", timeout)
        return self

    def start(self, timeout: float = 30.0) -> TwinProcess:
        """Start the child and wait until it listens."""
        return self.prepare(timeout).go(timeout)

    def _expect(self, line: str, timeout: float) -> None:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready and self.process.stdout.readline().strip() == line:
                return
            if self.process.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"the OPC UA test server on port {self.port} did not say {line!r}")

    def freeze(self) -> None:
        """SIGSTOP: the socket stays open but nothing answers (a hung PLC)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL (after SIGCONT, so a frozen child dies at once) and reap it."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


async def _serve(port: int, period_s: float, wait: bool) -> None:
    server = TwinServer(opcua_plant(), endpoint_for(port))
    await server.prepare()
    if wait:
        print("prepared", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    await server.start()
    print("ready", flush=True)
    count = 0
    while True:
        now = datetime.now(UTC)
        count += 1
        await server.write("M1A", "state", "running", now)
        await server.write("M1A", "good_count", count, now)
        await server.write("M1A", "temp", 20.0 + count % 10, now)
        await asyncio.sleep(period_s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the OPC UA test plant, writing values periodically.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--period", type=float, default=0.1)
    parser.add_argument(
        "--wait", action="store_true", help="build, say 'prepared', listen after a line on stdin"
    )
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.period, args.wait))
