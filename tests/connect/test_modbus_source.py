"""The Modbus TCP source against a real pymodbus TCP server on loopback, through the real ingest writer.

Each test starts a pymodbus server on a free loopback port in its own event loop, with a
datastore the test writes to, polls it with :class:`ModbusSource` every 50 ms into an
:class:`IngestWriter`, and reads what was committed back from the telemetry store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pymodbus.client import AsyncModbusTcpClient

from modbus_devices import DEVICE, Device, encode_words
from plants import MachineSpec, PlantSpec, signal
from smartfactory.connect.modbus import ModbusConfig, ModbusSource
from smartfactory.connect.modbus.adapter import (
    ModbusClientAdapter,
    ModbusConnectionError,
    ModbusReadError,
    device_keyword,
    plan_reads,
)
from smartfactory.connect.modbus.config import Register
from smartfactory.connect.modbus.source import _Schedule
from smartfactory.connect.sources import build_sources, source_settings_problems
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.errors import PlantFileError, UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store.quarantine import Quarantine
from smartfactory.store.telemetry import TelemetryStore

POLL = 0.05

TYPES = ["int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"]
# one value per type that only decodes right with the right sign, width and word order
VALUES: dict[str, float] = {
    "int16": -1234,
    "uint16": 54321,
    "int32": -123456789,
    "uint32": 3_000_000_000,
    "float32": 21.5,
    "int64": -(2**40) - 7,
    "uint64": 2**63 + 11,
    "float64": -1234.5678125,
}
EXTRA_SIGNALS = [f"{t}_{order}" for t in TYPES for order in ("big", "little")] + ["flag", "door", "pressure"]


# --- a plant with a signal per data type ----------------------------------------------------


def _plant() -> Plant:
    return parse_plant(_plant_text(), "modbus-test-plant.toml")


def _plant_text() -> str:
    extra = [signal(name, "-", (0.0, 1.0), sampling_s=1) for name in EXTRA_SIGNALS if name != "pressure"]
    extra.append(signal("pressure", "bar", (1.0, 9.0), measuring_range=[0.0, 10.0], sampling_s=1))
    machines = [
        [MachineSpec(cycle_s=60, extra_signals=extra)],
        [MachineSpec(cycle_s=60, extra_signals=extra)],
    ]
    return PlantSpec(cells=machines, buffers=[5, 5]).toml()


@pytest.fixture(name="plant", scope="module")
def fixture_plant() -> Plant:
    """The two-machine test plant (M1A, M2A) with extra signals."""
    return _plant()


# --- a real pymodbus server -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- running the source -----------------------------------------------------------------------


class Run:
    """A source polling the device into a real writer; ``stop`` ends both and opens the store."""

    def __init__(self, folder: Path, plant: Plant, config: dict[str, Any]) -> None:
        self.folder = folder
        self.writer = IngestWriter(folder, max_delay_s=0.05)
        self.source = ModbusSource("plc", ModbusConfig.model_validate(config), plant, self.writer)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.writer.start()
        await self.source.setup()
        self.task = asyncio.create_task(self.source.run())

    async def polls(self, n: int, timeout: float = 5.0) -> None:
        """Wait until ``n`` more polls are done."""
        target = self.source.status.polls + n
        await _until(lambda: self.source.status.polls >= target, timeout)

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.writer.stop()
        await self.source.close()


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def _config(port: int, registers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "device_id": DEVICE, "timeout_s": 1.0, "poll_s": POLL,
            "registers": registers, **extra}  # fmt: skip


def _scenario(
    tmp_path: Path, plant: Plant, registers: list[dict[str, Any]], body: Callable[[Device, Run], Awaitable[None]],
    **extra: Any,
) -> TelemetryStore:  # fmt: skip
    """Run ``body`` with a started device and source; return the store (read-only) afterwards."""

    async def main() -> None:
        device = Device(_free_port())
        await device.start()
        run = Run(tmp_path, plant, _config(device.port, registers, **extra))
        try:
            await run.start()
            await body(device, run)
        finally:
            if run.task is not None:
                await run.stop()
            await device.stop()

    asyncio.run(main())
    return TelemetryStore.open(tmp_path, "read")


@pytest.fixture(name="read")
def fixture_read() -> Iterator[list[TelemetryStore]]:
    """Closes the stores a test opened."""
    opened: list[TelemetryStore] = []
    yield opened
    for store in opened:
        store.close()


def _values(store: TelemetryStore, equipment: str, signal: str) -> list[float]:
    rows = store.query(
        "SELECT value FROM measurements WHERE equipment = $e AND signal = $s ORDER BY ts",
        {"e": equipment, "s": signal},
    )
    return [float(v) for v in rows.column("value").to_pylist()]


def _quarantine(store: TelemetryStore) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (e.source, e.reason, json.loads(e.raw)) for e in Quarantine(store.connection, create=False).list()
    ]


# --- values -----------------------------------------------------------------------------------


def test_every_data_type_and_word_order_is_read_and_scaled(
    tmp_path: Path, plant: Plant, read: list[TelemetryStore]
) -> None:
    registers: list[dict[str, Any]] = []
    writes: list[tuple[str, int, list[int]]] = []
    address = 0
    for data_type in TYPES:
        for order in ("big", "little"):
            words = encode_words(VALUES[data_type], data_type, order)
            table = "holding" if order == "big" else "input"
            registers.append({"equipment": "M1A", "signal": f"{data_type}_{order}", "table": table,
                              "address": address, "data_type": data_type, "word_order": order})  # fmt: skip
            writes.append((table, address, words))
            address += len(words)
    # scale and offset: a tenth-of-a-degree register, and a 4..20 mA style offset
    registers.append(
        {"equipment": "M2A", "signal": "int16_big", "address": 150, "data_type": "int16", "scale": 0.1}
    )
    registers.append(
        {"equipment": "M2A", "signal": "uint16_big", "address": 151, "scale": 0.5, "offset": -4.0}
    )
    registers.append(
        {"equipment": "M1A", "signal": "flag", "table": "coil", "address": 3, "data_type": "bool"}
    )
    registers.append(
        {"equipment": "M1A", "signal": "door", "table": "discrete", "address": 17, "data_type": "bool"}
    )

    async def body(device: Device, run: Run) -> None:
        for table, at, words in writes:
            await device.set_words(table, at, words)
        await device.set_words("holding", 150, encode_words(-235, "int16"))
        await device.set_words("holding", 151, [100])
        await device.set_bits("coil", 3, [True])
        await device.set_bits("discrete", 16, [False, True])
        await run.polls(2)
        await run.polls(3)

    store = _scenario(tmp_path, plant, registers, body)
    read.append(store)
    for data_type in TYPES:
        for order in ("big", "little"):
            got = _values(store, "M1A", f"{data_type}_{order}")
            assert len(got) >= 3, (data_type, order)
            # the store keeps float64: 64-bit integers are exact up to 2**53, then to the nearest double
            assert got[-1] == pytest.approx(float(VALUES[data_type]), rel=1e-15), (data_type, order)
    assert _values(store, "M2A", "int16_big")[-1] == pytest.approx(-23.5)
    assert _values(store, "M2A", "uint16_big")[-1] == pytest.approx(46.0)
    assert _values(store, "M1A", "flag")[-1] == 1.0
    assert _values(store, "M1A", "door")[-1] == 1.0
    assert _quarantine(store) == []


def test_nan_and_out_of_range_values_are_quarantined_and_polling_goes_on(
    tmp_path: Path, plant: Plant, read: list[TelemetryStore]
) -> None:
    registers = [
        {"equipment": "M1A", "signal": "float32_big", "address": 0, "data_type": "float32"},
        {"equipment": "M1A", "signal": "pressure", "address": 2, "scale": 0.1},
    ]

    async def body(device: Device, run: Run) -> None:
        await device.set_words("holding", 0, encode_words(math.nan, "float32"))
        await device.set_words("holding", 2, [123])  # 12.3 bar: outside the 0..10 bar measuring range
        await run.polls(3)
        await device.set_words("holding", 0, encode_words(7.25, "float32"))
        await device.set_words("holding", 2, [55])
        await run.polls(3)

    store = _scenario(tmp_path, plant, registers, body)
    read.append(store)
    reasons = [reason for _, reason, _ in _quarantine(store)]
    assert any(r.startswith("nan: float32 nan for M1A.float32_big") for r in reasons)
    assert any(
        r.startswith("out of range: 12.3 outside the measuring range [0, 10] of M1A.pressure")
        for r in reasons
    )
    assert _values(store, "M1A", "float32_big")[-1] == 7.25
    assert _values(store, "M1A", "pressure")[-1] == pytest.approx(5.5)
    assert max(_values(store, "M1A", "pressure")) <= 10.0


def test_illegal_address_is_quarantined_once_and_its_neighbours_keep_coming(
    tmp_path: Path, plant: Plant, read: list[TelemetryStore]
) -> None:
    # 198 and 199 exist, 200 does not: the three are one block until the device refuses it
    registers = [
        {"equipment": "M1A", "signal": "uint16_big", "address": 198},
        {"equipment": "M1A", "signal": "uint16_little", "address": 199},
        {"equipment": "M1A", "signal": "int16_big", "address": 200, "data_type": "int16"},
    ]
    polls_with_error = 0

    async def body(device: Device, run: Run) -> None:
        nonlocal polls_with_error
        await device.set_words("holding", 198, [11, 12])
        await run.polls(6)
        polls_with_error = run.source.status.polls

    store = _scenario(tmp_path, plant, registers, body)
    read.append(store)
    entries = _quarantine(store)
    assert len(entries) == 1, entries  # one entry, not one per poll
    source, reason, raw = entries[0]
    assert source.endswith(f"/{DEVICE}/holding/200")
    assert (
        reason == "read error: exception code 2 (illegal data address) reading holding 200 for M1A.int16_big"
    )
    assert raw["exception_code"] == 2 and raw["address"] == 200
    assert polls_with_error >= 6
    assert _values(store, "M1A", "uint16_big")[-5:] == [11.0] * 5
    assert _values(store, "M1A", "uint16_little")[-5:] == [12.0] * 5


# --- states and counters ----------------------------------------------------------------------


def _states(store: TelemetryStore, equipment: str) -> list[tuple[str, int, int]]:
    rows = store.query(
        'SELECT state, epoch_us(start) AS s, epoch_us("end") AS e FROM states WHERE equipment = $e ORDER BY start',
        {"e": equipment},
    ).to_pylist()
    return [(str(r["state"]), int(r["s"]), int(r["e"])) for r in rows]


def _open_state(store: TelemetryStore, equipment: str) -> str | None:
    row = store.connection.execute(
        "SELECT state FROM open_states WHERE equipment = ?", [equipment]
    ).fetchone()
    return None if row is None else str(row[0])


STATE_CODES = {"0": "idle", "1": "running", "3": "unplanned_down"}


def test_a_state_code_change_is_one_state_change_and_stopping_starts_no_data(
    tmp_path: Path, plant: Plant, read: list[TelemetryStore]
) -> None:
    registers = [{"equipment": "M1A", "signal": "state", "address": 10}]
    marks: list[int] = []

    async def body(device: Device, run: Run) -> None:
        await device.set_words("holding", 10, [1])
        await run.polls(4)  # repeated polls of the same code are no new state
        marks.append(time.time_ns() // 1000)
        await device.set_words("holding", 10, [3])
        await run.polls(4)
        await device.set_words("holding", 10, [9])  # not in state_codes
        await run.polls(3)
        marks.append(time.time_ns() // 1000)
        await device.set_words("holding", 10, [0])
        await run.polls(3)

    store = _scenario(tmp_path, plant, registers, body, state_codes=STATE_CODES)
    read.append(store)
    states = _states(store, "M1A")
    assert [s for s, _, _ in states] == ["running", "unplanned_down", "idle"]
    running, down, idle = states
    assert running[2] == down[1] and down[2] == idle[1]  # contiguous intervals
    assert running[1] < marks[0] < running[2]
    assert marks[1] < idle[1]
    assert _open_state(store, "M1A") == "no_data"  # the source stopped: nothing is known from then on
    [(_, reason, raw)] = _quarantine(store)
    assert reason == "unknown state code: 9 for M1A (known: 0, 1, 3)"
    assert raw["words"] == [9]


def test_counter_increments_and_a_reset_become_counts(
    tmp_path: Path, plant: Plant, read: list[TelemetryStore]
) -> None:
    registers = [
        {"equipment": "M1A", "signal": "good_count", "address": 20, "data_type": "uint32"},
        {"equipment": "M1A", "signal": "scrap_count", "address": 22},
    ]

    async def body(device: Device, run: Run) -> None:
        await device.set_words("holding", 20, [*encode_words(70_000, "uint32"), 4])
        await run.polls(3)  # the first reading is only the baseline
        await device.set_words("holding", 20, encode_words(70_003, "uint32"))
        await run.polls(3)
        await device.set_words("holding", 20, [*encode_words(70_010, "uint32"), 5])
        await run.polls(3)
        await device.set_words("holding", 20, [*encode_words(2, "uint32"), 0])  # the PLC reset its counters
        await run.polls(3)

    store = _scenario(tmp_path, plant, registers, body)
    read.append(store)
    rows = store.query("SELECT good, scrap FROM counts WHERE equipment = 'M1A' ORDER BY ts").to_pylist()
    assert [(r["good"], r["scrap"]) for r in rows] == [(3, 0), (7, 1), (2, 0)]


# --- reconnect --------------------------------------------------------------------------------


def test_server_restart_reconnects_records_no_data_and_values_arrive_again(
    tmp_path: Path, plant: Plant, read: list[TelemetryStore]
) -> None:
    registers = [
        {"equipment": "M1A", "signal": "state", "address": 10},
        {"equipment": "M1A", "signal": "uint16_big", "address": 11},
    ]
    marks: dict[str, int] = {}

    async def body(device: Device, run: Run) -> None:
        status = run.source.status
        await device.set_words("holding", 10, [1, 100])
        await run.polls(3)
        assert status.connected
        marks["down"] = time.time_ns() // 1000
        await device.stop()
        await _until(lambda: not status.connected, 5)
        await asyncio.sleep(0.3)
        await device.set_words("holding", 11, [200])
        marks["up"] = time.time_ns() // 1000
        await device.start()
        await _until(lambda: status.connected and status.reconnects == 1, 10)
        await run.polls(3)
        assert len(status.gaps) == 1 and status.gaps[0][0] < status.gaps[0][1]

    store = _scenario(tmp_path, plant, registers, body, state_codes=STATE_CODES)
    read.append(store)
    states = _states(store, "M1A")
    assert [s for s, _, _ in states][:3] == ["running", "no_data", "running"]
    _, gap_start, gap_end = states[1]
    assert marks["down"] <= gap_start <= marks["up"] <= gap_end
    values = _values(store, "M1A", "uint16_big")
    assert values[0] == 100.0 and values[-1] == 200.0
    assert _quarantine(store) == []


def test_unreachable_device_keeps_retrying_without_ending_run(tmp_path: Path, plant: Plant) -> None:
    async def main() -> None:
        port = _free_port()  # nothing listens here
        run = Run(
            tmp_path, plant, _config(port, [{"equipment": "M1A", "signal": "uint16_big", "address": 0}])
        )
        await run.start()
        await asyncio.sleep(0.4)
        assert run.task is not None and not run.task.done()
        assert not run.source.status.connected
        assert "cannot connect to 127.0.0.1" in str(run.source.status.last_error)
        await run.stop()

    asyncio.run(main())


# --- the adapter and the read plan ------------------------------------------------------------


def test_adapter_reads_blocks_and_raises_on_exception_responses() -> None:
    async def main() -> None:
        device = Device(_free_port())
        device.holding[5:7] = [7, 8]
        device.coils[0:3] = [True, False, True]
        await device.start()
        adapter = ModbusClientAdapter("127.0.0.1", device.port, DEVICE, 1.0)
        try:
            await adapter.connect()
            assert adapter.connected
            assert await adapter.read("holding", 5, 2) == [7, 8]
            assert await adapter.read("coil", 0, 3) == [True, False, True]
            with pytest.raises(ModbusReadError) as error:
                await adapter.read("input", 199, 2)
            assert error.value.exception_code == 2
            assert str(error.value) == "exception code 2 (illegal data address) reading input 199..200"
            with pytest.raises(ValueError, match=r"1\.\.125"):
                await adapter.read("holding", 0, 126)
            await device.stop()
            with pytest.raises(ModbusConnectionError):
                for _ in range(50):  # the close reaches the client within a few reads
                    await adapter.read("holding", 5, 2)
                    await asyncio.sleep(0.02)
        finally:
            adapter.close()
            await device.stop()

    asyncio.run(main())


def test_device_keyword_follows_the_pymodbus_renames() -> None:
    def v2(address: int, count: int = 1, unit: int = 0) -> None: ...
    def v3(address: int, count: int = 1, slave: int = 0) -> None: ...
    def v311(address: int, *, count: int = 1, device_id: int = 1) -> None: ...
    def other(address: int) -> None: ...

    assert [device_keyword(f) for f in (v2, v3, v311)] == ["unit", "slave", "device_id"]
    assert device_keyword(AsyncModbusTcpClient.read_input_registers) == "device_id"  # the installed one
    with pytest.raises(RuntimeError, match="not supported"):
        device_keyword(other)


def _register(**fields: Any) -> Register:
    return Register.model_validate({"equipment": "M1A", "signal": "x", **fields})


def test_read_plan_merges_contiguous_registers_within_protocol_limits() -> None:
    registers = [
        _register(address=0, data_type="float32"),  # 0..1
        _register(address=2),  # 2
        _register(address=2, data_type="int16"),  # the same word read twice
        _register(address=4),  # after a gap: a new request
        _register(table="input", address=3),  # another table: another request
        _register(table="coil", address=0, data_type="bool"),
        _register(table="coil", address=1, data_type="bool"),
    ]
    plan = [(g.table, g.address, g.count, len(g.members)) for g in plan_reads(registers)]
    assert plan == [("holding", 0, 3, 3), ("holding", 4, 1, 1), ("input", 3, 1, 1), ("coil", 0, 2, 2)]
    long_run = [_register(address=a, data_type="float64") for a in range(0, 200, 4)]
    groups = plan_reads(long_run)
    assert [g.count for g in groups] == [124, 76]  # 125 words at most, never splitting a value
    bits = plan_reads([_register(table="discrete", address=a, data_type="bool") for a in range(2500)])
    assert [g.count for g in bits] == [2000, 500]


def test_schedule_is_drift_free_and_counts_skipped_ticks() -> None:
    schedule = _Schedule(interval=1.0, groups=[], next_due=100.0)
    assert schedule.advance(100.3) == 0 and schedule.next_due == 101.0  # late start does not shift the grid
    assert schedule.advance(103.5) == 2 and schedule.next_due == 104.0  # ticks 102 and 103 skipped


# --- config -----------------------------------------------------------------------------------


def _error(config: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as error:
        ModbusConfig.model_validate(config)
    return str(error.value)


def test_config_errors_say_what_is_wrong_and_what_is_allowed(plant: Plant) -> None:
    ok = {"equipment": "M1A", "signal": "uint16_big", "address": 0}
    assert (
        "device_id 0 is the Modbus broadcast address and gets no reply to reads; use the device's unit id, 1..247"
        in (_error(_config(502, [ok], device_id=0)))
    )
    assert "device_id 300 is out of range; Modbus unit ids are 1..247" in _error(
        _config(502, [ok], device_id=300)
    )
    bool_holding = {**ok, "data_type": "bool"}
    assert "data_type 'bool' is only for table 'coil' or 'discrete', not 'holding'" in _error(
        _config(502, [bool_holding])
    )
    coil_int = {**ok, "table": "coil"}
    assert "table 'coil' holds single bits: use data_type = 'bool'" in _error(_config(502, [coil_int]))
    past_end = {**ok, "address": 65534, "data_type": "float64"}
    assert "float64 at address 65534 spans 4 registers, up to 65537, past the last address 65535" in (
        _error(_config(502, [past_end]))
    )
    state = {"equipment": "M1A", "signal": "state", "address": 1}
    assert "no state_codes map its codes to states" in _error(_config(502, [state]))
    assert "registers[1] feeds M1A.uint16_big again" in _error(_config(502, [ok, ok]))
    float_counter = {"equipment": "M1A", "signal": "good_count", "address": 1, "data_type": "float32"}
    assert "use an integer data_type" in _error(_config(502, [float_counter]))
    assert "Extra inputs are not permitted" in _error(_config(502, [{**ok, "unit": 1}]))


def test_setup_rejects_unknown_equipment_and_signals(tmp_path: Path, plant: Plant) -> None:
    config = ModbusConfig.model_validate(
        _config(
            502,
            [
                {"equipment": "M9Z", "signal": "temp", "address": 0},
                {"equipment": "M1A", "signal": "speed", "address": 1},
                {"equipment": "M1A", "signal": "energy_kwh", "address": 2, "data_type": "uint32"},
                {"equipment": "M1A", "signal": "good_count", "address": 4},
            ],
        )
    )
    source = ModbusSource("line-plc", config, plant, IngestWriter(tmp_path))
    with pytest.raises(UserError) as error:
        asyncio.run(source.setup())
    text = str(error.value)
    assert "modbus source 'line-plc' does not match the plant (2 problem(s))" in text
    assert "source line-plc [registers[0].equipment]: unknown equipment 'M9Z'; the plant has M1A, M2A" in text
    assert "[registers[1].signal]: equipment 'M1A' has no signal 'speed'; allowed: temp, " in text
    assert "registers[2]" not in text and "registers[3]" not in text  # energy meter and counters are fine


def _docs_example() -> str:
    text = (Path(__file__).parents[2] / "docs" / "connect-modbus.md").read_text(encoding="utf-8")
    return text.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_documented_example_loads_from_a_plant_file_and_builds_a_source(tmp_path: Path) -> None:
    base = _plant_text()
    plant = parse_plant(base + _docs_example(), "plant.toml", (source_settings_problems,))
    [source] = build_sources(plant, IngestWriter(tmp_path))
    assert isinstance(source, ModbusSource)
    asyncio.run(source.setup())
    assert source.config.state_codes[3] == "unplanned_down"
    assert [r.signal for r in source.config.registers] == [
        "temp",
        "pressure",
        "state",
        "good_count",
        "scrap_count",
    ]

    wrong = (
        _docs_example()
        .replace('data_type = "int16"', 'data_type = "bool"')
        .replace("device_id = 1 ", "device_id = 0 ")
    )
    with pytest.raises(PlantFileError) as error:
        parse_plant(base + wrong, "plant.toml", (source_settings_problems,))
    text = str(error.value)
    assert "[source[0].device_id]: device_id 0 is the Modbus broadcast address" in text
    assert (
        "[source[0].registers[0]]: data_type 'bool' is only for table 'coil' or 'discrete', not 'input'"
        in text
    )
    assert "plant.toml:" in text  # with the line
