"""A real pymodbus TCP server on loopback whose registers and bits a test sets (the Modbus tests)."""

from __future__ import annotations

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

DEVICE = 1
REGISTERS = 200  # holding and input registers 0..199 exist; 200 and up answer "illegal data address"


class Device:
    """A pymodbus TCP server for unit id 1 whose registers and bits the test sets."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ModbusTcpServer | None = None
        # the datastore outlives a server restart, as a PLC's memory does
        self.holding = [0] * REGISTERS
        self.input = [0] * REGISTERS
        self.coils = [False] * 32
        self.discrete = [False] * 32

    async def start(self) -> None:
        """Listen on the port with the current register values."""
        device = SimDevice(
            id=DEVICE,
            simdata=(
                [SimData(0, values=list(self.coils), datatype=DataType.BITS)],
                [SimData(0, values=list(self.discrete), datatype=DataType.BITS)],
                [SimData(0, values=list(self.holding), datatype=DataType.REGISTERS)],
                [SimData(0, values=list(self.input), datatype=DataType.REGISTERS)],
            ),
        )
        self.server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        """Stop listening and drop every client connection."""
        if self.server is not None:
            await self.server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus leaves it unannotated
            self.server = None

    async def set_words(self, table: str, address: int, words: list[int]) -> None:
        """Write registers (kept for a restart too)."""
        store = self.holding if table == "holding" else self.input
        store[address : address + len(words)] = words
        if self.server is not None:
            await self.server.async_setValues(DEVICE, 16 if table == "holding" else 4, address, words)

    async def set_bits(self, table: str, address: int, bits: list[bool]) -> None:
        """Write coils or discrete inputs."""
        store = self.coils if table == "coil" else self.discrete
        store[address : address + len(bits)] = bits
        if self.server is not None:
            await self.server.async_setValues(DEVICE, 15 if table == "coil" else 2, address, bits)


def encode_words(value: float, data_type: str, order: str = "big") -> list[int]:
    """``value`` as registers of ``data_type`` by pymodbus's own encoder: an implementation
    independent of the source's decoder."""
    dt = getattr(AsyncModbusTcpClient.DATATYPE, data_type.upper())
    words: list[int] = AsyncModbusTcpClient.convert_to_registers(value, dt, word_order=order)  # type: ignore[arg-type]
    return words
