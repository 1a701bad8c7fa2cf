"""The digital twin: a SimPy discrete-event simulation driven only by the plant file."""

from smartfactory.simulate.engine import Fault
from smartfactory.simulate.run import MachineTruth, SimulationResult, check_faults, simulate
from smartfactory.simulate.sinks import MemorySink, ParquetSink

__all__ = [
    "Fault",
    "MachineTruth",
    "MemorySink",
    "ParquetSink",
    "SimulationResult",
    "check_faults",
    "simulate",
]
