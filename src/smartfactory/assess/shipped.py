"""The TOML files shipped inside ``smartfactory.assess`` (report words, answer problems, tolerances)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any


def shipped_toml(path: str, schema: str) -> dict[str, Any]:
    """The shipped file ``path`` (e.g. ``data/report_labels.toml``), parsed; its ``schema`` must match."""
    raw = tomllib.loads((resources.files("smartfactory.assess") / path).read_text(encoding="utf-8"))
    if raw.get("schema") != schema:
        raise ValueError(f"{path}: schema must be {schema}")
    return raw
