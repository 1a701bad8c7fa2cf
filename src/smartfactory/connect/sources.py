"""The live source kinds a plant file may declare, and the checks of their ``[[source]]`` settings.

A kind is a connector folder whose package exports a source class with ``kind`` and
``config_schema``; the folders are imported only when a plant uses them, so a plant with MQTT
sources never loads the OPC UA stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ValidationError

from smartfactory.model.errors import PlantFileError, Problem, UserError
from smartfactory.model.plant import Plant, SourceDecl
from smartfactory.model.plant_file import TomlLocator, dotted, parse_plant, read_text_file
from smartfactory.model.registry import registered, target_module

if TYPE_CHECKING:
    from smartfactory.connect.live import LiveSource
    from smartfactory.connect.writer import IngestWriter

# kind -> "module:Class"
KINDS: dict[str, str] = {
    "mqtt": "smartfactory.connect.mqtt:MqttSource",
    "opcua": "smartfactory.connect.opcua:OpcUaSource",
    "modbus": "smartfactory.connect.modbus:ModbusSource",
}


def source_class(kind: str) -> type[LiveSource]:
    """The source class of a kind; an unknown kind is a UserError naming the known ones."""
    return cast("type[LiveSource]", registered(KINDS, kind, ("source kind", "kinds"), sorted(KINDS)))


def config_schema(kind: str) -> type[BaseModel]:
    """The config schema of a kind."""
    return source_class(kind).config_schema


def source_settings_problems(raw: dict[str, Any]) -> Iterable[tuple[tuple[int | str, ...], str]]:
    """Check every ``[[source]]`` table's settings against its kind's schema (a plant-file check)."""
    entries = raw.get("source", [])
    if not isinstance(entries, list):
        return
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        kind = entry.get("kind")
        if not isinstance(kind, str):
            continue  # the plant model reports a missing or wrong kind
        if kind not in KINDS:
            yield ("source", i, "kind"), f"{kind!r} is not allowed: kinds are {', '.join(sorted(KINDS))}"
            continue
        settings = {k: v for k, v in entry.items() if k not in ("id", "kind")}
        schema = config_schema(kind)
        try:
            schema.model_validate(settings)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ("source", i, *err["loc"])
                yield loc, _message(err, schema)


def _message(err: Any, schema: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden" and len(err["loc"]) == 1:
        allowed = sorted(["id", "kind", *(f.alias or n for n, f in schema.model_fields.items())])
        return f"unknown field '{err['loc'][-1]}'; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return f"required field '{err['loc'][-1]}' is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    shown = err.get("input")
    if shown is not None and not isinstance(shown, dict | list):
        return f"{message} (got {shown!r})"
    return message


def load_plant_with_sources(path: str | Path) -> Plant:
    """Load a plant file with its ``[[source]]`` settings checked too, every problem at once.

    Two passes: the settings against each kind's schema (with the rest of the file), then, once
    the plant is valid, against the plant itself (equipment and signals a source names) for the
    kinds whose package offers ``plant_problems(config, plant, source)``.
    """
    path = Path(path)
    return parse_plant_with_sources(read_text_file(path, "plant file", PlantFileError), str(path))


def parse_plant_with_sources(text: str, source: str) -> Plant:
    """The text of a plant file (``source`` names it in errors), checked like ``load_plant_with_sources``."""
    plant = parse_plant(text, source, checks=(source_settings_problems,))
    locator = TomlLocator(text)
    problems: list[Problem] = []
    for i, decl in enumerate(plant.sources):
        check = getattr(target_module(KINDS[decl.kind]), "plant_problems", None)
        if check is None:
            continue
        for problem in check(source_config(decl), plant, source):
            loc: tuple[int | str, ...] = ("source", i, *_loc(problem.location))
            problems.append(Problem(source, dotted(loc), problem.message, locator.line_of(loc)))
    if problems:
        raise PlantFileError(f"plant file {source} is invalid", problems)
    return plant


def _loc(location: str) -> list[int | str]:
    """``registers[0].equipment`` → ``["registers", 0, "equipment"]``."""
    out: list[int | str] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", location):
        out.append(int(index) if index else name)
    return out


def source_config(decl: SourceDecl) -> BaseModel:
    """The validated config of one declared source."""
    return config_schema(decl.kind).model_validate(decl.settings())


def chosen_sources(plant: Plant, only: Iterable[str] | None) -> set[str] | None:
    """The source ids of ``only`` (None: all), a UserError naming those the plant does not declare."""
    wanted = set(only) if only is not None else None
    declared = {d.id for d in plant.sources}
    if wanted is not None and wanted - declared:
        raise UserError(
            f"no source {', '.join(sorted(wanted - declared))} in the plant; sources: "
            f"{', '.join(sorted(declared)) or 'none'}"
        )
    return wanted


def build_sources(plant: Plant, writer: IngestWriter, only: Iterable[str] | None = None) -> list[LiveSource]:
    """One live source per ``[[source]]`` of the plant (or those named in ``only``)."""
    wanted = chosen_sources(plant, only)
    out = []
    for decl in plant.sources:
        if wanted is not None and decl.id not in wanted:
            continue
        cls = source_class(decl.kind)
        out.append(cls(decl.id, source_config(decl), plant, writer))
    return out
