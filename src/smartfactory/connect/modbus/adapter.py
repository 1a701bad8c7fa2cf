"""A thin adapter over pymodbus's async TCP client, so its API churn stays in one place.

pymodbus renamed the unit keyword from ``unit=`` (2.x) to ``slave=`` (3.0) to ``device_id=``
(3.10/3.11), and a wrong keyword fails only at the first read. The adapter finds the keyword
once from the read method's signature, turns error responses into :class:`ModbusReadError` with
the exception code, and every transport failure into :class:`ModbusConnectionError`.
"""

from __future__ import annotations

import inspect
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from smartfactory.connect.modbus.config import BIT_TABLES, Register, Table

DEVICE_KEYWORDS = ("device_id", "slave", "unit")

# Modbus application protocol v1.1b3, section 7
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

# Largest request the protocol allows per function (registers, bits)
MAX_WORDS = 125
MAX_BITS = 2000

_STRUCT = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "float32": ">f",
    "int64": ">q",
    "uint64": ">Q",
    "float64": ">d",
}

_METHODS: dict[str, str] = {
    "holding": "read_holding_registers",
    "input": "read_input_registers",
    "coil": "read_coils",
    "discrete": "read_discrete_inputs",
}


class ModbusConnectionError(Exception):
    """The connection is down or the device did not answer: reconnect."""


class ModbusReadError(Exception):
    """The device answered a read with an exception response (the connection is fine)."""

    def __init__(self, table: str, address: int, count: int, exception_code: int) -> None:
        self.table = table
        self.address = address
        self.count = count
        self.exception_code = exception_code
        name = EXCEPTION_NAMES.get(exception_code, "unknown exception")
        last = address + count - 1
        span = f"{address}" if count == 1 else f"{address}..{last}"
        super().__init__(f"exception code {exception_code} ({name}) reading {table} {span}")


def device_keyword(read: Callable[..., Any]) -> str:
    """The keyword this pymodbus version's read methods take for the unit id."""
    parameters = inspect.signature(read).parameters
    for keyword in DEVICE_KEYWORDS:
        if keyword in parameters:
            return keyword
    raise RuntimeError(
        f"pymodbus read method takes none of {', '.join(DEVICE_KEYWORDS)}; "
        f"its parameters are {', '.join(parameters)}: this pymodbus version is not supported"
    )


class ModbusClientAdapter:
    """One Modbus TCP connection to one device: connect, read a block, close."""

    def __init__(self, host: str, port: int, device_id: int, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.device_id = device_id
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None
        self._keyword = device_keyword(AsyncModbusTcpClient.read_holding_registers)

    @property
    def connected(self) -> bool:
        """Whether the TCP connection is up."""
        return self._client is not None and bool(self._client.connected)

    async def connect(self) -> None:
        """Open the connection; raise ModbusConnectionError if the device cannot be reached."""
        self.close()
        # reconnects are the source's job (with its Backoff), so pymodbus must not retry by itself
        options: dict[str, Any] = {
            "port": self.port,
            "timeout": self.timeout_s,
            "retries": 0,
            "reconnect_delay": 0,
        }
        accepted = inspect.signature(AsyncModbusTcpClient.__init__).parameters
        client = AsyncModbusTcpClient(self.host, **{k: v for k, v in options.items() if k in accepted})
        try:
            ok = await client.connect()
        except (ModbusException, OSError) as exc:
            client.close()
            raise ModbusConnectionError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        if not ok:
            client.close()
            raise ModbusConnectionError(f"cannot connect to {self.host}:{self.port}")
        self._client = client

    async def read(self, table: Table, address: int, count: int) -> list[int] | list[bool]:
        """Read ``count`` registers (or bits) of ``table`` from ``address``."""
        limit = MAX_BITS if table in ("coil", "discrete") else MAX_WORDS
        if not 1 <= count <= limit:
            raise ValueError(f"a {table} read takes 1..{limit} values, not {count}")
        client = self._client
        if client is None or not client.connected:
            raise ModbusConnectionError(f"not connected to {self.host}:{self.port}")
        method = getattr(client, _METHODS[table])
        try:
            response = await method(address, count=count, **{self._keyword: self.device_id})
        except (ModbusException, OSError, TimeoutError) as exc:
            raise ModbusConnectionError(
                f"reading {table} {address} from {self.host}:{self.port}: {exc}"
            ) from exc
        if response.isError():
            raise ModbusReadError(table, address, count, int(getattr(response, "exception_code", 0)))
        if table in ("coil", "discrete"):
            # bits come padded to whole bytes
            return [bool(b) for b in response.bits[:count]]
        return [int(w) for w in response.registers]

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()


def decode(register: Register, values: Sequence[int] | Sequence[bool]) -> int | float | bool:
    """The raw value of ``register`` from its words (or bit), before scale and offset."""
    if register.data_type == "bool":
        return bool(values[0])
    words = list(values[: register.words])
    if len(words) != register.words:
        raise ValueError(f"{register.data_type} needs {register.words} words, got {len(words)}")
    if register.word_order == "little":
        words.reverse()
    raw = b"".join(int(w).to_bytes(2, "big") for w in words)
    value: int | float = struct.unpack(_STRUCT[register.data_type], raw)[0]
    return value


@dataclass
class ReadGroup:
    """Registers of one table and interval read in one request."""

    table: Table
    address: int
    count: int
    members: list[Register] = field(default_factory=list)

    def slice_for(
        self, register: Register, values: Sequence[int] | Sequence[bool]
    ) -> Sequence[int] | Sequence[bool]:
        """The part of this group's values that belongs to ``register``."""
        start = register.address - self.address
        return values[start : start + register.words]


def plan_reads(registers: Sequence[Register]) -> list[ReadGroup]:
    """Contiguous or overlapping registers of one table merged into requests within the protocol limits."""
    groups: list[ReadGroup] = []
    by_table: dict[str, list[Register]] = {}
    for register in registers:
        by_table.setdefault(register.table, []).append(register)
    for table, members in by_table.items():
        limit = MAX_BITS if table in BIT_TABLES else MAX_WORDS
        current: ReadGroup | None = None
        for register in sorted(members, key=lambda r: (r.address, r.words)):
            end = register.address + register.words
            # a gap is not read across: the device may answer "illegal data address" for it
            if current is not None and register.address <= current.address + current.count:
                new_count = max(current.address + current.count, end) - current.address
                if new_count <= limit:
                    current.count = new_count
                    current.members.append(register)
                    continue
            current = ReadGroup(register.table, register.address, register.words, [register])
            groups.append(current)
    return groups
