"""Modbus TCP: polled registers (pymodbus behind a thin adapter), scaled into measurements, states, counts."""

from smartfactory.connect.modbus.adapter import ModbusClientAdapter, ModbusConnectionError, ModbusReadError
from smartfactory.connect.modbus.config import ModbusConfig, Register, plant_problems
from smartfactory.connect.modbus.source import ModbusSource, ModbusStatus

__all__ = [
    "ModbusClientAdapter",
    "ModbusConfig",
    "ModbusConnectionError",
    "ModbusReadError",
    "ModbusSource",
    "ModbusStatus",
    "Register",
    "plant_problems",
]
