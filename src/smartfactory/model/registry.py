"""Registries of names to ``"module:attribute"`` paths, imported only when a name is used.

Listing what a registry holds then costs nothing: a plant with MQTT sources never loads the
OPC UA stack, and `scenario list` does not load LightGBM, River or OR-Tools until it must.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from smartfactory.model.errors import UserError


def target_module(target: str) -> ModuleType:
    """The module of a ``"module:attribute"`` path, imported now."""
    return importlib.import_module(target.partition(":")[0])


def registered(registry: Mapping[str, str], name: str, what: tuple[str, str], listed: Iterable[str]) -> Any:
    """The attribute ``registry`` names for ``name``; an unknown one is a UserError showing ``listed``.

    ``what`` is what the names are, singular and plural: ``("scenario", "scenarios")``.
    """
    target = registry.get(name)
    if target is None:
        singular, plural = what
        raise UserError(f"unknown {singular} {name!r}; {plural}: {', '.join(listed)}")
    return getattr(target_module(target), target.partition(":")[2])
