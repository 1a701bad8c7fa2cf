"""The plant model: ISA-95 hierarchy, equipment, calendars, products and the event contract."""

from smartfactory.model.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PlantFileError,
    Problem,
    StoreLockedError,
    UserError,
)
from smartfactory.model.events import SCHEMAS, AlarmAction, EventSink, EventType, Severity, State
from smartfactory.model.plant import Equipment, Level, Plant
from smartfactory.model.plant_file import load_plant, parse_plant

__all__ = [
    "SCHEMAS",
    "AlarmAction",
    "Conflict",
    "Equipment",
    "EventSink",
    "EventType",
    "InvalidInput",
    "Level",
    "NotFound",
    "Plant",
    "PlantFileError",
    "Problem",
    "Severity",
    "State",
    "StoreLockedError",
    "UserError",
    "load_plant",
    "parse_plant",
]
