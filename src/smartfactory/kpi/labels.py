"""Names of states, loss categories and trends in English and Chinese (data/labels.toml)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from smartfactory.model.text import Text


@cache
def labels() -> dict[str, dict[str, Text]]:
    """State and loss-category names in English and Chinese (data/labels.toml)."""
    raw = tomllib.loads((resources.files("smartfactory.kpi") / "data" / "labels.toml").read_text("utf-8"))
    groups = ("state", "category", "trend", "doc", "why")
    return {group: {k: Text(en=v["en"], zh=v["zh"]) for k, v in raw[group].items()} for group in groups}
