"""The TOML files shipped inside ``smartfactory.assess`` (report, template and problem words, tolerances)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from pydantic import ValidationError

from smartfactory.model.text import Text


def shipped_toml(path: str, schema: str) -> dict[str, Any]:
    """The shipped file ``path`` (e.g. ``data/report_labels.toml``), parsed; its ``schema`` must match."""
    raw = tomllib.loads((resources.files("smartfactory.assess") / path).read_text(encoding="utf-8"))
    if raw.get("schema") != schema:
        raise ValueError(f"{path}: schema must be {schema}")
    return raw


def shipped_texts(path: str, schema: str, table: str) -> dict[str, Text]:
    """The English and Chinese texts of the ``[table]`` of shipped file ``path``, by key."""
    entries = shipped_toml(path, schema).get(table)
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: no [{table}] table")
    out: dict[str, Text] = {}
    for key, value in entries.items():
        try:
            out[key] = Text.model_validate(value)
        except ValidationError:
            raise ValueError(f"{path}: {table} {key!r} needs non-empty en and zh texts") from None
    return out
