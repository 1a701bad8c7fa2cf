"""The plant model: ISA-95 hierarchy, equipment, calendars, products and the event contract."""

from smartfactory.model.errors import PlantFileError, Problem, StoreLockedError, UserError
from smartfactory.model.events import SCHEMAS, AlarmAction, EventSink, EventType, Severity, State
from smartfactory.model.plant import Equipment, Level, Plant
from smartfactory.model.plant_file import load_plant, parse_plant

__all__ = [
    "SCHEMAS",
    "AlarmAction",
    "Equipment",
    "EventSink",
    "EventType",
    "Level",
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
