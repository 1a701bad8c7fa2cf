"""The ``[[source]]`` config of a Modbus TCP device: where it is and which registers feed which signals.

Checks that need only the config (register spans, bool tables, the broadcast id) live in the
Pydantic model; checks that need the plant (equipment and signal names) in :func:`plant_problems`.
"""

from __future__ import annotations

import math
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smartfactory.connect.plant_refs import reference_problems
from smartfactory.model.errors import Problem
from smartfactory.model.events import State
from smartfactory.model.plant import Plant

Table = Literal["holding", "input", "coil", "discrete"]
DataTypeName = Literal["int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64", "bool"]
WordOrder = Literal["big", "little"]

# 16-bit words each data type spans; a bool is one coil or discrete input
WORDS: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
    "bool": 1,
}
BIT_TABLES = frozenset({"coil", "discrete"})
INTEGER_TYPES = frozenset({"int16", "uint16", "int32", "uint32", "int64", "uint64"})

STATE_SIGNAL = "state"
GOOD_COUNT = "good_count"
SCRAP_COUNT = "scrap_count"
RESERVED_SIGNALS = frozenset({STATE_SIGNAL, GOOD_COUNT, SCRAP_COUNT})

LAST_ADDRESS = 65535


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Register(_Strict):
    """One value on the device: where it is, how it is encoded, and which signal it feeds."""

    equipment: str = Field(description="Equipment id from the plant file.")
    signal: str = Field(
        description=(
            "A signal of that equipment, or a reserved one: 'state' (a code mapped by state_codes), "
            "'good_count' / 'scrap_count' (cumulative part counters)."
        )
    )
    table: Table = Field(
        default="holding",
        description="Modbus table: holding or input registers, coils or discrete inputs.",
    )
    address: int = Field(ge=0, le=LAST_ADDRESS, description="0-based address (protocol address, not 40001).")
    data_type: DataTypeName = Field(
        default="uint16",
        description="How the words are read; bool only for coils and discrete inputs.",
    )
    word_order: WordOrder = Field(
        default="big",
        description="Word order of 32/64-bit values: 'big' = most significant word first.",
    )
    scale: float = Field(default=1.0, description="value = raw * scale + offset.")
    offset: float = Field(default=0.0, description="value = raw * scale + offset.")
    poll_s: float | None = Field(
        default=None, gt=0, description="Poll interval of this register; the source's poll_s if not given."
    )
    state_codes: dict[int, State] | None = Field(
        default=None,
        description="For signal = 'state': device code -> state, overriding the source's state_codes.",
    )

    @property
    def words(self) -> int:
        """Registers (or bits) this value spans."""
        return WORDS[self.data_type]

    @property
    def label(self) -> str:
        """``equipment.signal`` for messages."""
        return f"{self.equipment}.{self.signal}"

    @field_validator("scale", "offset")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        bit_table = self.table in BIT_TABLES
        if self.data_type == "bool" and not bit_table:
            raise ValueError(
                f"data_type 'bool' is only for table 'coil' or 'discrete', not {self.table!r}; "
                "read a 0/1 register as 'uint16'"
            )
        if bit_table and self.data_type != "bool":
            raise ValueError(f"table {self.table!r} holds single bits: use data_type = 'bool'")
        end = self.address + self.words - 1
        if end > LAST_ADDRESS:
            raise ValueError(
                f"{self.data_type} at address {self.address} spans {self.words} registers, "
                f"up to {end}, past the last address {LAST_ADDRESS}"
            )
        if self.scale == 0:
            raise ValueError("scale 0 makes every value 0; use a non-zero scale")
        if self.signal in RESERVED_SIGNALS:
            if self.data_type not in INTEGER_TYPES and not (self.signal == STATE_SIGNAL and bit_table):
                raise ValueError(
                    f"signal {self.signal!r} is an integer code or counter: use an integer data_type"
                )
            if self.scale != 1.0 or self.offset != 0.0:
                raise ValueError(f"signal {self.signal!r} takes no scale or offset")
        if self.state_codes is not None and self.signal != STATE_SIGNAL:
            raise ValueError("state_codes only apply to signal = 'state'")
        return self


class ModbusConfig(_Strict):
    """A Modbus TCP device polled for registers (``kind = "modbus"`` in the plant file)."""

    host: str = Field(min_length=1, description="Device or gateway host name or IP address.")
    port: int = Field(default=502, ge=1, le=65535, description="TCP port (502 is the Modbus standard).")
    device_id: int = Field(
        default=1,
        description="Unit id of the device, 1..247 (0 is broadcast: it gets no reply to reads).",
    )
    timeout_s: float = Field(default=3.0, gt=0, description="Seconds to wait for a connect or a reply.")
    poll_s: float = Field(default=1.0, gt=0, description="Default poll interval in seconds.")
    max_future_s: float = Field(
        default=3600.0,
        gt=0,
        description="Kept for every live source; Modbus times are this host's poll times.",
    )
    max_age_s: float = Field(
        default=30 * 86400.0,
        gt=0,
        description="Kept for every live source; Modbus times are this host's poll times.",
    )
    state_codes: dict[int, State] = Field(
        default_factory=dict, description="Device state code -> state, for registers with signal = 'state'."
    )
    registers: list[Register] = Field(min_length=1, description="The values to poll.")

    @field_validator("device_id")
    @classmethod
    def _unit(cls, value: int) -> int:
        if value == 0:
            raise ValueError(
                "device_id 0 is the Modbus broadcast address and gets no reply to reads; "
                "use the device's unit id, 1..247"
            )
        if not 1 <= value <= 247:
            raise ValueError(f"device_id {value} is out of range; Modbus unit ids are 1..247")
        return value

    @model_validator(mode="after")
    def _registers(self) -> Self:
        seen: dict[tuple[str, str], int] = {}
        for i, register in enumerate(self.registers):
            key = (register.equipment, register.signal)
            if key in seen:
                raise ValueError(
                    f"registers[{i}] feeds {register.label} again (registers[{seen[key]}] does already)"
                )
            seen[key] = i
            if register.signal == STATE_SIGNAL and not (register.state_codes or self.state_codes):
                raise ValueError(
                    f"registers[{i}] reads {register.label} but no state_codes map its codes to states; "
                    'add state_codes = { 0 = "idle", 1 = "running", ... }'
                )
        return self

    def interval(self, register: Register) -> float:
        """The poll interval of a register."""
        return register.poll_s if register.poll_s is not None else self.poll_s

    def codes_for(self, register: Register) -> dict[int, State]:
        """The state code table for a 'state' register."""
        return register.state_codes if register.state_codes is not None else self.state_codes


def plant_problems(config: ModbusConfig, plant: Plant, source: str) -> list[Problem]:
    """Registers whose equipment or signal the plant does not have (empty when all fit)."""
    references = (
        (f"registers[{i}]", register.equipment, register.signal)
        for i, register in enumerate(config.registers)
    )
    return reference_problems(references, plant, source, RESERVED_SIGNALS)
